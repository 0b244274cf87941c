local fw = require "faultwire"
return fw.scenario {
  name = "gilbert",
  seed = 7,
  client = { "curl", "-4", "-sS", "-o", "out.bin", "http://server.test/bytes/262144" },
  faults = { fw.loss { model = "gilbert", p = 0.05, r = 0.3, dir = "down" } },
  expect = { fw.recovered { file = "out.bin" } },
}
