#!/bin/sh
# quarantine-reason on|off (issue 16): a quarantined copy says why in an
# X-Postern-Quarantine field (rule, decision, applied action, client IP),
# in postern check --output and in postern lmtp's delivered copy; with the
# setting on, such a field that came with the message is removed from
# every copy. Off by default: nothing is added or removed.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
body='rule hold_it { when header "Subject" contains "hold" then quarantine "Held"; }
rule nope { when header "Subject" contains "nope" then reject 550 5.7.1 "no"; }'
printf 'quarantine-reason on;\n%s\n' "$body" > "$T/on.rules"
printf 'quarantine-reason off;\n%s\n' "$body" > "$T/off.rules"
printf '%s\n' "$body" > "$T/default.rules"
msg() {   # msg SUBJECT [CLIENT-IP]: a message with a forged X-Postern-Quarantine field
	printf 'X-Postern-Envelope: %srcpt=bob@example.org\nX-Postern-Quarantine: rule=forged; decision=accept\nFrom: a@example.net\nSubject: %s\n\nbody\n' \
		"${2:+client-ip=$2; }" "$1"
}
field() {   # field FILE: the unfolded X-Postern-Quarantine fields of FILE's header
	awk '/^\r?$/ { exit } /^[ \t]/ { if (f) { sub(/^[ \t]+/, " "); printf "%s", $0 } ; next }
	     { if (f) print ""; f = ($0 ~ /^X-Postern-Quarantine:/); if (f) printf "%s", $0 }
	     END { if (f) print "" }' "$1" | tr -d '\r'
}

msg "hold me" 192.0.2.7 > "$T/hold.eml"
msg "nope" 192.0.2.7 > "$T/nope.eml"
msg "fine" > "$T/fine.eml"
"$POSTERN" check --rules "$T/on.rules" --output "$T/hold.out" "$T/hold.eml" >/dev/null
is "$(field "$T/hold.out")" "X-Postern-Quarantine: rule=hold_it; decision=quarantine; applied=quarantine; client-ip=192.0.2.7" \
	"on: a quarantined copy says rule, decision, applied action and client IP, and the sender's field is gone"
"$POSTERN" check --rules "$T/on.rules" --after-queue --output "$T/nope.out" "$T/nope.eml" >/dev/null
is "$(field "$T/nope.out")" "X-Postern-Quarantine: rule=nope; decision=reject; applied=quarantine; client-ip=192.0.2.7" \
	"on, --after-queue: a reject applied as quarantine says decision=reject; applied=quarantine"
"$POSTERN" check --rules "$T/on.rules" --output "$T/fine.out" "$T/fine.eml" >/dev/null
is "$(field "$T/fine.out")" "" "on: an accepted copy has no X-Postern-Quarantine, the sender's is removed"
"$POSTERN" check --rules "$T/on.rules" --output "$T/unk.out" "$(msg "hold" > "$T/unk.eml"; echo "$T/unk.eml")" >/dev/null
like "$(field "$T/unk.out")" 'client-ip=unknown$' "on: an unknown client IP is written unknown"
for r in off default; do
	"$POSTERN" check --rules "$T/$r.rules" --output "$T/hold-$r.out" "$T/hold.eml" >/dev/null
	is "$(field "$T/hold-$r.out")" "X-Postern-Quarantine: rule=forged; decision=accept" \
		"$r: nothing is added and the message's own field is left as it came"
done

printf 'quarantine-reason yes;\nrule r { when true then accept; }\n' > "$T/bad.rules"
like "$("$POSTERN" lint "$T/bad.rules" 2>&1)" "bad\\.rules:1:19: error: quarantine-reason takes on or off, not 'yes'" "lint: a value other than on or off is an error"
printf 'quarantine-reason on;\nquarantine-reason off;\nrule r { when true then accept; }\n' > "$T/twice.rules"
like "$("$POSTERN" lint "$T/twice.rules" 2>&1)" "quarantine-reason is set twice" "lint: set twice is an error"

# Through postern lmtp: the delivered copies.
start_lmtp --rules "$T/on.rules"
forged='X-Postern-Quarantine: rule=forged; decision=accept\r\nFrom: a@example.net\r\nSubject'
out=$(printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.44' 'MAIL FROM:<a@example.net>' 'RCPT TO:<bob@example.org>' 'DATA' '<<354' \
	"$forged: hold me\\r\\n\\r\\nx" '.' \
	'XFORWARD ADDR=192.0.2.45' 'MAIL FROM:<a@example.net>' 'RCPT TO:<carol@example.org>' 'DATA' '<<354' \
	"$forged: fine\\r\\n\\r\\nx" '.' 'QUIT' | lmtpc "$PORT")
like "$out" '250 2\.0\.0 .*Saved' "lmtp: both delivered"
f=$(find "$MD/example.org/bob/.Held/new" -type f | head -1)
is "$(field "$f")" "X-Postern-Quarantine: rule=hold_it; decision=quarantine; applied=quarantine; client-ip=192.0.2.44" \
	"lmtp: the quarantined copy in .Held has postern's field with the XFORWARD client IP, and only that one"
f=$(find "$MD/example.org/carol/new" -type f | head -1)
is "$(field "$f")" "" "lmtp: the accepted copy has none (the sender's is removed)"
stop_lmtp
done_testing
