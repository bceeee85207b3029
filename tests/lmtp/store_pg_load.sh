#!/bin/sh
# Issue 17 under load, PostgreSQL: postern lmtp --report-store
# postgresql://URI (a throwaway cluster, lib.sh's pg_cluster) takes 2,000
# DMARC-evaluated messages over 8 sessions that keep their connection
# (tests/lmtp/storeload.py, as store_load.sh), and once a third of them are
# on disk the server is stopped (pg_ctl stop -m fast) until postern lmtp
# has stopped. Mail must not notice: every message gets 250 (no 4xx or
# 5xx), every 250 is a Maildir file, every Message-ID sent is on disk; the
# failure is counted (stats event, metrics) and warned about, and every
# message is a row written (counted again with psql once the server is
# back) or a row counted lost. Skipped when PostgreSQL is not installed.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
N=${POSTERN_STORE_LOAD_MESSAGES:-2000}
S=8
PGDIR="$T/pg"
trap 'stop_lmtp; pg_running && pg_stop; rm -rf "$T"' EXIT
pg_cluster "$PGDIR"; rc=$?
if [ "$rc" = 2 ]; then
	echo "1..0 # SKIP PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, pg_ctl or psql; apt-get install postgresql)"
	exit 0
fi
[ "$rc" = 0 ] || { echo "Bail out! $PG_ERROR"; exit 1; }
psqlc -d postgres -c 'CREATE DATABASE reports' || { echo "Bail out! CREATE DATABASE failed"; exit 1; }
URI="postgresql://postern@127.0.0.1:$PGPORT/reports?connect_timeout=3"

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
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$URI" --metrics "127.0.0.1:$MPORT"
files() { find "$MD/example.org/rcpt" -path '*/new/*' -type f 2>/dev/null | wc -l | tr -d ' '; }

python3 "$top_srcdir/tests/lmtp/storeload.py" "$PORT" "$S" "$N" "$T/replies" \
	example.com example.net shop.example spoofed.example > "$T/load.out" &
src=$!
i=0; while [ "$(files)" -lt $((N / 3)) ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
before=$(files)
t0=$(date +%s)
pg_stop; pg_rc=$?
t1=$(date +%s)
wait "$src"; src_rc=$?
m=$(curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics")
stop_lmtp
is "$pg_rc" 0 "the PostgreSQL server stopped (pg_ctl stop -m fast, $((t1 - t0)) s) with $before of $N messages on disk"
pg_running && not_ok "no postmaster left" || ok "no postmaster left"
[ "$before" -lt "$N" ] && ok "and before the load ended" || not_ok "the server stopped before the load ended" "$before on disk"
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

# The failure is counted and warned about; the server back, the rows
# written are there.
pg_start && ok "the PostgreSQL server started again" || not_ok "the PostgreSQL server started again"
rows=$(psqlc -d reports -c 'SELECT count(*) FROM message')
st=$(grep '"event":"stats"' "$LOG" | tail -1)
is "$(q "$st" '.report_store | .written + .failed + .dropped')" "$N" \
   "every message is a row written or a row counted lost (stats at the stop)"
is "$(q "$st" .report_store.written)" "$rows" "the rows written are the rows the database has ($rows)"
is "$(q "$st" .report_store.queued)" 0 "nothing left queued"
failed=$(q "$st" .report_store.failed)
[ "${failed:-0}" -gt 0 ] && [ "${rows:-0}" -gt 0 ] &&
	ok "rows written before ($rows), failed after ($failed): the store failed mid-run" ||
	not_ok "the store failed mid-run" "$st"
like "$(grep '"event":"warning".*report store' "$LOG" | head -1)" '"warning":"report store postgresql://.*rows lost' \
     "the failure is a warning event naming the store"
f_m=$(printf '%s\n' "$m" | awk '/^postern_report_store_rows_total\{result="failed"\}/ { print $2 }')
[ "${f_m:-0}" -gt 0 ] && ok "the metrics endpoint counted $f_m failed rows before the stop" ||
	not_ok "the metrics endpoint counts the failed rows" "$(printf '%s\n' "$m" | grep report_store)"
read -r wall n250 other p50 p99 < "$T/load.out"
printf '# store load (PostgreSQL): %d messages, %d sessions: %.0f msgs/s, p50 %s ms, p99 %s ms; rows written %s, failed %s\n' \
	"$N" "$S" "$(echo "$N / $wall" | bc -l)" "$p50" "$p99" "$rows" "$failed"
done_testing
