#!/bin/sh
# Issue 17: postern lmtp --report-store sqlite:PATH adds one row per
# evaluated message for the DMARC aggregate reports (RFC 9990): a DMARC
# pass (SPF and DKIM aligned, the DKIM signature as a child row), a DMARC
# fail whose reject is applied as quarantine after the queue (the reason
# says so), a From domain with no DMARC record. The rows are read with the
# sqlite3 program. Then the store file is made immutable while mail flows:
# every message still gets 250 and its Maildir file, the failure is a
# warning event and counted in the stats event, and once the file is
# writable again rows are written again. A store file written by a newer
# schema is refused at start.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
DB="$T/r.db"
command -v sqlite3 >/dev/null || { echo "Bail out! the sqlite3 program is needed (apt-get install sqlite3)"; exit 1; }
sql() { sqlite3 -separator '|' "$DB" "$1"; }

cat "$top_srcdir/tests/fixtures/dkim/keys.zone" > "$T/dns.zone"
cat >> "$T/dns.zone" <<'EOF'
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=s; rua=mailto:dmarc@example.com"
spoofed.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; np=reject; fo=1; rua=mailto:agg@reports.example"
nodmarc.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
EOF
dmarc_reject_rules > "$T/p.rules"
MPORT=$(free_port)
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "sqlite:$DB" --metrics "127.0.0.1:$MPORT"

signed=$(signed_body)

r1=$(send_dmarc "$PORT" 192.0.2.1 alice@example.com "$signed")
r2=$(send_dmarc "$PORT" 198.51.100.7 x@attacker.example "$(plain_body ceo@spoofed.example spoof)")
r3=$(send_dmarc "$PORT" 192.0.2.5 someone@nodmarc.example "$(plain_body someone@nodmarc.example nodmarc)")
like "$r1" '250 2\.[0-9.]+ .*' "the DMARC pass is delivered"
like "$r2" '250 2\.[0-9.]+ .*' "the DMARC fail is taken (250) and quarantined after the queue"
like "$r3" '250 2\.[0-9.]+ .*' "the message without a DMARC record is delivered"

