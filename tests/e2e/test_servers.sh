#!/bin/bash
# The other servers: fw.tcp_echo (built in) and fw.command (the user's own
# program, run in the server's namespace for the run).
. "$(dirname "$0")/lib.sh"

run echo 0 "$SCENARIOS/echo.lua"
check "the echo server saw the connection and the bytes" '.server.type == "tcp_echo" and .server.echo.connections == 1 and .server.echo.bytes == 12'
run echo-cut 1 "$SCENARIOS/echo.lua" -- bash -c 'exec 3<>/dev/tcp/198.19.0.2/7; printf "hello" >&3; read -r -t 1 line <&3; echo "$line"'
check "a client that sends no newline gets no line back" '.expectations[0].ok == false'

run command 0 "$SCENARIOS/command_server.lua"
check "the server command ran and served" '.server.type == "command" and (.server.command.argv[0] == "perl")'
check "exactly 20000 bytes reached the client" '.flows[0].bytes_down == 20000 and .client.exit_code == 56'
run command-swallow 1 "$SCENARIOS/command_server.lua" -- sh -c 'curl -4 -sS -o out.bin http://server.test:8080/; exit 0'
check "a client that hides the reset fails" '.expectations[0].ok == false'

CHECKS=$((CHECKS + 1))
code=0
"$FAULTWIRE" run "$SCENARIOS/command_never_listens.lua" >"$OUT/never.out" 2>&1 || code=$?
cat "$OUT/never.out"
[ "$code" = 2 ] || fail "a server command that never listens: expected exit 2, got $code"
LAST=$OUT/never
output_has "names the port" "did not listen on port 8080"
output_has "shows what it said" "cannot bind: port taken"
finish
