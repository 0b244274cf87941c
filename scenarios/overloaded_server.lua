-- An overloaded server (or its load balancer) drops about half of the new
-- connections with an RST right after accepting them. Retrying is the fix.
local fw = require "faultwire"

return fw.scenario {
  name = "overloaded-server",
  about = "half of the connections are reset as soon as they are established; retry until one works",
  seed = 4,
  client = { "curl", "-4", "-sS", "--retry", "6", "--retry-all-errors", "--retry-delay", "0",
             "-o", "out.bin", "http://server.test/bytes/200000" },
  faults = { fw.reset { p = 0.5 } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/200000" },
    fw.retried { min = 1 },
  },
}
