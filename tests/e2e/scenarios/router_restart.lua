local fw = require "faultwire"
return fw.scenario {
  name = "router-restart",
  about = "the router is down from 0.3 s to 1.3 s and then forgets every connection; the client must reconnect",
  timeout = 10,
  -- One keep-alive connection: a request, 1.5 s of quiet, then a request
  -- on it again; when that fails, a new connection. Each request is one write.
  client = { "bash", "-c", [[trap "" PIPE
req=$'GET /status/200 HTTP/1.1\r\nHost: server.test\r\n\r\n'
ask() {
	echo -n "$req" >&3 || return 1
	local line
	IFS= read -r -t 2 line <&3 || return 1
	echo "${line%$'\r'}"
	while IFS= read -r -t 2 line <&3 && [ "$line" != $'\r' ]; do :; done
}
exec 3<>/dev/tcp/198.19.0.2/80
ask || exit 1
sleep 1.5
if ! ask; then
	echo "the old connection failed; reconnecting" >&2
	exec 3<>/dev/tcp/198.19.0.2/80
	ask || exit 1
fi]] },
  faults = { fw.router_restart { at = 0.3, down_s = 1 } },
  expect = {
    fw.check(function(run)
      for _, r in ipairs(run.server.requests) do
        if r.t_ms >= 1300 and r.status == 200 then
          return true, "answered 200 at " .. r.t_ms .. " ms on connection #" .. tostring(r.flow)
        end
      end
      return false, "no request was answered after the router came back"
    end, "served after the restart"),
  },
}
