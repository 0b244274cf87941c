#!/bin/bash
# The rest of the fault library end to end, against real clients: mtu,
# duplicate, corrupt, match, router_restart, hooks, timed actions and the
# built-in DNS server with its faults. Each case shows both sides: the client
# that should pass passes, and the one that should fail fails for the stated
# reason, read from the run record.
. "$(dirname "$0")/lib.sh"
# Runs that do not pass keep their folder: keep them in $OUT, which goes at exit.
export TMPDIR=$OUT

# --- fw.mtu: a silent PMTU black hole, then the same link with ICMP "too big"
run mtu-silent 1 "$SCENARIOS/mtu_silent.lua"
check "curl gets nothing and gives up at --max-time" '.verdict == "fail" and .client.exit_code == 28'
check "not one byte came down" '.flows[0].bytes_down == 0'
check "the black hole fired, and nobody was told" '.faults[0].fault == "mtu" and (.faults[0].detail | test("black hole")) and .stats.injected == 0'
check "recovered names the timeout" '.expectations[0].ok == false and (.expectations[0].detail | test("exited 28"))'
run mtu-icmp 0 "$SCENARIOS/mtu_icmp.lua"
check "with \"too big\" TCP lowers its segments and the file arrives" '.client.exit_code == 0 and .expectations[0].ok'
check "the middlebox sent ICMP too big" '.faults[0].fault == "mtu" and (.faults[0].detail | test("too big")) and .stats.injected > 0'

# --- fw.duplicate: TCP and the stub resolver hide copies; a datagram counter does not
run duplicate 0 "$SCENARIOS/duplicate_dns.lua"
check "curl's file is byte-exact" '.expectations[0].ok and .client.exit_code == 0'
check "copies went out on the DNS flow and on the HTTP flow" '([.faults[] | select(.fault == "duplicate")] | length) == 2 and .stats.injected > 1'
check "copies of the request made no second request" '(.server.requests | length) == 1 and (.server.dns | length) >= 1 and all(.server.dns[]; .rcode == "NOERROR")'
# One DNS query over UDP; every datagram that comes back in 0.5 s is counted.
run duplicate-counted 1 "$SCENARIOS/duplicate_dns.lua" -- perl -MIO::Socket::INET -e '
my $s = IO::Socket::INET->new(PeerAddr => "198.19.0.2:53", Proto => "udp") or die "socket: $!\n";
$s->send(pack("n6", 0x1234, 0x0100, 1, 0, 0, 0) . "\6server\4test\0" . pack("n2", 1, 1)) or die "send: $!\n";
my ($n, $rin, $buf) = (0, "", "");
vec($rin, fileno($s), 1) = 1;
while (select(my $r = $rin, undef, undef, 0.5)) { $s->recv($buf, 512); $n++ }
print "$n answer(s) to 1 query\n";
die "$n answers to 1 query\n" if $n != 1;'
check "the client saw the copy of the answer" '.client.exit_code != 0 and (.client.stderr_tail | test("2 answers to 1 query"))'
check "one query, one copy injected" '.faults[0].fault == "duplicate" and .flows[0].proto == "udp" and .stats.injected == 1 and (.server.dns | length) == 1'
check "recovered fails, naming the client's complaint" '.verdict == "fail" and (.expectations[0].detail | test("2 answers"))'

# --- fw.corrupt: a valid checksum lets the damage through; a broken one gets it dropped
run corrupt-fixed 1 "$SCENARIOS/corrupt_fixed.lua"
check "curl exits 0 with a damaged file" '.client.exit_code == 0 and .verdict == "fail"'
check "recovered names the first difference" '.expectations[0].ok == false and (.expectations[0].detail | test("exited 0 but out.bin .*first difference at byte [0-9]+"))'
check "the client's stack saw no bad checksum" '.client.stdout_tail | test("InCsumErrors 0\n")'
check "the corruption fired, checksums kept" '.faults[0].fault == "corrupt" and (.faults[0].detail | test("kept valid"))'
run corrupt-broken 0 "$SCENARIOS/corrupt_broken.lua"
check "TCP retransmitted and the file is intact" '.client.exit_code == 0 and .expectations[0].ok'
check "the client's stack dropped segments for their checksum" '(.client.stdout_tail | capture("InCsumErrors (?<n>[0-9]+)").n | tonumber) > 0'
check "the corruption fired, checksums wrong" '.faults[0].fault == "corrupt" and (.faults[0].detail | test("left wrong"))'

