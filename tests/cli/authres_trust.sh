#!/bin/sh
# Authentication-Results of a trusted gateway through "postern check
# --json --trace" (issue 13, "a trust model that never widens"): the
# topmost field of a trusted authserv-id decides the authres.* facts
# alone, read tolerantly in the syntax real gateways write (bare '/' and
# '+' in header.b=, properties without a ptype, comments everywhere); a
# result it leaves unreadable is unknown, never the value of an older
# field of the same id planted below it. Fields with our own id are
# removed and never read. Fixtures in tests/cli/authres_trust/.
. "$top_srcdir/tests/cli/tap.sh"
dir="$top_srcdir/tests/cli/authres_trust"

# check MESSAGE [OPTIONS...]: the JSON report of MESSAGE, "" on failure.
check() {
	msg=$1; shift
	"$POSTERN" check --rules "$dir/policy.rules" --json --trace "$@" "$dir/$msg" \
		2>>"$TMPDIR_TEST/stderr" || echo "$msg $*: exit $?" >> "$TMPDIR_TEST/failed"
}
: > "$TMPDIR_TEST/stderr"; : > "$TMPDIR_TEST/failed"
q() { printf '%s' "$1" | jq -c "$2"; }
# The facts upstream_dkim_pass read, as its trace shows them, and its status.
dkim_rule='.trace[0].rules[] | select(.rule == "upstream_dkim_pass") | [.status, .facts]'
decision='.recipients[0] | [.decision, .rule]'

# The regression: topmost says dkim=fail in real-world syntax (a bare '/'
# and '+' in header.b=, "action=quarantine" and "reason=601" without a
# ptype, a folded comment), an older planted field of the same id says pass.
out=$(check topmost-fail.eml)
is "$(q "$out" '.auth.authres')" '{"spf":"softfail","dkim":"fail","dmarc":"fail"}' \
   "topmost fail: authres.* come from the topmost gw.example.net field, not the planted pass below"
is "$(q "$out" "$dkim_rule")" '["not matched",[{"name":"authres.dkim","value":"fail"}]]' \
   "topmost fail: the trace shows authres.dkim = fail and the accept rule not matched"
is "$(q "$out" "$decision")" '["quarantine","upstream_not_verified"]' \
   "topmost fail: not accepted on the planted dkim=pass"

# The topmost field's DKIM result cannot be read ("dkim= (comment)"): unknown.
out=$(check topmost-unreadable.eml)
is "$(q "$out" '.auth.authres')" '{"spf":"pass","dkim":null,"dmarc":"none"}' \
   "topmost unreadable: authres.dkim is unknown (null), spf and dmarc read around it"
is "$(q "$out" "$dkim_rule")" '["not matched",[{"name":"authres.dkim","value":"(unknown)"}]]' \
   "topmost unreadable: the trace shows authres.dkim unknown, the accept rule not matched"
is "$(q "$out" "$decision")" '["quarantine","upstream_not_verified"]' \
   "topmost unreadable: the older planted pass is never used"

# A genuine pass in Google-like syntax is read, whatever fail lies below.
out=$(check topmost-pass.eml)
is "$(q "$out" '.auth.authres')" '{"spf":"pass","dkim":"pass","dmarc":"pass"}' \
   "topmost pass: the Google-like field (bare / and + in header.b=, comments) is salvaged"
is "$(q "$out" "$decision")" '["accept","upstream_dkim_pass"]' \
   "topmost pass: accepted on authres.dkim, the older fail below not read"

# Microsoft 365 syntax: "action=none" without a ptype, no spaces after
# ';', and dmarc=bestguesspass, a result keyword that is not RFC 8601's:
# unknown, not the planted pass below, and not permerror.
out=$(check microsoft.eml)
is "$(q "$out" '.auth.authres')" '{"spf":"pass","dkim":"none","dmarc":null}' \
   "microsoft: spf and dkim read, dmarc=bestguesspass is unknown"
is "$(q "$out" "$decision")" '["quarantine","upstream_not_verified"]' \
   "microsoft: the planted dkim=pass below is not read"

# A forged field with our own id on top is removed, never read.
out=$(check own-id-on-top.eml --output "$TMPDIR_TEST/own.out")
is "$(q "$out" '.auth.authres')" '{"spf":"fail","dkim":"fail","dmarc":"fail"}' \
   "own id on top: the forged pass with our id is skipped; the Fastmail-like gateway field decides"
is "$(q "$out" "$decision")" '["quarantine","upstream_not_verified"]' "own id on top: not accepted"
is "$(grep -c '^	dkim=pass header.d=example.com; dmarc=pass' "$TMPDIR_TEST/own.out")" 0 \
   "own id on top: the forged field is removed from the delivered copy"
is "$(grep -ci '^Authentication-Results: *mx\.example\.net' "$TMPDIR_TEST/own.out")" 1 \
   "own id on top: only our own field bears our id"
grep -q '^Authentication-Results: gw.example.net; spf=fail' "$TMPDIR_TEST/own.out" &&
	ok "own id on top: the gateway's field is kept" || not_ok "own id on top: the gateway's field is kept"

# Several results of one method in that field: dkim passes when any
# passes (one per signature); dmarc (one per author domain) fails when any
# fails; two spf results that differ (HELO and MAIL FROM) are unknown.
out=$(check two-dkim.eml)
is "$(q "$out" '.auth.authres')" '{"spf":null,"dkim":"pass","dmarc":"fail"}' \
   "several results: dkim pass when one passes, dmarc fail when one fails, differing spf unknown"

# Without trusted-authserv-id no field feeds the facts.
grep -v '^trusted-authserv-id' "$dir/policy.rules" > "$TMPDIR_TEST/untrusted.rules"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/untrusted.rules" --json "$dir/topmost-pass.eml")
is "$(q "$out" '[.auth.authres // "absent", .recipients[0].decision]')" '["absent","quarantine"]' \
   "no trusted id: the gateway's field is ignored"

is "$(cat "$TMPDIR_TEST/failed")" "" "every check exited 0"
is "$(cat "$TMPDIR_TEST/stderr")" "" "no check wrote to stderr"
done_testing
