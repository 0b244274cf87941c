#!/bin/bash
# The reset case over IPv6 (curl -6) and over IPv4 (curl -4): the RST is
# crafted for each family and curl sees ECONNRESET either way.
. "$(dirname "$0")/lib.sh"

run ipv6 0 "$SCENARIOS/reset_reported.lua" -- curl -6 -sS -o out.bin http://server.test/bytes/1048576
check "curl -6 exits 56" '.client.exit_code == 56'
check "the flow is IPv6" '.flows[0].client | startswith("[2001:db8:c::2]:")'
check "the server is IPv6" '.flows[0].server == "[2001:db8:5::2]:80"'
check "reset injected" '.flows[0].end == "reset_injected"'

run ipv4 0 "$SCENARIOS/reset_reported.lua" -- curl -4 -sS -o out.bin http://server.test/bytes/1048576
check "curl -4 exits 56" '.client.exit_code == 56'
check "the flow is IPv4" '.flows[0].client | startswith("198.18.0.2:")'

run ipv6-no-fault 1 "$SCENARIOS/cannot_fire.lua" -- curl -6 -sS -o out.bin http://server.test/bytes/1024
check "IPv6 traffic flows through the middlebox untouched" '.client.exit_code == 0 and .flows[0].end == "fin"'
finish
