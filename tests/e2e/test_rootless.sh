#!/bin/bash
# As an ordinary user, faultwire enters a user namespace and gives the same
# result as root (same verdict, same bytes, same decisions digest); where
# user namespaces are not allowed it exits 3 and says what to change.
. "$(dirname "$0")/lib.sh"

USER_NAME=fwtest
if ! id "$USER_NAME" >/dev/null 2>&1; then
	useradd --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
chmod 1777 "$OUT"  # the user writes its record here
# The source tree may sit where the user cannot read (/root): give it copies.
cp "$FAULTWIRE" "$OUT/faultwire"
cp "$SCENARIOS/reset_reported.lua" "$OUT/reset_reported.lua"
chmod 755 "$OUT/faultwire"
chmod 644 "$OUT/reset_reported.lua"

run as-root 0 "$SCENARIOS/reset_reported.lua"
root_digest=$(jq -r .decisions_digest "$LAST.json")

CHECKS=$((CHECKS + 1))
code=0
(cd "$OUT" && runuser -u "$USER_NAME" -- ./faultwire run --json "$OUT/user.json" reset_reported.lua) >"$OUT/user.out" 2>&1 || code=$?
cat "$OUT/user.out"
[ "$code" = 0 ] || fail "as $USER_NAME: expected exit 0, got $code"
LAST=$OUT/user
check "curl exits 56 as for root" '.client.exit_code == 56'
check "exactly 256 KiB as for root" '.flows[0].bytes_down == 262144'
check "the same decisions as root" ".decisions_digest == \"$root_digest\""

# No user namespaces allowed: inside a user namespace whose limit is 0.
CHECKS=$((CHECKS + 1))
code=0
unshare -U -r sh -c "echo 0 > /proc/sys/user/max_user_namespaces && FAULTWIRE_ROOTLESS=1 '$FAULTWIRE' run '$SCENARIOS/trivial.lua'" >"$OUT/denied.out" 2>&1 || code=$?
cat "$OUT/denied.out"
[ "$code" = 3 ] || fail "without user namespaces: expected exit 3, got $code"
LAST=$OUT/denied
output_has "names what is missing" "user namespace"
output_has "says what to change" "sysctl -w user.max_user_namespaces"
finish
