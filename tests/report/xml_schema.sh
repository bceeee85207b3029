#!/bin/sh
# The DMARC aggregate reports of engine/rua/xml.c against the RFC 9990
# schema (tests/report/rfc9990.xsd): tests/report/rua_xml_sample writes
# sample reports (the least one, every optional element, values outside
# the RFC's enumerations, the size limits); each must validate with
# xmllint, its gzip must pass gzip -t and unzip to the same bytes, with the
# report's file name in the gzip header. Documents that break the schema
# (a bad enumeration, a missing element, the wrong namespace, a bad IP)
# must be refused, so a schema that accepts anything fails here.
. "$top_srcdir/tests/cli/tap.sh"
T=$TMPDIR_TEST
XSD="$top_srcdir/tests/report/rfc9990.xsd"
SAMPLE="$top_builddir/tests/report/rua_xml_sample"
command -v xmllint >/dev/null || { echo "Bail out! xmllint is needed (apt-get install libxml2-utils)"; exit 1; }
command -v gzip >/dev/null || { echo "Bail out! gzip is needed"; exit 1; }

valid() {   # valid FILE: xmllint's verdict, its messages on failure
	xmllint --noout --schema "$XSD" "$1" >"$T/lint.out" 2>&1
}

xmllint --noout "$XSD" 2>"$T/xsd.err"
is "$?" 0 "the schema is well-formed XML"

names=$("$SAMPLE" "$T")
is "$?" 0 "rua_xml_sample wrote its samples"
is "$(echo $names)" "minimal full unknown limits" "four samples"

for n in $names; do
	if valid "$T/$n.xml"; then ok "$n: valid RFC 9990"
	else not_ok "$n: valid RFC 9990" "$(cat "$T/lint.out")"; fi
	gzip -t "$T/$n.xml.gz" 2>"$T/gz.err"
	is "$?" 0 "$n: gzip -t"
	if zcat "$T/$n.xml.gz" | cmp -s - "$T/$n.xml"; then ok "$n: zcat gives the XML"
	else not_ok "$n: zcat gives the XML"; fi
	# gzip -l -N lists the name stored in the header (in the file's folder).
	stored=$(gzip -lN "$T/$n.xml.gz" | awk 'NR == 2 { print $4 }')
	like "${stored##*/}" '^receiver\.example![a-z.]+!1767225600!1767311999(!7Q)?\.xml$' \
		"$n: the gzip header names the report file"
done

# What the samples say, beyond the schema.
x=$(cat "$T/full.xml")
like "$x" '<envelope_from></envelope_from>' "full: the null reverse-path's empty envelope_from"
like "$x" '<org_name>Receiver &amp; Sons &lt;&quot;postmaster&quot;&gt;</org_name>' "full: escaped text"
is "$(grep -c '<dkim>$' "$T/full.xml")" 2 "full: two DKIM signatures"
like "$x" '<report_id>1767225600\.1767311999\.7Q\.sender\.example@receiver\.example</report_id>' "full: Report-ID"
x=$(cat "$T/unknown.xml")
like "$x" '<disposition>none</disposition>' "unknown: a disposition outside the enumeration is none"
like "$x" '<type>other</type>' "unknown: an unknown reason type is other"
is "$(grep -c '<dkim>$' "$T/limits.xml")" 8 "limits: 8 DKIM signatures"
like "$(cat "$T/limits.xml")" "<count>$(getconf ULONG_MAX)</count>" "limits: the largest count"

# Documents the schema must refuse.
bad() {   # bad NAME SED-EXPRESSION
	sed "$2" "$T/full.xml" >"$T/bad-$1.xml"
	if cmp -s "$T/bad-$1.xml" "$T/full.xml"; then
		not_ok "refused: $1" "the edit did not change the document"
	elif valid "$T/bad-$1.xml"; then
		not_ok "refused: $1" "xmllint accepted it"
	else
		ok "refused: $1"
	fi
}
bad "p outside the enumeration" 's|<p>reject</p>|<p>maybe</p>|'
bad "no report_id" '/<report_id>/d'
bad "wrong namespace" 's|dmarc-2.0|dmarc-1.0|'
bad "bad source_ip" 's|<source_ip>198.51.100.7<|<source_ip>198.51.100.700<|'
bad "helo scope" 's|<scope>mfrom</scope>|<scope>helo</scope>|'
bad "no policy_published" '/<policy_published>/,/<\/policy_published>/d'
bad "two p" 's|<p>reject</p>|<p>reject</p><p>none</p>|'

done_testing
