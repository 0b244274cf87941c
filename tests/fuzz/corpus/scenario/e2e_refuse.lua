local fw = require "faultwire"
return fw.scenario {
  name = "refuse",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.refuse {} },
  expect = { fw.exit { code = 7 } },
}
