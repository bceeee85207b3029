#!/bin/sh
# postern milter's reload and process structure (supervise.c): SIGHUP with
# a changed rule file changes the decision, a broken one keeps the old
# policy (a "reload" event with ok false), "postern reload --pid-file"
# works against the milter (0, 65), a SIGHUP while a message is in flight
# does not break it, SIGTERM exits 0 and removes the pid file, a worker
# killed with SIGKILL makes the supervisor exit 70 with an "error" event.
# Skipped without miltertest.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
dir="$top_srcdir/tests/milter"

if ! command -v miltertest >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest is not installed (apt-get install miltertest)"
	exit 0
fi

RULES="$TMPDIR_TEST/milter.rules"
PIDF="$TMPDIR_TEST/milter.pid"
cp "$dir/milter.rules" "$RULES"

start_milter() {   # start_milter SOCKET [ARGS...]
	sock=$1
	shift
	$POSTERN_WRAPPER "$POSTERN" milter --rules "$RULES" --listen "$sock" \
		--dns "$dir/milter.zone" --log "$LOG" --hostname mx.test --pid-file "$PIDF" "$@" \
		2>>"$TMPDIR_TEST/stderr" &
	SRV_PID=$!
}

decide() {   # decide RCPT [PAUSE]: accept, reject, tempfail, other, or none
	out=$(miltertest -D "sock=$sock" -D "dir=$dir" -D "rcpt=$1" ${2:+-D "pause=$2"} \
		-s "$dir/decide.lua" 2>&1)
	d=$(printf '%s\n' "$out" | sed -n 's/^decision=//p')
	[ -n "$d" ] || { printf '%s\n' "$out" | sed 's/^/# /' >&2; d=none; }
	echo "$d"
}

