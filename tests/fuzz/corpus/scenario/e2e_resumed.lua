local fw = require "faultwire"
return fw.scenario {
  name = "resumed",
  client = { "wget", "-q", "-c", "--tries=5", "--waitretry=0", "-O", "out.bin", "http://server.test/bytes/1048576" },
  faults = { fw.reset { after_bytes = 256 * 1024, dir = "down", flows = { 1 } } },
  expect = { fw.resumed {}, fw.recovered { file = "out.bin" } },
}
