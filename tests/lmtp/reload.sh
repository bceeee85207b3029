#!/bin/sh
# postern reload (issue 16): postern lmtp --pid-file writes its PID and
# FILE.reload (the outcome of the start and of each SIGHUP), refuses to
# start while FILE names a live postern, and removes both at exit.
# postern reload lints first (78, not signalled), signals, waits for the
# outcome: 0 taken, 65 refused by the server, 75 no answer, 69 no server.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
mkdir -p "$T/run"
pidf="$T/run/postern.pid"
rules="$T/policy.rules"
gen() { printf 'after-queue-reject reject;\nrule r { when size > 0 then reject 550 5.7.1 "%s"; }\n' "$1" > "$rules"; }
one_txn() {
	printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<b@example.org>' 'DATA' '<<354' \
		"Subject: s\r\n\r\nx" '.' 'QUIT' | lmtpc "$PORT"
}
reload() { "$POSTERN" reload --pid-file "$pidf" "$@" > "$T/rout" 2> "$T/rerr"; echo $?; }
gen "generation one"
start_lmtp --rules "$rules" --pid-file "$pidf"
is "$(cat "$pidf" 2>/dev/null)" "$SRV_PID" "--pid-file holds the server's PID"
is "$(grep -E '^(pid|seq|ok|generation) ' "$pidf.reload" 2>/dev/null | tr '\n' ' ')" \
   "pid $SRV_PID seq 0 ok 1 generation 1 " "FILE.reload holds the start's outcome"

# A second server on the same pid file does not start.
"$POSTERN" lmtp --rules "$rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
	--pid-file "$pidf" --log "$T/second.log" 2> "$T/second.err"; rc=$?
is "$rc" 73 "a second postern lmtp on a live pid file exits 73"
like "$(cat "$T/second.err")" "already running as PID $SRV_PID" "and says which PID runs"
is "$(cat "$pidf")" "$SRV_PID" "and leaves the pid file alone"

# A good reload.
gen "generation two"
is "$(reload)" 0 "postern reload exits 0 when the server takes the file"
like "$(cat "$T/rout")" "PID $SRV_PID took .*policy.rules: generation 2" "and says the new generation"
like "$(one_txn)" '550 5.7.1 generation two' "the new policy decides"

# A file that does not compile: not signalled.
printf 'rule broken { when nosuch.fact then accept; }\n' > "$rules"
is "$(reload)" 78 "a rule file that does not compile exits 78"
like "$(cat "$T/rerr")" 'policy.rules:1:[0-9]*: error: unknown fact' "with its diagnostics"
like "$(cat "$T/rerr")" 'does not compile; the server was not signalled' "and says it did not signal"
is "$(sed -n 's/^seq //p' "$pidf.reload")" 1 "the server got no SIGHUP"

# The server refuses a file the client linted (here, --rules names another file).
gen "generation three"; cp "$rules" "$T/good.rules"
printf 'rule broken { when nosuch.fact then accept; }\n' > "$rules"
is "$(reload --rules "$T/good.rules" --log "$LOG")" 65 "a file the server refuses exits 65"
like "$(cat "$T/rerr")" "PID $SRV_PID refused .*generation 2 stays: .*policy.rules:1:" \
   "and says the generation kept and the server's diagnostic"
like "$(cat "$T/rout")" '"event":"reload","ok":false' "--log prints the server's reload event"
like "$(one_txn)" '550 5.7.1 generation two' "the old policy still decides"

# No answer in time.
gen "generation four"
kill -STOP "$SRV_PID"
is "$(reload --timeout 1)" 75 "a server that does not answer in time: 75"
kill -CONT "$SRV_PID"
i=0; while ! grep -q '^seq 3' "$pidf.reload" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
like "$(one_txn)" '550 5.7.1 generation four' "the server took the file once it ran again"

stop_lmtp
is "$STOP_RC" 0 "the server stops cleanly"
is "$(ls "$T/run")" "" "the pid file and FILE.reload are removed at exit"

# No server: no pid file, a dead PID, a PID that is not postern.
is "$(reload)" 69 "no pid file: 69"
sh -c 'exit 0' & dead=$!; wait "$dead"
echo "$dead" > "$pidf"
is "$(reload)" 69 "a dead PID: 69"
like "$(cat "$T/rerr")" "PID $dead is not a running postern" "and says the pid file is stale"
sleep 30 & other=$!
echo "$other" > "$pidf"
is "$(reload)" 69 "a live PID that is not postern: 69"
# A stale pid file does not stop a server from starting.
start_lmtp --rules "$rules" --pid-file "$pidf"
is "$(cat "$pidf" 2>/dev/null)" "$SRV_PID" "a server starts over a stale pid file"
stop_lmtp
kill "$other" 2>/dev/null; wait "$other" 2>/dev/null
done_testing
