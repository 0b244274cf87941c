-- A misconfigured VPN or device drops packets bigger than 1400 bytes and
-- sends no ICMP: small requests work, big answers never arrive. The client
-- cannot fix the path, but it must not hang: it must time out and say so.
local fw = require "faultwire"

return fw.scenario {
  name = "mtu-black-hole",
  about = "packets over 1400 bytes vanish without ICMP; the client must time out and report",
  timeout = 15,
  client = { "curl", "-4", "-sS", "--max-time", "3", "-o", "out.bin", "http://server.test/bytes/100000" },
  faults = { fw.mtu { bytes = 1400 } },
  expect = {
    fw.reported { stderr = "timed out" },
    fw.finished_within { s = 5 },
  },
}
