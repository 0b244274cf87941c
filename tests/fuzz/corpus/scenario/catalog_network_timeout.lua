-- Packets vanish (a dead route, a firewall that drops): nothing answers.
-- The client must give up within its own connect timeout, not hang.
local fw = require "faultwire"

return fw.scenario {
  name = "network-timeout",
  about = "every packet is silently dropped; the client must time out by itself",
  timeout = 15,
  client = { "curl", "-sS", "--connect-timeout", "2", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.blackhole {} },
  expect = {
    fw.exit { code = 28 },
    fw.finished_within { s = 5 },
  },
}
