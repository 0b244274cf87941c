local fw = require "faultwire"
-- 4000 kbit/s is 500 kB/s: 1 MB takes at least 2 s.
return fw.scenario {
  name = "rate-limit",
  timeout = 20,
  client = { "curl", "-4", "-sS", "-o", "out.bin", "-w", "%{time_total}", "http://server.test/bytes/1000000" },
  faults = { fw.rate { kbit = 4000, dir = "down" } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/1000000" },
    fw.check(function(run) local t = tonumber(run.client.stdout_tail); return t and t >= 1.9, "took " .. tostring(t) .. " s" end,
      "the link was slow"),
  },
}
