#!/bin/sh
# bench_lmtp.sh: LMTP end to end, postern against Dovecot LMTP + Pigeonhole
# Sieve, the proxy overhead, and postern's memory.
# - Load: Postfix's smtp-source -L, 4 KB and 40 KB messages (-l), 1, 4 and
#   16 sessions (-s), one connection a message (smtp-source's default).
#   The messages go to 16 mailboxes mb0..mb15@example.org: smtp-source has
#   one -t, so each run is 16 smtp-source invocations in turn, N/16
#   messages each (N = 1,600, 160 when quick, only 16 sessions then; the target's anchor used
#   4,800: POSTERN_BENCH_LMTP_MESSAGES=4800 - 1,600 keeps make bench under
#   10 minutes with Dovecot at ~100-150 msgs/s on this loaded machine).
# - postern lmtp delivers to a Maildir, always fsync'ing file and folder;
#   Dovecot runs with mail_fsync = always, its closest setting (optimized,
#   its default, skips the folder fsync). Both get the same 10 rules
#   (header existence, envelope regexes, a domain list, a subject regex,
#   editheader add/delete, subject tag, reject).
# - CPU is the server's process tree (utime+stime of every process, with
#   cutime/cstime for children already reaped) before and after each run.
# - Delivered counts files under new/ of every mailbox (no loss: it must
#   equal sent, or the benchmark fails).
# - Proxy: postern --deliver lmtp:127.0.0.1:DOVECOT in front of Dovecot,
#   against Dovecot alone, 4 KB, 4 sessions: CPU per message of both trees.
# - Memory: RSS of postern lmtp with 100 idle sessions (LHLO sent), then
#   after N/2 and N messages of 4 KB (N = 100,000; 1,000 when quick), sent
#   over 16 sessions that keep their connection (smtp-source -d).
# Needs dovecot-core, dovecot-lmtpd, dovecot-sieve and postfix.
. "$top_srcdir/tests/bench/srv_common.sh"
command -v smtp-source >/dev/null || PATH=$PATH:/usr/sbin
command -v smtp-source >/dev/null || { echo "bench_lmtp: smtp-source not found (apt-get install postfix)" >&2; exit 1; }
command -v dovecot >/dev/null || { echo "bench_lmtp: dovecot not found (apt-get install dovecot-core dovecot-lmtpd)" >&2; exit 1; }
if [ -n "$QUICK" ]; then N=160; NMEM=1000; SIZES="4"; SESS="16"; else N=1600; NMEM=100000; SIZES="4 40"; SESS="1 4 16"; fi
N=${POSTERN_BENCH_LMTP_MESSAGES:-$N}   # a multiple of 16

# the policy, twice
cat > "$BT/bench.rules" <<'RULES'
list blocked = domains { "blocked.example", "junk.example" };
rule need_msgid   { when not header "Message-ID" exists then reject "no Message-ID"; }
rule bad_sender   { when envelope.from matches /^(spam|bulk)[0-9]*@/ then reject "sender refused"; }
rule blocked_from { when from.domain in blocked then reject "blocked domain"; }
rule spam_subject { when subject matches /viagra|lottery|winner/i then quarantine "Junk"; }
rule classified   { when header "X-Classification" matches /^SECRET$/ then reject "classified"; }
rule strip_route  { when header "X-Internal-Route" exists then remove header "X-Internal-Route"; }
rule tag_external { when not from.domain ends-with "example.org" then prepend subject "[EXT] "; }
rule rcpt_tier    { when rcpt matches /^mb1[0-5]@/ then add header "X-Tier" "high"; }
rule bulk         { when header "Precedence" == "bulk" then add header "X-Bulk" "yes"; }
rule stamp        { when true then add header "X-Policy" "bench-10"; }
RULES
cat > "$BT/bench.sieve" <<'SIEVE'
require ["fileinto", "editheader", "variables", "regex", "reject", "envelope", "comparator-i;octet"];
if not exists "Message-ID" { reject "no Message-ID"; stop; }
if envelope :regex :comparator "i;octet" "from" "^(spam|bulk)[0-9]*@" { reject "sender refused"; stop; }
if address :domain :matches "from" ["blocked.example", "*.blocked.example", "junk.example", "*.junk.example"] { reject "blocked domain"; stop; }
if header :regex "subject" "viagra|lottery|winner" { fileinto "Junk"; stop; }
if header :regex :comparator "i;octet" "X-Classification" "^SECRET$" { reject "classified"; stop; }
if exists "X-Internal-Route" { deleteheader "X-Internal-Route"; }
if not address :domain :matches "from" "*example.org" {
  if header :matches "Subject" "*" { set "s" "${1}"; }
  deleteheader "Subject"; addheader :last "Subject" "[EXT] ${s}";
}
if envelope :regex :comparator "i;octet" "to" "^mb1[0-5]@" { addheader "X-Tier" "high"; }
if header :is "Precedence" "bulk" { addheader "X-Bulk" "yes"; }
addheader "X-Policy" "bench-10";
SIEVE

