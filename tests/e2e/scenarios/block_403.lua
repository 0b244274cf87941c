local fw = require "faultwire"
-- The IP is blocked for the first second: the server answers 403. A client
-- that waits and asks again gets through.
return fw.scenario {
  name = "block-403",
  client = "curl -sS -f -o /dev/null http://server.test/bytes/100 || { sleep 1.2; curl -sS -f -o out.bin http://server.test/bytes/100; }",
  faults = { fw.block { action = "http403", ["until"] = 1 } },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/100" } },
}
