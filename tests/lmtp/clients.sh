#!/bin/sh
# postern lmtp with real clients: Python's smtplib.LMTP (reading the extra
# per-recipient replies itself, CPython issue 76984) and swaks --protocol LMTP.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
s6="$top_srcdir/examples/scenario-06-static-ip"
start_lmtp --rules "$s6/policy.rules"

out=$(python3 - "$PORT" <<'PY'
import smtplib, sys
c = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
code, _ = c.ehlo_or_helo_if_needed() or (None, None)
print("lhlo", c.does_esmtp, c.has_extn("pipelining"), c.has_extn("enhancedstatuscodes"), c.has_extn("xforward"))
print("xforward", c.docmd("XFORWARD", "ADDR=203.0.113.9 HELO=mta.example.net")[0])
print("mail", c.mail("reports@example.net")[0])
rcpts = ["alice@agency.example", "bob@example.org", "carol@example.org"]
for r in rcpts:
    print("rcpt", c.rcpt(r)[0])
code, msg = c.data(b"From: reports@example.net\r\nSubject: smtplib\r\n\r\nbody\r\n")
replies = [(code, msg)]
for _ in rcpts[1:]:
    replies.append(c.getreply())
for r, (code, msg) in zip(rcpts, replies):
    print("data", r, code, msg.decode().split()[0])
print("quit", c.quit()[0])
PY
)
like "$out" 'lhlo True True True True' "smtplib: LHLO advertises PIPELINING, ENHANCEDSTATUSCODES, XFORWARD"
is "$(printf '%s\n' "$out" | grep '^data' | tr '\n' ' ')" \
   "data alice@agency.example 550 5.7.1 data bob@example.org 250 2.0.0 data carol@example.org 250 2.0.0 " \
   "smtplib: one reply per recipient after DATA, in RCPT order"
like "$out" 'quit 221' "smtplib: the session stays in step to QUIT"

printf 'From: a@example.net\r\nSubject: swaks\r\n\r\nbody\r\n' > "$TMPDIR_TEST/swaks.eml"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo client.test --from a@example.net \
	--to dave@example.org,erin@agency.example --data @"$TMPDIR_TEST/swaks.eml" 2>&1)
is "$(printf '%s\n' "$out" | grep -E '^<(-|\*\*) +(250|550) [0-9]\.' | grep -vE '2\.1\.[05]' | sed -E 's/^<(-|\*\*) +//' | cut -c1-9 | tr '\n' ' ')" \
   "250 2.0.0 550 5.7.1 " "swaks --protocol LMTP: one reply per recipient"
is "$(msgs_in "$MD/example.org/dave")" 1 "swaks: dave's copy stored"
stop_lmtp

# Applied actions: a policy reject becomes quarantine by default
# (reject-if-spf-pass, and SPF did not pass); discard answers 250 and
# stores nothing; the log shows decision and applied action.
cat > "$TMPDIR_TEST/actions.rules" <<'R'
rule drop { when envelope.from == "drop@example.net" then discard; }
rule no { when size > 0 then reject 550 5.7.1 "not wanted"; }
R
start_lmtp --rules "$TMPDIR_TEST/actions.rules"
out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<q@example.org>' 'DATA' '<<354' 'Subject: q\r\n\r\nx' '.' \
	'MAIL FROM:<drop@example.net>' 'RCPT TO:<d@example.org>' 'DATA' '<<354' 'Subject: d\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
stop_lmtp
is "$(printf '%s\n' "$out" | grep -E '^250 2\.0\.0 .+' | grep -vc '^250 2\.0\.0 Ok$')" 2 "quarantine and discard both answer 250"
is "$(msgs_in "$MD/example.org/q/.Quarantine"):$(msgs_in "$MD/example.org/q")" "1:0" "the after-queue quarantine goes to .Quarantine"
is "$(find "$MD/example.org/d" -type f 2>/dev/null | wc -l | tr -d ' ')" 0 "discard stores nothing"
is "$(grep '"rcpt":"q@example.org"' "$LOG" | jq -r '[.decision, .applied, .folder, .rule] | @csv')" \
   '"reject","quarantine",".Quarantine","no"' "the log shows the policy's decision and the applied action"
is "$(grep '"rcpt":"d@example.org"' "$LOG" | jq -r '[.decision, .applied, .delivered] | @csv')" \
   '"discard","discard",false' "and a discard as not delivered"
done_testing
