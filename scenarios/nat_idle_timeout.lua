-- A NAT, firewall or load balancer forgets connections idle for 2 s; the
-- next packet of a forgotten connection is answered with an RST. A client
-- that reuses a kept-alive connection after a pause must reconnect and
-- retry instead of failing.
local fw = require "faultwire"

return fw.scenario {
  name = "nat-idle-timeout",
  about = "connections idle for 2 s are forgotten; reusing one gets an RST and must be retried",
  timeout = 15,
  client = { "wget", "-q", "--tries=3", "--wait=3", "http://server.test/bytes/1000", "http://server.test/bytes/2000" },
  faults = { fw.idle_timeout { after_s = 2, action = "reset" } },
  expect = {
    fw.exit { code = 0 },
    fw.retried { min = 1 },
  },
}
