#!/bin/sh
# Issue 17: postern lmtp --report-store postgresql://URI. A throwaway
# PostgreSQL cluster is made under $TMPDIR_TEST (lib.sh's pg_cluster:
# initdb, pg_ctl from /usr/lib/postgresql/*/bin, run as the unprivileged
# "postgres" user when the test runs as root, listening on a free port on
# 127.0.0.1 only, always stopped by the exit trap). Two postern lmtp
# instances (hosts mx.test and mx2.test, the second naming the server
# postgres:// with a password) write to the one database; psql reads the
# rows back (the columns store.sh checks, both hosts, the DKIM child row,
# schema_version). Then the server is stopped while mail flows: every
# message still gets 250 and its Maildir file, the failure is one warning
# event (the password masked) and counted; once the server is back, rows
# are written again. Its backends stopped (a server that accepts and never
# answers): mail is not delayed and SIGTERM still ends within the 10 s
# answer wait. A database written by a newer schema is refused at start. The reading
# side (scan, mark, expire) through test_store on a database of its own, and
# there the backend's batches (DKIM rows linked to their own messages, a
# batch the server refuses or whose server process ends half-way leaving no
# row).
# Skipped when PostgreSQL is not installed.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST

PGDIR="$T/pg"
PID1= PID2= STOPPED=
cleanup() {
	[ -n "$STOPPED" ] && kill -CONT $STOPPED 2>/dev/null
	for p in $PID1 $PID2; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pg_running && pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
pg_cluster_or_skip "$PGDIR" reports newer
sql() { psqlc -d reports -c "$1"; }
URI1="postgresql://postern@127.0.0.1:$PGPORT/reports"
URI2="postgres://postern:s3cret@127.0.0.1:$PGPORT/reports?connect_timeout=3"

cat "$top_srcdir/tests/fixtures/dkim/keys.zone" > "$T/dns.zone"
cat >> "$T/dns.zone" <<'ZONE'
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=s; rua=mailto:dmarc@example.com"
spoofed.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; np=reject; fo=1; rua=mailto:agg@reports.example"
nodmarc.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
ZONE
dmarc_reject_rules > "$T/p.rules"

# Two instances, one database: mx.test (log 1) and mx2.test (log 2).
LOG="$T/lmtp1.log"
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$URI1"
PID1=$SRV_PID PORT1=$PORT LOG1=$LOG
LOG="$T/lmtp2.log"
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$URI2" --hostname mx2.test
PID2=$SRV_PID PORT2=$PORT LOG2=$LOG
SRV_PID=
[ -n "$PID1" ] && kill -0 "$PID1" 2>/dev/null && [ -n "$PID2" ] && kill -0 "$PID2" 2>/dev/null &&
	ok "two postern lmtp instances started on one database" ||
	not_ok "two postern lmtp instances started on one database" "$(cat "$T/stderr")"

signed=$(signed_body)
wait_rows() {   # wait_rows N: until the message table has N rows (10 s)
	for _ in $(seq 100); do
		[ "$(sql 'SELECT count(*) FROM message' 2>/dev/null)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

n=0
for m in "$PORT1 192.0.2.1 alice@example.com signed" "$PORT1 198.51.100.7 x@attacker.example ceo@spoofed.example" \
         "$PORT2 192.0.2.5 someone@nodmarc.example someone@nodmarc.example" \
         "$PORT2 198.51.100.8 y@attacker.example ceo@spoofed.example" "$PORT2 192.0.2.1 alice@example.com signed"; do
	set -- $m; n=$((n + 1))
	if [ "$4" = signed ]; then body=$signed; else body=$(plain_body "$4" "m$n"); fi
	r=$(send_dmarc "$1" "$2" "$3" "$body")
	like "$r" '250 2\.[0-9.]+ .*' "message $n (from $4 through port $1): 250"
done
is "$(cat "$LOG1" "$LOG2" | grep -c '"rcpt":"bob@example.net"')" 5 "five recipient lines in the two logs"
wait_rows 5
is "$(sql 'SELECT count(*) FROM message')" 5 "five messages, five rows in the one database"
is "$(sql 'SELECT host, count(*) FROM message GROUP BY host ORDER BY host' | tr '\n' ' ')" \
   'mx.test|2 mx2.test|3 ' "both hosts are present: mx.test 2 rows, mx2.test 3"
is "$(sql 'SELECT version FROM schema_version')" 1 "schema_version says 1 (created once)"
is "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'postern'")" 2 \
   "each instance holds one connection, named postern"

cols="reporting_domain, policy_found, policy_p, policy_sp, policy_np, policy_adkim, policy_aspf,
	policy_fo, policy_rua, source_ip, header_from, envelope_from, envelope_to, spf_result, spf_domain,
	spf_scope, spf_aligned, dkim_aligned, dmarc_result, dmarc_policy, disposition, decision, applied,
	rule, reason_type, reason_comment, host, reported"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'example.com' ORDER BY host")" \
   "$(printf '%s\n' 'example.com|1|reject|quarantine||r|s||mailto:dmarc@example.com|192.0.2.1|example.com|example.com|example.net|pass|example.com|mfrom|1|1|pass|reject|none|accept|accept||||mx.test|0' \
   'example.com|1|reject|quarantine||r|s||mailto:dmarc@example.com|192.0.2.1|example.com|example.com|example.net|pass|example.com|mfrom|1|1|pass|reject|none|accept|accept||||mx2.test|0')" \
   "the DMARC pass from each host: the record as published, SPF and DKIM aligned, disposition none"
is "$(sql "SELECT m.host, d.idx, d.domain, d.selector, d.result FROM dkim d JOIN message m ON m.id = d.message_id ORDER BY m.host" | tr '\n' ' ')" \
   'mx.test|0|example.com|rsa2048|pass mx2.test|0|example.com|rsa2048|pass ' \
   "each DKIM signature is a child row of its own message (ids from each instance kept apart)"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'spoofed.example' ORDER BY host" | cut -d'|' -f1-9,11- | sort -u)" \
   "$(printf '%s\n' 'spoofed.example|1|reject||reject|||1|mailto:agg@reports.example|spoofed.example|attacker.example|example.net|none|attacker.example|mfrom|0|0|fail|reject|quarantine|reject|quarantine|dmarc_reject|local_policy|after-queue: reject applied as quarantine|mx.test|0' \
   'spoofed.example|1|reject||reject|||1|mailto:agg@reports.example|spoofed.example|attacker.example|example.net|none|attacker.example|mfrom|0|0|fail|reject|quarantine|reject|quarantine|dmarc_reject|local_policy|after-queue: reject applied as quarantine|mx2.test|0')" \
   "the DMARC fail from each host: reject decided, quarantine applied, reason local_policy after-queue"
is "$(sql "SELECT source_ip FROM message WHERE header_from = 'spoofed.example' ORDER BY host" | tr '\n' ' ')" \
   '198.51.100.7 198.51.100.8 ' "and each has its own source address"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'nodmarc.example'")" \
   'nodmarc.example|0||||||||192.0.2.5|nodmarc.example|nodmarc.example|example.net|pass|nodmarc.example|mfrom|1|0|none||none|accept|accept||||mx2.test|0' \
   "no DMARC record: empty strings are NULL, the reporting domain is the From domain"
now=$(date +%s)
is "$(sql "SELECT count(*) FROM message WHERE time BETWEEN $now - 120 AND $now")" 5 \
   "each row has the time it was evaluated (Unix seconds)"

# The server stopped while mail flows: mail is not affected.
pg_stop
[ -f "$PGDIR/data/postmaster.pid" ] && not_ok "the PostgreSQL server stopped" || ok "the PostgreSQL server stopped"
start=$(date +%s)
for i in 1 2 3; do
	r=$(send_dmarc "$PORT1" 192.0.2.1 alice@example.com "$(plain_body alice@example.com down1-$i)")
	like "$r" '250 2\.[0-9.]+ .*' "instance 1, message $i with the server down: 250"
	r=$(send_dmarc "$PORT2" 192.0.2.1 alice@example.com "$(plain_body alice@example.com down2-$i)")
	like "$r" '250 2\.[0-9.]+ .*' "instance 2, message $i with the server down: 250"
done
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -le 10 ] && ok "six messages with the server down took ${elapsed}s: not delayed" ||
	not_ok "six messages with the server down were not delayed" "took ${elapsed}s"
