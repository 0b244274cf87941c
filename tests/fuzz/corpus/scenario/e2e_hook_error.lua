local fw = require "faultwire"
return fw.scenario {
  name = "hook-error",
  about = "an on_flow hook with a bug that only the second connection reaches",
  timeout = 20,
  client = [[curl -4 -sS --max-time 15 -o a.bin http://server.test/bytes/1024 &&
curl -4 -sS --max-time 15 -o b.bin http://server.test/bytes/1024]],
  faults = {
    fw.hook { on_flow = function(flow)
      if flow.id == 1 then return { delay_ms = 5 } end
      return flow.no_such_field.id  -- the bug
    end },
  },
  expect = { fw.exit { code = 0 } },
}
