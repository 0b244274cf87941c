# lib.sh — helpers for the end-to-end tests: run the real faultwire binary
# and check its exit code and run record. Sourced by every test_*.sh.
#
# Environment (set by ctest): FAULTWIRE = the binary, FW_SOURCE = the source tree.
set -u
FAULTWIRE=${FAULTWIRE:-$(dirname "$0")/../../build/faultwire}
FW_SOURCE=${FW_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
SCENARIOS=$FW_SOURCE/tests/e2e/scenarios
OUT=$(mktemp -d "${TMPDIR:-/tmp}/fw-e2e.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
FAILURES=0
CHECKS=0

fail() {
	echo "FAIL: $*" >&2
	FAILURES=$((FAILURES + 1))
}

# run NAME EXPECTED_EXIT ARGS... — run faultwire, record in $OUT/NAME.json,
# human output in $OUT/NAME.out; check the exit code.
run() {
	local name=$1 expected=$2
	shift 2
	local code=0
	"$FAULTWIRE" run --json "$OUT/$name.json" "$@" >"$OUT/$name.out" 2>&1 || code=$?
	echo "--- $name (exit $code)"
	cat "$OUT/$name.out"
	CHECKS=$((CHECKS + 1))
	if [ "$code" != "$expected" ]; then
		fail "$name: expected exit $expected, got $code"
	fi
	LAST=$OUT/$name
}

# check NAME JQ_EXPR — the expression must be true of the last run's record.
check() {
	local what=$1 expr=$2
	CHECKS=$((CHECKS + 1))
	if ! jq -e "$expr" "$LAST.json" >/dev/null 2>&1; then
		fail "$what: '$expr' does not hold for $LAST.json"
		jq -c '{verdict, client: {exit_code: .client.exit_code, stderr_tail: .client.stderr_tail}, expectations, faults, flows}' "$LAST.json" >&2 || true
	fi
}

# output_has WHAT TEXT — the last run's human output contains TEXT.
output_has() {
	CHECKS=$((CHECKS + 1))
	if ! grep -qF -- "$2" "$LAST.out"; then
		fail "$1: output lacks '$2'"
	fi
}

finish() {
	echo "$((CHECKS - FAILURES)) passed, $FAILURES failed"
	[ "$FAILURES" = 0 ]
}
