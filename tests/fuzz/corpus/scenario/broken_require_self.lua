local fw = require "faultwire"
local again = require "scenario"
return fw.scenario { name = "self" }
