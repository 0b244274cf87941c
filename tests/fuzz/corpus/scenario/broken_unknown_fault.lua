local fw = require "faultwire"
return fw.scenario { name = "x", faults = { fw.resett { after_bytes = 1 }, fw.reset }, expect = { 5 } }
