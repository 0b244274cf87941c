local fw = require "faultwire"
local s = fw.scenario { name = "metatable" }
s.about = nil
s.faults = setmetatable({}, { __len = function() return 1e12 end })
return setmetatable(s, { __index = function(_, k) while true do end end })
