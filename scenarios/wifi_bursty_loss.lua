-- Wi-Fi drops packets in bursts (interference, roaming). TCP recovers;
-- the client must not give up on a stall of a few hundred milliseconds.
local fw = require "faultwire"

return fw.scenario {
  name = "wifi-bursty-loss",
  about = "Gilbert-Elliott bursty loss in both directions; the download must still complete",
  seed = 1,
  timeout = 30,
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/300000" },
  faults = { fw.loss { model = "gilbert", p = 0.02, r = 0.3 } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/300000" },
  },
}
