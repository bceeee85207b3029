#!/bin/sh
# The header section read whole (issue 13): through "postern check --json",
# "--trace" and "--output", rules see the fields below a line without a
# colon and below a leading white-space line, header.malformed and
# header.duplicate say what they found, and the copy postern writes keeps
# its Authentication-Results field whole: a leading white-space line does
# not become its continuation. The output is parsed back by postern itself.
. "$top_srcdir/tests/cli/tap.sh"
zone="$top_srcdir/tests/fixtures/cli/empty.zone"
T=$TMPDIR_TEST
q() { printf '%s' "$1" | jq -c "$2"; }
check() {   # check RULES MESSAGE [OPTIONS...]: the JSON report
	rules=$1; msg=$2; shift 2
	"$POSTERN" check --rules "$rules" --dns "$zone" --json "$@" "$msg" 2>>"$T/stderr" ||
		echo "$msg: exit $?" >> "$T/failed"
}
: > "$T/stderr"; : > "$T/failed"

cat > "$T/policy.rules" <<'EOF'
authserv-id "mx.example.net";
rule ceo { when from.address == "ceo@bank.example" then tag "from-ceo"; }
rule malformed { when header.malformed then tag "malformed"; }
rule dup { when header.duplicate == "Subject" then tag "dup-subject"; }
rule dup_from { when header.duplicate == "From" then tag "dup-from"; }
rule dkim_field { when count(header "DKIM-Signature") == 1 then tag "dkim-field"; }
EOF

# A line without a colon between fields: the From and DKIM-Signature below
# it are seen, by rules and by DKIM.
printf 'Received: from a.example by mx.example.net\r\nThis line has no colon\r\nFrom: CEO <ceo@bank.example>\r\nTo: bob@example.org\r\nSubject: hi\r\nDKIM-Signature: v=1; a=rsa-sha256; d=bank.example; s=sel; h=from; bh=AAAA; b=AAAA\r\n\r\nbody\r\n' \
	> "$T/nocolon.eml"
out=$(check "$T/policy.rules" "$T/nocolon.eml")
is "$(q "$out" '.recipients[0].tags')" '["from-ceo","malformed","dkim-field"]' \
   "no-colon line: the From and DKIM-Signature below it are seen, header.malformed is true"
is "$(q "$out" '.auth.dkim | map(.domain)')" '["bank.example"]' \
   "no-colon line: DKIM sees the signature below it"

# "From" alone, folded before its colon (RFC 5322 obs-optional): a From
# field, and malformed: a stricter reader sees a line without a colon (and
# then perhaps the Sender as the author: "Composition Kills" A11-A13).
printf 'From\r\n : CEO <ceo@bank.example>\r\nTo: bob@example.org\r\n\r\nbody\r\n' > "$T/folded.eml"
out=$(check "$T/policy.rules" "$T/folded.eml")
is "$(q "$out" '.recipients[0].tags')" '["from-ceo","malformed"]' \
   "From folded before its colon is the From field, and malformed"

# Duplicated singletons: the topmost one that occurs twice is named.
printf 'From: a@example.org\nSubject: one\nTo: b@example.org\nSubject: two\n\nbody\n' > "$T/dup.eml"
out=$(check "$T/policy.rules" "$T/dup.eml")
is "$(q "$out" '.recipients[0].tags')" '["dup-subject"]' "two Subject fields: header.duplicate is Subject"
printf 'Subject: one\nFrom: a@example.org\nFrom: ceo@bank.example\nSubject: two\n\nbody\n' > "$T/dup2.eml"
out=$(check "$T/policy.rules" "$T/dup2.eml")
is "$(q "$out" '.recipients[0].tags')" '["dup-subject"]' "two Subject and two From: the topmost is named"
printf 'X-Postern-Envelope: rcpt=x@example.org\nX-Postern-Envelope: helo=a.example\nFrom: a@example.org\nReceived: 1\nReceived: 2\n\nbody\n' \
	> "$T/nodup.eml"
out=$("$POSTERN" check --rules "$T/policy.rules" --dns "$zone" --trace "$T/nodup.eml" 2>>"$T/stderr")
like "$out" 'header\.duplicate = \(unknown\)' \
   "only repeatable fields (Received, the stripped X-Postern-Envelope): header.duplicate is unknown"
like "$out" 'header\.malformed = false' "a well-formed header: header.malformed is false"

# --trace shows both facts.
out=$("$POSTERN" check --rules "$T/policy.rules" --dns "$zone" --trace "$T/nocolon.eml" 2>>"$T/stderr")
like "$out" 'header\.malformed = true' "--trace: header.malformed = true"
out=$("$POSTERN" check --rules "$T/policy.rules" --dns "$zone" --trace "$T/dup.eml" 2>>"$T/stderr")
like "$out" 'header\.duplicate = Subject' "--trace: header.duplicate = Subject"

# A leading white-space line: the message is read (its From seen), and the
# copy's Authentication-Results is exactly ours, the line kept as a field
# of its own below it.
printf ' dkim=pass header.d=bank.example\r\nFrom: CEO <ceo@bank.example>\r\nTo: bob@example.org\r\n\r\nbody\r\n' > "$T/lead.eml"
out=$(check "$T/policy.rules" "$T/lead.eml" --output "$T/lead.out")
is "$(q "$out" '.recipients[0].tags')" '["from-ceo","malformed"]' \
   "leading white-space line: the From below it is seen, header.malformed is true"
ar=$(q "$out" '.authentication_results' | jq -r .)
like "$ar" '^mx\.example\.net; ' "the report has our Authentication-Results value"
is "$(head -c 2 "$T/lead.out" | od -An -c | tr -d ' ')" 'Au' "the copy starts with our field"
is "$(grep -v '^[ 	]' "$T/lead.out" | sed -n 2p)" "$(printf 'X-Postern-Malformed: dkim=pass header.d=bank.example\r')" \
   "the leading line is written as X-Postern-Malformed below it, its bytes after the colon unchanged"
# Parse the copy back with postern: one Authentication-Results, our value exactly.
cat > "$T/back.rules" <<EOF
rule ar_exact { when count(header "Authentication-Results") == 1 and header "Authentication-Results" == "$ar" then tag "ar-exact"; }
rule wrapped { when header "X-Postern-Malformed" == "dkim=pass header.d=bank.example" then tag "wrapped"; }
rule malformed { when header.malformed then tag "malformed"; }
EOF
out=$(check "$T/back.rules" "$T/lead.out")
is "$(q "$out" '.recipients[0].tags')" '["ar-exact","wrapped"]' \
   "the copy parsed back: our Authentication-Results value exactly, and nothing malformed left"
# Without authserv-id the copy is still safe for an MTA's trace fields on top.
grep -v '^authserv-id' "$T/policy.rules" > "$T/noid.rules"
out=$(check "$T/noid.rules" "$T/lead.eml" --output "$T/lead2.out")
is "$(head -n 1 "$T/lead2.out")" "$(printf 'X-Postern-Malformed: dkim=pass header.d=bank.example\r')" \
   "without authserv-id the copy does not start with white space either"

is "$(cat "$T/failed")" "" "every check ran (exit 0)"
done_testing
