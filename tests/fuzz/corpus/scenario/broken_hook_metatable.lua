local fw = require "faultwire"
return fw.scenario {
  name = "hook-metatable",
  faults = {
    fw.hook { on_packet = function(p)
      return setmetatable({}, { __index = function() while true do end end })
    end },
  },
}