wait_file() {   # wait_file FILE: until it exists, at most 10 s
	i=0
	while [ ! -e "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}

last_reload() { grep '"event":"reload"' "$LOG" | tail -1; }

wait_reloads() {   # wait_reloads N: until the log has N reload events
	i=0
	while [ "$(grep -c '"event":"reload"' "$LOG")" -lt "$1" ] && [ $i -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
}

PORT=$(free_port)
start_milter "inet:$PORT@127.0.0.1"
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern milter did not start"; sed 's/^/# /' "$TMPDIR_TEST/stderr"; }
wait_file "$PIDF"
is "$(cat "$PIDF" 2>/dev/null)" "$SRV_PID" "--pid-file names the supervisor, the process started"
like "$(tr '\n' ' ' < "$PIDF.reload" 2>/dev/null)" "seq 0.*ok 1.*generation 1" "FILE.reload: the start's state"
worker=$(q "$(grep '"event":"start"' "$LOG" | tail -1)" .worker)
is "$([ -n "$worker" ] && [ "$worker" != "$SRV_PID" ] && kill -0 "$worker" && echo y)" y \
   "the start event names a worker process apart from the supervisor"

is "$(decide flip@example.org)" accept "before the reload: flip@example.org is accepted"

# A changed rule file, SIGHUP: the new decision.
cat >> "$RULES" <<'R'

rule flip {
  when rcpt == "flip@example.org"
  then reject 550 5.7.1 "flipped";
}
R
kill -HUP "$SRV_PID"
wait_reloads 1
is "$(q "$(last_reload)" '[.ok, .generation] | @csv')" "true,2" "SIGHUP: a reload event, ok, generation 2"
is "$(decide flip@example.org)" reject "after the reload: flip@example.org is rejected"
is "$(kill -0 "$SRV_PID" && kill -0 "$worker" && echo y)" y "SIGHUP stopped neither process"
like "$(tr '\n' ' ' < "$PIDF.reload")" "seq 1.*ok 1.*generation 2" "FILE.reload: seq 1, generation 2"

# A broken rule file: refused, the old policy stays.
cp "$RULES" "$TMPDIR_TEST/good.rules"
printf 'rule broken {\n  when nonsense ===\n' >> "$RULES"
kill -HUP "$SRV_PID"
wait_reloads 2
line=$(last_reload)
is "$(q "$line" '[.ok, .kept] | @csv')" "false,2" "a broken file: reload event ok false, generation 2 kept"
like "$(q "$line" .error)" "." "... with the first error"
is "$(decide flip@example.org)" reject "a broken file: the decision is unchanged"

# postern reload against the milter: 65 for the refused file, 0 once fixed.
"$POSTERN" reload --pid-file "$PIDF" --rules "$TMPDIR_TEST/good.rules" >/dev/null 2>"$TMPDIR_TEST/reload.err"
is "$?" 65 "postern reload --pid-file: 65 while the server's file is broken"
cp "$TMPDIR_TEST/good.rules" "$RULES"
out=$("$POSTERN" reload --pid-file "$PIDF" 2>&1)
is "$?" 0 "postern reload --pid-file: 0 once the file is fixed"
like "$out" "generation 3" "... with the new generation (3: a refused file takes none)"

# SIGHUP while a message is between its body and its end.
miltertest -D "sock=$sock" -D "dir=$dir" -D "rcpt=bob@example.org" -D "pause=2" \
	-s "$dir/decide.lua" >"$TMPDIR_TEST/slow.out" 2>&1 &
slow=$!
sleep 0.7
kill -HUP "$SRV_PID"
wait "$slow"
is "$?" 0 "SIGHUP mid-message: the miltertest session ran to its end"
is "$(sed -n 's/^decision=//p' "$TMPDIR_TEST/slow.out")" accept "... and its message was decided (accept)"
wait_reloads 5
is "$(q "$(last_reload)" .ok)" true "... and that reload was taken"

# SIGTERM: exit 0, pid file and state file gone.
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: the supervisor exits 0"
is "$([ ! -e "$PIDF" ] && [ ! -e "$PIDF.reload" ] && echo y)" y "SIGTERM: the pid file and FILE.reload are removed"
is "$(kill -0 "$worker" 2>/dev/null || echo y)" y "SIGTERM: the worker is gone too"
like "$(grep '"event":"stop"' "$LOG" | tail -1)" '"status":0' "a stop event with the status"

# A Unix socket: made, replaced when stale, removed at exit.
usock="$TMPDIR_TEST/milter.sock"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$usock"
start_milter "unix:$usock"
wait_file "$PIDF"
is "$(decide flip@example.org)" reject "unix: a stale socket file is replaced, the milter answers"
stop_lmtp
is "$STOP_RC" 0 "unix: SIGTERM exits 0"
is "$([ ! -e "$usock" ] && echo y)" y "unix: the socket is removed at exit"

# The worker killed with SIGKILL: the supervisor exits 70 with an error event.
start_milter "inet:$PORT@127.0.0.1"
wait_port "$PORT" ${POSTERN_WRAPPER:+60}
wait_file "$PIDF"
worker=$(q "$(grep '"event":"start"' "$LOG" | tail -1)" .worker)
kill -KILL "$worker"
wait "$SRV_PID"; rc=$?
SRV_PID=
is "$rc" 70 "the worker killed: the supervisor exits 70"
like "$(grep '"event":"error"' "$LOG" | tail -1)" '"signal":9' "... with an error event naming the signal"
is "$([ ! -e "$PIDF" ] && echo y)" y "... and removes the pid file"

# Start-up: a pid file naming a live postern; rules that do not compile.
start_milter "inet:$PORT@127.0.0.1"
wait_port "$PORT" ${POSTERN_WRAPPER:+60}
wait_file "$PIDF"
"$POSTERN" milter --rules "$RULES" --listen "inet:$(free_port)@127.0.0.1" --pid-file "$PIDF" \
	2>"$TMPDIR_TEST/twice.err"
is "$?" 73 "a second milter on the same --pid-file: 73"
stop_lmtp
printf 'rule x {\n' > "$TMPDIR_TEST/bad.rules"
"$POSTERN" milter --rules "$TMPDIR_TEST/bad.rules" --listen "inet:$PORT@127.0.0.1" \
	--pid-file "$PIDF" 2>"$TMPDIR_TEST/bad.err"
is "$?" 78 "rules that do not compile: 78, before any fork"
like "$(cat "$TMPDIR_TEST/bad.err")" "does not compile" "... with the diagnostics"
is "$([ ! -e "$PIDF" ] && echo y)" y "... and no pid file"
"$POSTERN" milter --rules "$RULES" --listen "inet:$PORT@127.0.0.1" --user no-such-user-x \
	2>"$TMPDIR_TEST/user.err"
is "$?" 77 "--user of no such user: 77"

# --log syslog is taken (the lines go to syslog: not read here).
"$POSTERN" milter --rules "$RULES" --listen "inet:$PORT@127.0.0.1" --log syslog 2>>"$TMPDIR_TEST/stderr" &
SRV_PID=$!
wait_port "$PORT" ${POSTERN_WRAPPER:+60}
is "$(decide flip@example.org)" reject "--log syslog: the milter runs and decides"
stop_lmtp
is "$STOP_RC" 0 "--log syslog: SIGTERM exits 0"

out=$("$POSTERN" milter --help)
for o in --pid-file --user; do
	like "$out" "$o " "--help lists $o"
done
like "$out" "syslog" "--help: --log takes syslog"

done_testing
