local fw = require "faultwire"
return fw.scenario {
  name = "syntax"
  client = "true",
}
