local fw = require "faultwire"
return fw.scenario {
  name = "dns-plain",
  about = "names come from the built-in DNS server, not /etc/hosts",
  timeout = 8,
  dns = fw.dns {},
  client = { "curl", "-4", "-sS", "--max-time", "5", "-o", "out.bin", "http://server.test/bytes/1024" },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/1024" } },
}
