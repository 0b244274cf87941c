local fw = require "faultwire"
return fw.scenario {
  name = "match-url",
  about = "a WAF resets connections whose request contains \"forbidden\"",
  timeout = 8,
  client = { "curl", "-4", "-sS", "--max-time", "5", "-o", "out.bin", "http://server.test/bytes/1024?q=forbidden" },
  faults = { fw.match { pattern = "forbidden", dir = "up" } },
  expect = { fw.reported { stderr = "reset" } },
}
