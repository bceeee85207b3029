#!/bin/sh
# Issue 17: postern report dmarc sends its reports for real. The store is
# filled through postern lmtp (tests/report/lib.sh: 14 messages, five From
# domains); a private Postfix instance (smtpd on a free loopback port,
# pickup for its sendmail, virtual mailboxes for the rua addresses) hands
# what it receives to a second postern lmtp that files it in a Maildir.
#   1. --smtp 127.0.0.1:PORT: the authorised destinations get one message
#      each (Subject "Report Domain: D Submitter: S Report-ID: <ID>", the
#      report attached as application/gzip under its RFC 9990 name, byte
#      for byte the file a dry run writes, valid against the schema); the
#      unauthorised destination gets nothing; the SERVFAIL one is left for
#      later (exit 75). Rows are marked reported, except the ones left.
#   2. A re-run of the period sends nothing again but the one left.
#   3. --sendmail (Postfix's sendmail, through postdrop and pickup) sends
#      the reports of a second store.
#   4. Rows older than --keep-days are deleted.
# Needs root (Postfix's master) and postfix; skipped otherwise.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
skip() { echo "1..0 # SKIP $*"; exit 0; }
pf_usable || skip "$PF_ERROR"
for p in sqlite3 xmllint python3; do
	command -v $p >/dev/null || { echo "Bail out! $p is needed (./quickstart installs it)"; exit 1; }
done
XSD="$top_srcdir/tests/report/rfc9990.xsd"
DB="$T/r.db"
sql() { sqlite3 -separator '|' "$DB" "$1"; }
. "$top_srcdir/tests/report/lib.sh"

# 0. The store, filled through postern lmtp.
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "sqlite:$DB"
fill_store
is "$sent" 14 "14 messages delivered through postern lmtp"
for _ in $(seq 50); do [ "$(sql 'SELECT count(*) FROM message')" = 14 ] && break; sleep 0.1; done
stop_lmtp
cp "$DB" "$T/r2.db"

# The receiving side: postern lmtp (no rules) into $MD, behind Postfix.
: > "$T/none.rules"
LOG="$T/rx.log"
start_lmtp --rules "$T/none.rules"
RX_PID=$SRV_PID RX_PORT=$PORT
trap 'pf_stop; stop_lmtp; rm -rf "$T"' EXIT
mkdir -p "$T/postfix/etc"
printf '%s OK\n' dmarc@example.com agg@reports.example x@collector.example y@slow.example > "$T/postfix/etc/vmail"
PF_MAPS="$T/postfix/etc/vmail"
pf_instance "$T/postfix" 'lmtp unix - - n - - lmtp' myhostname=relay.test \
	virtual_mailbox_domains="example.com reports.example collector.example slow.example" \
	virtual_mailbox_maps="hash:$T/postfix/etc/vmail" virtual_transport="lmtp:inet:127.0.0.1:$RX_PORT" \
	|| { echo "Bail out! $PF_ERROR"; exit 1; }
CD=$PF_CD PFLOG=$PF_LOG SPORT=$PF_PORT
box() { find "$MD/${1#*@}/${1%@*}/new" -type f 2>/dev/null; }
nbox() { box "$1" | wc -l | tr -d ' '; }
wait_mail() {   # wait_mail ADDR N: until ADDR has N files (30 s)
	for _ in $(seq 300); do [ "$(nbox "$1")" -ge "$2" ] && return 0; sleep 0.1; done
	return 1
}
now=$(date +%s)
B=$((now - 3600)) E=$((now + 3600)) EL=$((now + 3599))   # EL: the last second, in names
report() {   # report DB ARGS...
	db=$1; shift
	"$POSTERN" report dmarc --report-store "sqlite:$db" --org-name "Postern Test" \
		--org-email dmarc-reports@mx.test --from dmarc-reports@mx.test --dns "$T/dns.zone" \
		--begin $B --end $E "$@"
}
mkdir "$T/dry"
report "$DB" --dry-run --output "$T/dry" >/dev/null 2>&1

