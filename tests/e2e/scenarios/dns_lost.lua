local fw = require "faultwire"
return fw.scenario {
  name = "dns-lost",
  about = "every packet to or from port 53 is lost: queries and answers vanish",
  timeout = 10,
  dns = fw.dns {},
  client = { "curl", "-4", "-sS", "--max-time", "8", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.loss { p = 1, port = 53 } },
  expect = { fw.reported { stderr = "Could not resolve host" } },
}
