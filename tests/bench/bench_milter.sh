#!/bin/sh
# bench_milter.sh: SMTP-time DMARC, Postfix + "postern milter" against
# Postfix + OpenDMARC's milter (Debian opendmarc 1.4), the same policy, the
# same mail, the same DNS, measured in one run (issue 18's targets:
# postern's CPU per message at most 0.5 x OpenDMARC's, the pair's
# throughput at least OpenDMARC's).
# - The policy: reject (550 5.7.1) a DMARC fail whose policy is reject,
#   tempfail on a DNS error, authserv-id mx.test. postern: the rules
#   below; OpenDMARC (its own configuration file, run in the foreground,
#   -f -c FILE, not the system service): RejectFailures, SPFSelfValidate
#   and SPFIgnoreResults (it checks SPF itself, with libspf2), AuthservID
#   mx.test, the public suffix list, no history, reports or syslog.
# - The mail: 16 sender domains dN.example (a zone each: SPF with an
#   include, DMARC p=reject, a DKIM key) and one message file each, about
#   4 KB: N % 4 == 0 SPF pass + DKIM-signed, 1 SPF pass unsigned (both
#   DMARC pass), 2 SPF fail unsigned, 3 SPF fail + signed but the body
#   changed after signing (both DMARC fail: rejected). OpenDMARC runs
#   without OpenDKIM, so it sees no DKIM result at all; postern verifies
#   every signature itself (more work on its side, the same outcomes).
#   NSD serves the parent zone "example" too, as a TLD's servers would:
#   the end of DMARC's tree walk from dN.example (RFC 9989 4.10),
#   _dmarc.example, is NXDOMAIN (a resolver caches it) rather than
#   REFUSED (a failure, asked again for every message). OpenDMARC finds
#   the organizational domain in the public suffix list and never asks.
# - The load: smtp-source -s 16 (one connection a message), in 12
#   batches a side of M/12 messages, batch I from file I (M = 1,536 a
#   side, 384 when quick; POSTERN_BENCH_MILTER_MESSAGES sets it, a
#   multiple of 12), to three private Postfix instances (tests/lmtp/lib.sh
#   pf_instance), one per milter (smtpd_milters, milter_default_action =
#   tempfail), every transport discard: (nothing stored). One warm-up
#   message per file and side first, not counted. Batch I runs on the
#   three sides one after the other, in each of the six orders twice over
#   the 12, so each side runs first, second and third, and after each of
#   the others, as often; after each batch its Postfix is left to finish
#   delivering (not measured) before the next starts.
# - Throughput: a batch's rate depends far more on its file than on the
#   milter (measured here, 128-message batches: about 150 msgs/s for the
#   accepted files, 50 for the refused ones, on every side, the floor
#   included), and about one refused batch a side stalls (about 15
#   msgs/s, some 6 s lost in Postfix or the client, the floor's too). So the throughput ratio is the median over the 12 batches
#   of each batch's rate over OpenDMARC's for the same batch; the total
#   (messages over the sides' summed wall time) is printed beside it.
# - The client: SPF treats loopback clients apart (libspf2 passes them,
#   postern says none, OpenDMARC ignores 127.0.0.1), so the client is
#   CLIENT_IP, 198.18.0.25 (RFC 2544 benchmark space), and the sender
#   domains' SPF allows or refuses 198.18.0.0/24.
# - Namespaces: the script re-runs itself under "unshare -n -m" (root):
#   a network namespace of its own, where CLIENT_IP is put on its
#   loopback, smtp-source connects to a second smtpd listener on it, and
#   NSD answers on 127.0.0.1 port 53; and a mount namespace, where a
#   private resolv.conf naming 127.0.0.1 is bind-mounted over
#   /etc/resolv.conf. OpenDMARC 1.4 has no resolver option (libresolv and
#   libspf2 read /etc/resolv.conf), and postern's live resolver
#   (libunbound) reads the same file (POSTERN_DNS_SERVER unset): one NSD
#   answers both. The machine's network and resolv.conf are untouched, and
#   nothing outside sees the change. postern caches answers (libunbound
#   and its own cache); OpenDMARC's libresolv asks every time (libspf2
#   caches SPF): NSD's CPU per message of each side is shown.
# - Per side: throughput (M / wall time of its smtp-source runs) and each
#   batch's rate, the milter process's CPU (utime + stime of all its
#   threads, /proc) per message, its RSS after the run and peak (VmHWM);
#   then the ratios and the two targets, "met" or "NOT met". Every side
#   must reject exactly the M/2 DMARC failures and deliver the other M/2,
#   or the benchmark fails: the comparison is of equal work.
# - A third side, "floor": tests/bench/milter_floor (built by make bench),
#   a libmilter milter that negotiates as postern does, keeps the header
#   and body as postern does and computes nothing (its verdict is read off
#   the sender's name). Its CPU per message is the price of the milter
#   protocol through libmilter, under which no libmilter milter can go;
#   printed beside the others, with its ratio to OpenDMARC and the share of
#   postern's CPU above it (its own work).
# Needs root, postfix, nsd, opendmarc, iproute2, python3-cryptography;
# without opendmarc it fails loudly (exit 1).
CLIENT_IP=198.18.0.25
PATH=$PATH:/usr/sbin:/sbin
die() { echo "bench_milter: $*" >&2; exit 1; }
if ! command -v opendmarc >/dev/null 2>&1; then
	echo "bench_milter: ****************************************************************" >&2
	echo "bench_milter: OpenDMARC is NOT INSTALLED: no peer to measure against." >&2
	echo "bench_milter: apt-get install opendmarc (only /usr/sbin/opendmarc is used;" >&2
	echo "bench_milter: the system service is not needed)" >&2
	echo "bench_milter: ****************************************************************" >&2
	exit 1
