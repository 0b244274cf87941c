local fw = require "faultwire"
return fw.scenario {
  name = "misspelled",
  client = "true",
  faults = {
    fw.reset { after_byts = 1024 },
  },
}
