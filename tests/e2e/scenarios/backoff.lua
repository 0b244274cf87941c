local fw = require "faultwire"
-- Every connection is refused; a client that backs off exponentially.
return fw.scenario {
  name = "backoff",
  client = "for d in 0.1 0.3 0.9 0; do curl -4 -sS -o out.bin http://server.test/bytes/100 && exit 0; sleep $d; done; exit 7",
  faults = { fw.refuse {} },
  expect = {
    fw.retried { min = 3, backoff = "exponential", min_gap_ms = 80 },
    fw.exit { code = 7 },
  },
}
