#!/bin/sh
# "postern test": the stock and scenario suites pass (acceptance point 1);
# a deliberately broken copy of a stock rule file makes its suite fail with
# a readable expected/got diff (point 2); suite-file errors are reported as
# file:line:col; the exit statuses of postern-test(5); --coverage, --help.
. "$top_srcdir/tests/cli/tap.sh"
T=$TMPDIR_TEST

# --- Every stock and scenario suite passes ----------------------------------
out=$(cd "$top_srcdir" && "$POSTERN" test rules/*.test examples/*/*.test 2>"$T/stderr"); rc=$?
is "$rc" 0 "the stock and scenario suites pass (exit 0)"
last=$(printf '%s\n' "$out" | tail -n 1)
like "$last" '^[0-9]+ passed, 0 failed$' "the last line is 'N passed, 0 failed' ($last)"
n=${last%% *}
[ "${n:-0}" -ge 60 ] && ok "at least 60 cases in all ($n)" || not_ok "at least 60 cases in all ($n)"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1 "nothing but the summary when every case passes"
is "$(cat "$T/stderr")" "" "nothing on stderr"
for s in baseline strict-tenant allowlist-tenant; do
	[ -f "$top_srcdir/rules/$s.test" ] && ok "rules/$s.rules has its suite" || not_ok "rules/$s.rules has its suite"
done
is "$(ls "$top_srcdir"/examples/scenario-*/*.test | wc -l | tr -d ' ')" 12 "one suite per scenario"

# --- A broken copy of a stock rule file fails its suite, readably -----------
mkdir -p "$T/broken"
cp -R "$top_srcdir/rules/strict-tenant.rules" "$top_srcdir/rules/strict-tenant.test" "$top_srcdir/rules/spoofing.rules" \
      "$top_srcdir/rules/lists" "$top_srcdir/rules/tests" "$T/broken/"
# The mistake: "SPF must pass" without "and align" (the custom MAIL FROM case).
sed 's/not (spf == pass and spf.aligned)/spf != pass/' "$top_srcdir/rules/strict-tenant.rules" \
	> "$T/broken/strict-tenant.rules"
cmp -s "$T/broken/strict-tenant.rules" "$top_srcdir/rules/strict-tenant.rules" &&
	not_ok "the broken copy differs from the stock file" || ok "the broken copy differs from the stock file"
out=$("$POSTERN" test "$T/broken/strict-tenant.test" 2>"$T/stderr"); rc=$?
is "$rc" 1 "the broken rule file makes its suite fail (exit 1)"
line=$(grep -n "default MAIL FROM: DMARC passes, the tenant rejects" "$T/broken/strict-tenant.test" | cut -d: -f1)
like "$out" "FAIL $T/broken/strict-tenant.test:$line: case \"a partner through a provider's default MAIL FROM" \
     "the failing case is named with its file:line"
printf '%s\n' "$out" > "$T/out"
exp=$(grep -n 'decision reject' "$T/broken/strict-tenant.test" | awk -F: -v l="$line" '$1 > l { print $1; exit }')
is "$(grep -A2 "strict-tenant.test:$exp: treasury@bank.example.org: decision" "$T/out" | sed 's/^ *//')" \
   "$(printf '%s\n' "$T/broken/strict-tenant.test:$exp: treasury@bank.example.org: decision" 'expected: reject' 'got:      accept')" \
   "expected against got, at the expectation's file:line"
grep -q "strict-tenant.test:[0-9]*: treasury@bank.example.org: rule" "$T/out" &&
grep -A2 ": treasury@bank.example.org: rule" "$T/out" | grep -q 'expected: partner_spf_aligned' &&
grep -A2 ": treasury@bank.example.org: rule" "$T/out" | grep -q 'got:      none' &&
	ok "the deciding rule: expected partner_spf_aligned, got none" ||
	not_ok "the deciding rule: expected partner_spf_aligned, got none" "$(cat "$T/out")"
grep -q '^  trace for treasury@bank.example.org' "$T/out" &&
grep -q '^      partner_spf_aligned .*strict-tenant.rules:[0-9]*  not matched' "$T/out" &&
	ok "the trace shows the rule that did not match" || not_ok "the trace shows the rule that did not match" "$(cat "$T/out")"
