-- Rules written by hand instead of by fw: nothing checked them.
local fw = require "faultwire"
local s = fw.scenario { name = "raw-rules" }
s.faults = {
  { type = "delay", ms = -5, jitter_ms = 0 / 0 },
  { type = "mtu", bytes = -1, icmp = true },
  { type = "reset", after_bytes = -2 ^ 70, after_ms = 0 / 0, dir = "sideways" },
  { type = "conn_cap", max = -1, action = "reset" },
  { type = "rate_block", conns = 0, within_s = -1, block_s = 0 / 0 },
  { type = "loss", model = "gilbert", p = 2, r = -1 },
  { type = "match", pattern = "" },
  { type = "router_restart", at = -1, down_s = 1e300 },
  { type = "idle_timeout", after_s = -1 },
  { type = "hook", on_packet = 5 },
}
return s
