local fw = require "faultwire"
return fw.scenario {
  name = "hook-endless",
  about = "an on_packet hook that never returns for the second connection",
  timeout = 20,
  client = [[curl -4 -sS --max-time 15 -o a.bin http://server.test/bytes/1024 &&
curl -4 -sS --max-time 15 -o b.bin http://server.test/bytes/1024]],
  faults = {
    fw.hook { on_packet = function(p)
      if p.flow == 1 then return { delay_ms = 5 } end
      while true do end  -- the bug
    end },
  },
  expect = { fw.exit { code = 0 } },
}
