#!/bin/sh
# The LMTP log joins with the MTA's (issue 16): each recipient line has
# Postfix's queue id (XFORWARD IDENT, null when not sent), the Message-ID
# (printable ASCII, at most 256 bytes), the edits applied, the tags of
# enforced rules and the policy generation; a recipient refused at RCPT
# time (unknown user, bad syntax, the recipient limit) has a line with its
# reply and why, and no decision. SIGUSR2 reopens --log FILE (logrotate).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
printf 'ann@example.org\nbob@example.org\n' > "$T/users"
cat > "$T/policy.rules" <<'R'
rule mark {
  when true
  then add header "X-Mark" "yes", remove header "X-Junk", tag "seen", tag "local";
}
R
start_lmtp --rules "$T/policy.rules" --users "$T/users"
long=$(printf '%0300d' 0)
printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.7 IDENT=4Ab3xYz9' 'MAIL FROM:<a@example.net>' \
	'RCPT TO:<ann@example.org>' 'RCPT TO:<nobody@example.org>' 'RCPT TO:<a b@example.org>' \
	'RCPT TO:<bob@example.org> NOTIFY=NEVER' 'DATA' '<<354' \
	"Message-ID: <id-1@example.net>\r\nX-Junk: 1\r\nSubject: s\r\n\r\nx" '.' \
	'MAIL FROM:<a@example.net>' 'RCPT TO:<bob@example.org>' 'DATA' '<<354' \
	"Message-ID: <\303\251t\303\251-$long@example.net>\r\nSubject: s\r\n\r\nx" '.' 'QUIT' \
	| lmtpc "$PORT" > "$T/out"
stop_lmtp
like "$(cat "$T/out")" '550 5\.1\.1' "an unknown user is refused at RCPT time"
rcpt_lines() { jq -c "select(.event == null and .rcpt == \"$1\") | $2" "$LOG"; }
is "$(rcpt_lines ann@example.org '[.mta_queue_id, .message_id, .generation, .decision, .delivered]')" \
   '["4Ab3xYz9","<id-1@example.net>",1,"accept",true]' \
   "a delivered recipient's line has Postfix's queue id, the Message-ID and the generation"
is "$(rcpt_lines ann@example.org '[.edits, .tags]')" \
   '[[{"op":"add-header","name":"X-Mark"},{"op":"remove-header","name":"X-Junk"}],["seen","local"]]' \
   "its edits (op and name) and the tags of enforced rules"
is "$(rcpt_lines nobody@example.org '[.refused, .reply.code, .reply.enhanced, .decision, .queue_id, .mta_queue_id, .client_ip, .mail_from, .size, .ms, .generation]')" \
   '["unknown user",550,"5.1.1",null,null,"4Ab3xYz9","192.0.2.7","a@example.net",null,null,null]' \
   "an unknown user has a line: the reply, the reason, no decision"
is "$(rcpt_lines 'a b@example.org' '[.refused, .reply.code]')" '["bad address syntax",501]' \
   "a recipient with bad syntax has a line"
is "$(rcpt_lines bob@example.org '[.refused, .reply.code]' | head -1)" '["bad parameter",555]' \
   "a recipient with an unknown parameter has a line"
# The second transaction: XFORWARD attributes end with the transaction.
mid=$(rcpt_lines bob@example.org 'select(.refused == null) | .message_id' | jq -r .)
is "${#mid}:$(printf '%s' "$mid" | cut -c1-8)" "256:<??t??-0" \
   "a Message-ID is cut at 256 bytes, 8-bit bytes replaced by '?'"
is "$(rcpt_lines bob@example.org 'select(.refused == null) | .mta_queue_id')" 'null' \
   "without XFORWARD IDENT, mta_queue_id is null"
is "$(jq -c 'select(.event == null)' "$LOG" | wc -l | tr -d ' ')" 5 "five recipient lines: two delivered, three refused"

# ---- SIGUSR2 reopens the log (logrotate) ---------------------------------
mkdir -p "$T/logs"
LOG="$T/logs/postern.log"
start_lmtp --rules "$T/policy.rules"
one() {
	printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' "RCPT TO:<$1>" 'DATA' '<<354' \
		"Subject: s\r\n\r\nx" '.' 'QUIT' | lmtpc "$PORT" > /dev/null
}
wait_grep() {   # wait_grep ERE FILE: until FILE has a matching line, at most 5 s
	i=0; while ! grep -Eq "$1" "$2" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
one first@example.org
mv "$LOG" "$T/logs/postern.log.1"
kill -USR2 "$SRV_PID"
wait_grep '"event":"reopen"' "$LOG"
one second@example.org
wait_grep 'second@example.org' "$LOG"
is "$(jq -c 'select(.event == "reopen") | [.ok, .log]' "$LOG")" "[true,\"$LOG\"]" \
   "after SIGUSR2 the new file starts with a reopen event"
is "$(jq -r 'select(.event == null) | .rcpt' "$LOG")" "second@example.org" \
   "the new file has the line of the message delivered after SIGUSR2"
is "$(jq -r 'select(.event == null) | .rcpt' "$T/logs/postern.log.1")" "first@example.org" \
   "the renamed file has the line before, not the one after"
# A name that cannot be opened: the old file is kept, and says why.
mv "$T/logs" "$T/logs.old"
kill -USR2 "$SRV_PID"
wait_grep '"ok":false' "$T/logs.old/postern.log"
one third@example.org
wait_grep 'third@example.org' "$T/logs.old/postern.log"
is "$(jq -c 'select(.event == "reopen" and .ok == false) | [.log, .error]' "$T/logs.old/postern.log")" \
   "[\"$LOG\",\"No such file or directory\"]" "a log that cannot be reopened says why in the old file"
is "$(jq -r 'select(.event == null) | .rcpt' "$T/logs.old/postern.log" | tr '\n' ' ')" \
   "second@example.org third@example.org " "and the lines go on to the old file"
stop_lmtp
is "$STOP_RC" 0 "the server stops cleanly after the reopens"
done_testing
