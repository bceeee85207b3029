#!/bin/sh
# postern lmtp and XCLIENT (issue 16): swaks --xclient-addr gives a hand
# test its client facts through the trusted peers of --xforward-from,
# and XCLIENT is refused (550 5.7.0) and not advertised to others.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
s6="$top_srcdir/examples/scenario-06-static-ip"
printf 'From: a@example.net\r\nSubject: xclient\r\n\r\nbody\r\n' > "$TMPDIR_TEST/m.eml"

# Scenario 6 takes mail for agency.example only from 192.0.2.0/24.
start_lmtp --rules "$s6/policy.rules"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr 192.0.2.55 \
	--xclient-name host.sender.example --xclient-helo mail.sender.example 2>&1)
like "$out" '250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT' "XCLIENT advertised to a trusted peer"
is "$(printf '%s\n' "$out" | grep -c '^<-  220 mx.test')" 2 "a good XCLIENT is answered with a new 220 greeting"
is "$(printf '%s\n' "$out" | grep -c ' -> LHLO lmtp.client')" 2 "and swaks says LHLO again"
like "$out" '<-  250 2\.0\.0 [0-9A-F]+ Saved' "swaks --xclient-addr 192.0.2.55: accepted by the allowlist"
line=$(grep '"rcpt":"x@agency.example"' "$LOG" | tail -1)
is "$(q "$line" '[.client_ip,.client_name,.helo]|join(" ")')" "192.0.2.55 host.sender.example mail.sender.example" \
	"the log line has XCLIENT's client IP, name and HELO"
is "$(msgs_in "$MD/agency.example/x")" 1 "the copy is delivered"

out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr IPV6:2001:db8:100::9 2>&1)
like "$out" '<-  250 2\.0\.0 [0-9A-F]+ Saved' "an IPV6: address through XCLIENT is in 2001:db8:100::/48"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr 203.0.113.9 2>&1)
like "$out" '<\*\* +550 5\.7\.1 sending IP 203\.0\.113\.9 is not on the allowlist' "a client IP off the allowlist is refused"

