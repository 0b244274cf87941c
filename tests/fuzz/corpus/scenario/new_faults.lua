local fw = require "faultwire"
return fw.scenario {
  name = "new-faults",
  client = "curl -sS http://server.test/bytes/100000 -o out.bin",
  faults = {
    fw.mtu { bytes = 1200, icmp = true },
    fw.duplicate { p = 0.1 },
    fw.corrupt { p = 0.01, checksum = "break" },
    fw.match { pattern = "GET /admin", action = "reset" },
    fw.router_restart { at = 1.5, down_s = 2 },
    fw.hook {
      on_packet = function(pkt) if pkt.len and pkt.len > 1000 then return "drop" end end,
      on_flow = function(flow) return nil end,
    },
    fw.at(2, function() end),
  },
  expect = { fw.recovered { file = "out.bin" } },
}
