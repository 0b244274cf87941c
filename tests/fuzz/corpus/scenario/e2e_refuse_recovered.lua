local fw = require "faultwire"
return fw.scenario {
  name = "refuse-recovered",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.refuse {} },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/1024" } },
}