fi
[ "$(id -u)" = 0 ] || die "needs root (Postfix's master, unshare): run make bench as root"
for t in nsd smtp-source unshare ip mount; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (apt-get install nsd postfix util-linux iproute2)"
done
python3 -c 'import cryptography' 2>/dev/null || die "python3-cryptography not installed"
# Everything below runs in a network and mount namespace of its own.
if [ -z "${BENCH_MILTER_NS:-}" ]; then
	BENCH_MILTER_NS=1 exec unshare -n -m "${SHELL:-/bin/sh}" "$0" "$@"
fi
ip link set lo up && ip addr add "$CLIENT_IP/32" dev lo || die "cannot set up the namespace's loopback"

. "$top_srcdir/tests/bench/srv_common.sh"
TMPDIR_TEST=$BT
. "$top_srcdir/tests/lmtp/lib.sh"
# on exit: every Postfix master started, then srv_common's cleanup
# (BENCH_KEEP_TMP=DIR keeps a copy of the temporary folder, logs and all)
MASTERS=
trap 'for m in $MASTERS ${PF_MASTER:-}; do PF_MASTER=$m; pf_stop; done; [ -z "${BENCH_KEEP_TMP:-}" ] || { cp -a "$BT" "$BENCH_KEEP_TMP"; echo "# kept in $BENCH_KEEP_TMP"; }; cleanup' EXIT
pf_usable || die "$PF_ERROR"
echo "nameserver 127.0.0.1" > "$BT/resolv.conf"
mount --bind "$BT/resolv.conf" /etc/resolv.conf || die "cannot bind-mount the namespace's resolv.conf"
unset POSTERN_DNS_SERVER

if [ -n "$QUICK" ]; then M=384; else M=1536; fi
M=${POSTERN_BENCH_MILTER_MESSAGES:-$M}   # a multiple of 12
PER=$((M / 12))
[ $((PER * 12)) = "$M" ] && [ "$PER" -gt 0 ] || die "POSTERN_BENCH_MILTER_MESSAGES=$M: a multiple of 12 is needed"
DNS_IP=127.0.0.1

