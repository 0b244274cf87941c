local fw = require "faultwire"
return fw.scenario {
  name = "reset-recovered",
  about = "RST after 256 KiB of 1 MiB on the first connection; the file must still arrive whole",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1048576" },
  faults = { fw.reset { after_bytes = 256 * 1024, dir = "down", flows = { 1 } } },
  expect = {
    fw.reported { stderr = "reset" },
    fw.recovered { file = "out.bin", path = "/bytes/1048576" },
  },
}