is "$(find "$MD/example.net/bob" -type f -path '*/new/*' | wc -l | tr -d ' ')" 11 "eleven Maildir files: none lost"
for _ in $(seq 100); do grep -q '"event":"warning".*report store' "$LOG1" && grep -q '"event":"warning".*report store' "$LOG2" && break; sleep 0.1; done
w1=$(grep '"event":"warning".*report store' "$LOG1" | head -1)
w2=$(grep '"event":"warning".*report store' "$LOG2" | head -1)
like "$w1" '"warning":"report store postgresql://postern@127\.0\.0\.1:[0-9]+/reports: .*rows lost' \
     "instance 1: the failure is a warning event naming the store"
is "$(q "$w2" .report_store)" "postgres://postern:***@127.0.0.1:$PGPORT/reports?connect_timeout=3" \
   "instance 2: its report_store member is the URI with the password masked"
if grep -q s3cret "$LOG2" "$T/stderr"; then not_ok "the password is never logged" "$(grep s3cret "$LOG2")"; else ok "the password is never logged"; fi
# The writers linger up to 100 ms for more rows before a batch: a last
# row may still be queued when the first warning is out.
counts() {
	for l in "$LOG1" "$LOG2"; do
		st=$(grep '"event":"stats"' "$l" | tail -1)
		[ -n "$st" ] && q "$st" '.report_store | [.written, .failed + .dropped, .queued]'
	done | paste -sd:
}
for _ in $(seq 100); do
	for p in $PID1 $PID2; do kill -USR1 "$p"; done
	sleep 0.1
	[ "$(counts)" = '[2,3,0]:[3,3,0]' ] && break
done
is "$(counts)" '[2,3,0]:[3,3,0]' "the stats events count the rows written before and the three lost on each"
is "$(grep -c '"event":"warning".*report store' "$LOG1")" 1 "warnings are rate-limited: one for three failures"