# The key, the zones, NSD's configuration and the 16 message files.
python3 - "$BT" "$top_srcdir/tests/bench" "$DNS_IP" <<'PY' || die "cannot make the corpus"
import base64, os, sys, time
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
bt, benchdir, ip = sys.argv[1:4]
sys.path.insert(0, benchdir)
from bench_auth_rspamd import sign          # DKIM relaxed/relaxed, selector sel1
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pub = base64.b64encode(key.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
keyrec = " ".join('"%s"' % c for c in
                  ["v=DKIM1; k=rsa; p=" + pub[:200]] + [pub[i:i + 200] for i in range(200, len(pub), 200)])
nd = os.path.join(bt, "nsd")
os.mkdir(nd)
conf = ["server:", "  ip-address: %s" % ip, "  port: 53", '  username: ""', '  chroot: ""',
        "  zonesdir: %s" % nd, '  database: ""', "  zonelistfile: %s/zone.list" % nd,
        "  xfrdir: %s" % nd, "  xfrdfile: %s/xfrd.state" % nd, "  pidfile: %s/nsd.pid" % nd,
        "  logfile: %s/nsd.log" % nd, "  server-count: 1", "  rrl-ratelimit: 0", "  verbosity: 0",
        "remote-control:", "  control-enable: no"]
when = int(time.time()) - 3600
filler = ("The quarterly figures are attached below; please check them before "
          "the meeting on Friday and tell me what you think.\r\n")
for i in range(16):
    dom = "d%d.example" % i
    kind = i % 4
    allowed = "198.18.0.0/24" if kind < 2 else "198.51.100.0/24"
    with open(os.path.join(nd, dom + ".zone"), "w") as f:
        f.write("$ORIGIN %s.\n$TTL 3600\n"
                "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n"
                "@ IN NS ns\nns IN A %s\n"
                '@ IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.%s -all"\n'
                '_spf IN TXT "v=spf1 ip4:%s -all"\n'
                '_dmarc IN TXT "v=DMARC1; p=reject"\n'
                "sel1._domainkey IN TXT %s\n" % (dom, dom, dom, ip, dom, allowed, keyrec))
    conf += ["zone:", "  name: %s" % dom, "  zonefile: %s.zone" % dom]
    headers = [("From", " News <news@%s>" % dom), ("To", " <rcpt@bench.test>"),
               ("Subject", " Report %d for %s" % (i, dom)),
               ("Date", " Tue, 14 Nov 2023 22:13:20 +0000"),
               ("Message-ID", " <%d.%d@%s>" % (i, when, dom))]
    body = "Hello,\r\n\r\n" + filler * 30 + "-- \r\nThe %s team\r\n" % dom
    msg = ""
    if kind in (0, 3):
        msg = sign(key, dom, headers, body, when) + "\r\n"
    if kind == 3:
        body = body.replace("Friday", "Monday", 1)
    msg += ("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n" +
            "".join("%s:%s\r\n" % h for h in headers) + "\r\n" + body)
    # smtp-source -F sends each line with CRLF appended
    with open(os.path.join(bt, "m%d.txt" % i), "w", newline="") as f:
        f.write(msg.replace("\r\n", "\n"))
# The parent zone: as under a real TLD, _dmarc.example (the end of
# DMARC's tree walk from dN.example) is NXDOMAIN with a SOA, not REFUSED.
with open(os.path.join(nd, "example.zone"), "w") as f:
    f.write("$ORIGIN example.\n$TTL 3600\n"
            "@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300\n"
            "@ IN NS ns\nns IN A %s\n" % ip)
conf += ["zone:", "  name: example", "  zonefile: example.zone"]
with open(os.path.join(nd, "nsd.conf"), "w") as f:
    f.write("\n".join(conf) + "\n")
PY

start_bg nsd -d -c "$BT/nsd/nsd.conf"
NSD_PID=$BG_PID
python3 - "$DNS_IP" <<'PY' || die "NSD does not answer on $DNS_IP port 53: $(cat "$BT/nsd/nsd.log" 2>/dev/null)"
import socket, sys, time
q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02d0\x07example\x00\x00\x10\x00\x01")
for _ in range(100):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.1)
            s.sendto(q, (sys.argv[1], 53))
            r = s.recv(4096)
            if len(r) > 12 and r[3] & 0x0f == 0:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY

