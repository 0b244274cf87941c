local fw = require "faultwire"
return fw.scenario {
  name = "huge",
  seed = math.maxinteger,
  timeout = math.huge,
  faults = {
    fw.reset { after_ms = math.huge, after_bytes = math.maxinteger, from = 1e300, ["until"] = math.huge },
    fw.delay { ms = 1e300, jitter_ms = math.huge },
    fw.rate { kbit = 1e308 },
    fw.conn_cap { max = math.maxinteger },
    fw.rate_block { conns = 2 ^ 40, within_s = 1e300, block_s = math.huge },
    fw.idle_timeout { after_s = 1e20 },
    fw.refuse { flows = { math.maxinteger, 2 } },
  },
}