# --- fw.match: a WAF that resets requests containing a word
run match 0 "$SCENARIOS/match_url.lua"
check "the matching request is reset" '.client.exit_code == 56 and (.client.stderr_tail | test("reset")) and .expectations[0].ok'
check "the match fired and the request never reached the server" '.faults[0].fault == "match" and (.faults[0].detail | test("payload matched")) and .flows[0].end == "reset_injected" and (.server.requests | length) == 0'
run match-other-url 1 "$SCENARIOS/match_url.lua" -- curl -4 -sS --max-time 5 -o out.bin 'http://server.test/bytes/1024?q=allowed'
check "another URL passes untouched: nothing matched" '.verdict == "inconclusive" and .client.exit_code == 0 and .faults == []'
check "it was served whole" '.server.requests[0].path == "/bytes/1024?q=allowed" and .server.requests[0].status == 200 and .flows[0].end == "fin"'

# --- fw.router_restart: down 0.3-1.3 s, then it has forgotten old connections
run router-restart 0 "$SCENARIOS/router_restart.lua"
check "the reconnecting client is served after the restart" '.expectations[0].ok and .client.exit_code == 0'
check "its old connection got an RST, a new one worked" '.flows[0].end == "reset_injected" and (.flows | length) == 2 and .flows[1].opened_ms >= 1300 and .flows[1].end != "reset_injected"'
check "the restart fired on the old connection" '.faults[0].fault == "router_restart" and .faults[0].flow == 1 and (.faults[0].detail | test("no longer knows"))'
check "it said why it reconnected" '(.client.stderr_tail | test("reconnecting")) and ([.client.stdout_tail | scan("HTTP/1.1 200")] | length) == 2'
NAIVE='trap "" PIPE
req=$'"'"'GET /status/200 HTTP/1.1\r\nHost: server.test\r\n\r\n'"'"'
exec 3<>/dev/tcp/198.19.0.2/80
echo -n "$req" >&3
sleep 1.5
echo -n "$req" >&3
sleep 0.3
cat <&3 >/dev/null'
run router-restart-keepalive 1 "$SCENARIOS/router_restart.lua" -- bash -c "$NAIVE"
check "the client that keeps its connection gets a reset" '.client.exit_code != 0 and (.client.stderr_tail | test("reset"))'
check "its first request was before the outage" '.flows[0].opened_ms < 300 and .server.requests[0].status == 200 and (.flows | length) == 1'
check "nothing was served after the restart" '.verdict == "fail" and .faults[0].fault == "router_restart" and (.expectations[0].detail | test("no request was answered"))'

# --- fw.hook on_flow: "reset" for the second connection
run hook-second-flow 0 "$SCENARIOS/hook_second_flow.lua"
check "the first curl worked, the second was refused (exit 7)" '.client.exit_code == 7 and (.client.stdout_tail | test("first-ok")) and (.client.stdout_tail | test("second-ok") | not)'
check "flow 2 was refused by the hook" '.flows[0].end == "fin" and .flows[1].end == "refused" and .faults[0].fault == "hook" and .faults[0].flow == 2'
check "curl said it could not connect" '.client.stderr_tail | test("Failed to connect|Could not connect|Couldn.t connect")'
run hook-one-flow 1 "$SCENARIOS/hook_second_flow.lua" -- sh -c 'curl -4 -sS -o a.bin http://server.test/bytes/1024 && echo first-ok'
check "a client with one connection never meets the hook's reset" '.verdict == "inconclusive" and .client.exit_code == 0 and .faults == []'

