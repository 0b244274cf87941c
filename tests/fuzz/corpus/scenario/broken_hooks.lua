-- Hooks and timed actions answering in odd ways.
local fw = require "faultwire"
local n = 0
return fw.scenario {
  name = "odd-hooks",
  faults = {
    fw.hook { on_flow = function(flow) return { delay_ms = math.huge } end },
    fw.hook { on_packet = function(p)
      n = n + 1
      if n == 2 then return { delay_ms = 1e300 } end
      if n == 3 then return setmetatable({}, { __index = function() error("no") end }) end
      if n == 4 then return "sideways" end
      if n == 5 then error({}) end
      if n == 6 then while true do end end
    end },
    fw.at(1, function() error("timed action failed") end),
    fw.at(2, function() while true do end end),
  },
}
