-- A router on the way reports the server unreachable (ICMP). The client
-- should fail fast with a clear message instead of waiting for a timeout.
local fw = require "faultwire"

return fw.scenario {
  name = "host-unreachable",
  about = "a router answers every connection attempt with ICMP host unreachable",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.unreachable { code = "host", dir = "up" } },
  expect = {
    fw.exit { code = 7 },
    fw.finished_within { s = 5 },
  },
}
