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
pg_cluster_or_skip "$PGDIR" reports
URI="postgresql://postern@127.0.0.1:$PGPORT/reports?connect_timeout=3"

. "$top_srcdir/tests/lmtp/storeload_lib.sh"
load_start "$URI"
freeze() { t0=$(date +%s); pg_stop; pg_rc=$?; t1=$(date +%s); return $pg_rc; }
load_run freeze
is "$freeze_rc" 0 "the PostgreSQL server stopped (pg_ctl stop -m fast, $((t1 - t0)) s) with $before of $N messages on disk"
pg_running && not_ok "no postmaster left" || ok "no postmaster left"
[ "$before" -lt "$N" ] && ok "and before the load ended" || not_ok "the server stopped before the load ended" "$before on disk"
is "$src_rc" 0 "the load client finished"
is "$STOP_RC" 0 "postern lmtp stopped cleanly"

# Mail did not notice.
load_check_mail

# The failure is counted and warned about; the server back, the rows
# written are there.
pg_start && ok "the PostgreSQL server started again" || not_ok "the PostgreSQL server started again"
load_check_store "$(psqlc -d reports -c 'SELECT count(*) FROM message')" "the database" 'postgresql://' PostgreSQL
done_testing
