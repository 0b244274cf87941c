local fw = require "faultwire"
return fw.scenario {
  name = "hook-delay-up",
  about = "an on_packet hook holds every packet going up for 30 ms",
  timeout = 8,
  client = "curl -4 -sS -o /dev/null -w '%{time_connect}\\n' http://server.test/bytes/1024",
  faults = {
    fw.hook { on_packet = function(p)
      if p.dir == "up" then return { delay_ms = 30 } end
    end },
  },
  expect = {
    -- The SYN alone waits 30 ms: a lower bound, whatever the load.
    fw.check(function(run)
      local t = tonumber(run.client.stdout_tail:match("[%d.]+"))
      return t ~= nil and t >= 0.030, "measured " .. tostring(t) .. " s"
    end, "at least 30 ms"),
  },
}