DV="$BT/dovecot"
mkdir -p "$DV/run" "$DV/mail" "$DV/home"
DPORT=$(free_port)
cat > "$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/state
log_path = $DV/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
default_internal_user = $MUSER
default_internal_group = $MGROUP
default_login_user = $MUSER
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$DV/mail/%d/%n
mail_fsync = always
postmaster_address = postmaster@example.org
hostname = mx.test
lda_mailbox_autocreate = yes
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=$MUID gid=$MGID home=$DV/home/%d/%n allow_all_users=yes
}
service lmtp {
  user = $MUSER
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DPORT
  }
}
service stats {
  unix_listener stats-reader {
    user = $MUSER
  }
  unix_listener stats-writer {
    user = $MUSER
  }
}
protocol lmtp {
  mail_plugins = sieve
}
plugin {
  sieve = file:$DV/sieve;active=$DV/bench.sieve
  sieve_extensions = +editheader
}
CONF
cp "$BT/bench.sieve" "$DV/bench.sieve"
mkdir -p "$DV/sieve"
chown -R "$MUID:$MGID" "$DV"
SIEVEC=$(command -v sievec || echo /usr/bin/sievec)
"$SIEVEC" -c "$DV/dovecot.conf" "$DV/bench.sieve" || { echo "bench_lmtp: sievec failed" >&2; exit 1; }
chown -R "$MUID:$MGID" "$DV"

start_dovecot() {
	start_bg dovecot -F -c "$DV/dovecot.conf"
	DPID=$BG_PID
	wait_port "$DPORT" || { echo "bench_lmtp: dovecot did not start" >&2; cat "$DV/dovecot.log" >&2; exit 1; }
}
PM="$BT/postern-md"
start_postern() {   # start_postern DELIVER
	PPORT=$(free_port)
	start_bg "$POSTERN" lmtp --rules "$BT/bench.rules" --listen "127.0.0.1:$PPORT" --deliver "$1" \
		--dns "$BT/empty.zone" --log "$BT/postern.log" --hostname mx.test --max-sessions 200
	PPID_=$BG_PID
	wait_port "$PPORT" || { echo "bench_lmtp: postern lmtp did not start" >&2; exit 1; }
}
count_files() {   # count_files ROOT: messages in new/ of every mailbox below ROOT but warm@
	find "$1" -path '*/new/*' -type f ! -path '*/warm/*' 2>/dev/null | wc -l | tr -d ' '
}
policy_applied() {   # policy_applied ROOT: messages of mb3 that got both edits
	grep -l '^X-Policy: bench-10' $(find "$1" -path '*/mb3/new/*' -type f) 2>/dev/null |
		xargs grep -l '^Subject: \[EXT\] bench 3' 2>/dev/null | wc -l | tr -d ' '
}
# load PORT SIZE_KB SESSIONS COUNT PID: prints "WALL_S CPU_MS". A warm-up
# of WARM messages (to warm@example.org, not timed) comes first, so
# Dovecot's first lmtp, auth and config processes start outside the count.
WARM=32
load() {
	smtp-source -L -s "$3" -m "$WARM" -l 1024 -f load@example.net -t warm@example.org "127.0.0.1:$1" >&2 ||
		{ echo "bench_lmtp: smtp-source failed" >&2; exit 1; }
	c0=$(tree_cpu_ms "$5"); t0=$(date +%s.%N)
	per=$(( $4 / 16 )); i=0
	while [ $i -lt 16 ]; do
		smtp-source -L -s "$3" -m "$per" -l $(( $2 * 1024 )) -S "bench $i" -f load@example.net \
			-t "mb$i@example.org" "127.0.0.1:$1" || { echo "bench_lmtp: smtp-source failed" >&2; exit 1; }
		i=$((i + 1))
	done
	t1=$(date +%s.%N); c1=$(tree_cpu_ms "$5")
	echo "$(calc "$t1 - $t0" 6) $(calc "$c1 - $c0" 1)"
}

