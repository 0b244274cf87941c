-- A provider (or an overloaded server) kills a download with a TCP RST
-- after 256 KiB. A well-behaved client reports the reset instead of
-- pretending the download finished.
local fw = require "faultwire"

return fw.scenario {
  name = "midstream-reset",
  about = "provider kills the stream with a TCP RST after 256 KiB",
  client = { "curl", "-sS", "-o", "out.bin", "http://server.test/bytes/1048576" },
  faults = {
    fw.reset { after_bytes = 256 * 1024, dir = "down" },
  },
  expect = {
    fw.reported { stderr = "reset" },
    fw.finished_within { s = 10 },
  },
}
