local fw = require "faultwire"
return fw.scenario {
  name = "command-never-listens",
  server = fw.command { argv = { "sh", "-c", "echo 'cannot bind: port taken' >&2; exit 1" }, port = 8080 },
  client = { "true" },
}
