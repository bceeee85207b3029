#!/bin/sh
# A libopendkim 2.11 heap overflow (found by fuzz_eval, tests/fuzz/RESULTS.md):
# a signature whose h= names DKIM-Signature as often as the message has such
# fields, or more often, makes dkim_eoh write past a heap block (a signature
# never covers itself, so one field fewer is there to pick). Our adapter never hands
# such a field to the library; it reports the signature as permerror.
. "$top_srcdir/tests/cli/tap.sh"
msg="$top_srcdir/tests/fuzz/regress/eval/dkim-h-repeats-dkim-signature"
# Refusing one field leaves fewer fed than another's h= names: refused too.
msg2="$top_srcdir/tests/fuzz/regress/eval/dkim-h-fed-fewer-than-named"
# Four signatures; after refusing the two naming it 9 and 5 times, one names
# DKIM-Signature twice with two fed: it would have to cover itself; refused,
# the last one names it once with only itself fed: refused too.
msg3="$top_srcdir/tests/fuzz/regress/eval/dkim-h-names-own-signature"
zone="$top_srcdir/tests/fixtures/dkim/keys.zone"
printf 'rule r { when dkim == pass then tag "ok"; }\n' > "$TMPDIR_TEST/r.rules"

out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --json "$msg"); rc=$?
is "$rc" 0 "the message is decided"
is "$(printf '%s' "$out" | jq -c '[.auth.dkim[] | [.result, .reason]] | unique')" \
   '[["permerror","h= names DKIM-Signature more often than the message has other signatures"]]' \
   "both refused signatures are permerror, with the reason"
is "$(printf '%s' "$out" | jq -c '.recipients | length')" 1 "one (unknown) recipient decided"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --json "$msg2"); rc=$?
is "$rc" 0 "the second reproducer is decided"
is "$(printf '%s' "$out" | jq -c '[.auth.dkim[] | select(.reason == "h= names DKIM-Signature more often than the message has other signatures")] | length')" \
   3 "fields naming DKIM-Signature more often than the fields still fed are refused, until none does"

out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --json "$msg3"); rc=$?
is "$rc" 0 "the third reproducer is decided"
is "$(printf '%s' "$out" | jq -c '[.auth.dkim[] | select(.reason == "h= names DKIM-Signature more often than the message has other signatures")] | length')" \
   4 "a field naming DKIM-Signature as often as the fields fed (itself included) is refused, until none does (all four here)"

# Memory errors inside the library show under valgrind (ASan builds cannot
# run under it; they check the same path with their own instrumentation).
if grep -q -- '--enable-sanitizers' "$top_builddir/config.log" 2>/dev/null; then
	ok "valgrind: not run in the sanitizer build # SKIP ASan build"
else
	valgrind -q --error-exitcode=9 "$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" \
		--json "$msg" >/dev/null 2>"$TMPDIR_TEST/vg"; rc=$?
	is "$rc" 0 "valgrind: no invalid read or write on the reproducer"
	[ "$rc" = 0 ] || sed 's/^/# /' "$TMPDIR_TEST/vg" | head -20
	valgrind -q --error-exitcode=9 "$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" \
		--json "$msg2" >/dev/null 2>"$TMPDIR_TEST/vg"; rc=$?
	is "$rc" 0 "valgrind: no invalid read or write when refusing one field makes another unsafe"
	[ "$rc" = 0 ] || sed 's/^/# /' "$TMPDIR_TEST/vg" | head -20
	valgrind -q --error-exitcode=9 "$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" \
		--json "$msg3" >/dev/null 2>"$TMPDIR_TEST/vg"; rc=$?
	is "$rc" 0 "valgrind: no invalid write when h= names DKIM-Signature as often as the fields fed"
	[ "$rc" = 0 ] || sed 's/^/# /' "$TMPDIR_TEST/vg" | head -20
fi
done_testing
