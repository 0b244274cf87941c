local fw = require "faultwire"
return fw.scenario {
  name = "idle-timeout",
  about = "a NAT forgets a connection idle for 1 s; the next request on it gets an RST",
  timeout = 10,
  -- One keep-alive connection, two requests 1.5 s apart.
  client = { "bash", "-c", [[trap "" PIPE
req=$'GET /status/200 HTTP/1.1\r\nHost: server.test\r\n\r\n'
exec 3<>/dev/tcp/198.19.0.2/80
echo -n "$req" >&3
sleep 1.5
echo -n "$req" >&3
sleep 0.3
cat <&3 >/dev/null]] },
  faults = { fw.idle_timeout { after_s = 1 } },
  expect = { fw.reported { stderr = "reset" } },
}
