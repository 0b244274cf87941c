-- The IP is not whitelisted yet, or is banned for a few seconds: packets
-- vanish. A robust client times out each attempt and keeps retrying until
-- the ban is lifted.
local fw = require "faultwire"

return fw.scenario {
  name = "temporary-ip-ban",
  about = "all traffic is dropped for the first 3 s; the client must keep retrying",
  timeout = 20,
  client = { "curl", "-4", "-sS", "--connect-timeout", "1", "--retry", "8", "--retry-all-errors",
             "--retry-delay", "1", "-o", "out.bin", "http://server.test/bytes/10000" },
  faults = { fw.block { action = "blackhole", ["until"] = 3 } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/10000" },
    fw.finished_within { s = 12 },
  },
}
