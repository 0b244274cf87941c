-- The table fw.scenario checked, changed afterwards.
local fw = require "faultwire"
local s = fw.scenario { name = "mutated", faults = { fw.reset { after_bytes = 10 } } }
s.faults = 5
return s
