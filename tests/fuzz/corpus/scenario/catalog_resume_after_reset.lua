-- The first connection of a download is reset halfway. A robust downloader
-- reconnects and continues with a Range request, and the file on disk is
-- byte for byte what the server serves.
local fw = require "faultwire"

return fw.scenario {
  name = "resume-after-reset",
  about = "first download connection reset at 256 KiB; the client must retry and finish the file",
  client = { "wget", "-q", "-c", "--tries=5", "--waitretry=0", "-O", "out.bin",
             "http://server.test/bytes/1048576" },
  faults = {
    fw.reset { after_bytes = 256 * 1024, dir = "down", flows = { 1 } },
  },
  expect = {
    fw.recovered { file = "out.bin", path = "/bytes/1048576" },
    fw.retried { min = 1, max = 3 },
  },
}
