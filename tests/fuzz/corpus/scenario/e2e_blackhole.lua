local fw = require "faultwire"
return fw.scenario {
  name = "blackhole",
  timeout = 4,
  client = { "curl", "-sS", "--connect-timeout", "2", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.blackhole {} },
  expect = { fw.exit { code = 28 }, fw.finished_within { s = 3.5 } },
}
