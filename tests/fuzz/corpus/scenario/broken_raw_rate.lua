local fw = require "faultwire"
local s = fw.scenario { name = "raw-rate", faults = { fw.rate { kbit = 8 } } }
s.faults[1].kbit = 0
return s
