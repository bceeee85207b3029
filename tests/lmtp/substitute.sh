#!/bin/sh
# Issue 15: substitute through "postern lmtp": the copy delivered to the
# Maildir has the From display name and every Subject substituted, the
# original From kept as X-Original-From; a message the regexes do not
# match is delivered with its fields as received.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
cat > "$T/s.rules" <<'EOF'
rule partner { when from.domain == "partner.example" then substitute from.display /,?\s*Acme Corp/i ""; }
rule ext { when true then substitute header "Subject" /^\[EXT\]\s*/ ""; }
EOF
start_lmtp --rules "$T/s.rules"

send() {   # send USER FIELDS: one message to USER@example.org
	printf '%s\n' 'LHLO client.test' 'MAIL FROM:<jane@partner.example>' "RCPT TO:<$1@example.org>" \
		'DATA' '<<354' "$2\r\nTo: $1@example.org\r\n\r\nbody" '.' 'QUIT' | lmtpc "$PORT"
}
copy() { cat "$MD/example.org/$1/new/"* 2>/dev/null | tr -d '\r'; }
fields() { printf '%s\n' "$1" | grep -E '^(X-Original-From|From|Subject):'; }

out=$(send sub 'From: "Jane Roe, Acme Corp" <jane@partner.example>\r\nSubject: [EXT] Invoice\r\nSubject: [EXT] again')
like "$out" '250 2\.[0-9]\.[0-9]' "the message was delivered"
is "$(fields "$(copy sub)")" 'X-Original-From: "Jane Roe, Acme Corp" <jane@partner.example>
From: "Jane Roe" <jane@partner.example>
Subject: Invoice
Subject: again' "the delivered copy: display name and every Subject substituted, X-Original-From kept"
like "$(tail -1 "$MD/example.org/sub/new/"* 2>/dev/null)" '^body' "and its body as sent"

out=$(send keep 'From: "Jane Roe" <jane@partner.example>\r\nSubject: Invoice [EXT]')
is "$(fields "$(copy keep)")" 'From: "Jane Roe" <jane@partner.example>
Subject: Invoice [EXT]' "no match: the fields as received, no X-Original-From"

stop_lmtp
is "$STOP_RC" 0 "postern lmtp stopped cleanly"
is "$(grep -c '"delivered":true' "$LOG")" 2 "the log has both messages delivered"
done_testing
