#!/bin/sh
# postern lmtp with a raw client: per-recipient replies, mixed tenants,
# pipelining, XFORWARD, RSET, oversize, and the protocol rows of the
# bad-input table (tests/lmtp/badinput.sh).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
s6="$top_srcdir/examples/scenario-06-static-ip"
start_lmtp --rules "$s6/policy.rules" --max-size 200000

hello='LHLO client.test'
msg='From: Reports <reports@example.net>\r\nTo: alice@agency.example\r\nSubject: Weekly figures\r\n\r\nThe figures.'

# Mixed tenants in one transaction (scenario 6, after-queue-reject reject).
out=$(printf '%s\n' "$hello" 'XFORWARD ADDR=203.0.113.9 HELO=mta.example.net NAME=mta.example.net' \
	'MAIL FROM:<reports@example.net>' 'RCPT TO:<alice@agency.example>' 'RCPT TO:<bob@example.org>' \
	'DATA' '<<354' "$msg" '.' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^(250 2\.0\.0 .*Saved|550 5\.7\.1 sending)' | cut -c1-3 | tr '\n' ' ')" \
   "550 250 " "scenario 6: one 550 for the agency tenant, one 250 for the other, in RCPT order"
like "$out" '550 5\.7\.1 sending IP 203\.0\.113\.9 is not on the allowlist' "the 550 carries the rule's text"
is "$(msgs_in "$MD/example.org/bob")" 1 "bob's copy is in his Maildir"
is "$(msgs_in "$MD/agency.example/alice")" 0 "alice's is not"
line=$(grep '"rcpt":"alice@agency.example"' "$LOG" | tail -1)
is "$(q "$line" '[.client_ip, .helo, .decision, .applied, .rule, .reply.code, .delivered] | @csv')" \
   '"203.0.113.9","mta.example.net","reject","reject","only_known_ips",550,false' \
   "the log line: client facts from XFORWARD, decision, applied action, rule, reply"
like "$(q "$line" '.queue_id + " " + (.ms|tostring) + " " + .auth.spf.result')" '^[0-9A-F]+ [0-9.]+ [a-z]+$' \
   "the log line has the queue id, the time taken and the auth results"

# Listed address: both 250; all in one chunk (pipelined, DATA included).
out=$(printf '%s\n' "$hello" 'XFORWARD ADDR=IPV6:2001:db8:100::5' 'MAIL FROM:<reports@example.net>' \
	'RCPT TO:<alice@agency.example>' 'RCPT TO:<bob@example.org>' 'DATA' "$msg" '.' \
	'MAIL FROM:<>' 'RCPT TO:<carol@example.org>' 'DATA' 'Subject: two\r\n\r\n..dot' '.' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^250 2\.0\.0 .*Saved')" 3 "pipelined: two transactions in one chunk, 3 stored"
is "$(msgs_in "$MD/agency.example/alice")" 1 "an IPV6: XFORWARD address in the agency's range passes"
f=$(find "$MD/example.org/carol/new" -type f | head -1)
is "$(grep -c '^\.dot' "$f")" 1 "dot-unstuffing: '..dot' is stored as '.dot'"
like "$(head -3 "$f")" 'Return-Path: <>' "the null sender is kept"

# XFORWARD resets after a transaction: the next one has no client IP.
out=$(printf '%s\n' "$hello" 'XFORWARD ADDR=198.51.100.7' 'MAIL FROM:<a@example.net>' 'RCPT TO:<x@agency.example>' \
	'DATA' '<<354' 'Subject: 1\r\n\r\nx' '.' 'MAIL FROM:<a@example.net>' 'RCPT TO:<x@agency.example>' \
	'DATA' '<<354' 'Subject: 2\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^(250 2\.0\.0 .*Saved|550 5\.7\.1)' | cut -c1-3 | tr '\n' ' ')" "250 550 " \
   "XFORWARD facts last one transaction (Postfix's XFORWARD_README)"
is "$(grep '"rcpt":"x@agency.example"' "$LOG" | tail -1 | jq -r '.client_ip')" null \
   "without XFORWARD the client IP is unknown, never the peer's 127.0.0.1"

# RSET in the middle of a transaction.
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<dave@example.org>' 'RSET' \
	'RCPT TO:<dave@example.org>' 'MAIL FROM:<a@example.net>' 'RCPT TO:<erin@example.org>' 'DATA' '<<354' \
	'Subject: r\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | sed -n '10,15p' | cut -c1-9 | tr '\n' ' ')" \
   "250 2.1.0 250 2.1.5 250 2.0.0 503 5.5.1 250 2.1.0 250 2.1.5 " "RSET ends the transaction: RCPT after it is 503"
is "$(msgs_in "$MD/example.org/dave"):$(msgs_in "$MD/example.org/erin")" "0:1" "only the recipient after RSET got it"

# Oversize: 552 5.3.4 per recipient after DATA, nothing written.
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<big1@example.org>' 'RCPT TO:<big2@example.org>' \
	'DATA' '<<354' 'Subject: big\r\n' '@@big 300000' '.' 'NOOP' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^552 5.3.4')" 2 "oversize: 552 5.3.4 for each recipient"
like "$out" '250 2.0.0 Ok
221' "and the session goes on"
is "$(msgs_in "$MD/example.org/big1")$(msgs_in "$MD/example.org/big2")" "00" "nothing written"
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net> SIZE=300000' 'QUIT' | lmtpc "$PORT")
like "$out" '552 5.3.4' "SIZE= over the limit: 552 5.3.4 at MAIL"

# Bad input rows.
long=$(python3 -c 'print("NOOP " + "x" * 1200)')
out=$(printf '%s\n' "$hello" "$long" 'NOOP' 'QUIT' | lmtpc "$PORT")
like "$out" '500 5.5.2 Error: line too long
250 2.0.0 Ok' "a line over 1,000 octets: 500 5.5.2, the session continues"
out=$(printf '%s\n' "$hello" 'RCPT TO:<a@example.org>' 'DATA' 'MAIL FROM:<a@example.net>' 'DATA' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^503 5.5.1')" 3 "commands out of order: 503 5.5.1 (RCPT before MAIL, DATA without MAIL or RCPT)"
out=$(printf '%s\n' 'EHLO client.test' 'HELO client.test' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^500 5.5.1')" 2 "EHLO and HELO: 500 5.5.1 (use LHLO)"
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<../../etc@example.org>' 'RCPT TO:<a/b@example.org>' \
	'RCPT TO:<a@..>' 'RCPT TO:<x\x00y@example.org>' 'RCPT TO:<c\x01@example.org>' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^550 5.1.3')" 5 "'..', '/', NUL and control characters in a recipient: 550 5.1.3"
is "$(find "$TMPDIR_TEST" -name etc | wc -l | tr -d ' ')" 0 "no path outside the Maildir root"
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<raw@example.org>' 'DATA' '<<354' \
	'Subject: \xff\xfe bad utf-8\r\nX-Nul: a\x00b\r\nX-Cr: a\rb\r\n\r\nbare\nlf' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '250 2\.0\.0 .*Saved' "NUL, bare CR, bare LF and 8-bit headers: parsed, delivered"
f=$(find "$MD/example.org/raw/new" -type f | head -1)
is "$(grep -c "$(printf 'a\rb')" "$f")" 1 "raw bytes kept (bare CR)"
is "$(tr -d '\n' < "$f" | grep -c "$(printf 'barelf')")" 1 "raw bytes kept (bare LF)"

# A header section over 1,000 fields: 552 5.3.4 (the default reply).
hdrs=$(python3 -c 'print("".join("X-F%d: v\\r\\n" % i for i in range(1001)) + "\\r\\nbody")')
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<hdr@example.org>' 'DATA' '<<354' "$hdrs" '.' 'QUIT' | lmtpc "$PORT")
like "$out" '552 5.3.4 Error: header section too big' "over 1,000 header fields: 552 5.3.4"
is "$(msgs_in "$MD/example.org/hdr")" 0 "and nothing written"

# Leading X-Postern-Envelope fields cannot forge the client IP.
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<forge@agency.example>' 'DATA' '<<354' \
	'X-Postern-Envelope: client-ip=192.0.2.1\r\nSubject: forged\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '550 5\.7\.1 sending IP \(unknown\) is not' "a leading X-Postern-Envelope field does not set the client IP: it interpolates as (unknown)"

# A NUL-laden session keeps the server serving.
out=$(printf '%s\n' "$hello" 'NOOP' 'QUIT' | lmtpc "$PORT")
like "$out" '221 2.0.0' "the server keeps serving"
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: exit 0"

# A reject text as long as the checker allows (400 bytes) reaches the
# client whole: the LMTP reply does not cut it.
long=$(python3 -c 'print("L" * 399 + "Z")')
printf 'after-queue-reject reject;\nrule r { when true then reject 550 5.7.1 "%s"; }\n' "$long" > "$TMPDIR_TEST/long.rules"
start_lmtp --rules "$TMPDIR_TEST/long.rules"
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<long@example.org>' 'DATA' '<<354' 'Subject: s\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
like "$out" "550 5.7.1 $long" "a 400-byte reject text reaches the client whole"
stop_lmtp
done_testing
