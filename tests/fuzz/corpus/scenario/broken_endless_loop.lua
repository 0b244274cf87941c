local fw = require "faultwire"
local n = 0
while true do n = n + 1 end
return fw.scenario { name = "loop" }
