local fw = require "faultwire"
return fw.scenario {
  name = "truncate",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1048576" },
  faults = { fw.truncate { after_bytes = 100000, dir = "down" } },
  expect = { fw.reported { stderr = "transfer closed" } },
}