wait_rows() {   # wait_rows N: until the message table has N rows (5 s)
	for _ in $(seq 50); do
		[ "$(sql 'SELECT count(*) FROM message' 2>/dev/null)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
wait_rows 3
is "$(sql 'SELECT count(*) FROM message')" 3 "three messages, three rows"
is "$(sql 'PRAGMA journal_mode')" wal "the store is in WAL mode"
is "$(sql 'SELECT version FROM schema_version')" 1 "schema_version says 1"

cols='reporting_domain, policy_found, policy_p, policy_sp, policy_np, policy_adkim, policy_aspf,
	policy_fo, policy_rua, source_ip, header_from, envelope_from, envelope_to, spf_result, spf_domain,
	spf_scope, spf_aligned, dkim_aligned, dmarc_result, dmarc_policy, disposition, decision, applied,
	rule, reason_type, reason_comment, host, reported'
is "$(sql "SELECT $cols FROM message WHERE header_from = 'example.com'")" \
   'example.com|1|reject|quarantine||r|s||mailto:dmarc@example.com|192.0.2.1|example.com|example.com|example.net|pass|example.com|mfrom|1|1|pass|reject|none|accept|accept||||mx.test|0' \
   "the DMARC pass: the record as published, SPF and DKIM aligned, disposition none, no reason"
is "$(sql "SELECT d.idx, d.domain, d.selector, d.result FROM dkim d JOIN message m ON m.id = d.message_id WHERE m.header_from = 'example.com'")" \
   '0|example.com|rsa2048|pass' "its DKIM signature is a child row: domain, selector, result"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'spoofed.example'")" \
   'spoofed.example|1|reject||reject|||1|mailto:agg@reports.example|198.51.100.7|spoofed.example|attacker.example|example.net|none|attacker.example|mfrom|0|0|fail|reject|quarantine|reject|quarantine|dmarc_reject|local_policy|after-queue: reject applied as quarantine|mx.test|0' \
   "the DMARC fail: reject decided, quarantine applied, reason local_policy after-queue"
is "$(sql "SELECT count(*) FROM dkim d JOIN message m ON m.id = d.message_id WHERE m.header_from = 'spoofed.example'")" \
   0 "an unsigned message has no DKIM row"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'nodmarc.example'")" \
   'nodmarc.example|0||||||||192.0.2.5|nodmarc.example|nodmarc.example|example.net|pass|nodmarc.example|mfrom|1|0|none||none|accept|accept||||mx.test|0' \
   "no DMARC record: reporting domain is the From domain, no policy, dmarc none (alignment relaxed, informative)"
now=$(date +%s)
is "$(sql "SELECT count(*) FROM message WHERE time BETWEEN $now - 120 AND $now")" 3 \
   "each row has the time it was evaluated"

# The store file made immutable while mail flows: mail is not affected.
if chattr +i "$DB" "$DB-wal" 2>/dev/null; then
	for i in 1 2 3; do
		r=$(send_dmarc "$PORT" 192.0.2.1 alice@example.com "$(plain_body alice@example.com ro$i)")
		like "$r" '250 2\.[0-9.]+ .*' "message $i with the store read-only: 250"
	done
	is "$(grep -c '"rcpt":"bob@example.net"' "$LOG")" 6 "six recipient lines"
	is "$(find "$MD/example.net/bob" -type f -path '*/new/*' | wc -l | tr -d ' ')" 6 "six Maildir files: none lost"
	for _ in $(seq 50); do grep -q '"event":"warning".*report store' "$LOG" && break; sleep 0.1; done
	like "$(grep '"event":"warning".*report store' "$LOG" | head -1)" '"warning":"report store sqlite:.*rows lost' \
	     "the failure is a warning event naming the store"
	is "$(grep '"event":"warning".*report store' "$LOG" | head -1 | jq -r .report_store)" "sqlite:$DB" \
	   "its report_store member is the --report-store value"
	# The writer lingers up to 100 ms for more rows before a batch: the
	# last row may still be queued when the first warning is out.
	for _ in $(seq 50); do
		kill -USR1 "$SRV_PID"
		sleep 0.1
		stats=$(grep '"event":"stats"' "$LOG" | tail -1)
		[ -n "$stats" ] && [ "$(q "$stats" '.report_store | [.written, .failed + .dropped]')" = '[3,3]' ] && break
	done
	is "$(q "$stats" '.report_store | [.written, .failed + .dropped]')" '[3,3]' \
	   "the stats event counts 3 rows written and 3 lost"
	is "$(grep -c '"event":"warning".*report store' "$LOG")" 1 "warnings are rate-limited: one for three failures"
	m=$(curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics")
	is "$(printf '%s\n' "$m" | grep '^postern_report_store' | tr '\n' ' ')" \
	   'postern_report_store_rows_total{result="written"} 3 postern_report_store_rows_total{result="dropped"} 0 postern_report_store_rows_total{result="failed"} 3 postern_report_store_queued 0 ' \
	   "the metrics endpoint has the same counters"
	chattr -i "$DB" "$DB-wal"
	r=$(send_dmarc "$PORT" 192.0.2.1 alice@example.com "$(plain_body alice@example.com back)")
	like "$r" '250 2\.[0-9.]+ .*' "after the store is writable again: 250"
	wait_rows 4
	is "$(sql 'SELECT count(*) FROM message')" 4 "and its row is written (the store reopened)"
else
	chattr -i "$DB" 2>/dev/null
	ok "# SKIP chattr +i is not permitted here (the read-only store needs root)"
fi

# SIGTERM drains the queue: rows handed over just before are written.
lines=$(grep -c '"rcpt"' "$LOG")
for i in 1 2 3 4 5; do
	send_dmarc "$PORT" 192.0.2.1 alice@example.com "$(plain_body alice@example.com d$i)" >/dev/null &
done
wait_lines() { for _ in $(seq 100); do [ "$(grep -c '"rcpt"' "$LOG")" -ge "$1" ] && return; sleep 0.05; done; }
wait_lines $((lines + 5))
stop_lmtp
wait
is "$STOP_RC" 0 "postern lmtp stopped cleanly"
stats=$(grep '"event":"stats"' "$LOG" | tail -1)
total=$(sql 'SELECT count(*) FROM message')
is "$total" "$(q "$stats" '.report_store.written')" \
   "the last stats event (after the drain) counts every row the file has"
is "$(q "$stats" '.report_store.queued')" 0 "nothing left queued after the drain"

# Under load (smtp-source, 8 sessions, 600 messages), the store made
# immutable half-way: every 250 still has its file (issue 17 acceptance).
if command -v smtp-source >/dev/null 2>&1 && chattr +i "$T/empty.zone" 2>/dev/null; then
	chattr -i "$T/empty.zone"
	: > "$LOG"
	start_lmtp --rules "$T/p.rules" --report-store "sqlite:$T/load.db"
	smtp-source -L -s 8 -m 600 -l 4096 -f load@example.net -t rcpt@example.org "127.0.0.1:$PORT" &
	src=$!
	i=0; while [ "$(msgs_in "$MD/example.org/rcpt")" -lt 200 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	chattr +i "$T/load.db" "$T/load.db-wal"
	wait "$src"; src_rc=$?
	stop_lmtp
	chattr -i "$T/load.db" "$T/load.db-wal"
	replies=$(grep -c '"reply":{"code":250' "$LOG")
	is "$src_rc:$replies:$(msgs_in "$MD/example.org/rcpt")" "0:600:600" \
	   "under load with the store made read-only half-way: 600 replies 250, 600 files"
	st=$(grep '"event":"stats"' "$LOG" | tail -1)
	rows=$(sqlite3 "$T/load.db" 'SELECT count(*) FROM message')
	is "$(q "$st" '.report_store | .written + .failed + .dropped'):$(q "$st" '.report_store.written')" "600:$rows" \
	   "every message is a row written or counted lost ($rows written before the store failed)"
	[ "$(q "$st" '.report_store.failed')" -gt 0 ] && ok "and some rows failed: the store did fail mid-run" ||
		not_ok "the store failed mid-run" "$st"
else
	ok "# SKIP smtp-source or chattr missing: no load run"
fi

# A store written by a newer postern is refused at start.
sqlite3 "$T/new.db" 'CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (7)'
out=$("$POSTERN" lmtp --rules "$T/p.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
	--report-store "sqlite:$T/new.db" 2>&1); rc=$?
is "$rc" 73 "a newer schema: postern lmtp does not start (EX_CANTCREAT)"
like "$out" 'schema version 7 is newer than this postern.s 1' "and says why"
out=$("$POSTERN" lmtp --rules "$T/p.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
	--report-store "mysql:x" 2>&1); rc=$?
like "$rc:$out" "^73:.*unknown report store 'mysql:x'" "an unknown scheme is refused at start"
done_testing
