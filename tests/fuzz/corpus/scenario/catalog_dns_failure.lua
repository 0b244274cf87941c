-- The resolver fails (SERVFAIL) for the first 2 s. A client must retry the
-- name lookup rather than give up on the first failure.
local fw = require "faultwire"

return fw.scenario {
  name = "dns-failure",
  about = "DNS answers SERVFAIL for 2 s; the client must retry and then download",
  dns = fw.dns {},
  timeout = 20,
  client = { "curl", "-sS", "--retry", "5", "--retry-all-errors", "--retry-delay", "1",
             "-o", "out.bin", "http://server.test/bytes/10000" },
  faults = { fw.dns_fail { rcode = "SERVFAIL", ["until"] = 2 } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/10000" },
  },
}
