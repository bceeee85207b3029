#!/bin/sh
# The README's quick start on embedded defaults: examples/demo.sh (a dry run
# of the stock and scenario rules over the example messages) and
# examples/serve.sh --once (postern lmtp on loopback with rules/baseline.rules
# into a Maildir, the example messages sent through it with XFORWARD).
# Issue 16: with the port taken by another process, serve.sh fails loudly
# (exit 1, the port named, POSTERN_PORT suggested) and sends nothing; the
# demo client (lmtp-send.py --expect-greeting) refuses a server whose
# greeting does not name the one it expects.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"

out=$(sh "$top_srcdir/examples/demo.sh" "$POSTERN" 2>&1); rc=$?
is "$rc" 0 "demo.sh exits 0"
like "$out" 'no errors' "demo.sh lints the stock rules clean"
is "$(printf '%s\n' "$out" | grep -c '^== .*\.eml, rules')" \
	"$(ls "$top_srcdir"/examples/scenario-*/*.eml | grep -vc expected)" \
	"demo.sh checks every example message"

port=$(free_port)
demo="$TMPDIR_TEST/demo"
out=$(POSTERN_PORT=$port POSTERN_DEMO_DIR=$demo sh "$top_srcdir/examples/serve.sh" "$POSTERN" --once 2>&1); rc=$?
is "$rc" 0 "serve.sh --once exits 0"
md="$demo/Maildir/example.net/bob"
is "$(msgs_in "$md")" 2 "two accepted copies in bob's new/"
is "$(msgs_in "$md/.Quarantine")" 2 "the quarantined one and the after-queue reject in .Quarantine/new"
like "$out" 'spf-servfail.eml
  bob@example.net +451 4\.7\.1 DNS trouble' "the DNS trouble message is tempfailed"
like "$out" 'security@bank\.example\.com +decision reject +applied quarantine +rule dmarc_reject' \
	"the why section shows decision, applied action and rule"
is "$(grep -c '"rcpt"' "$demo/postern.log")" 5 "one log line per recipient"
# Every delivered copy carries the hop's fields and our A-R.
bad=0
for f in $(find "$demo/Maildir" -path '*/new/*' -type f); do
	for h in Return-Path Delivered-To Received Authentication-Results; do
		grep -q "^$h:" "$f" || { bad=1; echo "# $f lacks $h"; }
	done
done
is "$bad" 0 "delivered copies have Return-Path, Delivered-To, Received and Authentication-Results"

# The port taken by a dummy listener that greets as another server.
port=$(free_port)
python3 - "$port" > "$TMPDIR_TEST/dummy.out" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    c.sendall(b"220 impostor.example ESMTP\r\n")
    c.settimeout(2)
    try:
        while c.recv(4096):
            n += 1
            print("got data", n, flush=True)
    except OSError:
        pass
    c.close()
PY
dummy=$!
wait_port "$port"
demo2="$TMPDIR_TEST/demo2"
out=$(POSTERN_PORT=$port POSTERN_DEMO_DIR=$demo2 sh "$top_srcdir/examples/serve.sh" "$POSTERN" --once 2>"$TMPDIR_TEST/serve.err"); rc=$?
is "$rc" 1 "serve.sh with its port taken: exit 1"
like "$(cat "$TMPDIR_TEST/serve.err")" "port $port on 127\.0\.0\.1 is already taken" "it names the port"
like "$(cat "$TMPDIR_TEST/serve.err")" "POSTERN_PORT=[0-9]+ \./quickstart serve" "and says how to pick another (POSTERN_PORT)"
is "$out" "" "it claims nothing on stdout"
is "$(cat "$TMPDIR_TEST/dummy.out")" "" "the other process got no mail"

# The demo client checks the greeting names the server it was told of.
ex="$top_srcdir/examples"
msg=$(ls "$ex"/scenario-04-*/none.eml)
out=$(python3 "$ex/lmtp-send.py" --expect-greeting postern-demo-1 "127.0.0.1:$port" "$msg" 2>&1); rc=$?
is "$rc" 69 "lmtp-send.py --expect-greeting against another server: exit 69"
like "$out" 'greeted "220 impostor\.example ESMTP", not postern-demo-1: another server listens there' "and says why"
kill "$dummy"; wait "$dummy" 2>/dev/null
is "$(cat "$TMPDIR_TEST/dummy.out")" "" "nothing was sent to it"
start_lmtp --rules "$top_srcdir/rules/baseline.rules"
python3 "$ex/lmtp-send.py" --expect-greeting MX.test "127.0.0.1:$PORT" "$msg" >/dev/null 2>&1
is "$?" 0 "lmtp-send.py --expect-greeting NAME against postern lmtp --hostname NAME: exit 0"
python3 "$ex/lmtp-send.py" --expect-greeting other.test "127.0.0.1:$PORT" "$msg" >/dev/null 2>&1
is "$?" 69 "and 69 with another name"
stop_lmtp
is "$(grep -c '"rcpt"' "$LOG")" 1 "only the message to the named server was delivered"
done_testing
