local fw = require "faultwire"
return fw.scenario {
  name = "mtu-silent",
  about = "a 1400-byte link that drops bigger packets without a word: the download never starts",
  timeout = 8,
  client = { "curl", "-4", "-sS", "--max-time", "3", "-o", "out.bin", "http://server.test/bytes/100000" },
  faults = { fw.mtu { bytes = 1400 } },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/100000" } },
}