cat > "$BT/bench.rules" <<'RULES'
authserv-id "mx.test";
rule dns_trouble {
  when spf == temperror or dmarc == temperror
  then tempfail 451 4.7.0 "DNS trouble checking ${from.domain}";
}
rule dmarc_reject {
  when dmarc == fail and dmarc.policy == reject
  then reject 550 5.7.1 "DMARC policy of ${from.domain} says reject";
}
RULES

# start_milter SIDE PORT: the milter of SIDE (postern or opendmarc) on
# 127.0.0.1:PORT; the pid of the process deciding the mail in $MPID.
start_milter() {
	case $1 in
	postern)
		start_bg "$POSTERN" milter --rules "$BT/bench.rules" \
			--listen "inet:$2@127.0.0.1" --log "$BT/postern-milter.log" --hostname mx.test \
			2>>"$BT/postern-milter.err" ;;
	floor)
		start_bg "$top_builddir/tests/bench/milter_floor" "inet:$2@127.0.0.1" \
			2>>"$BT/floor.err" ;;
	opendmarc)
		cat > "$BT/opendmarc.conf" <<CONF
Socket inet:$2@127.0.0.1
AuthservID mx.test
RejectFailures true
SPFSelfValidate true
SPFIgnoreResults true
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
Background false
Syslog false
FailureReports false
RequiredHeaders false
SoftwareHeader false
DNSTimeout 5
UMask 007
CONF
		[ -r /usr/share/publicsuffix/public_suffix_list.dat ] ||
			sed -i '/^PublicSuffixList/d' "$BT/opendmarc.conf"
		start_bg opendmarc -f -c "$BT/opendmarc.conf" 2>>"$BT/opendmarc.err" ;;
	esac
	MPID=$BG_PID
	wait_port "$2" 10 || die "$1 did not start: $(cat "$BT/$1"*.err 2>/dev/null)"
	# postern milter is a supervisor and one worker that decides the mail:
	# measure the worker (the supervisor only waits for signals)
	if [ "$1" = postern ]; then
		w=$(pgrep -P "$MPID" | head -1)
		[ -n "$w" ] || die "postern milter: no worker process under $MPID"
		MPID=$w
	fi
}

# cpu_ms PID...: utime + stime of the PIDs, all their threads (those
# ended too), in ms (the deciding processes do not fork; NSD's are its process and
# the ones it forked at start, children and grandchildren: NSD_PIDS)
HZ=$(getconf CLK_TCK)
cpu_ms() {
	for p; do cat "/proc/$p/stat"; done |
		awk -v hz="$HZ" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t * 1000 / hz }'
}
NSD_PIDS=$NSD_PID
todo=$NSD_PID
while [ -n "$todo" ]; do
	kids=$(for p in $todo; do pgrep -P "$p"; done | tr '\n' ' ')
	NSD_PIDS="$NSD_PIDS $kids"
	todo=$(echo $kids)
done

# count LOG WHAT [RCPT]: lines of a Postfix log for the recipient (the
# measured one, rcpt@bench.test, by default): reject (milter 5xx),
# tempfail (milter 4xx) or sent (delivered to discard)
count() {
	case $2 in
	reject) grep -c "milter-reject: END-OF-MESSAGE .*: 5\\.[0-9.]* .*to=<${3:-rcpt@bench.test}>" "$1" ;;
	tempfail) grep -c "milter-reject: END-OF-MESSAGE .*: 4\\.[0-9.]* .*to=<${3:-rcpt@bench.test}>" "$1" ;;
	sent) grep -c "to=<${3:-rcpt@bench.test}>.*status=sent" "$1" ;;
	esac
}