# 1. --smtp.
out=$(report "$DB" --smtp "127.0.0.1:$SPORT" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
is "$rc" 75 "exit 75: one report is left for a later run (SERVFAIL on its authorisation)"
like "$out" 'mailto:dmarc@example.com: sent' "example.com's report is sent"
like "$out" 'mailto:agg@reports.example: sent' "spoofed.example's report is sent to the authorised external destination"
like "$out" 'mailto:x@collector.example: refused' "refused.example's external destination is not authorised"
wait_mail dmarc@example.com 1 && wait_mail agg@reports.example 1
is "$(nbox dmarc@example.com):$(nbox agg@reports.example):$(nbox x@collector.example):$(nbox y@slow.example)" "1:1:0:0" \
   "one message each in the authorised mailboxes, none for the refused or deferred ones"

# The delivered messages: headers, and the attachment is the dry run's file.
python3 - "$(box dmarc@example.com)" "$T/got-example.com" > "$T/msg.txt" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
print("subject=" + " ".join(str(m["Subject"]).split()))
print("from=" + str(m["From"]))
print("type=" + m.get_content_type())
for part in m.iter_attachments():
    print("attachment=%s %s" % (part.get_content_type(), part.get_filename()))
    open(sys.argv[2], 'wb').write(part.get_content())
PY
sed 's/^/# /' "$T/msg.txt"
rid="$B.$EL.example.com@mx.test"
like "$(cat "$T/msg.txt")" "subject=Report Domain: example\\.com Submitter: mx\\.test Report-ID: <$rid>" \
   "the Subject is RFC 9990's: Report Domain, Submitter, Report-ID"
like "$(cat "$T/msg.txt")" 'from=dmarc-reports@mx.test' "From is --from"
like "$(cat "$T/msg.txt")" "attachment=application/gzip mx.test!example.com!$B!$EL.xml.gz" \
   "the report is attached as application/gzip under its RFC 9990 file name"
cmp -s "$T/got-example.com" "$T/dry/mx.test!example.com!$B!$EL.xml.gz" \
	&& ok "the attachment is byte for byte the file the dry run wrote" \
	|| not_ok "the attachment is byte for byte the file the dry run wrote"
zcat "$T/got-example.com" > "$T/got.xml"
v=$(xmllint --noout --schema "$XSD" "$T/got.xml" 2>&1) && ok "the delivered report validates against the RFC 9990 schema" \
	|| not_ok "the delivered report validates against the RFC 9990 schema" "$v"
is "$(sql 'SELECT reporting_domain, count(*) FROM message WHERE reported = 1 GROUP BY 1 ORDER BY 1' | tr '\n' ' ')" \
   'example.com|5 nodmarc.example|1 refused.example|1 spoofed.example|5 ' \
   "rows marked reported: the sent reports, the refused one, the domain without rua; temp.example's left"

# 2. A re-run of the same period: only the report left is tried again.
out=$(report "$DB" --smtp "127.0.0.1:$SPORT" 2>&1); rc=$?
is "$rc" 75 "the re-run exits 75 again (still SERVFAIL)"
like "$out" '^1 reports, 0 sent' "the re-run has one report: temp.example's"
sleep 1
is "$(nbox dmarc@example.com):$(nbox agg@reports.example)" "1:1" "nothing is sent twice"

# 3. --sendmail: Postfix's own sendmail, through postdrop and pickup.
out=$(MAIL_CONFIG=$CD report "$T/r2.db" --sendmail /usr/sbin/sendmail 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
like "$out" 'mailto:dmarc@example.com: sent' "--sendmail: example.com's report handed to sendmail"
wait_mail dmarc@example.com 2 && wait_mail agg@reports.example 2
is "$(nbox dmarc@example.com):$(nbox agg@reports.example)" "2:2" "and delivered through Postfix's pickup"
like "$(grep 'from=<dmarc-reports@mx.test>' "$PFLOG" | head -1)" 'from=<dmarc-reports@mx.test>' \
   "Postfix logged the envelope sender --from"

# 4. Expiry: rows older than --keep-days are deleted (after the run).
sql "UPDATE message SET time = time - 40 * 86400 WHERE reporting_domain = 'temp.example'"
out=$(report "$DB" --smtp "127.0.0.1:$SPORT" --keep-days 30 2>&1); rc=$?
like "$out" 'expired 2 rows older than 30 days' "--keep-days 30 deletes the two rows 40 days old"
is "$rc:$(sql 'SELECT count(*) FROM message')" "0:12" "12 rows left; nothing left to send, exit 0"
is "$(sql 'SELECT count(*) FROM dkim WHERE message_id NOT IN (SELECT id FROM message)')" 0 "no orphaned DKIM rows"
pf_stop
done_testing
