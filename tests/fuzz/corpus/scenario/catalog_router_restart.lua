-- The home router restarts: 1 s without any traffic, and afterwards it
-- knows none of the old connections. A stream that was running stalls; the
-- client must notice the stall and resume on a new connection.
local fw = require "faultwire"

return fw.scenario {
  name = "router-restart",
  about = "the router is down for 1 s and then forgets old connections; a stalled stream must resume",
  timeout = 20,
  client = { "wget", "-4", "-q", "-c", "--read-timeout=2", "--tries=5", "--waitretry=0", "-O", "out.bin",
             "http://server.test/stream?kbit=2000&bytes=500000" },
  faults = { fw.router_restart { at = 0.5, down_s = 1 } },
  expect = {
    fw.recovered { file = "out.bin", path = "/stream?kbit=2000&bytes=500000" },
    fw.resumed {},
  },
}
