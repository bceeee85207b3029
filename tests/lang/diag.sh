#!/bin/sh
# postern lint: diagnostics pinned by their exact text. Each case is
# tests/lang/cases/NAME.rules with NAME.err, the exact stderr expected; the
# exit status must be 1 when the text has an error, else 0. Then the
# properties that are not one file's text: counts, generated inputs, the
# example files, usage.
. "$top_srcdir/tests/cli/tap.sh"
cases="$top_srcdir/tests/lang/cases"
cd "$cases" || exit 1

for want in *.err; do
	name=${want%.err}
	got=$("$POSTERN" lint "$name.rules" 2>&1 >/dev/null); rc=$?
	if grep -q ': error: ' "$want"; then wrc=1; else wrc=0; fi
	is "$got" "$(cat "$want")" "$name: the exact diagnostics"
	is "$rc" "$wrc" "$name: exit $wrc"
done

err=$("$POSTERN" lint five_errors.rules 2>&1); rc=$?
is "$(printf '%s\n' "$err" | grep -c ': error: ')" 5 "five errors give exactly five diagnostics"
is "$(printf '%s\n' "$err" | grep ': error: ' | cut -d: -f2,3 | tr '\n' ' ')" \
   "6:8 11:21 16:23 21:34 27:22 " "at their line:col"
is "$rc" 1 "and exit 1"

err=$("$POSTERN" lint many_errors.rules 2>&1)
is "$(printf '%s\n' "$err" | grep -c ': error: ')" 21 "every error in a file is reported (21)"

err=$("$POSTERN" lint clean.rules 2>&1 >/dev/null); rc=$?
is "$rc" 0 "a clean file exits 0"
is "$err" "" "and prints nothing on stderr"

# On success lint says what it checked, one line on stdout (issue 16);
# --quiet keeps it silent.
cd "$top_srcdir/tests/lang" || exit 1
out=$("$POSTERN" lint gateway.rules 2>"$TMPDIR_TEST/err"); rc=$?
is "$rc:$(cat "$TMPDIR_TEST/err")" "0:" "the rule language example (gateway.rules) compiles as written"
is "$out" "gateway.rules: 7 rules, 1 tenant, 0 includes, 3 lists, 3 settings: no errors" \
   "and lint says what it checked on stdout"
is "$("$POSTERN" lint -q gateway.rules 2>&1)" "" "-q: silent"
cd "$top_srcdir" || exit 1
for f in examples/scenario-*/policy.rules rules/baseline.rules tests/fixtures/cli/simple.rules; do
	err=$("$POSTERN" lint "$f" 2>&1 >/dev/null); rc=$?
	is "$rc:$err" "0:" "$f compiles"
done
t=$TMPDIR_TEST
printf 'rule i1 { when true then tag "i"; }\n' > "$t/inc_a.rules"
printf 'list more = ips { 192.0.2.1 };\n' > "$t/inc_b.rules"
cat > "$t/counted.rules" <<'EOF'
authserv-id "mx.test";
after-queue-reject reject;
dkim-max-signatures 4;
include "inc_a.rules";
include "inc_b.rules";
list vips = domains { "a.example" };
rule r1 { when from.domain in vips then accept; }
rule r2 { when from.domain in { "b.example" } then accept; }
tenant "x.example" { rule t1 { when size > 20M then reject; } }
tenant "y.example" { rule t2 { when true then reject; } }
tenant "X.example" { rule t3 { when size > 10M then reject; } }
EOF
out=$("$POSTERN" lint "$t/counted.rules" 2>"$t/err"); rc=$?
is "$rc:$(cat "$t/err")" "0:" "a file with includes, lists, tenants and settings lints clean"
is "$out" "$t/counted.rules: 6 rules, 2 tenants, 2 includes, 2 lists, 3 settings: no errors" \
   "its summary counts rules (included ones too), distinct tenants, includes, named lists, settings"
out=$("$POSTERN" lint "$cases/unreachable.rules" 2>/dev/null)
like "$out" 'unreachable\.rules: [0-9]+ rules?, .*: no errors, [0-9]+ warnings?$' "with warnings: the summary counts them"
out=$("$POSTERN" lint "$cases/type_mismatch.rules" 2>/dev/null)
is "$out" "" "a file with errors: no summary on stdout"

err=$("$POSTERN" lint "$cases/clean.rules" "$cases/type_mismatch.rules" 2>&1); rc=$?
is "$rc" 1 "several files: 1 when one has errors"
like "$err" 'type_mismatch.rules:1:28: error: ' "and its diagnostics carry its path"
"$POSTERN" lint "$cases/unreachable.rules" 2>/dev/null; is "$?" 0 "warnings alone exit 0"

t=$TMPDIR_TEST
err=$("$POSTERN" lint "$t/none.rules" 2>&1); rc=$?
is "$rc" 1 "a missing file exits 1"
like "$err" "none.rules: error: cannot read rule file: No such file or directory" "and says why"

awk 'BEGIN { s = "rule deep { when "; for (i = 0; i < 250; i++) s = s "not "; print s "true then accept; }" }' > "$t/deep.rules"
err=$("$POSTERN" lint "$t/deep.rules" 2>&1); rc=$?
is "$rc" 1 "a condition nested 250 deep is an error"
is "$(printf '%s\n' "$err" | grep -c ': error: ')" 1 "reported once"
like "$err" 'deep.rules:1:[0-9]+: error: condition nested deeper than 200 levels' "with the limit"
awk 'BEGIN { s = "rule deep { when "; for (i = 0; i < 150; i++) s = s "not "; print s "true then accept; }" }' > "$t/ok150.rules"
"$POSTERN" lint "$t/ok150.rules" 2>/dev/null; is "$?" 0 "150 levels are fine"

i=0
while [ $i -le 20 ]; do printf 'include "inc%d.rules";\n' $((i + 1)) > "$t/inc$i.rules"; i=$((i + 1)); done
err=$("$POSTERN" lint "$t/inc0.rules" 2>&1); rc=$?
is "$rc" 1 "includes nested too deep: exit 1"
like "$err" 'inc15.rules:1:9: error: includes nested deeper than 16 files' "at the include that crosses the limit"

printf '\357\273\277rule bom { when true then accept; }\n' > "$t/bom.rules"
err=$("$POSTERN" lint -q "$t/bom.rules" 2>&1); rc=$?
is "$rc:$err" "0:" "a UTF-8 byte order mark is skipped"

"$POSTERN" lint 2>/dev/null; is "$?" 64 "no file: exit 64"
"$POSTERN" lint --bogus x 2>/dev/null; is "$?" 64 "an unknown option: exit 64"
out=$("$POSTERN" lint --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" '^usage: postern lint' "and prints the usage"

done_testing