out=$(printf '%s\n' 'LHLO c' 'XCLIENT ADDR=192.0.2.1 HELO=a+0Ab' 'XCLIENT NAME=x+00y' 'XCLIENT ADDR=192.0.2.1' \
	'MAIL FROM:<a@example.net>' 'LHLO c' 'MAIL FROM:<a@example.net>' 'XCLIENT ADDR=192.0.2.2' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^(501|503|220)' | tail -n +2 | cut -c1-9 | tr '\n' ' ')" \
	"501 5.5.4 501 5.5.4 220 mx.te 503 5.5.1 503 5.5.1 " \
	"control characters from xtext are 501 5.5.4, and XCLIENT only before MAIL (after XCLIENT, MAIL needs LHLO)"
stop_lmtp

# postern's Received field names the XFORWARD/XCLIENT client the way
# Postfix writes it, and postern replay reads the client IP and HELO back
# from it, never from a (postern) field a sender wrote below it.
cat > "$TMPDIR_TEST/ip.rules" <<'R'
rule forwarded { when client.ip == 192.0.2.9 and client.helo == "helo.sender.example" then reject; }
rule planted { when client.ip == 203.0.113.6 or client.helo == "forged.example" then discard; }
rule peer { when client.ip == 127.0.0.1 then tempfail; }
R
start_lmtp --rules "$s6/policy.rules"
planted='Received: from forged.example (forged.example [203.0.113.6])\r\n\tby mx.test (postern) with LMTP id X; Tue, 1 Dec 2026 10:00:00 +0000\r\nSubject: r\r\n\r\nx'
out=$(printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.9 HELO=helo.sender.example NAME=[UNAVAILABLE]' \
	'MAIL FROM:<a@example.net>' 'RCPT TO:<x@agency.example>' 'DATA' '<<354' "$planted" '.' \
	'MAIL FROM:<a@example.net>' 'RCPT TO:<y@example.org>' 'DATA' '<<354' "$planted" '.' 'QUIT' | lmtpc "$PORT")
f=$(find "$MD/agency.example/x/new" -type f -newer "$TMPDIR_TEST/ip.rules" | head -1)
like "$(sed -n 3,4p "$f" | tr -d '\r' | tr '\n\t' '  ')" '^Received: from helo\.sender\.example \(unknown \[192\.0\.2\.9\]\) +by mx\.test \(postern\) +with LMTP id [0-9A-F]+ ' \
	"the Received field names the XFORWARD client: from HELO (NAME [IP]) by HOST (postern)"
f=$(find "$MD/example.org/y/new" -type f | head -1)
like "$(sed -n 3p "$f")" '^Received: from unknown \(unknown \[unknown\]\) by mx.test \(postern\)' \
	"without XFORWARD: unknown parts as Postfix writes them, never the LMTP peer"
mkdir -p "$TMPDIR_TEST/rx/new" "$TMPDIR_TEST/rx/cur" "$TMPDIR_TEST/ry/new" "$TMPDIR_TEST/ry/cur"
cp "$(find "$MD/agency.example/x/new" -type f -newer "$TMPDIR_TEST/ip.rules")" "$TMPDIR_TEST/rx/new/"
cp "$MD/example.org/y/new/"* "$TMPDIR_TEST/ry/new/"
out=$("$POSTERN" replay --rules "$TMPDIR_TEST/ip.rules" --received-by mx.test --json "$TMPDIR_TEST/rx")
is "$(q "$out" '[.messages,.rules.forwarded,.rules.planted,.rules.peer]|join(" ")')" "1 1 0 0" \
	"postern replay: client.ip and client.helo of the XFORWARD client, from postern's Received"
out=$("$POSTERN" replay --rules "$TMPDIR_TEST/ip.rules" --received-by mx.test --json "$TMPDIR_TEST/ry")
is "$(q "$out" '[.messages,.rules.forwarded,.rules.planted,.rules.peer]|join(" ")')" "1 0 0 0" \
	"postern replay never reads a (postern) Received field a sender planted below postern's"
stop_lmtp

# Without --received-by, replay takes postern's own field by this host's name.
start_lmtp --rules "$s6/policy.rules" --hostname "$(hostname)"
printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.9 HELO=helo.sender.example' 'MAIL FROM:<a@example.net>' \
	'RCPT TO:<z@agency.example>' 'DATA' '<<354' 'Subject: r\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT" >/dev/null
out=$("$POSTERN" replay --rules "$TMPDIR_TEST/ip.rules" --json "$MD/agency.example/z")
is "$(q "$out" '[.messages,.rules.forwarded]|join(" ")')" "1 1" \
	"postern replay without --received-by: postern's own Received by this host"
stop_lmtp

# A TCP listener with XFORWARD trusted from address ranges: a warning at
# start, on stderr and as a log event, naming the ranges.
warned=$(grep 'XFORWARD and XCLIENT are trusted' "$TMPDIR_TEST/stderr" | head -1)
like "$warned" '^postern lmtp: warning: XFORWARD and XCLIENT are trusted from 127\.0\.0\.0/8, ::1/128 over a TCP listener: .*--listen unix:PATH.*--xforward-from unix' \
	"default --xforward-from over TCP: a warning on stderr naming the ranges and the Unix socket"
ev=$(grep '"event":"warning"' "$LOG" | grep xforward_from | tail -1)
is "$(q "$ev" '[(.listen|join(",")),(.xforward_from|join(","))]|join(" ")')" "127.0.0.1:$PORT 127.0.0.0/8,::1/128" \
	"and a warning event with the TCP listeners and the ranges"
: > "$TMPDIR_TEST/stderr"

# A peer outside --xforward-from: not advertised, refused.
start_lmtp --rules "$s6/policy.rules" --xforward-from 192.0.2.0/24
out=$(printf '%s\n' 'LHLO c' 'XCLIENT ADDR=192.0.2.1' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c XCLIENT)" 0 "XCLIENT is not advertised to an untrusted peer"
like "$out" '550 5.7.0 Error: insufficient authorization' "and refused with 550 5.7.0"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr 192.0.2.55 2>&1)
is "$(msgs_in "$MD/agency.example/x")" 3 "swaks --xclient-addr from an untrusted peer delivers nothing"
stop_lmtp
like "$(cat "$TMPDIR_TEST/stderr")" 'trusted from 192\.0\.2\.0/24 over a TCP listener' "--xforward-from 192.0.2.0/24 over TCP: warned too"
: > "$TMPDIR_TEST/stderr"

# XFORWARD trusted only over a Unix socket: no warning.
: > "$LOG"
start_lmtp --rules "$s6/policy.rules" --xforward-from unix
stop_lmtp
is "$(grep -c 'XFORWARD and XCLIENT are trusted' "$TMPDIR_TEST/stderr" "$LOG" | cut -d: -f2 | tr '\n' ' ')" "0 0 " \
	"--xforward-from unix: no warning, even with a TCP listener"

# An lmtp: target that refuses the connection: a warning at start, and the
# server runs on (the delivery is deferred).
: > "$LOG"; : > "$TMPDIR_TEST/stderr"
dead=$(free_port)
start_lmtp --rules "$s6/policy.rules" --xforward-from unix --deliver "lmtp:127.0.0.1:$dead"
like "$(cat "$TMPDIR_TEST/stderr")" "^postern lmtp: warning: --deliver lmtp:127\.0\.0\.1:$dead: the target does not answer \(connect: Connection refused\)" \
	"an unreachable --deliver lmtp: target: a warning on stderr"
is "$(q "$(grep '"event":"warning"' "$LOG" | head -1)" '.deliver')" "lmtp:127.0.0.1:$dead" "and a warning event naming the target"
out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<y@example.org>' 'DATA' '<<354' 'Subject: d\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '^451 4\.' "the server keeps running: the delivery is deferred"
stop_lmtp

# A target that takes the connection: no warning.
python3 -c 'import socket,sys,time
l=socket.socket(); l.bind(("127.0.0.1",0)); l.listen(0)
c=socket.create_connection(l.getsockname()); print(l.getsockname()[1], flush=True)
time.sleep(20)' > "$TMPDIR_TEST/hold.port" &
hold=$!
i=0; while [ ! -s "$TMPDIR_TEST/hold.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
live=$(free_port)
python3 -c 'import socket,sys,time
l=socket.socket(); l.bind(("127.0.0.1",int(sys.argv[1]))); l.listen(8); time.sleep(20)' "$live" &
listener=$!
wait_port "$live"
: > "$LOG"; : > "$TMPDIR_TEST/stderr"
start_lmtp --rules "$s6/policy.rules" --xforward-from unix --deliver "lmtp:127.0.0.1:$live"
stop_lmtp
is "$(grep -c 'does not answer' "$TMPDIR_TEST/stderr" "$LOG" | cut -d: -f2 | tr '\n' ' ')" "0 0 " \
	"a target that takes the connection: no warning"

# A target that never completes the connection (its backlog is full):
# the probe gives up after about 2 s and the server then serves.
: > "$LOG"; : > "$TMPDIR_TEST/stderr"
t0=$(date +%s)
start_lmtp --rules "$s6/policy.rules" --xforward-from unix --deliver "lmtp:127.0.0.1:$(cat "$TMPDIR_TEST/hold.port")"
out=$(printf '%s\n' 'LHLO c' 'QUIT' | lmtpc "$PORT")
took=$(( $(date +%s) - t0 ))
like "$out" '^221' "a target that does not answer in time: the server serves"
[ "$took" -le 5 ] && ok "start is held at most about 2 s by the probe (${took}s)" || not_ok "start is held at most about 2 s" "took ${took}s"
like "$(cat "$TMPDIR_TEST/stderr")" 'does not answer \(connect: timed out\)' "and warns that the target timed out"
stop_lmtp
kill "$hold" "$listener" 2>/dev/null
done_testing
