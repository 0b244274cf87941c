local fw = require "faultwire"
return fw.scenario {
  name = "holes",
  client = { "curl", "-sS" },
  faults = { fw.reset { after_bytes = 1 }, nil, fw.blackhole {} },
  expect = { fw.exit { code = 0 }, nil, 3 },
}
