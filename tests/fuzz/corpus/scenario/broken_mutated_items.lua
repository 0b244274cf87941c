local fw = require "faultwire"
local s = fw.scenario { name = "mutated-items", client = { "curl" } }
s.faults = { fw.delay { ms = 1 }, 7, { type = "reset" }, "loss" }
s.client = { "curl", {}, 3 }
s.expect = { fw.exit { code = 0 }, 9 }
return s
