#!/bin/sh
# postern lmtp against the attack run of issue 16: a reload whose include
# is a FIFO is refused at once and the server keeps serving; ... (each part
# says what it holds). Every client runs under timeout(1): a regression
# fails, it does not hang the suite.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
PY=$(python3 -c 'import sys; print(sys.executable)')
lmtpc() { timeout 20 "$PY" "$LMTPC" "$@"; }
rules="$TMPDIR_TEST/policy.rules"
wait_log() {   # wait_log ERE: until the log has a matching line, at most 5 s
	i=0; while ! grep -Eq "$1" "$LOG" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
stop_bounded() {   # stop_lmtp, with a SIGKILL after 10 s should SIGTERM not stop it
	if [ -n "$SRV_PID" ]; then
		(sleep 10; kill -KILL "$SRV_PID" 2>/dev/null) & dog=$!
		stop_lmtp
		kill "$dog" 2>/dev/null
	fi
}
trap 'stop_bounded; rm -rf "$TMPDIR_TEST"' EXIT
one_txn() {   # one_txn SUBJECT: a session with one message to b@example.org
	printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<b@example.org>' 'DATA' '<<354' \
		"Subject: $1\r\n\r\nx" '.' 'QUIT'
}

# ---- A reload with an include that is a FIFO -------------------------------
printf 'after-queue-reject reject;\nrule r { when size > 0 then reject 550 5.7.1 "generation one"; }\n' > "$rules"
start_lmtp --rules "$rules"
like "$(one_txn a | lmtpc "$PORT")" '550 5.7.1 generation one' "fifo: the first policy decides"
mkfifo "$TMPDIR_TEST/inc.rules"
printf 'after-queue-reject reject;\ninclude "inc.rules";\nrule r { when size > 0 then reject 550 5.7.1 "generation two"; }\n' > "$rules"
kill -HUP "$SRV_PID"
wait_log '"event":"reload","ok":false'
line=$(grep '"event":"reload","ok":false' "$LOG" | tail -1)
like "$(q "$line" '.error')" "policy\.rules:2:[0-9]+: error: cannot read included file '.*inc\.rules': not a regular file" \
	"fifo: the reload is refused, the log says the include is not a regular file"
like "$(one_txn b | lmtpc "$PORT")" '550 5.7.1 generation one' "fifo: the server keeps serving with the old policy"
stop_bounded
is "$STOP_RC" 0 "fifo: SIGTERM still stops the server (exit 0)"

# ---- A policy without rules is never silent -------------------------------
: > "$rules"
start_lmtp --rules "$rules"
wait_log '"warning":"the policy has no rules'
like "$(grep '"warning":"the policy has no rules' "$LOG" | tail -1)" '"generation":[0-9]+,"warning":"the policy has no rules: every message is accepted"' \
	"no rules: a warning event at start"
printf 'rule r { when true then accept; }\n' > "$rules"
kill -HUP "$SRV_PID"; wait_log '"event":"reload","ok":true'
is "$(grep -c '"warning":"the policy has no rules' "$LOG")" 1 "a reload to a policy with rules: no warning"
: > "$rules"
kill -HUP "$SRV_PID"; wait_log '"event":"reload","ok":true,"generation":3'
i=0; while [ "$(grep -c '"warning":"the policy has no rules' "$LOG")" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
like "$(grep '"warning":"the policy has no rules' "$LOG" | tail -1)" '"generation":3,"warning":"the policy has no rules' \
	"a reload to an empty file: a warning event for that generation"
stop_bounded

# ---- The Maildir root deleted and made anew --------------------------------
printf 'rule r { when true then accept; }\n' > "$rules"
start_lmtp --rules "$rules"
like "$(one_txn first | lmtpc "$PORT")" '250 2\.0\.0 .*Saved' "maildir: the first delivery is stored"
rm -rf "$MD"
like "$(one_txn gone | lmtpc "$PORT")" '451 4\.3\.0 ' "maildir: with the root gone, 451 4.3.0 (nothing is made outside it)"
mkdir "$MD"
like "$(one_txn again | lmtpc "$PORT")" '250 2\.0\.0 .*Saved' "maildir: the root made anew, the next delivery is stored without a restart"
is "$(msgs_in "$MD/example.org/b")" 1 "maildir: in the new root"
like "$(one_txn more | lmtpc "$PORT")" '250 2\.0\.0 .*Saved' "maildir: and the one after it"
stop_bounded
rm -rf "$MD"

# ---- A regex over the match limit shows in the LMTP log -----------------
printf 'regex-match-limit 1000;\nrule slow { when subject matches /^(a+)+$/ then reject 550 5.7.1 "slow"; }\n' > "$rules"
start_lmtp --rules "$rules"
out=$(one_txn aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab | lmtpc "$PORT")
like "$out" '250 2\.0\.0 ' "match limit: the test is false, the message accepted"
line=$(grep '"rcpt":"b@example.org"' "$LOG" | tail -1)
is "$(q "$line" '.warnings | join("|")')" 'rule slow: /^(a+)+$/ on subject: match limit exceeded; the test is false' \
	"match limit: the recipient's log line carries the warning"
out=$(one_txn quiet | lmtpc "$PORT")
line=$(grep '"rcpt":"b@example.org"' "$LOG" | tail -1)
is "$(q "$line" 'has("warnings")')" false "no warning: no warnings key"
stop_bounded
rm -rf "$MD"

# ---- One client cannot hold every session slot ----------------------------
# hold PORT N SRC...: from each source address in turn, open up to N
# connections and keep them; print "SRC served K" and, for the first
# refusal, "SRC refused LINE" and whether it was then closed.
hold() {
	timeout 20 "$PY" - "$@" <<'PYEOF'
import socket, sys
port, n, held = int(sys.argv[1]), int(sys.argv[2]), []
for src in sys.argv[3:]:
    served = 0
    for i in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.settimeout(5)
        g = s.recv(1000).decode().strip()
        if g.startswith("220 "):
            served += 1
            held.append(s)
            continue
        print(src, "refused", g)
        print(src, "closed", s.recv(1000) == b"")
        break
    print(src, "served", served)
for s in held:
    s.close()
PYEOF
}
printf 'rule r { when true then accept; }\n' > "$rules"
start_lmtp --rules "$rules" --max-sessions 6
out=$(hold "$PORT" 4 127.0.0.1 127.0.0.2)
like "$out" '127\.0\.0\.1 served 3' "per peer: by default one address holds half of --max-sessions 6 (3)"
like "$out" '127\.0\.0\.1 refused 421 4\.7\.0 ' "per peer: its next connection gets 421 4.7.0"
like "$out" '127\.0\.0\.1 closed True' "per peer: and is closed"
like "$out" '127\.0\.0\.2 served 3' "per peer: another address still gets its sessions (3)"
sleep 0.3
out=$(hold "$PORT" 4 127.0.0.1)
like "$out" '127\.0\.0\.1 served 3' "per peer: slots are given back when the sessions end"
stop_bounded
start_lmtp --rules "$rules" --max-sessions 6 --max-sessions-per-peer 5
out=$(hold "$PORT" 7 127.0.0.1 127.0.0.2)
like "$out" '127\.0\.0\.1 served 5' "--max-sessions-per-peer 5: one address holds 5"
like "$out" '127\.0\.0\.2 served 1' "--max-sessions-per-peer 5: the 6th slot goes to another address"
like "$out" '127\.0\.0\.2 refused 421 4\.3\.2 ' "--max-sessions-per-peer 5: then --max-sessions gives 421 4.3.2"
stop_bounded
err=$("$POSTERN" lmtp --rules "$rules" --listen 127.0.0.1:1 --deliver "maildir:$MD" --max-sessions-per-peer 0 2>&1); rc=$?
is "$rc" 64 "--max-sessions-per-peer 0: a usage error (exit 64)"
like "$err" 'max-sessions-per-peer wants a number from 1' "--max-sessions-per-peer 0: says so"

# ---- Protocol edges ---------------------------------------------------------
printf 'rule r { when true then accept; }\n' > "$rules"
start_lmtp --rules "$rules"
# An xtext "+00" (NUL) or any other control character in XFORWARD is refused
# whole, never decoded into a value cut short.
out=$(printf '%s\n' 'LHLO c' 'XFORWARD HELO=abc+00def' 'XFORWARD NAME=x+0Ay' 'XFORWARD HELO=mx+2Eexample.net' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^(250|501) [0-9]' | cut -c1-9 | tr '\n' ' ')" "501 5.5.4 501 5.5.4 250 2.0.0 " \
	"XFORWARD: +00 and +0A are refused (501 5.5.4), +2E is decoded"
# Only CRLF . CRLF ends DATA: a "\n.\n" inside the message does not, so
# the commands after it are message text, not a second (smuggled) message.
out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<b@example.org>' 'DATA' '<<354' \
	'Subject: lf\r\n\r\nbody\n.\nMAIL FROM:<evil@example.net>\nRCPT TO:<c@example.org>\nDATA\nSubject: smuggled\n\nx\n.\n' \
	'.' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -cE '^250 2\.0\.0 .*Saved')" 1 "bare LF: one message, not two"
is "$(msgs_in "$MD/example.org/c")" 0 "bare LF: nothing smuggled to c@example.org"
is "$(msgs_in "$MD/example.org/b")" 1 "bare LF: b@example.org has the one message"
f=$(find "$MD/example.org/b/new" -type f | head -1)
like "$(cat "$f" 2>/dev/null | tr '\n' ' ')" 'body \. MAIL FROM:<evil@example\.net>' "bare LF: the lines after the LF-dot-LF are in its body, the dot kept"
# Recipient local parts: no unquoted space or special, no bidi control.
out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<a b@example.org>' 'RCPT TO:<a(b@example.org>' \
	'RCPT TO:<ad\xe2\x80\xaemin@example.org>' 'RCPT TO:<x@exa\xe2\x81\xa7mple.org>' \
	'RCPT TO:<j\xc3\xb6rg@example.org>' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^(250 2\.1\.5|501|553) ' | cut -c1-9 | tr '\n' ' ')" \
	"501 5.1.3 501 5.1.3 553 5.1.3 553 5.1.3 250 2.1.5 " \
	"RCPT: unquoted space and '(' 501 5.1.3, bidi controls 553 5.1.3, UTF-8 accepted"
like "$out" '501 5\.1\.3 .*unquoted space' "RCPT: the 501 says why"
stop_bounded
# --listen ports outside 1..65535 are an error at start.
for p in 65536 99999 0; do
	err=$(timeout 10 "$POSTERN" lmtp --rules "$rules" --listen "127.0.0.1:$p" --deliver "maildir:$MD" 2>&1); rc=$?
	is "$rc" 64 "--listen 127.0.0.1:$p: exit 64"
	like "$err" "port must be a number from 1 to 65535" "--listen 127.0.0.1:$p: says the port is wrong"
done

done_testing
