#!/bin/sh
# bench_report.sh: postern report dmarc over a full day of a large store.
# TARGET: the reports of a day of 1,000,000 rows over 10,000 reporting
# domains made in under 60 s.
# - tests/bench/store_fill (built by make bench) fills a SQLite store in
#   the benchmark's temporary folder with N rows over D domains for one
#   UTC day (N = 1,000,000, D = 10,000; 20,000 / 1,000 when quick), through
#   the backend directly: its rows/s is a figure of its own.
# - Then, timed: postern report dmarc --report-store sqlite:DB --org-name
#   Bench --org-email dmarc@bench.example --day DAY --dry-run --output OUT
#   --dns EMPTY (an empty DNS fixture: the destination checks walk the DNS
#   tree for every domain, and the benchmark has no network), and the
#   number of report files it wrote under OUT.
# Skipped (with a message, exit 0) while postern report is not there
# (postern report --help fails). A missed target prints FAIL; it does not
# fail make bench. A failed fill or report does.
. "$top_srcdir/tests/bench/srv_common.sh"
FILL="${top_builddir:-.}/tests/bench/store_fill"
if ! "$POSTERN" report --help >/dev/null 2>&1; then
	echo "bench_report: SKIP: 'postern report --help' fails: this postern has no report command yet"
	exit 0
fi
[ -x "$FILL" ] || { echo "bench_report: $FILL not built (make bench builds it)" >&2; exit 1; }
if [ -n "$QUICK" ]; then ROWS=20000; DOMAINS=1000; else ROWS=1000000; DOMAINS=10000; fi
ROWS=${POSTERN_BENCH_REPORT_ROWS:-$ROWS}
DOMAINS=${POSTERN_BENCH_REPORT_DOMAINS:-$DOMAINS}
DAY=2026-03-14
DB="$BT/report.db"
OUT="$BT/reports"
mkdir -p "$OUT"
: > "$BT/empty.zone"

"$FILL" --store "sqlite:$DB" --rows "$ROWS" --domains "$DOMAINS" --day "$DAY" ||
	{ echo "bench_report: store_fill failed" >&2; exit 1; }
fig store-fill-db-size "$(( $(stat -c %s "$DB") / 1048576 ))" MiB

set -- $(run_cpu "$POSTERN" report dmarc --report-store "sqlite:$DB" --org-name Bench \
	--org-email dmarc@bench.example --day "$DAY" --dry-run --output "$OUT" --dns "$BT/empty.zone") ||
	{ echo "bench_report: postern report dmarc failed" >&2; exit 1; }
wall=$(calc "$1" 2); cpu=$(calc "$2" 2)
files=$(find "$OUT" -type f | wc -l | tr -d ' ')
fig "report-dmarc-${ROWS}rows-${DOMAINS}domains-wall" "$wall" s
fig "report-dmarc-${ROWS}rows-${DOMAINS}domains-cpu" "$cpu" s
fig report-dmarc-files "$files" files
fig report-dmarc-rows-per-s "$(calc "$ROWS / $1" 0)" rows/s
if awk "BEGIN { exit !($1 < 60) }"; then verdict=PASS; else verdict=FAIL; fi
echo "# target: the reports of $ROWS rows / $DOMAINS domains in under 60 s: ${wall} s -> $verdict"
fig report-dmarc-target-60s "$verdict" -
