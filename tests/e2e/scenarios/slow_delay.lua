local fw = require "faultwire"
return fw.scenario {
  name = "slow-delay",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/2000000" },
  faults = { fw.delay { ms = 300 } },
  expect = { fw.exit { code = 0 } },
}