# --- fw.hook on_packet: {delay_ms = 30} for packets going up
run hook-delay-up 0 "$SCENARIOS/hook_delay_up.lua"
check "time_connect is at least 30 ms" '(.client.stdout_tail | tonumber) >= 0.030 and .expectations[0].ok'
check "the hook delayed packets" '.faults[0].fault == "hook" and (.faults[0].detail | test("delay"))'
run hook-delay-namelookup 1 "$SCENARIOS/hook_delay_up.lua" -- curl -4 -sS -o /dev/null -w '%{time_namelookup}\n' http://server.test/bytes/1024
check "a name lookup from /etc/hosts is not slowed by packet delays" '.verdict == "fail" and .faults[0].fault == "hook" and (.client.stdout_tail | tonumber) < 0.030'

# --- fw.hook with a runtime error: a scenario error (exit 2) with file:line
LINE=$(grep -n 'no_such_field' "$SCENARIOS/hook_error.lua" | cut -d: -f1)
run hook-error 2 "$SCENARIOS/hook_error.lua"
output_has "the error names the hook's line" "hook_error.lua:$LINE: attempt to index a nil value"
check "the record says so too" ".verdict == \"error\" and (.error | test(\"hook_error.lua:$LINE: attempt to index a nil value\"))"
check "the client was stopped at once, not at its timeout" '.client.timed_out == false and .client.duration_ms < 10000'
run hook-error-unreached 0 "$SCENARIOS/hook_error.lua" -- curl -4 -sS --max-time 15 -o a.bin http://server.test/bytes/1024
check "with one connection the bug is not reached and the run passes" '.verdict == "pass" and .faults[0].fault == "hook"'

# --- fw.hook stuck in an endless loop: the instruction budget stops it
LINE=$(grep -n 'while true do end' "$SCENARIOS/hook_endless.lua" | cut -d: -f1)
run hook-endless 2 "$SCENARIOS/hook_endless.lua"
output_has "the budget message names the loop's line" "hook_endless.lua:$LINE: scenario code ran for too long"
check "the run ended well before the client's 15 s timeout" '.verdict == "error" and .duration_ms < 10000 and .client.timed_out == false'
run hook-endless-unreached 0 "$SCENARIOS/hook_endless.lua" -- curl -4 -sS --max-time 15 -o a.bin http://server.test/bytes/1024
check "with one connection the loop is not reached and the run passes" '.verdict == "pass" and .faults[0].fault == "hook"'

# --- fw.at: at 0.5 s a flag closes the service; the hook refuses from then on
run at-flag 0 "$SCENARIOS/at_flag.lua"
check "the curl at t=0 worked, the one after sleep 1 was refused" '.client.exit_code == 7 and (.client.stdout_tail | test("early-ok")) and (.client.stdout_tail | test("late-ok") | not)'
check "flow 1 before 0.5 s, flow 2 refused after" '.flows[0].opened_ms < 500 and .flows[0].end == "fin" and .flows[1].opened_ms >= 500 and .flows[1].end == "refused"'
check "the hook fired only after the timed action" '.faults[0].fault == "hook" and .faults[0].flow == 2 and .faults[0].t_ms >= 500'
run at-flag-quick 1 "$SCENARIOS/at_flag.lua" -- sh -c 'curl -4 -sS -o a.bin http://server.test/bytes/1024 && echo early-ok; curl -4 -sS -o b.bin http://server.test/bytes/1024 && echo late-ok'
check "two connections before 0.5 s both work: nothing fired" '.verdict == "inconclusive" and .client.exit_code == 0 and (.client.stdout_tail | test("late-ok")) and .faults == []'

