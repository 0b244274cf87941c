-- Anti-abuse: more than 3 new connections within 10 s get the IP blocked,
-- and the server answers 403. The client must not treat a 403 as success.
local fw = require "faultwire"

return fw.scenario {
  name = "anti-abuse-403",
  about = "too many connections: the IP is blocked and the server answers 403, which must be reported",
  client = "for i in 1 2 3 4 5; do curl -sS -f -o out$i.bin http://server.test/bytes/1000 || exit; done",
  faults = { fw.rate_block { conns = 3, within_s = 10, block_s = 30, action = "http403" } },
  expect = {
    fw.reported { stderr = "403" },
  },
}
