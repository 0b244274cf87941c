-- Every fault and expectation of the API, with most of their parameters.
local fw = require "faultwire"
return fw.scenario {
  name = "all-faults",
  about = "every constructor once",
  seed = 42,
  timeout = 20,
  server = fw.http { port = 8080 },
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1000", 5 },
  faults = {
    fw.reset { after_bytes = 1024, dir = "down", to = "client", p = 0.5, flows = { 1, 3 } },
    fw.reset { after_ms = 250, port = 8080, from = 0.5, ["until"] = 4 },
    fw.refuse { flows = { 2 } },
    fw.unreachable { code = "port", dir = "up" },
    fw.blackhole { dir = "down", p = 0.1 },
    fw.loss { model = "gilbert", p = 0.05, r = 0.3, loss_good = 0.01, loss_bad = 0.8 },
    fw.loss { p = 0.02 },
    fw.delay { ms = 50, jitter_ms = 10 },
    fw.reorder { ms = 20, p = 0.1 },
    fw.rate { kbit = 512, shared = true },
    fw.truncate { after_bytes = 4096 },
    fw.conn_cap { max = 2, per = "global", action = "reset", after_bytes = 100 },
    fw.block { action = "http403" },
    fw.rate_block { conns = 3, within_s = 10, block_s = 30, action = "blackhole" },
    fw.idle_timeout { after_s = 2, action = "blackhole" },
  },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/1000" },
    fw.reported { stderr = "reset", stdout = "200", within_s = 5 },
    fw.retried { min = 1, max = 3, backoff = "exponential", min_gap_ms = 10 },
    fw.resumed {},
    fw.max_concurrent { max = 2 },
    fw.exit { code = { 0, 56 } },
    fw.finished_within { s = 10 },
    fw.check(function(run)
      local n = 0
      for _, f in ipairs(run.flows) do n = n + (f.bytes_down or 0) end
      return n > 0, "bytes " .. n
    end, "some bytes came down"),
  },
}
