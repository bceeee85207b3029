#!/bin/sh
# Issue 15: the address parts of Sender and Reply-To (sender.address,
# sender.domain, reply_to.address, reply_to.domain), read and normalised as
# from.* is, and compared with from.domain in one rule; and an unknown fact
# interpolated as "(unknown)", never as nothing, in a reply text, a log
# text and an added header. Through "postern check --json", "--trace" and
# "--output"; the JSON is read with jq.
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

cat > "$T/reply.rules" <<'EOF'
rule reply_elsewhere { when reply_to.domain != from.domain then tag "reply-elsewhere"; }
rule reply_known { when reply_to.address exists then tag "reply-known"; }
rule via_list { when sender.domain == "lists.example.net" then tag "via-list"; }
rule sender_is_owner { when sender.address == "owner@lists.example.net" then tag "owner"; }
EOF

# msg NAME FIELDS: a message from ann@example.org with FIELDS (printf
# escapes) after its From field.
msg() {
	printf "From: Ann <ann@example.org>\r\nTo: bob@example.net\r\n$2\r\nbody\r\n" > "$T/$1.eml"
}

# Each case: name, fields, the tags wanted.
while IFS='|' read -r name fields want; do
	msg "$name" "$fields"
	out=$(check "$T/reply.rules" "$T/$name.eml")
	is "$(q "$out" '.recipients[0].tags')" "$want" "$name"
done <<'EOF'
elsewhere|Reply-To: Payments <pay@elsewhere.example>\r\n|["reply-elsewhere","reply-known"]
same domain|Reply-To: ann@example.org\r\n|["reply-known"]
same domain, other case and a trailing dot|Reply-To: <Desk@EXAMPLE.Org.>\r\n|["reply-known"]
subdomain of the From domain|Reply-To: desk@mail.example.org\r\n|["reply-elsewhere","reply-known"]
U-label elsewhere|Reply-To: pay@b\303\274cher.example\r\n|["reply-elsewhere","reply-known"]
no Reply-To|Subject: hi\r\n|[]
two addresses: unknown|Reply-To: a@elsewhere.example, ann@example.org\r\n|[]
two Reply-To fields: unknown|Reply-To: a@elsewhere.example\r\nReply-To: a@elsewhere.example\r\n|[]
group: unknown|Reply-To: desk: a@elsewhere.example;\r\n|[]
no domain: unknown|Reply-To: <>\r\n|[]
route: unknown|Reply-To: <@relay.example:a@elsewhere.example>\r\n|[]
Sender of a list|Sender: owner@Lists.Example.NET\r\n|["via-list","owner"]
Sender of a list, two fields: unknown|Sender: owner@lists.example.net\r\nSender: owner@lists.example.net\r\n|[]
EOF

# An unreadable From leaves from.domain unknown: the comparison is false.
printf 'From: a@example.org, b@example.org\r\nReply-To: x@elsewhere.example\r\n\r\nbody\r\n' > "$T/twofrom.eml"
out=$(check "$T/reply.rules" "$T/twofrom.eml")
is "$(q "$out" '.recipients[0].tags')" '["reply-known"]' "two From addresses: from.domain unknown, no reply-elsewhere"

# --trace shows the facts read, normalised.
msg idn "Reply-To: pay@B\303\274cher.Example.\r\nSender: owner@lists.example.net\r\n"
out=$("$POSTERN" check --rules "$T/reply.rules" --dns "$zone" --trace "$T/idn.eml" 2>>"$T/stderr")
like "$out" 'reply_to\.domain = "?xn--bcher-kva\.example"?' "--trace: reply_to.domain in A-labels, lower case, no trailing dot"
like "$out" 'sender\.domain = "?lists\.example\.net"?' "--trace: sender.domain"

# Interpolation: an unknown fact gives "(unknown)", a known one its value,
# the null sender (known, empty) nothing.
cat > "$T/interp.rules" <<'EOF'
rule note { when true then log "client ${client.ip} reply ${reply_to.address} mail-from <${envelope.from}>", add header "X-Reply-Domain" "${reply_to.domain}"; }
rule ip { when not client.ip in { 192.0.2.0/24 } then reject 550 5.7.1 "sending IP ${client.ip} is not allowed"; }
EOF
msg plain "Subject: hi\r\n"
out=$(check "$T/interp.rules" "$T/plain.eml" --mail-from '')
is "$(q "$out" '.recipients[0].smtp.text')" '"sending IP (unknown) is not allowed"' \
   "reply text: no client IP interpolates as (unknown)"
is "$(q "$out" '.recipients[0].logs')" '["client (unknown) reply (unknown) mail-from <>"]' \
   "log text: unknown facts as (unknown), the null sender as nothing"
out=$(check "$T/interp.rules" "$T/elsewhere.eml" --client-ip 198.51.100.7 --mail-from 'ann@example.org')
is "$(q "$out" '.recipients[0].smtp.text')" '"sending IP 198.51.100.7 is not allowed"' \
   "reply text: a known client IP interpolates as itself"
is "$(q "$out" '.recipients[0].logs')" '["client 198.51.100.7 reply pay@elsewhere.example mail-from <ann@example.org>"]' \
   "log text: known facts as themselves"

# The delivered copy (a rule that accepts, so --output writes it).
cat > "$T/hdr.rules" <<'EOF'
rule h { when true then add header "X-Reply-Domain" "${reply_to.domain}", add header "X-Client" "${client.ip}"; }
EOF
"$POSTERN" check --rules "$T/hdr.rules" --dns "$zone" --output "$T/out.eml" "$T/elsewhere.eml" \
	>/dev/null 2>>"$T/stderr" || echo "hdr: exit $?" >> "$T/failed"
like "$(cat "$T/out.eml")" 'X-Reply-Domain: elsewhere\.example' "--output: a known fact in an added header"
like "$(cat "$T/out.eml")" 'X-Client: \(unknown\)' "--output: an unknown fact in an added header is (unknown)"

# An unknown address set as the From address is refused, as an empty one
# was: the copy is not written ("(unknown)" is a comment, no address).
printf 'rule s { when true then set from.address "${reply_to.address}"; }\n' > "$T/setfrom.rules"
"$POSTERN" check --rules "$T/setfrom.rules" --dns "$zone" --output "$T/set1.eml" "$T/plain.eml" \
	>/dev/null 2>"$T/set.err"
is "$?" 73 "set from.address with reply_to.address unknown: refused (exit 73)"
like "$(cat "$T/set.err")" 'not an address: \(unknown\)' "  and says why"
"$POSTERN" check --rules "$T/setfrom.rules" --dns "$zone" --output "$T/set2.eml" "$T/elsewhere.eml" \
	>/dev/null 2>>"$T/stderr" || echo "setfrom: exit $?" >> "$T/failed"
like "$(cat "$T/set2.eml")" '^From: "Ann" <pay@elsewhere\.example>' "set from.address with reply_to.address known: rewritten"

is "$(cat "$T/failed")" "" "every check exited 0"
done_testing
