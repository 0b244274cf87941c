local fw = require "faultwire"
local s = fw.scenario { name = "returns" }
return 42, s
