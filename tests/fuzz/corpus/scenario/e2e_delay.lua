local fw = require "faultwire"
return fw.scenario {
  name = "delay",
  client = "curl -4 -sS -o /dev/null -w '%{time_connect}\\n' http://server.test/bytes/1024",
  faults = { fw.delay { ms = 10 } },
  expect = {
    -- 10 ms each way: the handshake takes at least one 20 ms round trip.
    fw.check(function(run)
      local t = tonumber(run.client.stdout_tail:match("[%d.]+"))
      return t and t >= 0.020, "time_connect " .. tostring(t) .. " s"
    end),
  },
}
