-- A congested ISP link: 2 Mbit/s, 40 ms each way, 1% loss. Slow, but the
-- download must finish, and in reasonable time.
local fw = require "faultwire"

return fw.scenario {
  name = "isp-congestion",
  about = "2 Mbit/s, 40 ms latency and 1% loss; the download must finish",
  timeout = 30,
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/300000" },
  faults = {
    fw.rate { kbit = 2000, dir = "down" },
    fw.delay { ms = 40 },
    fw.loss { p = 0.01 },
  },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/300000" },
    fw.finished_within { s = 15 },
  },
}
