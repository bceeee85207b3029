#!/bin/sh
# bench_store.sh: the cost of the DMARC report store on postern lmtp, store
# off against store on (--report-store sqlite:PATH in the benchmark's
# temporary folder). TARGET: store on within 5% of store off: at most 5%
# fewer msgs/s and at most 5% more server CPU per message (PASS when both
# paired medians below are within).
# - The same server as bench_lmtp.sh (postern lmtp, fsync'd Maildir, its
#   10 rules) plus a DMARC rule, so every message is DMARC-evaluated
#   against a DNS fixture: four From domains, three passing DMARC (SPF
#   aligned), one failing (p=reject decided, applied as quarantine).
# - Load: tests/lmtp/storeload.py, S sessions that keep their connection,
#   N messages of ~3.5 KB (XFORWARD from 192.0.2.x), recording each
#   message's latency (MAIL FROM to the reply after the dot). N = 2,000,
#   8 sessions, R = 7 runs of each (160 messages, 1 run when quick),
#   in pairs (off then on, then on then off, ...) so that drift in the
#   machine's load hits both; the figures are the medians of the runs,
#   each run shown as a comment. The target is judged on the medians of
#   the pairs' differences (each pair ran back to back), which a loaded
#   machine disturbs less than the difference of the medians, for msgs/s
#   and for CPU: the server's (tree_cpu_ms) over the load and the
#   writer's last batch (the store's linger included), per message,
#   steadier than msgs/s on a busy machine. With the store on, the
#   writer thread's own CPU (the thread named postern-store) is shown
#   too, per message and as a share of the server's: the part of the
#   store's cost that the machine's load cannot hide in the difference
#   of two runs (the rest, building the row on the session thread, is a
#   few thousand instructions a message). Its resolution is a clock tick
#   (10 ms: 0.005 ms a message at N = 2,000).
# - Each run delivers to a Maildir of its own, all removed at the end:
#   removing a run's 2,000 files before the next made that run's file
#   creations walk the inodes just freed (ext4 without a journal skips
#   inodes freed in the last 30 s, one at a time), which cost the next
#   run, store on or off, up to twice its CPU per message.
# - After each store-on run the server is stopped (the queue drained) and
#   the rows are counted with sqlite3; the stats event logged at the stop
#   gives written, dropped and failed.
# A benchmark reports: a missed target prints FAIL, it does not fail make
# bench. Lost messages (a file per 250) or a failed server do.
# Needs sqlite3 and jq.
. "$top_srcdir/tests/bench/srv_common.sh"
command -v sqlite3 >/dev/null || { echo "bench_store: sqlite3 not found (apt-get install sqlite3)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench_store: jq not found (apt-get install jq)" >&2; exit 1; }
if [ -n "$QUICK" ]; then N=160; RUNS=1; else N=2000; RUNS=7; fi
N=${POSTERN_BENCH_STORE_MESSAGES:-$N}
RUNS=${POSTERN_BENCH_STORE_RUNS:-$RUNS}
S=${POSTERN_BENCH_STORE_SESSIONS:-8}
LOADC="$top_srcdir/tests/lmtp/storeload.py"

cat > "$BT/store.rules" <<'RULES'
list blocked = domains { "blocked.example", "junk.example" };
rule need_msgid   { when not header "Message-ID" exists then reject "no Message-ID"; }
rule bad_sender   { when envelope.from matches /^(spam|bulk)[0-9]*@/ then reject "sender refused"; }
rule blocked_from { when from.domain in blocked then reject "blocked domain"; }
rule dmarc_reject { when dmarc == fail and dmarc.policy == reject then reject 550 5.7.1 "DMARC says reject"; }
rule spam_subject { when subject matches /viagra|lottery|winner/i then quarantine "Junk"; }
rule classified   { when header "X-Classification" matches /^SECRET$/ then reject "classified"; }
rule strip_route  { when header "X-Internal-Route" exists then remove header "X-Internal-Route"; }
rule tag_external { when not from.domain ends-with "example.org" then prepend subject "[EXT] "; }
rule bulk         { when header "Precedence" == "bulk" then add header "X-Bulk" "yes"; }
rule stamp        { when true then add header "X-Policy" "bench-10"; }
RULES
cat > "$BT/store.zone" <<'ZONE'
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=r; rua=mailto:dmarc@example.com"
example.net. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.net. 300 IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.net"
shop.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/25 ip4:192.0.2.128/25 ~all"
_dmarc.shop.example. 300 IN TXT "v=DMARC1; p=quarantine; pct=100; fo=1; rua=mailto:agg@reports.example"
spoofed.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; np=reject; rua=mailto:agg@reports.example"
ZONE

