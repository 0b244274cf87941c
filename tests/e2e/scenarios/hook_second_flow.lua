local fw = require "faultwire"
return fw.scenario {
  name = "hook-second-flow",
  about = "an on_flow hook refuses the second connection",
  timeout = 8,
  client = [[curl -4 -sS -o a.bin http://server.test/bytes/1024 && echo first-ok
curl -4 -sS -o b.bin http://server.test/bytes/1024 && echo second-ok]],
  faults = {
    fw.hook { on_flow = function(flow)
      if flow.id == 2 then return "reset" end
    end },
  },
  expect = {
    fw.exit { code = 7 },
    fw.check(function(run)
      local out = run.client.stdout_tail
      return out:find("first-ok", 1, true) ~= nil and not out:find("second-ok", 1, true), "stdout: " .. out
    end, "only the first download worked"),
  },
}
