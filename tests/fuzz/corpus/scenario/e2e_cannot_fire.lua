local fw = require "faultwire"
return fw.scenario {
  name = "cannot-fire",
  about = "the reset waits for 10 MiB but the client downloads 1 KiB",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1024" },
  faults = { fw.reset { after_bytes = 10 * 1024 * 1024 } },
  expect = { fw.exit { code = 0 } },
}