# 1. end to end
for kb in $SIZES; do
	for s in $SESS; do
		rm -rf "$PM"; mkdir -p "$PM"
		start_postern "maildir:$PM"
		set -- $(load "$PPORT" "$kb" "$s" "$N" "$PPID_")
		stop_pid "$PPID_"
		p_rate=$(calc "$N / $1"); p_cpu=$(calc "$2 / $N" 3); p_got=$(count_files "$PM"); p_pol=$(policy_applied "$PM")
		rm -rf "$DV/mail"; install -d -o "$MUID" -g "$MGID" "$DV/mail"
		start_dovecot
		set -- $(load "$DPORT" "$kb" "$s" "$N" "$DPID")
		stop_pid "$DPID"
		d_rate=$(calc "$N / $1"); d_cpu=$(calc "$2 / $N" 3); d_got=$(count_files "$DV/mail"); d_pol=$(policy_applied "$DV/mail")
		fig "lmtp-postern-${kb}k-${s}s-msgs" "$p_rate" msgs/s
		fig "lmtp-dovecot-${kb}k-${s}s-msgs" "$d_rate" msgs/s
		fig "lmtp-postern-${kb}k-${s}s-cpu" "$p_cpu" ms/msg
		fig "lmtp-dovecot-${kb}k-${s}s-cpu" "$d_cpu" ms/msg
		fig "lmtp-${kb}k-${s}s-ratio" "$(calc "$p_rate / $d_rate" 2)" x
		fig "lmtp-${kb}k-${s}s-cpu-ratio" "$(calc "$d_cpu / $p_cpu" 2)" x
		fig "lmtp-postern-${kb}k-${s}s-delivered" "$p_got/$N" msgs
		fig "lmtp-dovecot-${kb}k-${s}s-delivered" "$d_got/$N" msgs
		[ "$p_got" = "$N" ] && [ "$d_got" = "$N" ] || { echo "bench_lmtp: lost messages" >&2; exit 1; }
		[ "$p_pol" = "$((N / 16))" ] && [ "$d_pol" = "$((N / 16))" ] ||
			{ echo "bench_lmtp: the policy edits are missing (postern $p_pol, dovecot $d_pol of $((N / 16)))" >&2; exit 1; }
	done
done

# 2. proxy overhead: postern relaying to Dovecot, against Dovecot alone
rm -rf "$DV/mail"; install -d -o "$MUID" -g "$MGID" "$DV/mail"
start_dovecot
set -- $(load "$DPORT" 4 4 "$N" "$DPID")
alone=$(calc "$2 / $N" 3)
start_postern "lmtp:127.0.0.1:$DPORT"
d0=$(tree_cpu_ms "$DPID")
set -- $(load "$PPORT" 4 4 "$N" "$PPID_")
d1=$(tree_cpu_ms "$DPID")
stop_pid "$PPID_"
stop_pid "$DPID"
added=$(calc "$2 / $N" 3)
behind=$(calc "($d1 - $d0) / $N" 3)
got=$(count_files "$DV/mail")
fig lmtp-dovecot-alone-cpu "$alone" ms/msg
fig lmtp-dovecot-behind-proxy-cpu "$behind" ms/msg
fig lmtp-proxy-cpu-added "$added" ms/msg
fig lmtp-proxy-cpu-added-pct "$(calc "$added * 100 / $alone" 1)" %
fig lmtp-proxy-delivered "$got/$((2 * N))" msgs
[ "$got" = "$((2 * N))" ] || { echo "bench_lmtp: lost messages through the proxy" >&2; exit 1; }

# 3. memory
rm -rf "$PM"; mkdir -p "$PM"
start_postern "maildir:$PM"
base=$(rss_kb "$PPID_")
python3 - "$PPORT" "$PPID_" "$BT/rss_idle" <<'PY' &
import socket, sys, time
port, pid, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for i in range(100):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"LHLO bench.test\r\n")
    while True:
        line = f.readline()
        if not line or line[3:4] == b" ":
            break
    socks.append((s, f))
time.sleep(0.5)
with open("/proc/%s/status" % pid) as st:
    rss = [l.split()[1] for l in st if l.startswith("VmRSS:")][0]
open(out, "w").write(rss + "\n")
for s, f in socks:
    s.sendall(b"QUIT\r\n")
    s.close()
PY
wait $!
idle=$(cat "$BT/rss_idle")
half=$((NMEM / 2))
c=0
while [ $c -lt $half ]; do smtp-source -L -d -s 16 -m 1000 -l 4096 -f load@example.net -t "mb$((c / 1000 % 16))@example.org" "127.0.0.1:$PPORT" || exit 1; c=$((c + 1000)); done
rss_half=$(rss_kb "$PPID_")
while [ $c -lt $NMEM ]; do smtp-source -L -d -s 16 -m 1000 -l 4096 -f load@example.net -t "mb$((c / 1000 % 16))@example.org" "127.0.0.1:$PPORT" || exit 1; c=$((c + 1000)); done
rss_end=$(rss_kb "$PPID_")
stop_pid "$PPID_"
got=$(count_files "$PM")
fig lmtp-rss-start "$base" KB
fig lmtp-rss-idle-100s "$idle" KB
fig lmtp-rss-per-idle-session "$(calc "($idle - $base) / 100" 1)" KiB
fig "lmtp-rss-after-$half" "$rss_half" KB
fig "lmtp-rss-after-$NMEM" "$rss_end" KB
fig lmtp-rss-growth-second-half "$((rss_end - rss_half))" KB
fig lmtp-rss-delivered "$got/$NMEM" msgs
