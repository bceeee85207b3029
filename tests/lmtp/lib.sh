# lib.sh: shared by the LMTP interop tests. Source after tests/cli/tap.sh.
# start_lmtp ARGS... starts "postern lmtp" on a free loopback port ($PORT)
# with a Maildir under $TMPDIR_TEST/md, an empty DNS fixture and the log in
# $LOG, and waits until it answers; stop_lmtp sends SIGTERM and waits,
# leaving the exit status in $STOP_RC. lmtpc runs tests/lmtp/lmtpc.py.
# With $POSTERN_WRAPPER set (e.g. "valgrind -q ..."), the server runs under
# it; the wrapper must exec postern in the same process (valgrind, env do).
# With $LMTP_PORT set, start_lmtp listens there instead of a free port (a
# restart on the same port).
LMTPC="$top_srcdir/tests/lmtp/lmtpc.py"
MD="$TMPDIR_TEST/md"
LOG="$TMPDIR_TEST/lmtp.log"
: > "$TMPDIR_TEST/empty.zone"
SRV_PID=

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {   # wait_port PORT [SECONDS]: until it accepts, at most SECONDS (10)
	python3 - "$1" "${2:-10}" <<'PY'
import socket, sys, time
for _ in range(int(sys.argv[2]) * 20):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

start_lmtp() {
	PORT=${LMTP_PORT:-$(free_port)}
	$POSTERN_WRAPPER "$POSTERN" lmtp --listen "127.0.0.1:$PORT" --deliver "maildir:$MD" \
		--dns "$TMPDIR_TEST/empty.zone" --log "$LOG" --hostname mx.test "$@" \
		2>>"$TMPDIR_TEST/stderr" &
	SRV_PID=$!
	wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern lmtp did not start"; cat "$TMPDIR_TEST/stderr" | sed 's/^/# /'; }
}

stop_lmtp() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID"; STOP_RC=$?
	SRV_PID=
	check_stderr
}

check_stderr() {   # sanitizer reports of the server fail the test
	if grep -Eq 'Sanitizer|runtime error:' "$TMPDIR_TEST/stderr" 2>/dev/null; then
		not_ok "the server ran clean under the sanitizers" "$(head -40 "$TMPDIR_TEST/stderr")"
		: > "$TMPDIR_TEST/stderr"
	fi
}
trap 'stop_lmtp; rm -rf "$TMPDIR_TEST"' EXIT

lmtpc() { python3 "$LMTPC" "$@"; }

msgs_in() {   # msgs_in DIR: number of files under DIR/new
	find "$1/new" -type f 2>/dev/null | wc -l | tr -d ' '
}

q() { printf '%s\n' "$1" | jq -rc "$2"; }
