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

done_testing
