local fw = require "faultwire"
return fw.scenario {
  name = "dns-servfail",
  about = "the DNS server answers SERVFAIL; the client must say it cannot resolve the name",
  timeout = 8,
  dns = fw.dns {},
  client = { "curl", "-4", "-sS", "--max-time", "5", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.dns_fail { rcode = "SERVFAIL" } },
  expect = { fw.reported { stderr = "Could not resolve host" } },
}
