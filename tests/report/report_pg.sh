#!/bin/sh
# Issue 17: postern report dmarc over PostgreSQL, with the checks of
# report.sh (tests/report/report_body.sh). A throwaway cluster (lib.sh's
# pg_cluster); two postern lmtp instances (hosts mx.test and mx2.test)
# write to one database, every other message to the second, and one run
# of the report covers both: the counts of the report are the 14 messages
# whichever instance took them. Skipped when PostgreSQL is not installed.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
XSD="$top_srcdir/tests/report/rfc9990.xsd"
for p in xmllint dmarc-cat jq; do
	command -v $p >/dev/null || { echo "Bail out! $p is needed (./quickstart installs it)"; exit 1; }
done
PGDIR="$T/pg"
PID1= PID2=
cleanup() {
	for p in $PID1 $PID2; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pg_running && pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
pg_cluster_or_skip "$PGDIR" reports
sql() { psqlc -d reports -c "$1"; }
SPEC="postgresql://postern@127.0.0.1:$PGPORT/reports"
. "$top_srcdir/tests/report/lib.sh"

LOG="$T/lmtp1.log"
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$SPEC"
PID1=$SRV_PID PORT1=$PORT
LOG="$T/lmtp2.log"
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$SPEC" --hostname mx2.test
PID2=$SRV_PID PORT2=$PORT
PORT=$PORT1
fill_store
is "$sent" 14 "14 messages delivered (250) through two postern lmtp instances"
for _ in $(seq 50); do [ "$(sql 'SELECT count(*) FROM message')" = 14 ] && break; sleep 0.1; done
is "$(sql 'SELECT host, count(*) FROM message GROUP BY host ORDER BY host' | tr '\n' ' ')" "mx.test|7 mx2.test|7 " \
   "both instances wrote to the one database: 7 rows each"
for p in $PID1 $PID2; do kill -TERM "$p"; wait "$p"; done
PID1= PID2=
SRV_PID=
. "$top_srcdir/tests/report/report_body.sh"
