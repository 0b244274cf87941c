-- Some providers cut any connection that lasts longer than a limit. A
-- player or downloader must reconnect and continue where it stopped (Range),
-- not start the stream from the beginning.
local fw = require "faultwire"

return fw.scenario {
  name = "provider-kills-long-request",
  about = "every connection is reset after 1 s; the client must resume with Range requests",
  timeout = 20,
  client = { "wget", "-q", "-c", "--tries=20", "--waitretry=0", "-O", "out.bin",
             "http://server.test/stream?kbit=4000&bytes=1000000" },
  faults = { fw.reset { after_ms = 1000 } },
  expect = {
    fw.recovered { file = "out.bin", path = "/stream?kbit=4000&bytes=1000000" },
    fw.resumed {},
  },
}
