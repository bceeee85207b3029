# srv_common.sh: shared by the server-side benchmarks (bench_lmtp.sh,
# bench_replay.sh). Source it; it needs $POSTERN and $top_srcdir.
# Makes $BT (a temporary folder, removed on exit with every server the
# benchmark started through start_bg), picks the mail user ($MUID/$MGID:
# the caller, or nobody when run as root, since Dovecot refuses mail
# access as root), and gives:
#   fig NAME VALUE UNIT     one figure on a line of its own
#   run_cpu CMD...          runs CMD (stdout to /dev/null), prints "WALL_S
#                           CPU_S", CPU being its user+system time (wait4)
#   tree_cpu_ms PID         user+system CPU of PID and all its descendants
#                           (cutime/cstime cover children already reaped)
#   rss_kb PID              VmRSS of PID
#   free_port, wait_port PORT
#   start_bg CMD...         starts CMD in the background, records its pid
#                           in $BG_PID and in the list stopped on exit
#   stop_pid PID            SIGTERM, wait up to 10 s, then SIGKILL
set -u
: "${POSTERN:?POSTERN must name the postern binary}"
: "${top_srcdir:?top_srcdir must be set}"
QUICK=${POSTERN_BENCH_QUICK:-}
BT=$(mktemp -d "${TMPDIR:-/tmp}/postern-bench.XXXXXX")
chmod 755 "$BT"
BG_PIDS=
if [ "$(id -u)" = 0 ]; then MUID=65534; MGID=65534; else MUID=$(id -u); MGID=$(id -g); fi
MUSER=$(getent passwd "$MUID" | cut -d: -f1)
MGROUP=$(getent group "$MGID" | cut -d: -f1)
: > "$BT/empty.zone"

fig() { printf '%s %s %s\n' "$1" "$2" "$3"; }

run_cpu() {
	python3 - "$@" <<'PY'
import os, shutil, sys, time
# wait4 gives the child's own rusage (with its reaped children), nothing of ours
exe = shutil.which(sys.argv[1]) or sys.argv[1]
t0 = time.monotonic()
pid = os.posix_spawn(exe, sys.argv[1:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
print("%.6f %.6f" % (wall, ru.ru_utime + ru.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status))
PY
}

tree_cpu_ms() {
	python3 - "$1" <<'PY'
import os, sys
hz = os.sysconf("SC_CLK_TCK")
kids = {}
stats = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        with open("/proc/%s/stat" % p) as f:
            s = f.read()
    except OSError:
        continue
    rest = s[s.rindex(")") + 2:].split()
    ppid = int(rest[1])
    stats[int(p)] = sum(int(x) for x in rest[11:15])   # utime stime cutime cstime
    kids.setdefault(ppid, []).append(int(p))
todo, total = [int(sys.argv[1])], 0
while todo:
    p = todo.pop()
    total += stats.get(p, 0)
    todo.extend(kids.get(p, []))
print("%.1f" % (total * 1000.0 / hz))
PY
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

start_bg() {
	"$@" &
	BG_PID=$!
	BG_PIDS="$BG_PIDS $BG_PID"
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	for p in $BG_PIDS; do stop_pid "$p"; done
	rm -rf "$BT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# calc EXPR: floating-point arithmetic (awk)
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