# settle LOG RCPT N: wait (30 s at most) until N messages for RCPT are
# done in LOG (refused, or delivered to discard), so that no side's
# Postfix is still delivering while the next batch is measured; sets
# rej tmp sent.
settle() {
	k=0
	while [ $k -lt 150 ]; do
		rej=$(count "$1" reject "$2"); tmp=$(count "$1" tempfail "$2"); sent=$(count "$1" sent "$2")
		[ $((rej + tmp + sent)) -ge "$3" ] && return 0
		sleep 0.2; k=$((k + 1))
	done
}

# setup SIDE P: the milter of SIDE and a Postfix in front of it, then one
# warm-up message per file; sets P_MPID (the milter), P_PORT (smtpd),
# P_LOG (Postfix's log), and P_WALL P_CPU P_NSD to 0.
setup() {
	mport=$(free_port)
	start_milter "$1" "$mport"
	sport=$(free_port)
	pf_instance "$BT/pf-$1" \
		"$CLIENT_IP:$sport inet n - n - - smtpd -o mynetworks=127.0.0.0/8,$CLIENT_IP/32" \
		default_transport=discard local_transport=discard relay_transport=discard \
		smtpd_milters="inet:127.0.0.1:$mport" milter_default_action=tempfail milter_protocol=6 \
		smtpd_client_connection_count_limit=0 smtpd_client_connection_rate_limit=0 ||
		die "Postfix did not start: $PF_ERROR"
	MASTERS="$MASTERS $PF_MASTER"
	PF_MASTER=
	eval "$2_MPID=\$MPID $2_PORT=\$sport $2_LOG=\$PF_LOG $2_WALL=0 $2_CPU=0 $2_NSD=0"
	i=0
	while [ $i -lt 16 ]; do
		smtp-source -A -s 1 -m 1 -F "$BT/m$i.txt" -M "mx.d$i.example" -f "bounce@d$i.example" \
			-t warm@bench.test "$CLIENT_IP:$sport" 2>>"$BT/smtp-source.err" ||
			die "smtp-source failed (warm-up)"
		i=$((i + 1))
	done
	settle "$PF_LOG" warm@bench.test 16
}

# batch P I: PER messages of file I through side P (16 sessions), its
# wall time and the CPU of its milter and of NSD added to P_WALL P_CPU P_NSD,
# its rate kept in P_R<I>; then P's Postfix is left to settle (not
# measured). I is also the number of P's batches before this one.
batch() {
	eval "bpid=\$$1_MPID bport=\$$1_PORT"
	c0=$(cpu_ms "$bpid"); n0=$(cpu_ms $NSD_PIDS); t0=$(date +%s.%N)
	smtp-source -A -s 16 -m "$PER" -F "$BT/m$2.txt" -M "mx.d$2.example" -f "bounce@d$2.example" \
		-t rcpt@bench.test "$CLIENT_IP:$bport" 2>>"$BT/smtp-source.err" || die "smtp-source failed"
	t1=$(date +%s.%N); c1=$(cpu_ms "$bpid"); n1=$(cpu_ms $NSD_PIDS)
	eval "$1_WALL=\$(calc \"\$$1_WALL + $t1 - $t0\" 6)"
	eval "$1_CPU=\$(calc \"\$$1_CPU + $c1 - $c0\")"
	eval "$1_NSD=\$(calc \"\$$1_NSD + $n1 - $n0\")"
	eval "$1_R$2=\$(calc \"$PER / ($t1 - $t0)\")"
	eval "blog=\$$1_LOG"
	settle "$blog" rcpt@bench.test $((($2 + 1) * PER))
}

