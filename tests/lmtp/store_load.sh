#!/bin/sh
# Issue 17 under load: postern lmtp --report-store sqlite:PATH takes 2,000
# DMARC-evaluated messages over 8 sessions that keep their connection
# (tests/lmtp/storeload.py: four From domains, three passing DMARC, one
# failing and quarantined after the queue), and once a third of them are
# on disk the store file and its -wal file are made immutable (chattr +i:
# root ignores chmod) until the server has stopped. Mail must not notice:
# every message gets 250 (no 4xx or 5xx), every 250 is a Maildir file,
# every Message-ID sent is on disk; the store's failure is counted (stats
# event, metrics) and warned about, and every message is a row written or
# a row counted lost. Then the -shm file made immutable: a known bug,
# reported as TODO (SQLite writes the WAL index through a shared mapping
# of -shm; a write fault on it is SIGBUS, which ends postern lmtp). Skipped
# where chattr +i is refused (not root, or a file system without it).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
DB="$T/load.db"
N=${POSTERN_STORE_LOAD_MESSAGES:-2000}
S=8
command -v sqlite3 >/dev/null || { echo "Bail out! the sqlite3 program is needed (apt-get install sqlite3)"; exit 1; }
: > "$T/probe"
if ! chattr +i "$T/probe" 2>/dev/null; then
	echo "1..0 # SKIP chattr +i is not permitted here (the read-only store needs root)"
	exit 0
fi
chattr -i "$T/probe"
unfreeze() { chattr -i "$DB" "$DB-wal" "$DB-shm" "$T/shm.db-shm" 2>/dev/null; }
trap 'unfreeze; stop_lmtp; rm -rf "$T"' EXIT

. "$top_srcdir/tests/lmtp/storeload_lib.sh"
load_start "sqlite:$DB"
freeze() { chattr +i "$DB" "$DB-wal"; }
load_run freeze
unfreeze
is "$freeze_rc" 0 "the store and its -wal made immutable with $before of $N messages on disk"
[ "$before" -lt "$N" ] && ok "and before the load ended" || not_ok "the store failed before the load ended" "$before on disk"
is "$src_rc" 0 "the load client finished"
is "$STOP_RC" 0 "postern lmtp stopped cleanly"

# Mail did not notice.
load_check_mail
is "$(find "$MD/example.org/rcpt/.Quarantine" -path '*/new/*' -type f | wc -l | tr -d ' ')" $((N / 4)) \
   "the DMARC failures (a quarter) were kept in quarantine"

# The store's failure is counted and warned about.
load_check_store "$(sqlite3 "$DB" 'SELECT count(*) FROM message')" "the file" 'sqlite:' SQLite

# The -shm file made immutable: postern lmtp must go on taking mail.
# TODO until fixed (printed as "not ok ... # TODO": an expected failure
# that does not fail make check, and an XPASS that does once it is fixed).
todo() {   # todo CONDITION-STATUS DESCRIPTION REASON
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then echo "ok $_tap_n - $2 # TODO $3"; else echo "not ok $_tap_n - $2 # TODO $3"; fi
}
: > "$LOG"
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "sqlite:$T/shm.db"
python3 "$top_srcdir/tests/lmtp/storeload.py" "$PORT" 2 40 "$T/r1" example.com > /dev/null
if chattr +i "$T/shm.db-shm" 2>/dev/null; then
	python3 "$top_srcdir/tests/lmtp/storeload.py" "$PORT" 2 40 "$T/r2" example.com > /dev/null
	alive=1; kill -0 "$SRV_PID" 2>/dev/null && alive=0
	# The known bug under the sanitizers: their report of the SIGBUS is the
	# TODO below, not a second failure (any other report still fails).
	kill -TERM "$SRV_PID" 2>/dev/null; wait "$SRV_PID"; STOP_RC=$?; SRV_PID=
	grep -q 'AddressSanitizer: BUS on' "$T/stderr" 2>/dev/null && : > "$T/stderr"
	check_stderr
	chattr -i "$T/shm.db-shm"
	[ "$alive" = 0 ] && [ "$STOP_RC" = 0 ] && [ "$(grep -c ' 250 ' "$T/r2")" = 40 ]; st=$?
	todo "$st" "with the -shm file immutable postern lmtp goes on (40 of 40 answered 250; stop status $STOP_RC)" \
	     "SIGBUS on SQLite's shared mapping of -shm kills the server"
else
	stop_lmtp
	ok "# SKIP the -shm file was not there to make immutable"
fi
done_testing
