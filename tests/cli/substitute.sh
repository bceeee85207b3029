#!/bin/sh
# Issue 15: substitute from.display / substitute header "NAME" /re/flags
# "text" with $1..$9 captures, and the condition's captures $N in other
# actions' texts. Through "postern check --output" (the delivered message
# compared whole), --json (the edits) and "postern dump" (read back).
. "$top_srcdir/tests/cli/tap.sh"
zone="$top_srcdir/tests/fixtures/cli/empty.zone"
T=$TMPDIR_TEST
: > "$T/stderr"

# deliver RULES MESSAGE: the delivered copy in $T/out.eml, the JSON on stdout.
deliver() {
	rm -f "$T/out.eml"
	"$POSTERN" check --rules "$1" --dns "$zone" --rcpt bob@example.net --json \
		--output "$T/out.eml" "$2" 2>>"$T/stderr"
}
# eml NAME HEADER-FIELDS (printf escapes, CRLF between): a message.
eml() {
	printf "$2\r\nTo: bob@example.net\r\nMessage-ID: <1@x.example>\r\n\r\nbody\r\n" > "$T/$1.eml"
}
# same NAME WANT-FIELDS: the delivered copy is the message with WANT-FIELDS
# as its first fields.
same() {
	printf "$2\r\nTo: bob@example.net\r\nMessage-ID: <1@x.example>\r\n\r\nbody\r\n" > "$T/want.eml"
	if cmp -s "$T/out.eml" "$T/want.eml"; then ok "$1"
	else not_ok "$1" "$(diff "$T/want.eml" "$T/out.eml" 2>&1 | sed 's/^/#   /')"; fi
}

cat > "$T/acme.rules" <<'EOF'
rule partner { when from.domain == "partner.example" then substitute from.display /,?\s*Acme Corp/i ""; }
EOF
eml acme 'From: "Jane Roe, Acme Corp" <jane@partner.example>'
deliver "$T/acme.rules" "$T/acme.eml" > "$T/acme.json"
same "from.display: the suffix goes, the original is kept as X-Original-From" \
	'X-Original-From: "Jane Roe, Acme Corp" <jane@partner.example>\r\nFrom: "Jane Roe" <jane@partner.example>'
is "$(jq -c '.recipients[0].edits' "$T/acme.json")" \
	'[{"op":"substitute-from-display","value":"Jane Roe","rule":"partner"}]' "the JSON edit"

eml acme_only 'From: "ACME CORP" <jane@partner.example>'
deliver "$T/acme.rules" "$T/acme_only.eml" > /dev/null
same "a display name substituted to nothing: the bare address" \
	'X-Original-From: "ACME CORP" <jane@partner.example>\r\nFrom: jane@partner.example'

eml acme_none 'From: "Jane Roe" <jane@partner.example>'
deliver "$T/acme.rules" "$T/acme_none.eml" > "$T/none.json"
same "no match: the message as received, no X-Original-From" 'From: "Jane Roe" <jane@partner.example>'
is "$(jq -c '.recipients[0].edits' "$T/none.json")" '[]' "and no edit in the JSON"

cat > "$T/ext.rules" <<'EOF'
rule ext { when true then substitute header "Subject" /^\[EXT\]\s*/ ""; }
EOF
eml ext 'From: a@x.example\r\nSubject: [EXT] Invoice 7\r\nSubject: [EXT]  Second'
deliver "$T/ext.rules" "$T/ext.eml" > /dev/null
same "header: every Subject field substituted" 'From: a@x.example\r\nSubject: Invoice 7\r\nSubject: Second'

eml ext_enc 'From: a@x.example\r\nSubject: =?UTF-8?Q?[EXT]_R=C3=A9union?='
deliver "$T/ext.rules" "$T/ext_enc.eml" > /dev/null
same "the decoded value is substituted and re-encoded" 'From: a@x.example\r\nSubject: =?UTF-8?B?UsOpdW5pb24=?='

eml ext_none 'From: a@x.example\r\nSubject:   [ext] lower case'
deliver "$T/ext.rules" "$T/ext_none.eml" > /dev/null
same "no match: the field stays byte for byte" 'From: a@x.example\r\nSubject:   [ext] lower case'

cat > "$T/caps.rules" <<'EOF'
rule ticket {
	when subject matches /ticket #(\d+) from (\w+)/
	then substitute header "Subject" /^(.*) from (\w+)$/ "$2: $1 ($$${client.helo})",
	     add header "X-Ticket" "${1}/$2",
	     substitute from.display /^(\S+) (\S+)$/ "$2, $1 — via ${from.domain}";
}
EOF
eml caps 'From: Jane Roe <jane@partner.example>\r\nSubject: ticket #42 from ops'
"$POSTERN" check --rules "$T/caps.rules" --dns "$zone" --rcpt bob@example.net \
	--helo mx.example --output "$T/out.eml" "$T/caps.eml" > /dev/null 2>>"$T/stderr"
