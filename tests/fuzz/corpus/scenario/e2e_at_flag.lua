local fw = require "faultwire"
local closed = false
return fw.scenario {
  name = "at-flag",
  about = "at 0.5 s the service closes: from then on new connections are refused",
  timeout = 8,
  client = [[curl -4 -sS -o a.bin http://server.test/bytes/1024 && echo early-ok
sleep 1
curl -4 -sS -o b.bin http://server.test/bytes/1024 && echo late-ok]],
  faults = {
    fw.at(0.5, function() closed = true end),
    fw.hook { on_flow = function() if closed then return "reset" end end },
  },
  expect = {
    fw.reported { stderr = "connect" },
    fw.check(function(run)
      return run.client.stdout_tail:find("early-ok", 1, true) ~= nil, "stdout: " .. run.client.stdout_tail
    end, "the early download worked"),
  },
}
