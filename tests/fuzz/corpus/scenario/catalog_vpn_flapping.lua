-- A VPN or proxy link flaps: two outages of one second each in the middle
-- of a transfer. TCP retransmits through them; the client must wait rather
-- than abort on the first stall.
local fw = require "faultwire"

return fw.scenario {
  name = "vpn-flapping",
  about = "two 1 s outages during a 3 s stream; the transfer must survive them",
  timeout = 30,
  client = { "curl", "-4", "-sS", "-o", "out.bin", "http://server.test/stream?kbit=2000&bytes=600000" },
  faults = {
    fw.blackhole { from = 0.5, ["until"] = 1.5 },
    fw.blackhole { from = 2.0, ["until"] = 3.0 },
  },
  expect = {
    fw.recovered { file = "out.bin", path = "/stream?kbit=2000&bytes=600000" },
  },
}
