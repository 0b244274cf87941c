-- Scenario code replacing what scenario_evaluate calls.
local fw = require "faultwire"
local s = fw.scenario { name = "hijack", expect = { fw.exit { code = 0 } } }
fw._evaluate = function() return 5 end
package.loaded.faultwire = setmetatable({}, { __index = function() while true do end end })
return s
