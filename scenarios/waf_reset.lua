-- A web application firewall (or an IDS) injects RSTs when a request
-- contains something it dislikes. The client must report the reset.
local fw = require "faultwire"

return fw.scenario {
  name = "waf-reset",
  about = "a firewall resets connections whose request contains 'DROP TABLE'",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1000?q=DROP%20TABLE" },
  faults = { fw.match { pattern = "DROP%20TABLE", dir = "up", action = "reset" } },
  expect = {
    fw.reported { stderr = "reset" },
  },
}
