#!/bin/sh
# postern milter under miltertest(8): each tests/milter/*.lua script (but
# lib.lua) drives one part of the protocol against postern milter on a free
# loopback port, with the DNS fixture milter.zone and the rules
# milter.rules, and prints "ok - ..." / "not ok - ..." lines that become
# this test's lines; then the log lines, malformed milter packets, and the
# same over a Unix socket. Skipped without miltertest.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
dir="$top_srcdir/tests/milter"

if ! command -v miltertest >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest is not installed (apt-get install miltertest)"
	exit 0
fi

start_milter() {   # start_milter SOCKET: postern milter, waiting for a TCP port
	$POSTERN_WRAPPER "$POSTERN" milter --rules "$dir/milter.rules" --listen "$1" \
		--dns "$dir/milter.zone" --log "$LOG" --hostname mx.test --max-size 20000 \
		2>>"$TMPDIR_TEST/stderr" &
	SRV_PID=$!
}

# run_script NAME SOCKET: its check lines as tests, and its exit status.
run_script() {
	out=$(miltertest -D "sock=$2" -D "dir=$dir" -s "$dir/$1.lua" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(not )?ok - ' | while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok - ${line#ok - }" ;;
		*) echo "not ok - ${line#not ok - }" ;;
		esac
	done
	checks=$(printf '%s\n' "$out" | grep -cE '^(not )?ok - ')
	_tap_n=$((_tap_n + checks))
	_tap_failed=$((_tap_failed + $(printf '%s\n' "$out" | grep -c '^not ok - ')))
	is "$rc" 0 "$1.lua ran to its end" || true
	[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
}

PORT=$(free_port)
start_milter "inet:$PORT@127.0.0.1"
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern milter did not start"; sed 's/^/# /' "$TMPDIR_TEST/stderr"; }
sock="inet:$PORT@127.0.0.1"

for s in accept reject tempfail edit abrupt; do
	run_script "$s" "$sock"
done

ar=$(miltertest -D "sock=$sock" -D "dir=$dir" -s "$dir/accept.lua" 2>&1 | sed -n '/^AR: /,/^ok/p' | tr '\n' ' ')
like "$ar" '^AR: mx\.test; spf=pass smtp\.mailfrom=alice@example\.net; +dkim=none; dmarc=pass header\.from=example\.net' \
   "the inserted Authentication-Results: our authserv-id, SPF and DMARC pass"

# The log: one line per message.
line=$(grep '"mail_from":"bad@example.net"' "$LOG" | tail -1)
is "$(q "$line" '[.client_ip, .helo, .decision, .rule, .reply.code, .reply.text] | @csv')" \
   '"192.0.2.7","mail.example.net","reject","no_bad",550,"sender bad@example.net refused, 100% sure"' \
   "the log line of a reject: client facts from the callbacks, rule, reply"
line=$(grep '"later@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .rule, .mixed, .nrcpts] | @csv')" '"tempfail","later",true,2' \
   "mixed recipients: the strictest decision, marked mixed"
like "$(grep '"why":"message over 20000 bytes"' "$LOG" | tail -1)" '"decision":"tempfail".*"code":452' \
   "over --max-size: logged as a tempfail 452"
like "$(grep '"rcpts":\["tag@example.org"\]' "$LOG" | tail -1)" '"decision":"accept".*"edits":4' \
   "the edit message: four header operations (X-Tag, AR, Subject, X-Internal-Route)"

# Malformed milter packets: a bad command, a length past any sane size,
# a packet cut short; the milter survives each.
python3 - "$PORT" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
for data in (struct.pack(">I", 5) + b"Zjunk", b"\xff\xff\xff\xf0O", struct.pack(">I", 100) + b"O\x00\x00",
             struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1ff, 0x1fffff)
             + struct.pack(">I", 3) + b"Cx\x00"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
run_script accept "$sock"
is "$(kill -0 "$SRV_PID" 2>/dev/null && echo alive)" alive "malformed packets: the milter is still running"
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: postern milter exits 0"

# A Unix socket.
start_milter "unix:$TMPDIR_TEST/milter.sock"
run_script reject "unix:$TMPDIR_TEST/milter.sock"
stop_lmtp

# Start-up errors: exit statuses.
"$POSTERN" milter --rules "$dir/milter.rules" >/dev/null 2>&1
is "$?" 64 "without --listen: usage, 64"
"$POSTERN" milter --rules "$dir/milter.zone" --listen "inet:$PORT@127.0.0.1" >/dev/null 2>&1
is "$?" 78 "rules that do not compile: 78"
"$POSTERN" milter --rules "$dir/milter.rules" --dns "$dir/milter.rules" --listen "inet:$PORT@127.0.0.1" \
	>/dev/null 2>&1
is "$?" 65 "a bad DNS fixture: 65"
out=$("$POSTERN" milter --help)
for o in --rules --listen --dns --log --hostname --max-size; do
	like "$out" "$o " "--help lists $o"
done

done_testing
