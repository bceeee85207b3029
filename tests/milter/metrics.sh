#!/bin/sh
# postern milter --metrics ADDR: the worker's counters in the Prometheus
# text format (served by postern lmtp's endpoint code): messages by the
# answer given (accept, reject, tempfail, discard, quarantine through
# miltertest), reloads by outcome (SIGHUP with a good and a broken rule
# file), the policy generation and rule count, the report store's rows;
# 404 for another path; a Unix socket; a bad address at start.
# Skipped without miltertest.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
dir="$top_srcdir/tests/milter"
T=$TMPDIR_TEST

if ! command -v miltertest >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest is not installed (apt-get install miltertest)"
	exit 0
fi
command -v curl >/dev/null || { echo "Bail out! curl is needed"; exit 1; }

RULES="$T/milter.rules"
cp "$dir/milter.rules" "$RULES"
PORT=$(free_port)
MPORT=$(free_port)
sock="inet:$PORT@127.0.0.1"
$POSTERN_WRAPPER "$POSTERN" milter --rules "$RULES" --listen "$sock" --dns "$dir/milter.zone" \
	--log "$LOG" --hostname mx.test --metrics "127.0.0.1:$MPORT" --report-store "sqlite:$T/r.db" \
	2>>"$T/stderr" &
SRV_PID=$!
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern milter did not start"; sed 's/^/# /' "$T/stderr"; }
wait_port "$MPORT" ${POSTERN_WRAPPER:+60}

scrape() { curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics"; }
val() {   # val TEXT SAMPLE: the value of the sample (name and labels as written)
	printf '%s\n' "$1" | awk -v s="$2" 'index($0, s " ") == 1 { print $NF }'
}
decide() {   # decide RCPT: one message from alice@example.net (decide.lua)
	miltertest -D "sock=$sock" -D "dir=$dir" -D "rcpt=$1" -s "$dir/decide.lua" 2>&1 |
		sed -n 's/^decision=//p'
}

m=$(scrape)
is "$(val "$m" 'postern_policy_generation')" 1 "at start: generation 1"
is "$(val "$m" 'postern_policy_rules')" 6 "the rules of milter.rules: 6"
is "$(val "$m" 'postern_message_decisions_total{decision="accept"}')" 0 "no message yet"
like "$m" '# TYPE postern_message_decisions_total counter' "a TYPE line for the decisions"

is "$(decide bob@example.org)" accept "an accepted message"
decide bob@example.org >/dev/null
decide later@example.org >/dev/null
decide spam@example.org >/dev/null
decide hold@example.org >/dev/null
miltertest -D "sock=$sock" -D "dir=$dir" -s "$dir/reject.lua" >/dev/null 2>&1
m=$(scrape)
is "$(val "$m" 'postern_message_decisions_total{decision="accept"}')" 2 "accept: 2"
is "$(val "$m" 'postern_message_decisions_total{decision="tempfail"}')" 2 \
   "tempfail: 2 (a rule's, and reject.lua's mixed message)"
is "$(val "$m" 'postern_message_decisions_total{decision="reject"}')" 1 "reject: 1"
is "$(val "$m" 'postern_message_decisions_total{decision="discard"}')" 1 "discard: 1"
is "$(val "$m" 'postern_message_decisions_total{decision="quarantine"}')" 1 "quarantine: 1"
is "$(val "$m" 'postern_errors_total')" 0 "no error"

for _ in $(seq 50); do
	[ "$(val "$(scrape)" 'postern_report_store_rows_total{result="written"}')" = 5 ] && break
	sleep 0.1
done
is "$(val "$(scrape)" 'postern_report_store_rows_total{result="written"}')" 5 \
   "report store rows written: 5 (every final answer, no tempfail)"

printf '\nrule extra {\n  when rcpt == "x@example.org"\n  then discard;\n}\n' >> "$RULES"
kill -HUP "$SRV_PID"
for _ in $(seq 100); do [ "$(val "$(scrape)" postern_policy_generation)" = 2 ] && break; sleep 0.05; done
printf 'rule broken {\n' >> "$RULES"
kill -HUP "$SRV_PID"
for _ in $(seq 100); do
	[ "$(val "$(scrape)" 'postern_reloads_total{result="failed"}')" = 1 ] && break
	sleep 0.05
done
m=$(scrape)
is "$(val "$m" 'postern_reloads_total{result="ok"}')" 1 "reloads ok: 1"
is "$(val "$m" 'postern_reloads_total{result="failed"}')" 1 "reloads failed: 1"
is "$(val "$m" postern_policy_generation)" 2 "generation 2 (the broken file took none)"
is "$(val "$m" postern_policy_rules)" 7 "rules: 7"

is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")" 404 "another path: 404"
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: exit 0"
is "$(curl -s --max-time 2 "http://127.0.0.1:$MPORT/metrics" >/dev/null; echo $?)" 7 \
   "the endpoint is closed at exit (curl cannot connect)"

# A Unix socket, removed at exit.
cp "$dir/milter.rules" "$RULES"
msock="$T/metrics.sock"
$POSTERN_WRAPPER "$POSTERN" milter --rules "$RULES" --listen "$sock" --log "$LOG" \
	--metrics "unix:$msock" 2>>"$T/stderr" &
SRV_PID=$!
wait_port "$PORT" ${POSTERN_WRAPPER:+60}
for _ in $(seq 100); do [ -S "$msock" ] && break; sleep 0.05; done
like "$(curl -s --max-time 10 --unix-socket "$msock" http://milter/metrics)" \
   'postern_policy_generation 1' "--metrics unix:PATH: scraped over the socket"
stop_lmtp
is "$([ -e "$msock" ] || echo gone)" gone "... and the socket is removed at exit"

"$POSTERN" milter --rules "$RULES" --listen "inet:$(free_port)@127.0.0.1" --metrics "127.0.0.1:0" \
	2>"$T/bad.err"
is "$?" 71 "--metrics with port 0: 71"
like "$(cat "$T/bad.err")" "^postern milter: --metrics" "... the message names postern milter and the option"
like "$("$POSTERN" milter --help)" "--metrics " "--help lists --metrics"

done_testing
