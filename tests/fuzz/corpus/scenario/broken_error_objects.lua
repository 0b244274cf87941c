local fw = require "faultwire"
local s = fw.scenario {
  name = "errors",
  expect = {
    fw.check(function(run) error(setmetatable({}, { __tostring = function() return 5 end })) end),
    fw.check(function(run) return run.nope.nope end, "indexes nil"),
    fw.check(function(run) while true do end end),
  },
}
if #s.expect > 5 then error({}) end
return s
