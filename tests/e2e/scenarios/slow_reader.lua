local fw = require "faultwire"
-- A client that reads slowly next to one that reads fast, through a
-- delaying middlebox: the slow one holds back only its own packets.
return fw.scenario {
  name = "slow-reader",
  timeout = 30,
  client = "curl -4 -sS --limit-rate 300k -o slow.bin http://server.test/bytes/1000000 & "
        .. "curl -4 -sS -o fast.bin http://server.test/bytes/20000000; wait",
  faults = { fw.delay { ms = 5 } },
  expect = {
    fw.recovered { file = "slow.bin", path = "/bytes/1000000" },
    fw.recovered { file = "fast.bin", path = "/bytes/20000000" },
  },
}