like "$(tail -n 1 "$T/out")" '^[0-9]+ passed, [1-9][0-9]* failed$' "the summary counts the failures"
is "$(cat "$T/stderr")" "" "a failing case is not an error: nothing on stderr"

# --- Errors in a suite file: file:line:col, exit 65 -------------------------
cp "$top_srcdir/tests/fixtures/cli/simple.rules" "$T/simple.rules"
printf 'rules "simple.rules"\nnow 1795424700\ndns none\nmessage "m.eml"\ncase "x" {\n  decision rejected\n  smtp 55\n}\n' > "$T/bad.test"
err=$("$POSTERN" test "$T/bad.test" 2>&1 >/dev/null); rc=$?
is "$rc" 65 "a suite with errors exits 65"
like "$err" "bad.test:6:12: error: 'rejected' is not a decision" "the error is at file:line:col"
like "$err" "bad.test:7:8: error: '55' is not an SMTP reply code" "every error is reported"
printf 'rules "simple.rules"\nnow 1\ndns <<END\n  bad..name. 300 IN A 192.0.2.1\n  END\nmessage "nonexistent.eml"\ncase "x" {\n  decision accept\n}\n' > "$T/missing.test"
err=$("$POSTERN" test "$T/missing.test" 2>&1 >/dev/null); rc=$?
is "$rc" 65 "a fixture or message that cannot be read exits 65"
like "$err" "missing.test:4:[0-9]+: error" "an inline fixture's error points into the suite"
printf 'rules "simple.rules"\nnow 1\ndns none\nmessage "nonexistent.eml"\ncase "x" {\n  decision accept\n}\n' > "$T/nomsg.test"
err=$("$POSTERN" test "$T/nomsg.test" 2>&1 >/dev/null)
like "$err" "nomsg.test:4:1: error: the message nonexistent.eml cannot be read" "a missing message points at its statement"

# --- A rule file that does not compile: exit 78 ------------------------------
printf 'rule x { when nosuchfact == 1 then accept; }\n' > "$T/broken.rules"
printf 'rules "broken.rules"\nnow 1\ndns none\nmessage <<E\n  From: a@example.com\n\n  x\n  E\ncase "x" {\n  decision accept\n}\n' > "$T/brokenrules.test"
out=$("$POSTERN" test "$T/brokenrules.test" 2>"$T/stderr"); rc=$?
is "$rc" 78 "a rule file that does not compile exits 78"
like "$(cat "$T/stderr")" 'broken.rules:1:[0-9]+: error' "its diagnostics are shown"
like "$(cat "$T/stderr")" 'brokenrules.test:1:1: error: the rule file broken.rules does not compile' "and the suite line naming it"
is "$(printf '%s\n' "$out" | tail -n 1)" "0 passed, 1 failed" "its cases count as failed"

# --- matched RULE: a non-terminal rule that matched, without the JSON -------
# A suite of the stock baseline.rules whose one case holds the lines given.
matched_suite() {
	{
		printf 'rules "%s/rules/baseline.rules"\ndns none\nnow 2026-11-24T12:05:00Z\n' "$top_srcdir"
		printf 'client-ip 192.0.2.50\nmail-from it@example.net\nrcpt bob@example.net\n'
		printf 'message <<END\n  From: it@example.net\n  Subject: Route\n  X-Internal-Route: edge-3/pool-b\n\n  body\n  END\n'
		printf 'case "the edit-only rule" {\n  expect bob@example.net {\n'
		for l in "$@"; do printf '    %s\n' "$l"; done
		printf '  }\n}\n'
	} > "$T/matched.test"
}
matched_suite "decision accept" "rule none" "matched scrub_internal" "not matched dmarc_reject dmarc_quarantine"
out=$("$POSTERN" test "$T/matched.test" 2>"$T/stderr"); rc=$?
is "$rc" 0 "matched scrub_internal holds for the edit-only rule (exit 0)"
is "$out" "1 passed, 0 failed" "and prints only the summary"
is "$(cat "$T/stderr")" "" "nothing on stderr"
# Deliberately wrong: the scrub rule did match, the DMARC rule did not.
matched_suite "decision accept" "not matched scrub_internal" "matched dmarc_reject"
out=$("$POSTERN" test "$T/matched.test" 2>"$T/stderr"); rc=$?
printf '%s\n' "$out" > "$T/out"
is "$rc" 1 "a matched expectation that does not hold fails the case (exit 1)"
is "$(grep -A2 "matched.test:17: bob@example.net: not matched" "$T/out" | sed 's/^ *//')" \
   "$(printf '%s\n' "$T/matched.test:17: bob@example.net: not matched" 'expected: none of scrub_internal' 'got:      scrub_internal')" \
   "not matched: expected against got (the rules that matched)"