# writer_cpu_ms PID: user+system CPU of PID's thread named postern-store
# (the store's writer), "-" when there is none (store off, or a postern
# that does not name it).
writer_cpu_ms() {
	python3 - "$1" <<'PY'
import os, sys
hz, total, found = os.sysconf("SC_CLK_TCK"), 0, False
task = "/proc/%s/task" % sys.argv[1]
for t in os.listdir(task):
    try:
        if open("%s/%s/comm" % (task, t)).read().strip() != "postern-store":
            continue
        rest = open("%s/%s/stat" % (task, t)).read().rsplit(")", 1)[1].split()
        total += int(rest[11]) + int(rest[12])          # utime stime
        found = True
    except OSError:
        pass
print("%.1f" % (total * 1000.0 / hz) if found else "-")
PY
}

# run MODE I: one run (MODE off or on), prints "RATE P50 P99 ROWS WRITTEN
# DROPPED FAILED CPU_MS_PER_MSG WRITER_CPU_MS_PER_MSG"
run() {
	md="$BT/md-$1-$2"; db="$BT/store-$1-$2.db"; log="$BT/lmtp-$1-$2.log"
	store=
	[ "$1" = on ] && store="--report-store sqlite:$db"
	port=$(free_port)
	# shellcheck disable=SC2086
	start_bg "$POSTERN" lmtp --rules "$BT/store.rules" --listen "127.0.0.1:$port" --deliver "maildir:$md" \
		--dns "$BT/store.zone" --log "$log" --hostname mx.test --max-sessions 200 $store 2>>"$BT/stderr"
	pid=$BG_PID
	wait_port "$port" || { echo "bench_store: postern lmtp did not start" >&2; cat "$BT/stderr" >&2; exit 1; }
	c0=$(tree_cpu_ms "$pid")
	set -- $(python3 "$LOADC" "$port" "$S" "$N" "$BT/replies-$1-$2" \
		example.com example.net shop.example spoofed.example) || { echo "bench_store: load failed" >&2; exit 1; }
	sleep 0.4   # the writer's last batch (it lingers up to 100 ms for more)
	cpu=$(calc "($(tree_cpu_ms "$pid") - $c0) / $N" 3)
	wcpu=$(writer_cpu_ms "$pid")
	[ "$wcpu" = - ] || wcpu=$(calc "$wcpu / $N" 4)
	stop_pid "$pid"
	wall=$1 ok=$2 other=$3 p50=$4 p99=$5
	got=$(find "$md" -path '*/new/*' -type f | wc -l | tr -d ' ')
	[ "$ok" = "$N" ] && [ "$other" = 0 ] || { echo "bench_store: $other of $N messages not answered 250" >&2; exit 1; }
	[ "$got" = "$N" ] || { echo "bench_store: $got files for $N replies 250" >&2; exit 1; }
	rows=- written=- dropped=- failed=-
	if [ -f "$db" ]; then
		rows=$(sqlite3 "$db" 'SELECT count(*) FROM message')
		st=$(grep '"event":"stats"' "$log" | tail -1)
		set -- $(printf '%s\n' "$st" | jq -r '.report_store | "\(.written) \(.dropped) \(.failed)"')
		written=$1 dropped=$2 failed=$3
	fi
	echo "$(calc "$N / $wall") $p50 $p99 $rows $written $dropped $failed $cpu $wcpu"
}