same "captures: the substitute's own in its text, the condition's in other texts; non-ASCII re-encoded" \
	'X-Ticket: 42/ops\r\nX-Original-From: Jane Roe <jane@partner.example>\r\nFrom: =?UTF-8?B?Um9lLCBKYW5lIOKAlCB2aWEgcGFydG5lci5leGFtcGxl?=\r\n <jane@partner.example>\r\nSubject: ops: ticket #42 ($mx.example)'

cat > "$T/g.rules" <<'EOF'
rule every { when true then substitute header "X-Tags" /\s*,\s*/g ";"; }
rule first { when true then substitute header "X-One" /o/ "0"; }
rule unset { when true then substitute header "X-Opt" /a(x)?b/ "[$1]"; }
EOF
eml g 'From: a@x.example\r\nX-Tags: a , b,c\r\nX-One: foo\r\nX-Opt: cab'
deliver "$T/g.rules" "$T/g.eml" > /dev/null
same "g replaces every match, without it the first; an unset group is empty" \
	'From: a@x.example\r\nX-Tags: a;b;c\r\nX-One: f0o\r\nX-Opt: c[]'

cat > "$T/ctl.rules" <<'EOF'
rule ctl { when true then substitute header "X-C" /^(.*)$/ "<$1>"; }
EOF
printf 'From: a@x.example\r\nX-C: =?UTF-8?Q?a=07b?=\r\nTo: bob@example.net\r\nMessage-ID: <1@x.example>\r\n\r\nbody\r\n' > "$T/ctl.eml"
deliver "$T/ctl.rules" "$T/ctl.eml" > /dev/null
same "a control character from a capture becomes '?'" 'From: a@x.example\r\nX-C: <a?b>'

cat > "$T/cond.rules" <<'EOF'
rule neg { when not subject matches /(ticket)/ or header "X-K" matches /(k\w*)/ then add header "X-Neg" "[$1]"; }
rule none { when subject matches /(zzz)/ or true then add header "X-None" "[$1]"; }
rule last { when subject matches /(\w+) #(\d+)/ and any header "X-K" matches /^(\w)/ then add header "X-Last" "[$1|$2]"; }
rule fresh { when true or subject matches /(x)/ then add header "X-Fresh" "[$1]"; }
EOF
eml cond 'From: a@x.example\r\nSubject: ticket #42\r\nX-K: kilo\r\nX-K: lima'
deliver "$T/cond.rules" "$T/cond.eml" > /dev/null
same "condition captures: not a match under 'not'; none gives empty; the last match's, its unset groups empty; cleared per rule" \
	'X-Neg: [kilo]\r\nX-None: []\r\nX-Last: [k|]\r\nX-Fresh: []\r\nFrom: a@x.example\r\nSubject: ticket #42\r\nX-K: kilo\r\nX-K: lima'

# The dump reads back: dumped actions compile and dump the same again.
acts() {   # the actions of a dump, without their positions
	awk '/^    then$/ { a = 1; next } /^[^ ]|^  [a-z]/ { a = 0 } a { sub(/^ +/, ""); sub(/  @[0-9:]+$/, ""); print }'
}
for r in acme ext caps g; do
	"$POSTERN" dump "$T/$r.rules" > "$T/$r.dump" 2>&1
	acts < "$T/$r.dump" > "$T/$r.acts"
	{ printf 'rule back { when subject matches /(a)(b)/ then '
	  paste -sd, "$T/$r.acts"; printf '; }\n'; } > "$T/$r.back.rules"
	"$POSTERN" dump "$T/$r.back.rules" 2>&1 | acts > "$T/$r.back.acts"
	if [ -s "$T/$r.acts" ] && cmp -s "$T/$r.acts" "$T/$r.back.acts"; then ok "$r: the dump reads back the same"
	else not_ok "$r: the dump reads back the same" "$(cat "$T/$r.acts" "$T/$r.back.acts")"; fi
done
like "$(cat "$T/caps.acts")" 'substitute header "Subject" /\^\(\.\*\) from \(\\w\+\)\$/ "\$\{2\}: \$\{1\} \(\$\$\$\{client\.helo\}\)"' \
	"dump: substitute header with its name, regex and text"

is "$(cat "$T/stderr")" "" "nothing on stderr"
done_testing
