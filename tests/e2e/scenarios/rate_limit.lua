local fw = require "faultwire"
-- 4000 kbit/s is 500 kB/s: 1 MB takes about 2 s (the last burst leaves as the
-- link starts sending it, so a little less); unshaped it takes milliseconds.
return fw.scenario {
  name = "rate-limit",
  timeout = 20,
  client = { "curl", "-4", "-sS", "-o", "out.bin", "-w", "%{time_total}", "http://server.test/bytes/1000000" },
  faults = { fw.rate { kbit = 4000, dir = "down" } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/1000000" },
    fw.check(function(run) local t = tonumber(run.client.stdout_tail); return t and t >= 1.6, "took " .. tostring(t) .. " s" end,
      "the link was slow"),
  },
}
