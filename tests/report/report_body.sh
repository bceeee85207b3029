# report_body.sh: the checks of report.sh (SQLite) and report_pg.sh
# (PostgreSQL), sourced after the store $SPEC was filled by fill_store
# (tests/report/lib.sh) and every postern lmtp stopped; sql runs one
# query on the store ("|" between columns).
now=$(date +%s)
B=$((now - 3600)) E=$((now + 3600)) EL=$((now + 3599))   # EL: the last second, in names
run() {   # run ARGS...: postern report dmarc over the store, the hour around now
	"$POSTERN" report dmarc --report-store "$SPEC" --org-name "Postern Test" \
		--org-email dmarc-reports@mx.test --dns "$T/dns.zone" --begin $B --end $E "$@"
}
mkdir "$T/out" "$T/out2"
out=$(run --dry-run --output "$T/out" 2>&1); rc=$?
is "$rc" 0 "the dry run exits 0"
printf '%s\n' "$out" | sed 's/^/# /'
is "$(ls "$T/out" | sort | tr '\n' ' ')" \
   "mx.test!example.com!$B!$EL.xml.gz mx.test!refused.example!$B!$EL.xml.gz mx.test!spoofed.example!$B!$EL.xml.gz mx.test!temp.example!$B!$EL.xml.gz " \
   "one file per policy domain with a rua, named submitter!domain!begin!end.xml.gz; none for the domain without a record"
like "$out" "nodmarc|1 domains without rua" "the domain without a DMARC record is counted, not reported"
is "$(sql 'SELECT count(*) FROM message WHERE reported = 1')" 0 "a dry run marks nothing"

# The destinations and the external destination verification.
dest() { printf '%s\n' "$out" | grep -F "  $1: " | head -1; }
like "$(dest mailto:dmarc@example.com)" 'would send$' "same organizational domain: no verification needed, would send"
like "$(dest mailto:agg@reports.example)" 'would send' "external, authorised by v=DMARC1 at spoofed.example._report._dmarc.reports.example"
like "$(dest mailto:x@collector.example)" 'refused: .*not authori[sz]ed' "external, no v=DMARC1 record at the name: refused"
like "$(dest mailto:y@slow.example)" 'failed for now' "external, SERVFAIL: temperror, left for later"

