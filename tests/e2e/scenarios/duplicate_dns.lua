local fw = require "faultwire"
return fw.scenario {
  name = "duplicate-dns",
  about = "every DNS answer and 30% of the HTTP packets arrive twice; TCP and the resolver hide the copies",
  timeout = 8,
  dns = fw.dns {},
  client = { "curl", "-4", "-sS", "--max-time", "5", "-o", "out.bin", "http://server.test/bytes/100000" },
  faults = {
    fw.duplicate { p = 1, dir = "down", port = 53 },
    fw.duplicate { p = 0.3, port = 80 },
  },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/100000" } },
}
