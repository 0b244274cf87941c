local fw = require "faultwire"
-- A third of the server's packets held back 5 ms: later ones overtake them.
-- The client prints its own kernel's count of out-of-order segments.
return fw.scenario {
  name = "reorder",
  seed = 5,
  client = [[curl -4 -sS -o out.bin http://server.test/bytes/500000 &&
awk '/^TcpExt:/ { n++; for (i = 1; i <= NF; i++) if (n == 1) name[i] = $i; else if (name[i] == "TCPOFOQueue") print $i }' /proc/net/netstat]],
  faults = { fw.reorder { p = 0.3, ms = 5, dir = "down" } },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/500000" },
    fw.check(function(run) local n = tonumber(run.client.stdout_tail); return n and n > 0, "TCPOFOQueue " .. tostring(n) end,
      "segments arrived out of order"),
  },
}
