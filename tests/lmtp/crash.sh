#!/bin/sh
# Crash consistency of postern lmtp delivering into a Maildir. Under load
# (Postfix's smtp-source -L, 8 sessions of 4 KB messages, plus
# crashclient.py, 4 sessions that record every 250 they read by Message-ID)
# the server dies three ways, each time restarted on the same Maildir and
# port while the clients carry on:
#   1. kill -9 from outside once some messages were acknowledged;
#   2. a simulated power cut just before the Nth rename into new/;
#   3. a simulated power cut just before the Nth fsync of a directory.
# smtp-source starts once the client has 10 acknowledgements, and N is
# below the client's total, so each crash comes with the client under way.
# The power cuts come from crashsim.c (LD_PRELOAD), which throws away what
# was not fsync'd (unsynced data cut short, renames whose directory was not
# fsync'd undone) before SIGKILL, so answering 250 before the data fsync,
# the rename or the fsync of new/ loses an acknowledged message here.
# crashcheck.py then asserts: each 250 the client read is its message in
# new/, each 250 in the logs is a file in new/, no file in new/ is partial
# (S= size, header end, body as sent), tmp/ leftovers are never in new/.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
if ! command -v smtp-source >/dev/null 2>&1; then
	echo "1..0 # SKIP smtp-source not installed (apt-get install postfix)"
	exit 0
fi
here="$top_srcdir/tests/lmtp"
shim="$TMPDIR_TEST/crashsim.so"
${CC:-cc} -O1 -shared -fPIC -o "$shim" "$here/crashsim.c" -ldl -lpthread 2>"$TMPDIR_TEST/cc.err"
rc=$?
is "$rc" 0 "the crash simulator builds"
[ "$rc" = 0 ] || sed 's/^/# /' "$TMPDIR_TEST/cc.err"
rules="$TMPDIR_TEST/policy.rules"
printf 'rule stamp { when size > 0 then add header "X-Crash" "yes"; }\n' > "$rules"
ACKS="$TMPDIR_TEST/acks"
: > "$ACKS"
LMTP_PORT=$(free_port)
files() { find "$MD" -path '*/new/*' -type f 2>/dev/null | wc -l | tr -d ' '; }
lines() { wc -l < "$1" | tr -d ' '; }
t0=$(date +%s)
total=480   # acknowledgements per round: 4 sessions x 100 messages, every fifth to 2 recipients

# crash_round NAME kill|rename|dirsync N: one crash and restart.
crash_round() {
	name=$1 how=$2 n=$3
	LOG="$TMPDIR_TEST/$name.1.log"
	report="$TMPDIR_TEST/$name.report"
	if [ "$how" = kill ]; then
		POSTERN_WRAPPER=
	else
		POSTERN_WRAPPER="env LD_PRELOAD=$shim PST_CRASH_OP=$how PST_CRASH_AT=$n
			PST_CRASH_REPORT=$report ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	fi
	acks0=$(lines "$ACKS") files0=$(files)
	start_lmtp --rules "$rules"
	POSTERN_WRAPPER=
	python3 "$here/crashclient.py" "$PORT" "$ACKS" "$name" 4 100 90 >"$TMPDIR_TEST/$name.cc" &
	cc=$!
	# smtp-source joins once the client is under way, so the crash hits both.
	i=0
	while [ "$(lines "$ACKS")" -lt $((acks0 + 10)) ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
	smtp-source -L -s 8 -m 2000 -l 4096 -f load@example.net -t rcpt@example.org \
		"127.0.0.1:$PORT" >/dev/null 2>&1 &
	ss=$!
	if [ "$how" = kill ]; then
		i=0   # N client acknowledgements and 200 files, smtp-source's too
		while { [ "$(lines "$ACKS")" -lt $((acks0 + n)) ] || [ "$(files)" -lt $((files0 + 200)) ]; } \
			&& [ $i -lt 600 ]; do
			sleep 0.05; i=$((i + 1))
		done
		kill -KILL "$SRV_PID"
	else   # the shim kills it; at most 60 s
		i=0
		while kill -0 "$SRV_PID" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
		kill -KILL "$SRV_PID" 2>/dev/null
	fi
	wait "$SRV_PID" 2>/dev/null; rc=$?
	SRV_PID=
	acked=$(( $(lines "$ACKS") - acks0 )) ondisk=$(files)
	is "$rc" 137 "$name: the server died of SIGKILL"
	[ "$acked" -ge 10 ] && [ "$acked" -lt "$total" ] \
		&& ok "$name: it died with the client under way ($acked of $total acknowledged)" \
		|| not_ok "$name: it died with the client under way" "$acked of $total acknowledged"
	if [ "$how" != kill ]; then
		like "$(cat "$report" 2>/dev/null)" "^op=$how at=$n " "$name: the simulated power cut came before $how $n"
	fi
	wait "$ss"   # the connections were lost: smtp-source gives up
	LOG="$TMPDIR_TEST/$name.2.log"
	start_lmtp --rules "$rules"
	smtp-source -L -s 8 -m 200 -l 4096 -f load@example.net -t rcpt@example.org \
		"127.0.0.1:$PORT" 2>"$TMPDIR_TEST/$name.ss"
	is "$?" 0 "$name: after the restart smtp-source sends 200 more without an error"
	wait "$cc"; crc=$?
	is "$crc" 0 "$name: after the restart the client got a 250 for each of its messages"
	stop_lmtp
	out=$(python3 "$here/crashcheck.py" "$MD" "$ACKS" "$TMPDIR_TEST"/*.log); crc=$?
	is "$crc" 0 "$name: every 250 is whole in new/, nothing in new/ is partial"
	[ "$crc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
	printf '# %s: %d acknowledged to the client before the crash, %d files in new/ then (all rounds); %s; %s\n' \
		"$name" "$acked" "$ondisk" "$(tail -1 "$TMPDIR_TEST/$name.cc")" "$(tail -1 "$report" 2>/dev/null)"
	printf '# %s: after: %s\n' "$name" "$(printf '%s\n' "$out" | tail -1)"
}

crash_round kill kill $((20 + $$ % 40))
crash_round rename rename $((150 + $$ % 100))
crash_round dirsync dirsync $((150 + $$ % 100))
printf '# crash: %d s\n' $(( $(date +%s) - t0 ))
done_testing
