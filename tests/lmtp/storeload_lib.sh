# storeload_lib.sh: shared by store_load.sh and store_pg_load.sh (the
# report store under load). Source after tests/lmtp/lib.sh, with $T, $N
# (messages) and $S (sessions) set. Writes $T/dns.zone (four From
# domains: example.com p=reject, example.net p=none, shop.example
# p=quarantine, all three passing; spoofed.example failing, p=reject) and
# $T/p.rules (reject on a DMARC reject, a stamp header on everything).
#   load_start STORE: postern lmtp --report-store STORE, metrics on $MPORT.
#   files: the Maildir files delivered so far.
#   load_run FREEZE: tests/lmtp/storeload.py sends the N messages over S
#     sessions (replies in $T/replies, its summary in $T/load.out); once a
#     third of them are on disk ($before, at most 30 s) it runs the
#     caller's command FREEZE (its status in $freeze_rc), waits for the
#     client ($src_rc), reads the metrics ($m) and stops postern lmtp.
#   load_check_mail: 5 checks that mail did not notice.
#   load_check_store ROWS WHERE SPEC_RE NAME: 6 checks that every message is a
#     row written (ROWS, what WHERE has) or counted lost, the failure
#     warned about (the store named as SPEC_RE) and counted in the metrics
#     ($failed), then a comment line with the figures of the NAME store.
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
{
	dmarc_reject_rules
	echo 'rule stamp { when true then add header "X-Policy" "store-load"; }'
} > "$T/p.rules"

load_start() {
	MPORT=$(free_port)
	start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$1" --metrics "127.0.0.1:$MPORT"
}
files() { find "$MD/example.org/rcpt" -path '*/new/*' -type f 2>/dev/null | wc -l | tr -d ' '; }

load_run() {
	python3 "$top_srcdir/tests/lmtp/storeload.py" "$PORT" "$S" "$N" "$T/replies" \
		example.com example.net shop.example spoofed.example > "$T/load.out" &
	src=$!
	i=0; while [ "$(files)" -lt $((N / 3)) ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	before=$(files)
	"$1"; freeze_rc=$?
	wait "$src"; src_rc=$?
	m=$(curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics")
	stop_lmtp
}

load_check_mail() {
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
}

load_check_store() {
	rows=$1
	st=$(grep '"event":"stats"' "$LOG" | tail -1)
	is "$(q "$st" '.report_store | .written + .failed + .dropped')" "$N" \
	   "every message is a row written or a row counted lost (stats at the stop)"
	is "$(q "$st" .report_store.written)" "$rows" "the rows written are the rows $2 has ($rows)"
	is "$(q "$st" .report_store.queued)" 0 "nothing left queued"
	failed=$(q "$st" .report_store.failed)
	[ "${failed:-0}" -gt 0 ] && [ "${rows:-0}" -gt 0 ] &&
		ok "rows written before ($rows), failed after ($failed): the store failed mid-run" ||
		not_ok "the store failed mid-run" "$st"
	like "$(grep '"event":"warning".*report store' "$LOG" | head -1)" "\"warning\":\"report store $3.*rows lost" \
	     "the failure is a warning event naming the store"
	f_m=$(printf '%s\n' "$m" | awk '/^postern_report_store_rows_total\{result="failed"\}/ { print $2 }')
	[ "${f_m:-0}" -gt 0 ] && ok "the metrics endpoint counted $f_m failed rows before the stop" ||
		not_ok "the metrics endpoint counts the failed rows" "$(printf '%s\n' "$m" | grep report_store)"
	read -r wall n250 other p50 p99 < "$T/load.out"
	printf '# store load (%s): %d messages, %d sessions: %.0f msgs/s, p50 %s ms, p99 %s ms; rows written %s, failed %s\n' \
		"$4" "$N" "$S" "$(echo "$N / $wall" | bc -l)" "$p50" "$p99" "$rows" "$failed"
}
