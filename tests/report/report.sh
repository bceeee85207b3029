#!/bin/sh
# Issue 17: postern report dmarc --dry-run over a SQLite store that postern
# lmtp filled: 14 messages for five From domains through a real session
# (XFORWARD gives the client IPs). One report per policy domain with a rua
# (the domain without a DMARC record gets none), each gzip-compressed under
# RFC 9990's file name, valid against the RFC 9990 schema (xmllint
# --schema), read by dmarc-cat (the report reader in Debian) with the
# counts, IPs and results that were sent; the external destination
# verification against DNS fixtures: authorised (v=DMARC1 at
# <domain>._report._dmarc.<host>), refused (none there), temperror
# (SERVFAIL), and the same organizational domain needing no record. A
# dry run marks nothing and gives the same files twice. Bad options are
# usage errors.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
DB="$T/r.db"
XSD="$top_srcdir/tests/report/rfc9990.xsd"
for p in sqlite3 xmllint dmarc-cat jq; do
	command -v $p >/dev/null || { echo "Bail out! $p is needed (./quickstart installs it)"; exit 1; }
done
sql() { sqlite3 -separator '|' "$DB" "$1"; }

. "$top_srcdir/tests/report/lib.sh"
SPEC="sqlite:$DB"
start_lmtp --rules "$T/p.rules" --dns "$T/dns.zone" --report-store "$SPEC"
fill_store
is "$sent" 14 "14 messages delivered (250) through postern lmtp"
for _ in $(seq 50); do [ "$(sql 'SELECT count(*) FROM message')" = 14 ] && break; sleep 0.1; done
is "$(sql 'SELECT count(*) FROM message')" 14 "14 rows in the store"
stop_lmtp

. "$top_srcdir/tests/report/report_body.sh"
