#!/bin/bash
# Every scenario of the catalog passes with the client it names (run in
# parallel, each in its own namespaces): the catalog is a set of working
# examples, not just text.
. "$(dirname "$0")/lib.sh"

CHECKS=$((CHECKS + 1))
code=0
"$FAULTWIRE" run -q --jobs 2 --json "$OUT/catalog.json" --junit "$OUT/catalog.xml" "$FW_SOURCE/scenarios" >"$OUT/catalog.out" 2>&1 || code=$?
cat "$OUT/catalog.out"
[ "$code" = 0 ] || fail "the catalog: expected exit 0, got $code"
LAST=$OUT/catalog
count=$(find "$FW_SOURCE/scenarios" -maxdepth 1 -name '*.lua' | wc -l)
check "one record per scenario" "(.runs | length) == $count"
check "every run passed" '[.runs[].verdict] | all(. == "pass")'
# What a run that did not pass saw, to tell a flaky client from a bug.
jq -c '.runs[] | select(.verdict != "pass") | {file, verdict, error, client: {exit_code: .client.exit_code, stderr: .client.stderr_tail}, flows, faults, requests: .server.requests, stats}' "$OUT/catalog.json" >&2
check "every run's faults fired" '[.runs[] | (.faults | length) > 0] | all'
CHECKS=$((CHECKS + 1))
grep -q "<testsuite name=\"faultwire\" tests=\"$count\" failures=\"0\" errors=\"0\"" "$OUT/catalog.xml" || fail "JUnit summary line"
finish
