#!/bin/sh
# Load run with Postfix's smtp-source -L: 2,000 messages of 4 KB over 8
# sessions into a fsync'd Maildir, with a SIGHUP reload (a changed rule
# file) in the middle. Every 250 in the log is a file on disk, no session
# is dropped, and decisions switch. Prints msgs/s. Skipped without
# smtp-source (Debian postfix).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
if ! command -v smtp-source >/dev/null 2>&1; then
	echo "1..0 # SKIP smtp-source not installed (apt-get install postfix)"
	exit 0
fi
N=${POSTERN_LOAD_MESSAGES:-2000}
rules="$TMPDIR_TEST/policy.rules"
gen() { printf 'rule stamp { when size > 0 then add header "X-Gen" "%s"; }\n' "$1" > "$rules"; }
gen one
start_lmtp --rules "$rules"
t0=$(date +%s.%N)
smtp-source -L -s 8 -m "$N" -l 4096 -f load@example.net -t rcpt@example.org "127.0.0.1:$PORT" &
src=$!
i=0; while [ "$(msgs_in "$MD/example.org/rcpt")" -lt $((N / 3)) ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
gen two
kill -HUP "$SRV_PID"
wait "$src"; src_rc=$?
t1=$(date +%s.%N)
stop_lmtp
is "$src_rc" 0 "smtp-source finished without an error"
replies=$(grep -c '"reply":{"code":250' "$LOG")
disk=$(msgs_in "$MD/example.org/rcpt")
is "$replies" "$N" "every message was answered 250"
is "$disk" "$replies" "the count on disk equals the count of 250 replies"
one=$(grep -l '^X-Gen: one' "$MD"/example.org/rcpt/new/* | wc -l | tr -d ' ')
two=$(grep -l '^X-Gen: two' "$MD"/example.org/rcpt/new/* | wc -l | tr -d ' ')
[ "$one" -gt 0 ] && [ "$two" -gt 0 ] && [ $((one + two)) -eq "$disk" ] \
	&& ok "SIGHUP under load: decisions switch ($one before, $two after)" \
	|| not_ok "SIGHUP under load: decisions switch" "one=$one two=$two disk=$disk"
is "$(grep -c '"event":"reload","ok":true' "$LOG")" 1 "the reload was logged"
rate=$(echo "$N / ($t1 - $t0)" | bc -l)
printf '# load: %d messages, 8 sessions, 4 KB, fsync: %.0f msgs/s; 250 replies %d, on disk %d\n' \
	"$N" "$rate" "$replies" "$disk"
done_testing