# finish P: its figures (P_RATE P_CPUM P_NSDM P_RSS P_HWM) and outcomes
# (P_REJ P_TMP P_SENT: the accepted mail reaches discard a moment after
# smtp-source ends).
finish() {
	eval "fpid=\$$1_MPID flog=\$$1_LOG fwall=\$$1_WALL fcpu=\$$1_CPU fnsd=\$$1_NSD"
	eval "$1_RATE=$(calc "$M / $fwall") $1_CPUM=$(calc "$fcpu / $M" 3) $1_NSDM=$(calc "$fnsd / $M" 3)"
	eval "$1_RSS=$(rss_kb "$fpid") $1_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$fpid/status")"
	settle "$flog" rcpt@bench.test "$M"
	eval "$1_REJ=$rej $1_TMP=$tmp $1_SENT=$sent"
}

[ -x "$top_builddir/tests/bench/milter_floor" ] ||
	die "$top_builddir/tests/bench/milter_floor not built (make bench builds it)"
setup postern P
setup opendmarc O
setup floor F
# Profiling: BENCH_MILTER_ATTACH="perf record -g -o FILE" (or "strace -f
# -c -o FILE", ...) attaches that command (-p PID appended) to postern's
# milter, or OpenDMARC's with BENCH_MILTER_ATTACH_TO=opendmarc, over the
# measured part, and SIGINTs it at the end; that side's CPU figure then
# includes the tool's overhead.
ATT_PID=
if [ -n "${BENCH_MILTER_ATTACH:-}" ]; then
	if [ "${BENCH_MILTER_ATTACH_TO:-postern}" = opendmarc ]; then att=$O_MPID; else att=$P_MPID; fi
	$BENCH_MILTER_ATTACH -p "$att" >/dev/null 2>&1 &
	ATT_PID=$!
	sleep 1
fi
# Batch I on the three sides in each of the six orders, twice over.
i=0
while [ $i -lt 12 ]; do
	case $((i % 6)) in
	0) batch P $i; batch O $i; batch F $i ;;
	1) batch O $i; batch F $i; batch P $i ;;
	2) batch F $i; batch P $i; batch O $i ;;
	3) batch P $i; batch F $i; batch O $i ;;
	4) batch F $i; batch O $i; batch P $i ;;
	5) batch O $i; batch P $i; batch F $i ;;
	esac
	i=$((i + 1))
done
[ -z "$ATT_PID" ] || { kill -INT "$ATT_PID"; wait "$ATT_PID"; }
finish P
finish O
finish F

