#!/bin/bash
# A misspelled parameter is a scenario error: exit 2, with file:line and the
# parameter's name; a scenario whose fault cannot fire is inconclusive
# (exit 1), and the same client under a fault that does fire passes.
. "$(dirname "$0")/lib.sh"

CHECKS=$((CHECKS + 1))
code=0
"$FAULTWIRE" run "$SCENARIOS/misspelled.lua" >"$OUT/bad.out" 2>&1 || code=$?
cat "$OUT/bad.out"
[ "$code" = 2 ] || fail "misspelled: expected exit 2, got $code"
LAST=$OUT/bad
output_has "file:line" "misspelled.lua:6:"
output_has "names the parameter" "unknown parameter 'after_byts' to fw.reset (did you mean 'after_bytes'?)"

CHECKS=$((CHECKS + 1))
code=0
"$FAULTWIRE" check "$SCENARIOS/misspelled.lua" >"$OUT/check.out" 2>&1 || code=$?
[ "$code" = 2 ] || fail "check misspelled: expected exit 2, got $code"
CHECKS=$((CHECKS + 1))
"$FAULTWIRE" check "$SCENARIOS/reset_reported.lua" >/dev/null || fail "check of a good scenario failed"

run inconclusive 1 "$SCENARIOS/cannot_fire.lua"
check "verdict inconclusive" '.verdict == "inconclusive"'
check "its expectation held all the same" '.expectations[0].ok == true'
check "no fault fired" '(.faults | length) == 0'
output_has "says so" "INCONCLUSIVE"

run fires 0 "$SCENARIOS/reset_reported.lua"
check "with a fault that fires, the verdict is pass" '.verdict == "pass" and (.faults | length) >= 1'
run sandbox 0 "$SCENARIOS/no_bytecode.lua"
check "binary chunks, string.dump and the shell are out of reach" '.expectations[0].ok'
finish
