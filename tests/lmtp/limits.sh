#!/bin/sh
# postern lmtp limits: XFORWARD refused to a peer outside --xforward-from,
# --timeout (421 4.4.2), --max-sessions (421 4.3.2 at connect), --users and
# --recipient-delimiter at RCPT, a Unix socket with its mode.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
s6="$top_srcdir/examples/scenario-06-static-ip"
printf 'ann@example.org\nbob@example.org\n' > "$TMPDIR_TEST/users"
# Under valgrind (valgrind.sh) a loaded machine can take over a second
# between a reply and reading the next command: a longer --timeout there.
to=1
[ -n "${POSTERN_WRAPPER:-}" ] && to=4
start_lmtp --rules "$s6/policy.rules" --xforward-from 192.0.2.0/24 --timeout "$to" --max-sessions 2 --max-sessions-per-peer 2 \
	--users "$TMPDIR_TEST/users" --recipient-delimiter + --listen "unix:$TMPDIR_TEST/sock" --socket-mode 0600

out=$(printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.1' 'MAIL FROM:<a@example.net>' 'RCPT TO:<x@agency.example>' 'QUIT' | lmtpc "$PORT")
like "$out" '^250 SMTPUTF8' "LHLO works for any peer"
is "$(printf '%s\n' "$out" | grep -c XFORWARD)" 0 "XFORWARD is not advertised to a peer outside --xforward-from"
like "$out" '550 5.7.0 Error: insufficient authorization' "and refused: 550 5.7.0"
like "$out" '550 5.1.1' "--users: an unlisted recipient gets 550 5.1.1 at RCPT"

out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<ANN+lists@Example.org>' 'DATA' '<<354' 'Subject: d\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '250 2\.0\.0 .*Saved' "--recipient-delimiter: ann+lists is ann"
is "$(msgs_in "$MD/example.org/ann")" 1 "stored in example.org/ann, lower case"

start=$(date +%s)
out=$(printf '%s\n' 'LHLO c' | lmtpc "$PORT")
took=$(( $(date +%s) - start ))
like "$out" '421 4.4.2' "a client silent past --timeout gets 421 4.4.2 and is closed"
limit=10
[ -n "${POSTERN_WRAPPER:-}" ] && limit=40   # valgrind.sh: start-up and replies are slow
[ "$took" -le "$limit" ] && ok "within a few seconds of the timeout (${took}s)" || not_ok "after about the timeout" "took ${took}s"

# The sessions before this one may still hold their slot for a moment
# after the client saw them end (the readiness probe of start_lmtp, the
# timed-out session): open up to three and expect the limit to refuse one.
out=$(python3 - "$PORT" <<'PY'
import socket, sys
held, served = [], 0
for i in range(3):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    g = s.recv(1000).decode().strip()
    if g.startswith("220 "):
        served += 1
        held.append(s)
        continue
    print("refused", g)
    print("closed", s.recv(1000) == b"")
    break
print("served", served)
for s in held:
    s.close()
PY
)
like "$out" 'served [12]$' "--max-sessions 2: sessions are served up to the limit"
like "$out" 'refused 421 4.3.2' "the next connection gets 421 4.3.2 at connect"
like "$out" 'closed True' "and is closed"
sleep 0.3

is "$(stat -c %a "$TMPDIR_TEST/sock")" 600 "the Unix socket has --socket-mode"
out=$(printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.1' 'QUIT' | lmtpc "unix:$TMPDIR_TEST/sock")
like "$out" '550 5.7.0' "with --xforward-from given, Unix sockets need 'unix' in the list"
stop_lmtp

start_lmtp --rules "$s6/policy.rules" --xforward-from unix --xforward-from 127.0.0.1 --listen "unix:$TMPDIR_TEST/sock2"
out=$(printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.1' 'QUIT' | lmtpc "unix:$TMPDIR_TEST/sock2")
like "$out" 'XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE' "XFORWARD advertised with its attribute list to an allowed peer"
like "$out" "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT" "XCLIENT advertised with its attribute list to an allowed peer"
like "$out" '250 2.0.0 Ok
221' "and accepted"
stop_lmtp
[ -e "$TMPDIR_TEST/sock2" ] && not_ok "the Unix socket is removed at exit" || ok "the Unix socket is removed at exit"

start_lmtp --rules "$s6/policy.rules"
"$POSTERN" lmtp --rules "$s6/policy.rules" --listen "127.0.0.1:$PORT" --deliver "maildir:$MD" 2>/dev/null
is "$?" 71 "a port already in use: exit 71"
stop_lmtp
# Without XFORWARD the client IP is unknown: SPF is none, never pass,
# even where 127.0.0.1 (the peer) would pass.
printf 'example.net. 300 IN TXT "v=spf1 ip4:127.0.0.1 ip6:::1 -all"\n' > "$TMPDIR_TEST/loop.zone"
printf 'authserv-id "mx.test";\n' > "$TMPDIR_TEST/ar.rules"
start_lmtp --rules "$TMPDIR_TEST/ar.rules" --dns "$TMPDIR_TEST/loop.zone"
printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<spf@example.org>' 'DATA' '<<354' \
	'From: a@example.net\r\nSubject: s\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT" >/dev/null
stop_lmtp
line=$(grep '"rcpt":"spf@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[(.client_ip // ""), .auth.spf.result] | @csv')" '"","none"' \
   "a loopback session without XFORWARD: client IP unknown, spf=none (never pass for 127.0.0.1)"
f=$(find "$MD/example.org/spf/new" -type f | head -1)
like "$(grep -i '^Authentication-Results' "$f" | head -1)" 'spf=none' "and the A-R field says spf=none"

# --user drops privileges after binding (only testable as root).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -p "$TMPDIR_TEST/nobody" && chown nobody "$TMPDIR_TEST/nobody" && chmod 755 "$TMPDIR_TEST"
	chmod 644 "$TMPDIR_TEST/ar.rules" "$TMPDIR_TEST/empty.zone"
	MD_SAVE=$MD; MD="$TMPDIR_TEST/nobody/md"
	start_lmtp --rules "$TMPDIR_TEST/ar.rules" --user nobody
	out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<u@example.org>' 'DATA' '<<354' 'Subject: u\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
	like "$out" '250 2\.0\.0 .*Saved' "--user nobody: serves after dropping privileges"
	is "$(stat -c %U "$(find "$MD/example.org/u/new" -type f | head -1)")" nobody "and the copy is written as nobody"
	is "$(ps -o user= -p "$SRV_PID" | tr -d ' ')" nobody "the server runs as nobody"
	stop_lmtp
	MD=$MD_SAVE
else
	ok "# SKIP --user needs root"
fi

"$POSTERN" lmtp --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" 2>/dev/null; is "$?" 64 "--rules missing: exit 64"
printf 'rule x { when nosuch.fact then accept; }\n' > "$TMPDIR_TEST/bad.rules"
"$POSTERN" lmtp --rules "$TMPDIR_TEST/bad.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" 2>/dev/null
is "$?" 78 "rules that do not compile: exit 78"
done_testing
