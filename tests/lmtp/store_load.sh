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

cat > "$T/dns.zone" <<'ZONE'
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; adkim=r; aspf=r; rua=mailto:dmarc@example.com"
example.net. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.net. 300 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.net"
shop.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc.shop.example. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:agg@reports.example"
spoofed.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:agg@reports.example"
ZONE
cat > "$T/p.rules" <<'RULES'
rule dmarc_reject {
  when dmarc == fail and dmarc.policy == reject
  then reject 550 5.7.1 "DMARC says reject";
}
rule stamp { when true then add header "X-Policy" "store-load"; }
RULES
MPORT=$(free_port)
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "sqlite:$DB" --metrics "127.0.0.1:$MPORT"
files() { find "$MD/example.org/rcpt" -path '*/new/*' -type f 2>/dev/null | wc -l | tr -d ' '; }

python3 "$top_srcdir/tests/lmtp/storeload.py" "$PORT" "$S" "$N" "$T/replies" \
	example.com example.net shop.example spoofed.example > "$T/load.out" &
src=$!
i=0; while [ "$(files)" -lt $((N / 3)) ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
before=$(files)
chattr +i "$DB" "$DB-wal"; frozen=$?
wait "$src"; src_rc=$?
m=$(curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics")
stop_lmtp
unfreeze
is "$frozen" 0 "the store and its -wal made immutable with $before of $N messages on disk"
[ "$before" -lt "$N" ] && ok "and before the load ended" || not_ok "the store failed before the load ended" "$before on disk"
is "$src_rc" 0 "the load client finished"
is "$STOP_RC" 0 "postern lmtp stopped cleanly"

# Mail did not notice.
codes=$(awk '{ print $2 }' "$T/replies" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
is "$codes" "250:$N " "all $N messages answered 250 (no 4xx, 5xx or broken session)"
is "$(grep -c '"reply":{"code":250' "$LOG")" "$N" "the log has $N replies 250"
is "$(grep -Ec '"reply":\{"code":[45]' "$LOG")" 0 "and none 4xx or 5xx"
is "$(files)" "$(grep -c ' 250 ' "$T/replies")" "the Maildir files equal the 250 replies"
awk '$2 == "250" { printf "<%s.load@storeload.test>\n", $1 }' "$T/replies" | sort > "$T/sent.ids"
find "$MD/example.org/rcpt" -path '*/new/*' -type f -exec grep -h -m1 -i '^Message-ID:' {} + |
	tr -d '\r' | awk '{ print $2 }' | sort > "$T/disk.ids"
missing=$(comm -23 "$T/sent.ids" "$T/disk.ids" | wc -l | tr -d ' ')
dups=$(uniq -d "$T/disk.ids" | wc -l | tr -d ' ')
is "$missing:$dups:$(wc -l < "$T/disk.ids" | tr -d ' ')" "0:0:$N" \
   "every Message-ID answered 250 is on disk, once"
is "$(find "$MD/example.org/rcpt/.Quarantine" -path '*/new/*' -type f | wc -l | tr -d ' ')" $((N / 4)) \
   "the DMARC failures (a quarter) were kept in quarantine"

# The store's failure is counted and warned about.
st=$(grep '"event":"stats"' "$LOG" | tail -1)
rows=$(sqlite3 "$DB" 'SELECT count(*) FROM message')
is "$(q "$st" '.report_store | .written + .failed + .dropped')" "$N" \
   "every message is a row written or a row counted lost (stats at the stop)"
is "$(q "$st" .report_store.written)" "$rows" "the rows written are the rows the file has ($rows)"
is "$(q "$st" .report_store.queued)" 0 "nothing left queued"
failed=$(q "$st" .report_store.failed)
[ "${failed:-0}" -gt 0 ] && [ "$rows" -gt 0 ] && ok "rows written before ($rows), failed after ($failed): the store failed mid-run" ||
	not_ok "the store failed mid-run" "$st"
like "$(grep '"event":"warning".*report store' "$LOG" | head -1)" '"warning":"report store sqlite:.*rows lost' \
     "the failure is a warning event naming the store"
f_m=$(printf '%s\n' "$m" | awk '/^postern_report_store_rows_total\{result="failed"\}/ { print $2 }')
[ "${f_m:-0}" -gt 0 ] && ok "the metrics endpoint counted $f_m failed rows before the stop" ||
	not_ok "the metrics endpoint counts the failed rows" "$(printf '%s\n' "$m" | grep report_store)"
read -r wall n250 other p50 p99 < "$T/load.out"
printf '# store load: %d messages, %d sessions: %.0f msgs/s, p50 %s ms, p99 %s ms; rows written %s, failed %s\n' \
	"$N" "$S" "$(echo "$N / $wall" | bc -l)" "$p50" "$p99" "$rows" "$failed"

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
	stop_lmtp
	chattr -i "$T/shm.db-shm"
	[ "$alive" = 0 ] && [ "$(grep -c ' 250 ' "$T/r2")" = 40 ]; st=$?
	todo "$st" "with the -shm file immutable postern lmtp goes on (40 of 40 answered 250; stop status $STOP_RC)" \
	     "SIGBUS on SQLite's shared mapping of -shm kills the server"
else
	stop_lmtp
	ok "# SKIP the -shm file was not there to make immutable"
fi
done_testing
