-- The server's port is closed (service down, wrong port, firewall reject):
-- every connection attempt is answered with an RST. The client must say so.
local fw = require "faultwire"

return fw.scenario {
  name = "connection-refused",
  about = "every connection attempt is refused with an RST",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.refuse {} },
  expect = {
    fw.exit { code = 7 },
    fw.reported { stderr = "connect" },
  },
}
