-- An IPTV or download provider allows two connections per subscriber IP;
-- the third is refused. A good client opens three streams, sees one
-- refused, waits and tries again once a slot is free.
local fw = require "faultwire"

return fw.scenario {
  name = "provider-conn-limit",
  about = "provider allows 2 connections per IP; the third is refused and must be retried",
  client = "for i in 1 2 3; do curl -4 -sS --retry 4 --retry-connrefused --retry-delay 1 "
        .. "-o out$i.bin 'http://server.test/slow?ms=600' & done; wait",
  faults = { fw.conn_cap { max = 2, per = "source", action = "refuse" } },
  expect = {
    fw.exit { code = 0 },
    fw.retried { min = 1 },
  },
}