off_rate='' off_p50='' off_p99='' off_cpu='' on_rate='' on_p50='' on_p99='' on_cpu='' rows_all=0 written_all=0 dropped_all=0 failed_all=0
pairs='' cpairs='' w_cpu='' w_share=''
i=1
while [ "$i" -le "$RUNS" ]; do
	if [ $((i % 2)) = 1 ]; then order="off on"; else order="on off"; fi
	for mode in $order; do
		set -- $(run "$mode" "$i") || exit 1
		[ $# -eq 9 ] || exit 1
		echo "# run $i store $mode: $1 msgs/s, p50 $2 ms, p99 $3 ms, cpu $8 ms/msg"
		if [ "$mode" = off ]; then
			off_rate="$off_rate $1"; off_p50="$off_p50 $2"; off_p99="$off_p99 $3"; r_off_i=$1
			off_cpu="$off_cpu $8"; c_off_i=$8
		else
			on_rate="$on_rate $1"; on_p50="$on_p50 $2"; on_p99="$on_p99 $3"; r_on_i=$1
			on_cpu="$on_cpu $8"; c_on_i=$8
			echo "# run $i store on: rows $4 of $N, written $5, dropped $6, failed $7"
			if [ "$9" != - ]; then
				echo "# run $i store on: writer cpu $9 ms/msg, $(calc "$9 * 100 / $8" 1)% of the server's"
				w_cpu="$w_cpu $9"; w_share="$w_share $(calc "$9 * 100 / $8" 2)"
			fi
			rows_all=$((rows_all + $4)); written_all=$((written_all + $5))
			dropped_all=$((dropped_all + $6)); failed_all=$((failed_all + $7))
		fi
	done
	pairs="$pairs $(calc "($r_on_i - $r_off_i) * 100 / $r_off_i" 1)"
	cpairs="$cpairs $(calc "($c_on_i - $c_off_i) * 100 / $c_off_i" 1)"
	i=$((i + 1))
done

# shellcheck disable=SC2086
{
	r_off=$(median $off_rate); r_on=$(median $on_rate)
	l50_off=$(median $off_p50); l50_on=$(median $on_p50)
	l99_off=$(median $off_p99); l99_on=$(median $on_p99)
	cpu_off=$(median $off_cpu); cpu_on=$(median $on_cpu)
	wcpu_on=-; wshare_on=-
	[ -z "$w_cpu" ] || { wcpu_on=$(median $w_cpu); wshare_on=$(median $w_share); }
}
diff=$(calc "($r_on - $r_off) * 100 / $r_off" 1)
# shellcheck disable=SC2086
paired=$(median $pairs)
# shellcheck disable=SC2086
cpaired=$(median $cpairs)
printf '# %-14s %12s %12s %8s\n' "${N} msgs, ${S}s" "store off" "store on" "diff"
printf '# %-14s %12s %12s %7s%%\n' "msgs/s" "$r_off" "$r_on" "$diff"
printf '# %-14s %12s %12s %7s%%\n' "p50 ms" "$l50_off" "$l50_on" "$(calc "($l50_on - $l50_off) * 100 / $l50_off" 1)"
printf '# %-14s %12s %12s %7s%%\n' "p99 ms" "$l99_off" "$l99_on" "$(calc "($l99_on - $l99_off) * 100 / $l99_off" 1)"
printf '# %-14s %12s %12s %7s%%\n' "cpu ms/msg" "$cpu_off" "$cpu_on" "$(calc "($cpu_on - $cpu_off) * 100 / $cpu_off" 1)"
fig store-off-msgs "$r_off" msgs/s
fig store-on-msgs "$r_on" msgs/s
fig store-on-vs-off-msgs "$diff" %
fig store-on-vs-off-msgs-paired "$paired" %
fig store-off-p50 "$l50_off" ms
fig store-on-p50 "$l50_on" ms
fig store-off-p99 "$l99_off" ms
fig store-on-p99 "$l99_on" ms
fig store-off-cpu "$cpu_off" ms/msg
fig store-on-cpu "$cpu_on" ms/msg
fig store-on-vs-off-cpu-paired "$cpaired" %
fig store-writer-cpu "$wcpu_on" ms/msg
fig store-writer-cpu-share "$wshare_on" %
fig store-rows-written "$rows_all/$((N * RUNS))" rows
fig store-stats-written "$written_all" rows
fig store-stats-dropped "$dropped_all" rows
fig store-stats-failed "$failed_all" rows
echo "# each run's on/off difference, msgs/s:$(printf ' %s%%' $pairs)"
# shellcheck disable=SC2086
echo "# each run's on/off difference, cpu/msg:$(printf ' %s%%' $cpairs)"
if awk "BEGIN { exit !($paired >= -5.0) }"; then v_rate=PASS; else v_rate=FAIL; fi
if awk "BEGIN { exit !($cpaired <= 5.0) }"; then v_cpu=PASS; else v_cpu=FAIL; fi
echo "# target msgs/s: store on at most 5% below off (median of the pairs): $paired% -> $v_rate"
echo "# target cpu/msg: store on at most 5% above off (median of the pairs): +$cpaired% -> $v_cpu" | sed 's/+-/-/'
if [ "$v_rate" = PASS ] && [ "$v_cpu" = PASS ]; then verdict=PASS; else verdict=FAIL; fi
echo "# target: store on within 5% of store off (msgs/s and cpu/msg): $verdict"
fig store-target-5pct "$verdict" -