is "$(grep -A2 "matched.test:18: bob@example.net: matched" "$T/out" | sed 's/^ *//')" \
   "$(printf '%s\n' "$T/matched.test:18: bob@example.net: matched" 'expected: dmarc_reject' 'got:      scrub_internal')" \
   "matched: expected against got"
grep -q '^      dmarc_reject .*spoofing.rules:[0-9]*  not matched' "$T/out" &&
grep -q '^      scrub_internal .*baseline.rules:[0-9]*  matched' "$T/out" &&
	ok "the trace shows every rule, matched or not" || not_ok "the trace shows every rule, matched or not" "$(cat "$T/out")"
is "$(tail -n 1 "$T/out")" "0 passed, 1 failed" "the summary counts the failure"
is "$(cat "$T/stderr")" "" "a failing matched is not an error: nothing on stderr"
# A name that is no rule of the file: file:line:col, did you mean, exit 65.
matched_suite "matched scrub_internal" "not matched dmarc_rejct"
out=$("$POSTERN" test "$T/matched.test" 2>"$T/stderr"); rc=$?
is "$rc" 65 "a matched naming no rule exits 65"
is "$(cat "$T/stderr")" "$(printf '%s\n' "$T/matched.test:17:17: error: 'dmarc_rejct' names no rule of $top_srcdir/rules/baseline.rules; did you mean 'dmarc_reject'?" "$T/matched.test: error: 1 case counted as failed")" \
   "a misspelt rule: file:line:col and a did-you-mean"
is "$(printf '%s\n' "$out" | tail -n 1)" "0 passed, 1 failed" "its case counts as failed"
matched_suite "matched external_banner"
"$POSTERN" test "$T/matched.test" >/dev/null 2>"$T/stderr"; rc=$?
like "$(cat "$T/stderr")" "matched.test:16:13: error: 'external_banner' is an audit-mode rule: matched covers the enforced rules; an audit rule's match is expected with audit external_banner" \
     "an audit-mode rule is refused in matched (exit $rc)"

# --- --coverage, --help, usage -----------------------------------------------
out=$(cd "$top_srcdir" && "$POSTERN" test --coverage examples/scenario-01-on-premise/scenario.test)
like "$out" 'coverage examples/scenario-01-on-premise/scenario.test: 1 of 3 rules exercised' "--coverage counts the rules exercised"
like "$out" 'not exercised: dmarc_quarantine \(.*policy.rules:[0-9]+\)' "--coverage names a rule no case exercised"
is "$(printf '%s\n' "$out" | tail -n 1)" "6 passed, 0 failed" "--coverage still ends with the summary"
"$POSTERN" test --help > "$T/help"; rc=$?
is "$rc" 0 "--help exits 0"
grep -q 'usage: postern test' "$T/help" && ok "--help prints the usage" || not_ok "--help prints the usage"
"$POSTERN" test 2>/dev/null; is "$?" 64 "no SUITE is a usage error (64)"
"$POSTERN" test --nosuch x.test 2>/dev/null; is "$?" 64 "an unknown option is a usage error (64)"

# --- Man page -----------------------------------------------------------------
if command -v man >/dev/null 2>&1; then
	w=$(MANWIDTH=80 man -l "$top_srcdir/doc/postern-test.5" 2>&1 >/dev/null)
	is "$w" "" "man -l doc/postern-test.5 renders without warnings"
else
	ok "man -l doc/postern-test.5 # SKIP man not installed"
fi

done_testing
