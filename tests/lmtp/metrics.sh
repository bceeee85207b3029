#!/bin/sh
# postern lmtp --metrics ADDR: the Prometheus text endpoint (issue 16).
# Messages accepted, rejected and quarantined are counted by decision,
# applied action, rule, reply code and latency; sessions, reloads and the
# policy generation follow; the text passes `promtool check metrics`;
# other paths get 404, other methods 405, an oversized request 431, a
# silent client 408 and never holds up an LMTP session; the DNS cache
# counters come from the live resolver (a small local DNS responder).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
rules="$TMPDIR_TEST/policy.rules"
cat > "$rules" <<'EOF'
after-queue-reject reject;
rule block_spam {
  when subject contains "SPAM"
  then reject 550 5.7.1 "no spam here";
}
rule hold_odd {
  when subject contains "ODD"
  then quarantine;
}
EOF
MPORT=$(free_port)
start_lmtp --rules "$rules" --metrics "127.0.0.1:$MPORT"

scrape() { curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics"; }
val() {   # val TEXT SERIES: the value of one series ("name" or "name{labels}")
	printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2 }'
}
send() {   # send SUBJECT [RCPT...]: one message, the replies after DATA
	subj=$1; shift
	{ printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>'
	  for r in "$@"; do printf 'RCPT TO:<%s>\n' "$r"; done
	  printf '%s\n' 'DATA' '<<354' "From: a@example.net\\r\\nSubject: $subj\\r\\n\\r\\nbody" '.' 'QUIT'; } |
		lmtpc "$PORT"
}
http_raw() {   # http_raw PORT PYTHON-BYTES [SECONDS]: send, wait for the answer (at most SECONDS, 10)
	python3 - "$1" "$2" "${3:-10}" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[3]))
s.sendall(eval(sys.argv[2]))
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except (socket.timeout, ConnectionResetError):
    pass
sys.stdout.write(out.decode("latin-1"))
PY
}

before=$(scrape)
is "$(val "$before" postern_policy_generation)" 1 "policy generation 1 at start"
is "$(val "$before" postern_policy_rules)" 2 "the policy's 2 rules"
is "$(val "$before" 'postern_recipient_rules_total{rule="block_spam"}')" 0 \
   "each rule of the loaded policy is a series from the start (0)"
now=$(date +%s); st=$(val "$before" postern_start_time_seconds)
ok_start=$([ "$st" -le "$now" ] && [ "$st" -gt $((now - 120)) ] && echo yes)
is "$ok_start" yes "postern_start_time_seconds is the start time ($st, now $now)"
like "$before" '^# HELP postern_sessions_total ' "HELP lines"
like "$before" '# TYPE postern_delivery_latency_seconds histogram' "TYPE lines; the latency is a histogram"
is "$(printf '%s\n' "$before" | grep -c '^postern_dns_cache')" 0 "with --dns (a fixture) no DNS cache series"

# Accept (two recipients), reject, quarantine.
like "$(send hello b@example.org c@example.org)" '250 2.0.0 .*Saved
250 2.0.0 .*Saved' "accepted: two recipients, 250 each"
like "$(send 'SPAM offer' d@example.org)" '550 5.7.1 no spam here' "rejected: 550 5.7.1"
like "$(send 'ODD one' e@example.org)" '250 2.0.0 .*Saved' "quarantined: 250"
is "$(msgs_in "$MD/example.org/e/.Quarantine")" 1 "the quarantined copy is in .Quarantine"

after=$(scrape)
d() { echo $(( $(val "$after" "$1") - $(val "$before" "$1") )); }
is "$(d postern_sessions_total)" 3 "3 sessions more"
is "$(d postern_messages_total):$(d postern_recipients_total)" "3:4" "3 messages, 4 recipients"
is "$(val "$after" 'postern_recipient_decisions_total{decision="accept"}'):$(val "$after" 'postern_recipient_decisions_total{decision="reject"}'):$(val "$after" 'postern_recipient_decisions_total{decision="quarantine"}'):$(val "$after" 'postern_recipient_decisions_total{decision="discard"}')" \
   "2:1:1:0" "recipients by decision: accept 2, reject 1, quarantine 1, discard 0"
