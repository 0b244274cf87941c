local fw = require "faultwire"
local probes = { os.execute, os.exit, io.popen, package.loadlib, rawget(_G, "debug"), os.remove }
for k, v in pairs(probes) do error("still there: " .. k) end
local ok = pcall(require, "debug")
local big = pcall(string.rep, "x", 2 ^ 40)
return fw.scenario { name = "sandbox", about = tostring(ok) .. tostring(big) .. fw.nothing }
