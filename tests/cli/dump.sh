#!/bin/sh
# postern dump: the compiled program and its rule index. A small rule file
# with one of each (settings, lists, tests, actions, keyed and plain rules)
# is pinned byte for byte by a golden file; the stock baseline policy is
# dumped whole.
. "$top_srcdir/tests/cli/tap.sh"

dir="$top_srcdir/tests/cli/dump"

# The golden file. To regenerate after a deliberate change of the format:
#   cd tests/cli/dump && postern dump small.rules > small.dump
out=$(cd "$dir" && "$POSTERN" dump small.rules 2>"$TMPDIR_TEST/err"); rc=$?
is "$rc" 0 "dump small.rules exits 0"
is "$(cat "$TMPDIR_TEST/err")" "" "and writes nothing on stderr"
(cd "$dir" && "$POSTERN" dump small.rules) > "$TMPDIR_TEST/small.dump"
if cmp -s "$TMPDIR_TEST/small.dump" "$dir/small.dump"; then
	ok "the dump of small.rules equals the golden file byte for byte"
else
	not_ok "the dump of small.rules equals the golden file byte for byte" \
		"$(diff "$dir/small.dump" "$TMPDIR_TEST/small.dump" | head -40)"
fi

# The stock baseline policy: every rule (its include's too), each with its
# file:line, its tests and its actions, and the index.
out=$(cd "$top_srcdir/rules" && "$POSTERN" dump baseline.rules); rc=$?
is "$rc" 0 "dump rules/baseline.rules exits 0"
want=$(cd "$top_srcdir/rules" && grep -hE '^[[:space:]]*rule [A-Za-z0-9_.-]+' baseline.rules spoofing.rules |
	sed -E 's/^[[:space:]]*rule ([A-Za-z0-9_.-]+).*/\1/' | sort)
got=$(printf '%s\n' "$out" | sed -nE 's/^  rule ([^ ]+) .*/\1/p' | sort)
is "$got" "$want" "every rule of baseline.rules and its include is dumped ($(printf '%s\n' "$want" | wc -l | tr -d ' '))"
n=$(printf '%s\n' "$want" | wc -l | tr -d ' ')
is "$(printf '%s\n' "$out" | grep -cx "rules $n")" 1 "the rule count is given ($n)"
is "$(printf '%s\n' "$out" | grep -c '^    when$')" "$n" "each rule has its condition"
is "$(printf '%s\n' "$out" | grep -c '^    then$')" "$n" "each rule has its actions"
like "$out" 'rule scrub_internal baseline\.rules:[0-9]+' "a rule names its file:line"
like "$out" 'rule dmarc_reject spoofing\.rules:[0-9]+' "an included rule names its own file"
like "$out" '      remove header "X-Internal-Route"  @[0-9]+:[0-9]+' "an edit action with its arguments"
like "$out" '      prepend subject "\[EXTERNAL\] "  @' "prepend subject with its text"
like "$out" 'mode audit' "the audit mode is shown"
like "$out" '        from\.domain in list internal  @[0-9]+:[0-9]+' "a test: operand, operator, list, position"
like "$out" '        dmarc == fail  @' "a result test"
like "$out" '  list internal = domains, 1 entry' "the lists are dumped"
like "$out" '  authserv-id "mx\.example\.net"' "the settings are dumped"
is "$(printf '%s\n' "$out" | grep -c '^index ')" 1 "the rule index is dumped"

# Errors and usage.
printf 'rule r { when nosuch.fact then accept; }\n' > "$TMPDIR_TEST/bad.rules"
out=$("$POSTERN" dump "$TMPDIR_TEST/bad.rules" 2>"$TMPDIR_TEST/err"); rc=$?
is "$rc" 1 "a rule file with errors: exit 1"
is "$out" "" "and nothing on stdout"
like "$(cat "$TMPDIR_TEST/err")" "bad\.rules:1:15: error: unknown fact 'nosuch\.fact'" "the diagnostics on stderr"
"$POSTERN" dump "$TMPDIR_TEST/missing.rules" >/dev/null 2>&1; rc=$?
is "$rc" 1 "a missing file: exit 1"
"$POSTERN" dump >/dev/null 2>&1; rc=$?
is "$rc" 64 "no file: exit 64"
"$POSTERN" dump --frob x >/dev/null 2>&1; rc=$?
is "$rc" 64 "an unknown option: exit 64"
out=$("$POSTERN" dump --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" 'usage: postern dump FILE' "and prints the usage"
like "$("$POSTERN" --help)" 'dump' "postern --help lists dump"
done_testing
