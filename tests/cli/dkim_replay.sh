#!/bin/sh
# DKIM replay defences and the clock skew, through postern check --json:
# content appended after a genuine signature's l= (dkim.unsigned_body,
# RFC 6376 8.2), a field added above the signed ones (dkim.unsigned_header,
# RFC 6376 8.15), and a t= a little in the future (dkim-clock-skew).
# Fixtures: tests/fixtures/dkim (README, make.sh), signed at T0.
. "$top_srcdir/tests/cli/tap.sh"
fx="$top_srcdir/tests/fixtures/dkim"
zone="$fx/keys.zone"
T0=1700000000
cat > "$TMPDIR_TEST/r.rules" <<'RULES'
rule appended { when dkim.unsigned_body then reject "content after l="; }
rule added { when dkim.unsigned_header exists then reject "unsigned ${dkim.unsigned_header}"; }
rule good { when dkim == pass then tag "dkim-ok"; }
RULES

check() {   # check RULES FILE [--now N]: the JSON report
	r=$1; f=$2; shift 2
	"$POSTERN" check --rules "$r" --dns "$zone" --rcpt bob@example.net --json "$@" "$fx/$f"
}
summary() {   # the deciding rule, the reply text, and each signature's result and coverage
	jq -c '[.recipients[0].rule, .recipients[0].smtp.text,
	        [.auth.dkim[] | [.result, .unsigned_header, .unsigned_body]]]'
}

# Content after l=: the signature passes, the fact is true, the rule fires.
for f in l-appended.eml l-appended-simple.eml; do
	is "$(check "$TMPDIR_TEST/r.rules" $f | summary)" \
	   '["appended","content after l=",[["pass",null,true]]]' \
	   "$f: the signature passes, dkim.unsigned_body is true and the rule on it fires"
done
for f in l-whole.eml l-whole-simple.eml; do
	is "$(check "$TMPDIR_TEST/r.rules" $f | summary)" '[null,"ok",[["pass",null,false]]]' \
	   "$f: l= covering the whole body is not unsigned content"
done

# A field added above the signed ones.
is "$(check "$TMPDIR_TEST/r.rules" extra-subject.eml | summary)" \
   '["added","unsigned Subject",[["pass","Subject",false]]]' \
   "an extra Subject above a genuine signature: dkim.unsigned_header is Subject"
is "$(check "$TMPDIR_TEST/r.rules" extra-from.eml | summary)" \
   '["added","unsigned From",[["pass","From",false]]]' \
   "an extra From above a genuine signature: dkim.unsigned_header is From"
# A Subject the signature does not sign at all is not reported.
{ printf 'Subject: not signed\r\n'; cat "$fx/h-from-only.eml"; } > "$TMPDIR_TEST/h.eml"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --json "$TMPDIR_TEST/h.eml" | summary)
is "$out" '[null,"ok",[["pass",null,false]]]' "a field h= does not name is not dkim.unsigned_header"
# Over-signing: the added From breaks the signature instead.
{ printf 'From: <m@example.org>\r\n'; cat "$fx/oversigned.eml"; } > "$TMPDIR_TEST/o.eml"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --json "$TMPDIR_TEST/o.eml" | summary)
is "$out" '[null,"ok",[["fail",null,false]]]' "over-signed From: an added From fails the signature"

# A normally signed message: unknown and false.
is "$(check "$TMPDIR_TEST/r.rules" rsa2048.eml | summary)" '[null,"ok",[["pass",null,false]]]' \
   "a normally signed message passes with neither fact set"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --trace "$fx/rsa2048.eml")
like "$out" 'dkim\.unsigned_header = \(unknown\)' "dkim.unsigned_header is unknown"
like "$out" 'dkim\.unsigned_body = false' "dkim.unsigned_body is false"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --trace "$fx/message.eml")
like "$out" 'dkim\.unsigned_body = false' "an unsigned message: dkim.unsigned_body is false"

# The clock skew: t= 120 s ahead of a receiver whose clock runs behind.
res() { jq -c '[.auth.dkim[] | [.result, .reason]]'; }
is "$(check "$TMPDIR_TEST/r.rules" rsa2048.eml --now $((T0 - 120)) | res)" '[["pass",null]]' \
   "t= 120 s in the future passes with the default dkim-clock-skew (300)"
is "$(check "$TMPDIR_TEST/r.rules" rsa2048.eml --now $((T0 - 301)) | res)" \
   '[["permerror","signature in the future (t=)"]]' "t= 301 s in the future is permerror by default"
{ echo 'dkim-clock-skew 0;'; cat "$TMPDIR_TEST/r.rules"; } > "$TMPDIR_TEST/s0.rules"
is "$(check "$TMPDIR_TEST/s0.rules" rsa2048.eml --now $((T0 - 120)) | res)" \
   '[["permerror","signature in the future (t=)"]]' "with dkim-clock-skew 0, t= 120 s ahead is permerror"
is "$(check "$TMPDIR_TEST/s0.rules" rsa2048.eml --now $T0 | res)" '[["pass",null]]' \
   "with dkim-clock-skew 0, t= now passes"
{ echo 'dkim-clock-skew 600;'; cat "$TMPDIR_TEST/r.rules"; } > "$TMPDIR_TEST/s600.rules"
is "$(check "$TMPDIR_TEST/s600.rules" rsa2048.eml --now $((T0 - 500)) | res)" '[["pass",null]]' \
   "with dkim-clock-skew 600, t= 500 s ahead passes"
# x= T0 + 3600 gets the same tolerance: a receiver whose clock runs ahead.
is "$(check "$TMPDIR_TEST/r.rules" expiring.eml --now $((T0 + 3600 + 200)) | res)" '[["pass",null]]' \
   "x= 200 s past passes with the default skew"
is "$(check "$TMPDIR_TEST/s0.rules" expiring.eml --now $((T0 + 3600 + 1)) | res)" \
   '[["permerror","signature expired (x=)"]]' "with dkim-clock-skew 0, x= 1 s past is permerror"

# The setting's range is checked when the rules compile.
for v in 0 86400; do
	printf 'dkim-clock-skew %s;\n' "$v" > "$TMPDIR_TEST/ok.rules"
	"$POSTERN" lint "$TMPDIR_TEST/ok.rules" >/dev/null 2>&1; rc=$?
	is "$rc" 0 "dkim-clock-skew $v compiles"
done
printf '# skew\ndkim-clock-skew   86401;\n' > "$TMPDIR_TEST/bad.rules"
out=$("$POSTERN" lint "$TMPDIR_TEST/bad.rules" 2>&1); rc=$?
is "$rc" 1 "dkim-clock-skew 86401 does not compile"
like "$out" "bad\\.rules:2:19: error: dkim-clock-skew must be between 0 and 86400, not 86401" \
     "the error names the file, line and column of the value and the range"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/bad.rules" "$fx/rsa2048.eml" 2>&1); rc=$?
is "$rc" 78 "check refuses the rule file (exit 78)"
printf 'dkim-clock-skew "300";\n' > "$TMPDIR_TEST/str.rules"
out=$("$POSTERN" lint "$TMPDIR_TEST/str.rules" 2>&1)
like "$out" 'str\.rules:1:17: error: dkim-clock-skew takes a number' "a string value is refused"
done_testing
