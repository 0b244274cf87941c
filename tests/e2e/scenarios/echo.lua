local fw = require "faultwire"
-- A line-protocol client against the built-in echo server.
return fw.scenario {
  name = "echo",
  server = fw.tcp_echo {},
  client = { "bash", "-c", [[exec 3<>/dev/tcp/198.19.0.2/7
printf 'hello world\n' >&3
IFS= read -r line <&3
echo "$line"]] },
  faults = { fw.delay { ms = 10 } },
  expect = {
    fw.check(function(run) return run.client.stdout_tail == "hello world\n", "got '" .. run.client.stdout_tail .. "'" end,
      "the line came back"),
  },
}
