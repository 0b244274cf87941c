local fw = require "faultwire"
-- The sandbox: no precompiled chunks (they can corrupt memory), no way to
-- make them, no shell.
local loaded, why = load("\27Lua\84\0", "chunk", "b")
return fw.scenario {
  name = "no-bytecode",
  client = { "true" },
  expect = {
    fw.check(function()
      return loaded == nil and string.dump == nil and os.execute == nil and io.popen == nil,
        "load gave " .. tostring(loaded) .. " (" .. tostring(why) .. "), string.dump is " .. tostring(string.dump)
    end, "sandboxed"),
  },
}
