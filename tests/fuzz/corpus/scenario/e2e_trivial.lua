local fw = require "faultwire"
return fw.scenario {
  name = "trivial",
  client = { "true" },
  expect = { fw.exit { code = 0 } },
}
