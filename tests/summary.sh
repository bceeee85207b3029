#!/bin/sh
# Print one closing line for the whole suite, "N passed, N failed, N skipped",
# counted over every test case of every TAP test program (read from .trs files).
passed=0; failed=0; skipped=0
for log in "$@"; do
	trs="${log%.log}.trs"
	[ -f "$trs" ] || continue
	p=$(grep -c '^:test-result: PASS' "$trs")
	f=$(grep -c -E '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
	s=$(grep -c -E '^:test-result: (SKIP|XFAIL)' "$trs")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