echo "# $M messages a side from 12 domains (half DMARC pass, half fail: rejected), about 4 KB,"
echo "# smtp-source -s 16 from $CLIENT_IP; DNS: one NSD ($DNS_IP:53 in the benchmark's own network"
echo "# namespace) named by the resolv.conf both read; postern caches answers, OpenDMARC does not"
echo "# OpenDMARC runs without OpenDKIM: it sees no DKIM result; postern verifies DKIM itself"
echo "# (half the messages are signed), so postern does more work for the same outcomes"
echo "# floor: tests/bench/milter_floor, a libmilter milter that computes nothing (the protocol's price)"
# rates A: A's 12 batch rates; median_ratio A B: the median over the
# batches of A's rate over B's
rates() { i=0; while [ $i -lt 12 ]; do eval "printf '%s ' \$$1_R$i"; i=$((i + 1)); done; }
median_ratio() {
	i=0
	while [ $i -lt 12 ]; do eval "echo \$$1_R$i \$$2_R$i"; i=$((i + 1)); done |
		awk '$2 > 0 { print $1 / $2 }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "# batch rates, msgs/s (batch I: file I, DMARC pass for I % 4 of 0 and 1):"
echo "#   postern    $(rates P)"
echo "#   opendmarc  $(rates O)"
echo "#   floor      $(rates F)"
echo "#                      postern     opendmarc   floor"
printf '# %-18s %-11s %-11s %s\n' "msgs/s" "$P_RATE" "$O_RATE" "$F_RATE" "cpu ms/msg" "$P_CPUM" "$O_CPUM" "$F_CPUM" \
	"rss KB" "$P_RSS" "$O_RSS" "$F_RSS" "peak rss KB" "$P_HWM" "$O_HWM" "$F_HWM" \
	"nsd cpu ms/msg" "$P_NSDM" "$O_NSDM" "$F_NSDM" \
	"rejected" "$P_REJ" "$O_REJ" "$F_REJ" "delivered" "$P_SENT" "$O_SENT" "$F_SENT" \
	"tempfailed" "$P_TMP" "$O_TMP" "$F_TMP"
fig milter-postern-msgs "$P_RATE" msgs/s
fig milter-opendmarc-msgs "$O_RATE" msgs/s
fig milter-postern-cpu "$P_CPUM" ms/msg
fig milter-opendmarc-cpu "$O_CPUM" ms/msg
fig milter-postern-rss "$P_RSS" KB
fig milter-opendmarc-rss "$O_RSS" KB
fig milter-postern-rss-peak "$P_HWM" KB
fig milter-opendmarc-rss-peak "$O_HWM" KB
fig milter-postern-nsd-cpu "$P_NSDM" ms/msg
fig milter-opendmarc-nsd-cpu "$O_NSDM" ms/msg
fig milter-postern-rejected "$P_REJ/$M" msgs
fig milter-opendmarc-rejected "$O_REJ/$M" msgs
fig milter-postern-delivered "$P_SENT/$M" msgs
fig milter-opendmarc-delivered "$O_SENT/$M" msgs
fig milter-floor-msgs "$F_RATE" msgs/s
fig milter-floor-cpu "$F_CPUM" ms/msg
if [ "$O_CPUM" = 0.000 ] || [ "$O_RATE" = 0.0 ]; then die "no CPU or throughput measured for OpenDMARC"; fi
cpu_ratio=$(calc "$P_CPUM / $O_CPUM" 2)
rate_ratio=$(median_ratio P O)
fig milter-cpu-vs-opendmarc "$cpu_ratio" x
# the median of the batches' rate ratios (the comparison); the totals' ratio beside it
fig milter-msgs-vs-opendmarc "$rate_ratio" x
fig milter-msgs-total-vs-opendmarc "$(calc "$P_RATE / $O_RATE" 2)" x
fig milter-floor-msgs-vs-opendmarc "$(median_ratio F O)" x
verdict() { if [ "$(awk "BEGIN { print ($1) ? 1 : 0 }")" = 1 ]; then echo met; else echo "NOT met"; fi; }
floor_ratio=$(calc "$F_CPUM / $O_CPUM" 2)
fig milter-floor-cpu-vs-opendmarc "$floor_ratio" x
# postern's own work: its CPU above the floor, per message
fig milter-postern-cpu-above-floor "$(calc "$P_CPUM - $F_CPUM" 3)" ms/msg
echo "# milter-cpu-vs-opendmarc target <= 0.5 x: $(verdict "$P_CPUM <= 0.5 * $O_CPUM")"
echo "# (a libmilter milter that computes nothing takes $floor_ratio x OpenDMARC's CPU here:"
echo "#  the target is $(verdict "$F_CPUM <= 0.5 * $O_CPUM" | sed 's/^met$/above/; s/^NOT met$/below/') that floor)"
echo "# milter-msgs-vs-opendmarc target >= 1 x: $(verdict "$rate_ratio >= 1")"
half=$((M / 2))
[ "$P_REJ" = "$half" ] && [ "$O_REJ" = "$half" ] && [ "$P_SENT" = "$half" ] && [ "$O_SENT" = "$half" ] &&
	[ "$F_REJ" = "$half" ] && [ "$F_SENT" = "$half" ] ||
	die "the outcomes differ from the corpus's ($half rejected, $half delivered each): postern $P_REJ rejected, $P_SENT delivered, $P_TMP tempfailed; opendmarc $O_REJ rejected, $O_SENT delivered, $O_TMP tempfailed; floor $F_REJ rejected, $F_SENT delivered, $F_TMP tempfailed"
