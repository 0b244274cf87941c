local fw = require "faultwire"
return fw.scenario {
  name = "rate-block",
  about = "more than 3 connections in 10 s: the source is blocked and the server answers 403",
  client = "for i in 1 2 3 4 5; do curl -sS -o /dev/null -w '%{http_code}\\n' http://server.test/status/200; done",
  faults = { fw.rate_block { conns = 3, within_s = 10, block_s = 30, action = "http403" } },
  expect = {
    fw.check(function(run)
      local codes = {}
      for c in run.client.stdout_tail:gmatch("%d+") do codes[#codes + 1] = c end
      return table.concat(codes, " ") == "200 200 200 403 403", "codes " .. table.concat(codes, " ")
    end),
  },
}