# The server back: each instance connects again for its next batch.
pg_start && ok "the PostgreSQL server started again" || not_ok "the PostgreSQL server started again"
r=$(send_dmarc "$PORT1" 192.0.2.1 alice@example.com "$(plain_body alice@example.com back1)")
like "$r" '250 2\.[0-9.]+ .*' "instance 1 after the server is back: 250"
r=$(send_dmarc "$PORT2" 192.0.2.1 alice@example.com "$(plain_body alice@example.com back2)")
like "$r" '250 2\.[0-9.]+ .*' "instance 2 after the server is back: 250"
wait_rows 7
is "$(sql "SELECT host FROM message WHERE id > 5 ORDER BY host" | tr '\n' ' ')" 'mx.test mx2.test ' \
   "and their rows are written (each reconnected without a restart)"

# A server that accepts and never answers (its backends stopped): mail is
# not delayed, and the drain at SIGTERM gives up after the 10 s answer wait.
STOPPED=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'postern'" | tr '\n' ' ')
is "$(echo $STOPPED | wc -w | tr -d ' ')" 2 "one backend per instance to stop"
kill -STOP $STOPPED
start=$(date +%s)
r1=$(send_dmarc "$PORT1" 192.0.2.1 alice@example.com "$(plain_body alice@example.com silent1)")
r2=$(send_dmarc "$PORT2" 192.0.2.1 alice@example.com "$(plain_body alice@example.com silent2)")
elapsed=$(( $(date +%s) - start ))
like "$r1" '250 2\.[0-9.]+ .*' "a silent server (its backends stopped): instance 1 250"
like "$r2" '250 2\.[0-9.]+ .*' "a silent server (its backends stopped): instance 2 250"
[ "$elapsed" -le 3 ] && ok "in ${elapsed}s: not delayed" || not_ok "not delayed by a silent server" "took ${elapsed}s"
sleep 1
start=$(date +%s)
for p in $PID1 $PID2; do kill -TERM "$p"; done
for p in $PID1 $PID2; do wait "$p"; echo "$?"; done > "$T/rc"
elapsed=$(( $(date +%s) - start ))
PID1= PID2=
kill -CONT $STOPPED; STOPPED=
is "$(tr '\n' ' ' < "$T/rc")" '0 0 ' "both instances stopped cleanly"
[ "$elapsed" -le 15 ] && ok "SIGTERM with the server silent took ${elapsed}s (at most the 10 s answer wait and a little)" ||
	not_ok "SIGTERM with the server silent ends" "took ${elapsed}s"
is "$(q "$(grep '"event":"stats"' "$LOG1" | tail -1)" '.report_store | [.written, .failed + .dropped, .queued]')" \
   '[3,4,0]' "and the row the silent server never took is counted lost"
check_stderr

# The reading side (postern report dmarc): test_store's scan, mark and
# expire checks, run on an empty database of this server.
psqlc -d postgres -c 'CREATE DATABASE scan' || { echo "Bail out! CREATE DATABASE scan failed"; exit 1; }
out=$(PST_TEST_PG_URI="postgresql://postern@127.0.0.1:$PGPORT/scan" CMOCKA_MESSAGE_OUTPUT=STDOUT \
	"$top_builddir/tests/unit/test_store" 2>&1); rc=$?
like "$rc:$(printf '%s' "$out" | grep -F 'pg_scan_mark_expire' | tr '\n' ' ')" \
     '^0:.*\[ +OK \] pg_scan_mark_expire' \
     "PostgreSQL: scan (period, domain order, dkim rows), mark (also during a scan), expire"
like "$rc:$(printf '%s' "$out" | grep -F 'pg_batch_links_and_failures' | tr '\n' ' ')" \
     '^0:.*\[ +OK \] pg_batch_links_and_failures' \
     "PostgreSQL batches: 2,000 rows in one, each DKIM row linked to its message; a refused batch, or one whose server process ends half-way, leaves no row"
# A database written by a newer postern is refused at start.
psqlc -d newer -c 'CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (7)'
out=$("$POSTERN" lmtp --rules "$T/p.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
	--report-store "postgresql://postern@127.0.0.1:$PGPORT/newer" 2>&1); rc=$?
is "$rc" 73 "a newer schema: postern lmtp does not start (EX_CANTCREAT)"
like "$out" 'schema version 7 is newer than this postern.s 1' "and says why"
is "$(psqlc -d newer -c "SELECT count(*) FROM pg_tables WHERE tablename = 'message'")" 0 \
   "and creates nothing there"
# A server that is not there at start: refused too, with libpq's reason.
pg_stop
out=$("$POSTERN" lmtp --rules "$T/p.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
	--report-store "postgresql://postern:pw@127.0.0.1:$PGPORT/reports" 2>&1); rc=$?
like "$rc:$out" "^73:.*postgresql://postern:\*\*\*@127\.0\.0\.1:$PGPORT/reports: connect: .*" \
     "no server at start: postern lmtp does not start, naming the masked URI and libpq's reason"
done_testing