is "$(val "$after" 'postern_recipient_actions_total{action="accept"}'):$(val "$after" 'postern_recipient_actions_total{action="reject"}'):$(val "$after" 'postern_recipient_actions_total{action="quarantine"}')" \
   "2:1:1" "recipients by applied action"
is "$(val "$after" 'postern_recipient_rules_total{rule="block_spam"}'):$(val "$after" 'postern_recipient_rules_total{rule="hold_odd"}'):$(val "$after" 'postern_recipient_rules_total{rule="none"}')" \
   "1:1:2" "recipients by deciding rule, 'none' when no rule matched"
is "$(val "$after" 'postern_recipient_replies_total{class="2xx",code="250"}'):$(val "$after" 'postern_recipient_replies_total{class="5xx",code="550"}')" \
   "3:1" "recipients by reply class and code: 250 x3, 550 x1"
is "$(val "$after" 'postern_deliveries_total{result="delivered"}')" 3 "3 copies delivered"
is "$(val "$after" 'postern_auth_results_total{method="spf",result="none"}'):$(val "$after" 'postern_auth_results_total{method="dmarc",result="none"}')" \
   "3:3" "auth results by method and result (no client IP: spf none; dmarc none)"
is "$(val "$after" postern_delivery_latency_seconds_count):$(val "$after" 'postern_delivery_latency_seconds_bucket{le="+Inf"}')" \
   "4:4" "the latency histogram counts every recipient"
like "$(val "$after" postern_delivery_latency_seconds_sum)" '^0\.[0-9]{6}$' "the latency sum is in seconds"
i=0; while [ "$(val "$(scrape)" postern_sessions)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(val "$(scrape)" postern_sessions)" 0 "postern_sessions: 0 once the clients have left"

if command -v promtool >/dev/null 2>&1; then
	pt=$(printf '%s\n' "$after" | promtool check metrics 2>&1); rc=$?
	is "$rc:$pt:$(printf '%s\n' "$after" | grep -c '^# TYPE postern_')" "0::18" \
	   "promtool check metrics: 18 metric families, valid exposition format, no lint problem"
else
	not_ok "promtool check metrics" "promtool is not installed (Debian: the prometheus package; ./quickstart installs it)"
fi

# HTTP.
hdr=$(curl -s -D - -o /dev/null "http://127.0.0.1:$MPORT/metrics" | tr -d '\r')
like "$hdr" '^HTTP/1\.0 200 OK' "GET /metrics: 200"
like "$hdr" 'Content-Type: text/plain; version=0\.0\.4' "Content-Type: text/plain; version=0.0.4"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics?x=1")" 200 "a query string is ignored"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" 404 "GET /: 404"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metricsx")" 404 "GET /metricsx: 404"
out=$(curl -s -D - -o /dev/null -X POST -d x=1 "http://127.0.0.1:$MPORT/metrics" | tr -d '\r')
like "$out" '^HTTP/1\.0 405 ' "POST: 405"
like "$out" 'Allow: GET' "with Allow: GET"
like "$(http_raw "$MPORT" 'b"DELETE /metrics HTTP/1.0\r\n\r\n"')" '^HTTP/1\.0 405 ' "DELETE: 405"
like "$(http_raw "$MPORT" 'b"garbage\r\n\r\n"')" '^HTTP/1\.0 400 ' "a malformed request line: 400"
like "$(http_raw "$MPORT" 'b"GET /metrics HTTP/1.0\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n"')" \
     '^HTTP/1\.0 431 ' "a request over 4096 bytes: 431, not read further"
like "$(http_raw "$MPORT" 'b"GET /metrics HTTP/1.0\n\n"')" '^HTTP/1\.0 200 ' "bare LF line ends are read too"

# A client that sends half a request and waits holds the metrics thread
# for its 2-second timeout, never an LMTP session.
python3 - "$MPORT" > "$TMPDIR_TEST/slow.out" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /metr")
out = b""
try:
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
except socket.timeout:
    pass
print(out.decode("latin-1").split("\r\n")[0])
PY
slow=$!
sleep 0.3
t0=$(date +%s%N)
r=$(send hello f@example.org)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$r" '250 2.0.0 .*Saved' "LMTP delivers while a metrics client stalls"
ok_fast=$([ "$ms" -lt 1500 ] && echo yes)
is "$ok_fast" yes "the delivery did not wait for the stalled client (${ms} ms)"
wait "$slow"
is "$(cat "$TMPDIR_TEST/slow.out")" "HTTP/1.0 408 Request Timeout" "the stalled client gets 408 after the timeout"
like "$(scrape)" 'postern_messages_total 4' "the next scrape is answered"

