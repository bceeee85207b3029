# lib.sh: shared by the report tests. Source after tests/lmtp/lib.sh.
# Writes $T/dns.zone (DMARC records for five From domains and the
# authorisation records of RFC 9990's external destination verification:
# reports.example authorises spoofed.example, collector.example has a
# record that is no v=DMARC1 one, slow.example answers SERVFAIL) and
# $T/p.rules; fill_store sends 14 messages through the running postern
# lmtp ($PORT) the way Postfix would (XFORWARD gives the client IP) and
# counts the 250s in $sent (with $PORT2 set, every other message goes to
# a second instance there):
#   example.com      3 DKIM+SPF pass from 192.0.2.1, 2 SPF-only pass from 192.0.2.9
#   spoofed.example  4 from 198.51.100.7 (SPF none for attacker.example),
#                    1 from 2001:db8::25 (SPF fail): DMARC fail, reject
#                    applied as quarantine after the queue
#   refused.example  1, temp.example 2 (t=y), nodmarc.example 1 (no record)
cat "$top_srcdir/tests/fixtures/dkim/keys.zone" > "$T/dns.zone"
cat >> "$T/dns.zone" <<'EOF'
example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=r; aspf=s; rua=mailto:dmarc@example.com"
spoofed.example. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
_dmarc.spoofed.example. 300 IN TXT "v=DMARC1; p=reject; np=reject; fo=1; rua=mailto:agg@reports.example!10m"
spoofed.example._report._dmarc.reports.example. 300 IN TXT "v=DMARC1;"
refused.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.refused.example. 300 IN TXT "v=DMARC1; p=none; rua=mailto:x@collector.example"
refused.example._report._dmarc.collector.example. 300 IN TXT "v=spf1 -all"
temp.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.temp.example. 300 IN TXT "v=DMARC1; p=quarantine; t=y; rua=mailto:y@slow.example"
$SERVFAIL temp.example._report._dmarc.slow.example. TXT
nodmarc.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
EOF
dmarc_reject_rules > "$T/p.rules"

signed=$(signed_body)
nsend=0
fill_store() {   # the 14 messages of the table above
	sent=0
	each 3 192.0.2.1 alice@example.com "$signed"
	each 2 192.0.2.9 alice@example.com "$(plain_body alice@example.com spf-only)"
	each 4 198.51.100.7 x@attacker.example "$(plain_body ceo@spoofed.example spoof)"
	each 1 2001:db8::25 ceo@spoofed.example "$(plain_body ceo@spoofed.example v6)"
	each 1 192.0.2.5 a@refused.example "$(plain_body a@refused.example r)"
	each 2 192.0.2.6 b@temp.example "$(plain_body b@temp.example t)"
	each 1 192.0.2.7 c@nodmarc.example "$(plain_body c@nodmarc.example n)"
}
each() {   # each N IP MAILFROM BODY: send N times, count the 250s
	for _ in $(seq "$1"); do
		p=$PORT   # with $PORT2 set, every other message goes there
		[ -n "${PORT2:-}" ] && [ $((nsend % 2)) = 1 ] && p=$PORT2
		nsend=$((nsend + 1))
		send_dmarc "$p" "$2" "$3" "$4" | grep -q '^250 2' && sent=$((sent + 1))
	done
}
