local fw = require "faultwire"
return fw.scenario {
  name = "corrupt-fixed",
  about = "5% of the packets down have a byte changed, checksum=\"fix\"",
  timeout = 8,
  -- After the download, the client's own TCP counter of segments dropped for a bad checksum.
  client = [[curl -4 -sS --max-time 5 -o out.bin http://server.test/bytes/100000 &&
awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InCsumErrors") c = i } else print "InCsumErrors", $c }' /proc/net/snmp]],
  faults = { fw.corrupt { p = 0.05, dir = "down", checksum = "fix" } },
  expect = { fw.recovered { file = "out.bin", path = "/bytes/100000" } },
}
