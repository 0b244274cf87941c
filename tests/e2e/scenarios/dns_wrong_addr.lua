local fw = require "faultwire"
return fw.scenario {
  name = "dns-wrong-addr",
  about = "the DNS server answers an address where nobody listens",
  timeout = 8,
  dns = fw.dns {},
  client = { "curl", "-4", "-sS", "--connect-timeout", "1", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.dns_wrong { addr = "198.19.0.99" } },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/1024" } },
}
