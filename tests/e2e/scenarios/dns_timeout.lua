local fw = require "faultwire"
return fw.scenario {
  name = "dns-timeout",
  about = "the DNS server never answers; the resolver gives up after its timeouts (timeout:1 attempts:2)",
  timeout = 10,
  dns = fw.dns {},
  client = { "curl", "-4", "-sS", "--max-time", "8", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.dns_fail { rcode = "timeout" } },
  expect = { fw.reported { stderr = "Could not resolve host" } },
}
