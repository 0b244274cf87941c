local fw = require "faultwire"
return fw.scenario {
  name = 5,
  faults = { fw.loss { model = "random", r = 0.5 }, fw.reset { after_bytes = -1 }, fw.delay {} },
  expect = { fw.check("not a function"), fw.retried { backoff = "linear" }, fw.exit {} },
}