# An open LMTP session is counted while it lasts.
python3 - "$PORT" "$TMPDIR_TEST/greeted" "$TMPDIR_TEST/scraped" <<'PY' &
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(512)
open(sys.argv[2], "w").close()
for _ in range(100):            # until the test has scraped, at most 10 s
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
s.sendall(b"QUIT\r\n")
s.recv(512)
PY
idle=$!
i=0; while [ ! -e "$TMPDIR_TEST/greeted" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
is "$(val "$(scrape)" postern_sessions)" 1 "postern_sessions: 1 while a session is open"
: > "$TMPDIR_TEST/scraped"
wait "$idle"

# Reloads: a good file (generation 2, a new rule, counts of kept rules
# kept), then a bad one (generation stays, failed counted).
# Its names: one with a dot, a dash and UTF-8, one with a byte that is
# not UTF-8 (the rule language takes it; the text format is UTF-8).
printf 'rule drop-junk.\303\251 {\n  when subject contains "JUNK"\n  then discard;\n}\n' >> "$rules"
printf 'rule bad\377byte {\n  when subject contains "BYTE"\n  then discard;\n}\n' >> "$rules"
kill -HUP "$SRV_PID"
i=0; while [ "$(val "$(scrape)" postern_policy_generation)" != 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
m=$(scrape)
is "$(val "$m" postern_policy_generation):$(val "$m" 'postern_reloads_total{result="ok"}')" "2:1" "after SIGHUP: generation 2, 1 reload ok"
is "$(val "$m" "postern_recipient_rules_total{rule=\"drop-junk.$(printf '\303\251')\"}"):$(val "$m" 'postern_recipient_rules_total{rule="block_spam"}')" \
   "0:1" "the new rule's series appears (its UTF-8 name as is); a kept rule keeps its count"
is "$(val "$m" "postern_recipient_rules_total{rule=\"bad$(printf '\357\277\275')byte\"}")" 0 \
   "a name byte that is not UTF-8 is shown as U+FFFD"
if command -v promtool >/dev/null 2>&1; then
	is "$(printf '%s\n' "$m" | promtool check metrics 2>&1; echo $?)" 0 "promtool: valid with those names"
fi
echo 'rule broken {' >> "$rules"
kill -HUP "$SRV_PID"
i=0; while [ "$(val "$(scrape)" 'postern_reloads_total{result="failed"}')" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
m=$(scrape)
is "$(val "$m" 'postern_reloads_total{result="failed"}'):$(val "$m" postern_policy_generation)" "1:2" \
   "a rule file that does not compile: 1 reload failed, generation stays 2"
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: exit 0 with the metrics thread running"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$MPORT/metrics")" 000 \
   "the metrics socket is closed at exit"

# Addresses as --listen takes them: a Unix socket; bad ports; a port in use.
sock="$TMPDIR_TEST/metrics.sock"
head -9 "$rules" > "$TMPDIR_TEST/ok.rules"
start_lmtp --rules "$TMPDIR_TEST/ok.rules" --metrics "unix:$sock"
like "$(curl -s --max-time 10 --unix-socket "$sock" http://localhost/metrics)" 'postern_policy_generation 1' \
     "--metrics unix:PATH serves over a Unix socket"
stop_lmtp
is "$([ -e "$sock" ] && echo left || echo gone)" gone "the Unix metrics socket is removed at exit"
for bad in 127.0.0.1:0 127.0.0.1:65536 nonsense; do
	"$POSTERN" lmtp --rules "$TMPDIR_TEST/ok.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
		--dns "$TMPDIR_TEST/empty.zone" --metrics "$bad" > /dev/null 2> "$TMPDIR_TEST/bad.err"
	is "$?:$(grep -Ec -- '^postern lmtp: --metrics .*(wants HOST:PORT|the port must be a number)' "$TMPDIR_TEST/bad.err")" \
	   "64:1" "--metrics $bad: usage error (64) that says why"
done
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(5)' > "$TMPDIR_TEST/busy" &
busy=$!
i=0; while [ ! -s "$TMPDIR_TEST/busy" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$POSTERN" lmtp --rules "$TMPDIR_TEST/ok.rules" --listen "127.0.0.1:$(free_port)" --deliver "maildir:$MD" \
	--dns "$TMPDIR_TEST/empty.zone" --metrics "127.0.0.1:$(cat "$TMPDIR_TEST/busy")" > /dev/null 2> "$TMPDIR_TEST/bad.err"
is "$?" 71 "--metrics on a port in use: cannot listen (71)"
kill "$busy" 2>/dev/null; wait "$busy" 2>/dev/null

# DNS cache counters, from the live resolver: a local responder answers
# every question NXDOMAIN with a SOA (cached for 300 s), so the second
# message's questions are hits.
python3 - > "$TMPDIR_TEST/dnsport" <<'PY' &
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(30)
# SOA RDATA: MNAME and RNAME the root; serial, refresh, retry, expire, minimum 300.
soa = b"\x00\x00" + struct.pack(">IIIII", 1, 3600, 600, 86400, 300)
while True:
    try:
        q, peer = s.recvfrom(512)
    except socket.timeout:
        break
    end = 12
    while end < len(q) and q[end]:
        end += 1 + q[end]
    auth = b"\xc0\x0c" + struct.pack(">HHIH", 6, 1, 300, len(soa)) + soa
    head = q[:2] + struct.pack(">HHHHH", 0x8183 | (q[2] & 1) << 8, 1, 0, 1, 0)
    s.sendto(head + q[12:end + 5] + auth, peer)
PY
dnsd=$!
i=0; while [ ! -s "$TMPDIR_TEST/dnsport" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(free_port); MPORT=$(free_port)
POSTERN_DNS_SERVER="127.0.0.1@$(cat "$TMPDIR_TEST/dnsport")" "$POSTERN" lmtp --rules "$TMPDIR_TEST/ok.rules" \
	--listen "127.0.0.1:$PORT" --deliver "maildir:$MD" --log "$TMPDIR_TEST/dns.log" --metrics "127.0.0.1:$MPORT" \
	2>>"$TMPDIR_TEST/stderr" &
SRV_PID=$!
wait_port "$PORT"
is "$(scrape | grep -c '^postern_dns_cache')" 0 "no DNS cache series before the live resolver is made"
dnsmsg() {
	printf '%s\n' 'LHLO c' 'XFORWARD ADDR=192.0.2.1 HELO=mx.sender.test' 'MAIL FROM:<a@sender.test>' \
		'RCPT TO:<g@example.org>' 'DATA' '<<354' 'From: a@sender.test\r\nSubject: x\r\n\r\nbody' '.' 'QUIT' |
		lmtpc "$PORT"
}
dnsmsg > /dev/null
m1=$(scrape)
dnsmsg > /dev/null
m2=$(scrape)
is "$(grep -c '"spf":{"result":"none"' "$TMPDIR_TEST/dns.log")" 2 "the responder's NXDOMAIN reached SPF (none) twice"
miss1=$(val "$m1" postern_dns_cache_misses_total); hits1=$(val "$m1" postern_dns_cache_hits_total)
ok_miss=$([ "${miss1:-0}" -ge 1 ] && [ "$(val "$m1" postern_dns_cache_entries)" -ge 1 ] && echo yes)
is "$ok_miss" yes "first message: misses ($miss1) and entries kept"
is "$(val "$m2" postern_dns_cache_misses_total)" "$miss1" "second message: no new miss"
ok_hits=$([ "$(val "$m2" postern_dns_cache_hits_total)" -gt "${hits1:-0}" ] && echo yes)
is "$ok_hits" yes "second message: its questions are cache hits ($(val "$m2" postern_dns_cache_hits_total) > $hits1)"
if command -v promtool >/dev/null 2>&1; then
	is "$(printf '%s\n' "$m2" | promtool check metrics 2>&1; echo $?):$(printf '%s\n' "$m2" | grep -c '^# TYPE postern_dns')" \
	   "0:4" "promtool: valid with the 4 DNS series"
fi
stop_lmtp
kill "$dnsd" 2>/dev/null; wait "$dnsd" 2>/dev/null
done_testing
