local fw = require "faultwire"
return fw.scenario {
  name = "conn-cap",
  about = "a provider allows 2 connections per IP; the third of three parallel ones is refused",
  client = "for i in 1 2 3; do curl -4 -sS -o out$i.bin 'http://server.test/slow?ms=400' & done; wait",
  faults = { fw.conn_cap { max = 2 } },
  expect = { fw.max_concurrent { max = 2 } },
}