# --- DNS: fw.dns{} without a fault
run dns-plain 0 "$SCENARIOS/dns_plain.lua"
check "curl resolved server.test through the DNS server" '.server.dns[0].name == "server.test" and .server.dns[0].type == "A" and .server.dns[0].answer == "198.19.0.2" and all(.server.dns[]; .rcode == "NOERROR")'
check "the query went through the middlebox, then the request" '.flows[0].proto == "udp" and (.flows[0].server | endswith(":53")) and .server.requests[0].flow == 2 and .expectations[0].ok'
run dns-plain-hosts 1 "$SCENARIOS/dns_plain.lua" -- grep -w server.test /etc/hosts
check "/etc/hosts no longer names server.test" '.verdict == "fail" and .client.exit_code == 1 and .server.dns == []'

# --- fw.dns_fail SERVFAIL
run dns-servfail 0 "$SCENARIOS/dns_servfail.lua"
check "curl exits 6: Could not resolve host" '.client.exit_code == 6 and (.client.stderr_tail | test("Could not resolve host")) and .expectations[0].ok'
check "every answer was SERVFAIL and no connection followed" '(.server.dns | length) >= 1 and (.faults | length) >= 1 and all(.server.dns[]; .rcode == "SERVFAIL") and all(.faults[]; .fault == "dns_fail" and (.detail | test("answered SERVFAIL"))) and ([.flows[] | select(.proto == "tcp")] | length) == 0'
run dns-servfail-swallowed 1 "$SCENARIOS/dns_servfail.lua" -- sh -c 'curl -4 -sS --max-time 5 -o out.bin http://server.test/bytes/1024; exit 0'
check "a client that swallows the error fails reported" '.verdict == "fail" and (.expectations[0].detail | test("exited 0"))'

# --- fw.dns_fail timeout: the resolver's timeout:1 attempts:2
run dns-timeout 0 "$SCENARIOS/dns_timeout.lua"
check "curl exits 6 after about 2 s of the resolver's waiting" '.client.exit_code == 6 and .expectations[0].ok and .client.duration_ms >= 1900 and .client.duration_ms < 6000'
check "two queries a timeout apart, both unanswered" '(.server.dns | length) == 2 and all(.server.dns[]; .rcode == "timeout") and (.server.dns[1].t_ms - .server.dns[0].t_ms) >= 900 and (.faults[0].detail | test("left unanswered"))'

# --- fw.dns_wrong: an address where nobody listens
run dns-wrong 1 "$SCENARIOS/dns_wrong_addr.lua"
check "curl cannot connect" '.verdict == "fail" and (.client.exit_code == 7 or .client.exit_code == 28) and (.expectations[0].detail | test("exited (7|28)"))'
check "it went to the wrong address" '.faults[0].fault == "dns_wrong" and (.faults[0].detail | test("answered 198.19.0.99")) and .server.dns[0].answer == "198.19.0.99" and any(.flows[]; .server == "198.19.0.99:80") and .server.requests == []'
run dns-wrong-by-ip 1 "$SCENARIOS/dns_wrong_addr.lua" -- curl -4 -sS --connect-timeout 1 -o out.bin http://198.19.0.2/bytes/1024
check "the client that uses the IP gets the file; DNS was never asked" '.client.exit_code == 0 and .expectations[0].ok and .verdict == "inconclusive" and .server.dns == []'

# --- fw.loss on port 53: queries vanish
run dns-lost 0 "$SCENARIOS/dns_lost.lua"
check "curl exits 6 after the resolver's timeouts" '.client.exit_code == 6 and .expectations[0].ok and .client.duration_ms >= 1900'
check "the queries were dropped before the server" '.faults[0].fault == "loss" and (.flows | length) >= 1 and all(.flows[]; .proto == "udp" and .dropped >= 1) and .stats.dropped >= 2 and .server.dns == []'
run dns-lost-fallback 1 "$SCENARIOS/dns_lost.lua" -- sh -c 'curl -4 -sS --max-time 5 -o out.bin http://server.test/bytes/1024 || curl -4 -sS --max-time 5 -o out.bin http://198.19.0.2/bytes/1024'
check "port 80 is untouched: the address fallback works and the failure goes unreported" '.verdict == "fail" and .client.exit_code == 0 and .server.requests[0].status == 200 and (.expectations[0].detail | test("exited 0"))'
finish
