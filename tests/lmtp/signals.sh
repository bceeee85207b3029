#!/bin/sh
# postern lmtp signals: SIGHUP reloads the rule file (sessions in flight
# keep their policy; a bad file keeps the old one and says why), SIGUSR1
# logs the counters, SIGTERM drains: idle sessions get 421 4.3.2, a
# transaction in flight finishes, then exit 0.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
rules="$TMPDIR_TEST/policy.rules"
gen() { printf 'after-queue-reject reject;\nrule r { when size > 0 then reject 550 5.7.1 "%s"; }\n' "$1" > "$rules"; }
gen "generation one"
start_lmtp --rules "$rules"
one_txn='LHLO c
MAIL FROM:<a@example.net>
RCPT TO:<b@example.org>
DATA
<<354
Subject: s\r\n\r\nx
.
QUIT'
wait_log() {   # wait_log ERE: until the log has a matching line, at most 5 s
	i=0; while ! grep -Eq "$1" "$LOG" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}

like "$(printf '%s\n' "$one_txn" | lmtpc "$PORT")" '550 5.7.1 generation one' "the first policy decides"

# A session open across the reload keeps the policy it started with.
out=$(python3 - "$PORT" "$SRV_PID" "$rules" "$LOG" <<'PY'
import os, signal, socket, sys, time
port, pid, rules, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def session():
    s = socket.create_connection(("127.0.0.1", port)); s.recv(1000)
    s.sendall(b"LHLO c\r\n"); time.sleep(0.1); s.recv(1000)
    return s
def txn(s):
    s.sendall(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
    buf = b""
    while b"354" not in buf: buf += s.recv(1000)
    s.sendall(b"Subject: s\r\n\r\nx\r\n.\r\n")
    buf = b""
    while b"5.7.1" not in buf and b"250 2.0.0" not in buf: buf += s.recv(1000)
    return buf.decode().strip().splitlines()[-1]
old = session()
open(rules, "w").write('after-queue-reject reject;\nrule r { when size > 0 then reject 550 5.7.1 "generation two"; }\n')
os.kill(pid, signal.SIGHUP)
for _ in range(100):
    if '"event":"reload","ok":true' in open(log).read(): break
    time.sleep(0.05)
print("old", txn(old))
print("new", txn(session()))
PY
)
like "$out" 'old 550 5.7.1 generation one' "SIGHUP: a session in flight keeps its policy"
like "$out" 'new 550 5.7.1 generation two' "SIGHUP: new sessions get the new policy"

printf 'rule broken { when nosuch.fact then accept; }\n' > "$rules"
kill -HUP "$SRV_PID"
wait_log '"event":"reload","ok":false'
line=$(grep '"event":"reload","ok":false' "$LOG" | tail -1)
like "$(q "$line" '.error')" 'policy.rules:1:[0-9]+: error' "a bad file on SIGHUP: the log says why, with file:line:col"
like "$(printf '%s\n' "$one_txn" | lmtpc "$PORT")" '550 5.7.1 generation two' "and the old policy stays"

kill -USR1 "$SRV_PID"
wait_log '"event":"stats"'
line=$(grep '"event":"stats"' "$LOG" | tail -1)
is "$(q "$line" '[.messages, .decisions.reject, .applied.reject, .reloads, .reload_failures, .auth.spf.none] | @csv')" \
   "4,4,4,1,1,4" "SIGUSR1: counters of messages, decisions, reloads and auth results"

# SIGTERM: an idle session is closed with 421 4.3.2, a transaction in flight finishes.
gen "generation three"
kill -HUP "$SRV_PID"; wait_log '"generation":3'
out=$(python3 - "$PORT" "$SRV_PID" <<'PY'
import os, signal, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
idle = socket.create_connection(("127.0.0.1", port)); idle.recv(1000)
busy = socket.create_connection(("127.0.0.1", port)); busy.recv(1000)
busy.sendall(b"LHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
buf = b""
while b"354" not in buf: buf += busy.recv(1000)
busy.sendall(b"Subject: s\r\n\r\npart one\r\n")
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
print("idle", idle.recv(1000).decode().strip())
try:
    socket.create_connection(("127.0.0.1", port), timeout=1); print("listener open")
except OSError:
    print("listener closed")
busy.sendall(b"part two\r\n.\r\n")
buf = b""
while b"\r\n" not in buf: buf += busy.recv(1000)
print("busy", buf.decode().strip())
busy.sendall(b"QUIT\r\n")
print("quit", busy.recv(1000).decode().strip())
PY
)
like "$out" 'idle 421 4.3.2' "SIGTERM: an idle session gets 421 4.3.2"
like "$out" 'listener closed' "SIGTERM: no new connections"
like "$out" 'busy 550 5.7.1 generation three' "SIGTERM: the transaction in flight finishes"
wait "$SRV_PID"; rc=$?; SRV_PID=; check_stderr
is "$rc" 0 "and the server exits 0 after the drain"
like "$(tail -1 "$LOG")" '"event":"stop"' "the last log line says it stopped"

# A rule file whose path holds a quote and a backslash: the failed-reload
# line is still one valid JSON object naming the path.
odd="$TMPDIR_TEST/we\"ird\\dir"
mkdir -p "$odd"
rules="$odd/policy.rules"
gen "four"
: > "$LOG"
start_lmtp --rules "$rules"
printf 'rule broken { when nosuch.fact then accept; }\n' > "$rules"
kill -HUP "$SRV_PID"
wait_log '"event":"reload"'
line=$(grep '"event":"reload"' "$LOG" | tail -1)
is "$(q "$line" '.rules')" "$rules" "a failed reload names a rule file path with a quote and a backslash, as valid JSON"
stop_lmtp

# The counters hold each method's overall result: a message whose first
# DKIM signature gets a SERVFAIL and whose second passes counts dkim=pass.
fx="$top_srcdir/tests/fixtures/dkim"
cp "$fx/keys.zone" "$TMPDIR_TEST/empty.zone"
printf 'rule r { when dkim == pass then accept; }\n' > "$TMPDIR_TEST/dkim.rules"
: > "$LOG"
start_lmtp --rules "$TMPDIR_TEST/dkim.rules"
# one script line: lmtpc drops empty lines, and \r\n escapes keep them
msg=$(tr -d '\r' < "$fx/servfail-and-good.eml" | sed 's/^\./../' | awk '{ printf "%s\\r\\n", $0 }')
out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.com>' 'RCPT TO:<r@example.org>' 'DATA' '<<354' "$msg" '.' 'QUIT' | lmtpc "$PORT")
like "$out" '250 2\.0\.0' "a message with a failing and a passing DKIM signature is delivered"
kill -USR1 "$SRV_PID"
wait_log '"event":"stats"'
line=$(grep '"event":"stats"' "$LOG" | tail -1)
is "$(q "$line" '[.auth.dkim.pass, .auth.dkim.temperror] | @csv')" "1,0" \
   "SIGUSR1: the DKIM counter holds the overall result (pass), not the first signature's (temperror)"
stop_lmtp
done_testing
