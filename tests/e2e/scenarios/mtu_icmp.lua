local fw = require "faultwire"
return fw.scenario {
  name = "mtu-icmp",
  about = "the same 1400-byte link, but it says \"too big\": TCP lowers its segment size and the download completes",
  timeout = 8,
  client = { "curl", "-4", "-sS", "--max-time", "3", "-o", "out.bin", "http://server.test/bytes/100000" },
  faults = { fw.mtu { bytes = 1400, icmp = true } },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/100000" } },
}
