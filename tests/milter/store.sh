#!/bin/sh
# postern milter --report-store sqlite:PATH: one row per message whose
# answer is final, as postern lmtp writes them, so that postern report
# dmarc covers mail decided at SMTP time. Through miltertest: a DMARC pass
# (SPF aligned), a DMARC fail whose reject is applied at SMTP time (550;
# disposition reject, no override reason), a From domain without a DMARC
# record, and a tempfail (no row: the client sends it again). The rows are
# read with sqlite3, then postern report dmarc --dry-run makes the reports.
# Skipped without miltertest.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
dir="$top_srcdir/tests/milter"
T=$TMPDIR_TEST
DB="$T/r.db"

if ! command -v miltertest >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest is not installed (apt-get install miltertest)"
	exit 0
fi
for p in sqlite3 jq; do
	command -v $p >/dev/null || { echo "Bail out! $p is needed"; exit 1; }
done
sql() { sqlite3 -separator '|' "$DB" "$1"; }

cat > "$T/dns.zone" <<'Z'
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=s; rua=mailto:dmarc@example.com"
spoofed.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; np=reject; fo=1; rua=mailto:dmarc@spoofed.example"
nodmarc.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
Z
{ dmarc_reject_rules; cat <<'R'
rule later {
  when rcpt == "later@example.net"
  then tempfail 451 4.7.1 "later";
}
R
} > "$T/p.rules"

PORT=$(free_port)
sock="inet:$PORT@127.0.0.1"
$POSTERN_WRAPPER "$POSTERN" milter --rules "$T/p.rules" --listen "$sock" --dns "$T/dns.zone" \
	--log "$LOG" --hostname mx.test --report-store "sqlite:$DB" 2>>"$T/stderr" &
SRV_PID=$!
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern milter did not start"; sed 's/^/# /' "$T/stderr"; }

send() {   # send IP FROM HEADER-FROM RCPT QID: the reply
	miltertest -D "sock=$sock" -D "dir=$dir" -D "ip=$1" -D "from=$2" -D "hfrom=$3" -D "rcpt=$4" \
		-D "qid=$5" -s "$dir/store.lua" 2>&1 | sed -n 's/^reply=//p'
}
is "$(send 192.0.2.1 alice@example.com alice@example.com bob@example.net Q1)" accept "the DMARC pass is accepted"
is "$(send 198.51.100.7 x@attacker.example ceo@spoofed.example bob@example.net Q2)" 550 \
   "the DMARC fail is rejected at SMTP time (550)"
is "$(send 192.0.2.5 someone@nodmarc.example someone@nodmarc.example bob@example.net Q3)" accept \
   "the message without a DMARC record is accepted"
is "$(send 192.0.2.1 alice@example.com alice@example.com later@example.net Q4)" 451 "a tempfail (451)"

for _ in $(seq 50); do [ "$(sql 'SELECT count(*) FROM message' 2>/dev/null)" = 3 ] && break; sleep 0.1; done
is "$(sql 'SELECT count(*) FROM message')" 3 "three final answers, three rows; the tempfail has none"
is "$(sql "SELECT count(*) FROM message WHERE queue_id = 'Q4'")" 0 "no row for the tempfail"

cols='queue_id, reporting_domain, policy_found, policy_p, policy_sp, policy_np, policy_adkim, policy_aspf,
	policy_rua, source_ip, header_from, envelope_from, envelope_to, spf_result, spf_domain, spf_scope,
	spf_aligned, dkim_aligned, dmarc_result, dmarc_policy, disposition, decision, applied, rule,
	reason_type, reason_comment, host, reported'
is "$(sql "SELECT $cols FROM message WHERE header_from = 'example.com'")" \
   'Q1|example.com|1|reject|quarantine||r|s|mailto:dmarc@example.com|192.0.2.1|example.com|example.com|example.net|pass|example.com|mfrom|1|0|pass|reject|none|accept|accept||||mx.test|0' \
   "the DMARC pass: the MTA's queue id, the client IP from the connect callback, the record as published, disposition none"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'spoofed.example'")" \
   'Q2|spoofed.example|1|reject||reject|||mailto:dmarc@spoofed.example|198.51.100.7|spoofed.example|attacker.example|example.net|none|attacker.example|mfrom|0|0|fail|reject|reject|reject|reject|dmarc_reject|||mx.test|0' \
   "the DMARC fail: rejected at SMTP time, disposition reject, no override reason"
is "$(sql "SELECT $cols FROM message WHERE header_from = 'nodmarc.example'")" \
   'Q3|nodmarc.example|0|||||||192.0.2.5|nodmarc.example|nodmarc.example|example.net|pass|nodmarc.example|mfrom|1|0|none||none|accept|accept||||mx.test|0' \
   "no DMARC record: the From domain reports, no policy"
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: exit 0"
is "$(q "$(grep '"event":"stats"' "$LOG" | tail -1)" '.report_store.written')" 3 \
   "at exit a stats event: three rows written"

# The reports: one per policy domain with a rua.
now=$(date +%s)
B=$((now - 3600)) E=$((now + 3600)) EL=$((now + 3599))
mkdir "$T/out"
out=$("$POSTERN" report dmarc --report-store "sqlite:$DB" --org-name "Postern Test" \
	--org-email dmarc-reports@mx.test --dns "$T/dns.zone" --begin $B --end $E \
	--dry-run --output "$T/out" 2>&1)
is "$?" 0 "postern report dmarc --dry-run exits 0"
is "$(ls "$T/out" | sort | tr '\n' ' ')" \
   "mx.test!example.com!$B!$EL.xml.gz mx.test!spoofed.example!$B!$EL.xml.gz " \
   "one report per policy domain with a rua"
xml=$(gzip -dc "$T/out/mx.test!spoofed.example!$B!$EL.xml.gz" | tr -d '\n\t ')
like "$xml" '<source_ip>198\.51\.100\.7</source_ip><count>1</count><policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf>' \
   "spoofed.example's report: the milter's reject, disposition reject"
xml=$(gzip -dc "$T/out/mx.test!example.com!$B!$EL.xml.gz" | tr -d '\n\t ')
like "$xml" '<source_ip>192\.0\.2\.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf>' \
   "example.com's report: the accepted message, SPF pass"
is "$(sql 'SELECT count(*) FROM message WHERE reported = 1')" 0 "a dry run marks nothing"

# A store that cannot be opened: 73 at start.
"$POSTERN" milter --rules "$T/p.rules" --listen "inet:$(free_port)@127.0.0.1" \
	--report-store "sqlite:$T/no/such/dir/r.db" 2>"$T/bad.err"
is "$?" 73 "a --report-store that cannot be opened: 73"
like "$(cat "$T/bad.err")" "report-store" "... saying so"
like "$("$POSTERN" milter --help)" "--report-store " "--help lists --report-store"

done_testing
