local fw = require "faultwire"
return fw.scenario {
  name = "reset-reported",
  about = "RST after 256 KiB of 1 MiB; the client must report it",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1048576" },
  faults = { fw.reset { after_bytes = 256 * 1024, dir = "down" } },
  expect = { fw.reported { stderr = "reset" } },
}