for f in "$T/out"/*.gz; do
	n=$(basename "$f")
	gzip -t "$f" && ok "$n is gzip" || not_ok "$n is gzip"
	zcat "$f" > "$T/x.xml"
	v=$(xmllint --noout --schema "$XSD" "$T/x.xml" 2>&1) && ok "$n validates against the RFC 9990 schema" \
		|| not_ok "$n validates against the RFC 9990 schema" "$v"
done

# The XML says what was sent: records per (IP, results), counts, metadata.
x() {   # x DOMAIN XPATH: the text of the report's nodes (namespace-blind)
	zcat "$T/out/mx.test!$1!$B!$EL.xml.gz" | xmllint --xpath "$2" - 2>/dev/null
}
ns() { printf '/*[local-name()="feedback"]'; for s in "$@"; do printf '/*[local-name()="%s"]' "$s"; done; }
is "$(x example.com "string($(ns report_metadata org_name))")" "Postern Test" "org_name from --org-name"
is "$(x example.com "string($(ns report_metadata email))")" "dmarc-reports@mx.test" "email from --org-email"
is "$(x example.com "string($(ns report_metadata report_id))")" "$B.$EL.example.com@mx.test" "the Report-ID names the period, the domain and the submitter"
is "$(x example.com "string($(ns report_metadata date_range begin))"):$(x example.com "string($(ns report_metadata date_range end))")" \
   "$B:$((E - 1))" "date_range is the period (its end excluded)"
is "$(x example.com "concat($(ns policy_published domain),' ',$(ns policy_published p),' ',$(ns policy_published sp),' ',$(ns policy_published aspf))")" \
   "example.com reject quarantine s" "policy_published is the record as published"
is "$(x example.com "count($(ns record))")" 2 "example.com: two records (DKIM+SPF from 192.0.2.1, SPF only from 192.0.2.9)"
is "$(x example.com "sum($(ns record row count))")" 5 "example.com: 5 messages"
is "$(x spoofed.example "sum($(ns record row count))")" 5 "spoofed.example: 5 messages, IPv4 and IPv6"
is "$(x spoofed.example "string($(ns policy_published np))")" reject "np is reported when published"
is "$(x temp.example "string($(ns policy_published testing))")" y "t=y is reported as testing y"

# dmarc-cat reads every report back with the same counts, IPs and results
# (-j 1: with parallel jobs, dmarc-cat 0.15 can print a row with another
# row's IP and count).
for f in "$T/out"/*.gz; do dmarc-cat -N -j 1 "$f"; done > "$T/cat.txt" 2>&1
sed 's/^/# /' "$T/cat.txt"
row() { grep -E "^$1[[:space:]]" "$T/cat.txt" | tr -s ' \t' ' ' | sed 's/ $//'; }
is "$(row 192.0.2.1)" "192.0.2.1 3 example.com example.com pass pass" "dmarc-cat: 192.0.2.1 sent 3, DKIM pass, SPF pass"
is "$(row 192.0.2.9)" "192.0.2.9 2 example.com example.com pass" "dmarc-cat: 192.0.2.9 sent 2, SPF pass, no DKIM"
is "$(row 198.51.100.7)" "198.51.100.7 4 spoofed.example attacker.example none" "dmarc-cat: the spoofer's 4 messages, SPF none for attacker.example"
is "$(row 2001:db8::25)" "2001:db8::25 1 spoofed.example spoofed.example fail" "dmarc-cat: the IPv6 sender, SPF fail"
is "$(grep -c '^Reporting by: Postern Test' "$T/cat.txt")" 4 "dmarc-cat: four reports by Postern Test"
total=0; for c in $(grep -E '^[0-9a-f:.]+[[:space:]]+[0-9]+[[:space:]]' "$T/cat.txt" | awk '{print $2}'); do total=$((total + c)); done
is "$total" 13 "dmarc-cat: 13 messages in all (the 14th had no DMARC record)"

# The disposition and its reason: the reject was applied as quarantine.
is "$(x spoofed.example "string($(ns record row policy_evaluated disposition))")" quarantine "the spoofed mail's disposition is quarantine"
is "$(x spoofed.example "string($(ns record row policy_evaluated reason type))")" local_policy "with the reason local_policy (after the queue)"

# A second dry run gives the same files, byte for byte.
run --dry-run --output "$T/out2" >/dev/null 2>&1
same=0; for f in "$T/out"/*.gz; do cmp -s "$f" "$T/out2/$(basename "$f")" && same=$((same + 1)); done
is "$same" 4 "a second run of the same period writes the same four files (same names, same bytes)"

# A period without rows: no reports, exit 0.
out=$("$POSTERN" report dmarc --report-store "$SPEC" --org-name X --org-email d@mx.test --dns "$T/dns.zone" \
	--day 2001-01-01 --dry-run --output "$T/out2" 2>&1); rc=$?
like "$rc:$out" '^0:.*0 reports' "a day without rows: no report, exit 0"

# Usage errors.
u() { "$POSTERN" report dmarc "$@" >/dev/null 2>&1; echo $?; }
is "$(u --org-name X --org-email d@mx.test --dry-run)" 64 "no --report-store: 64"
is "$(u --report-store "$SPEC" --org-name X --org-email d@mx.test)" 64 "sending without --from: 64"
is "$(u --report-store "$SPEC" --org-name X --org-email d@mx.test --dry-run --day 2026-13-01)" 64 "a bad --day: 64"
is "$(u --report-store "$SPEC" --org-name X --org-email d@mx.test --dry-run --begin 10)" 64 "--begin without --end: 64"
is "$(u --report-store "$SPEC" --org-name X --org-email d@mx.test --dry-run --unique-id 'a b')" 64 "a --unique-id with a space: 64"
is "$(u --report-store "$SPEC" --org-name X --org-email d@mx.test --from a@mx.test --smtp h:25 --sendmail x)" 64 "--smtp and --sendmail together: 64"
is "$(u --report-store "sqlite:$T/nodir/x.db" --org-name X --org-email d@mx.test --dry-run --output "$T/out2")" 69 "a store that cannot be opened: 69"
is "$(u --report-store "$SPEC" --org-name X --org-email d@mx.test --dry-run --output "$T/none")" 73 "--output that is not a directory: 73"
is "$("$POSTERN" report >/dev/null 2>&1; echo $?)" 64 "postern report without a report name: 64"
like "$("$POSTERN" report dmarc --help)" 'usage: postern report dmarc' "--help prints the usage"
done_testing
