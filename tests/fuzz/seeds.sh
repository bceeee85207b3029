#!/bin/sh
# tests/fuzz/seeds.sh: build the fuzz seed corpora in a build directory.
#
#   sh seeds.sh SRCDIR OUTDIR
#
# Copies, at run time, messages, rule files, zones and field values from our
# own examples/, rules/ and tests/ and from the shared corpora
# ($POSTERN_CORPORA, default SRCDIR/../shared/corpora; skipped when absent)
# into OUTDIR/<target>/, one seed per file. Nothing here is committed: the
# shared corpora are other projects' files and stay outside the tree.
set -eu
src=$1
out=$2
corpora=${POSTERN_CORPORA:-$src/../shared/corpora}
[ -d "$corpora" ] || corpora=""

for t in headers addr rules authres dnsfix eval lmtp mime rua; do
	rm -rf "$out/$t"
	mkdir -p "$out/$t"
done

n=0
seed() {	# seed TARGET FILE: copy FILE under a unique name
	n=$((n + 1))
	cp "$2" "$out/$1/seed-$n"
}
text() {	# text TARGET: stdin becomes one seed (runs in pipelines' subshells)
	cat >"$(mktemp "$out/$1/text-XXXXXXXX")"
}

# Messages: ours, then the shared corpora's.
msgs=$(mktemp)
trap 'rm -f "$msgs"' EXIT
find "$src/examples" "$src/tests/fixtures" -type f -name '*.eml' >"$msgs"
if [ -n "$corpora" ]; then
	find "$corpora/rfc5322-mail-parser-rs" "$corpora/rfc5322-python-email" \
	     "$corpora/dkim-mail-dkim-perl/corpus" "$corpora/dkim-rfc-examples" \
	     "$corpora/dkim-dkimpy" "$corpora/dkim-mail-auth-rs" \
	     -type f \( -name '*.eml' -o -name '*.txt' -o -name '*.msg' \) \
	     ! -name 'PROVENANCE.md' ! -name '*LICENSE*' 2>/dev/null >>"$msgs" || true
fi
while IFS= read -r f; do
	[ "$(wc -c <"$f")" -le 65536 ] || continue
	seed headers "$f"
	seed eval "$f"
	seed mime "$f"
	# Address and encoded-word seeds: the values of address fields and of
	# Subject (first line of each field only).
	grep -i -E '^(From|To|Cc|Reply-To|Sender|Subject):' "$f" 2>/dev/null |
		sed 's/^[^:]*:[ \t]*//; s/\r$//' | head -n 8 |
		while IFS= read -r v; do printf '%s' "$v" | text addr; done
	grep -i '^Authentication-Results:' "$f" 2>/dev/null |
		sed 's/^[^:]*:[ \t]*//; s/\r$//' | head -n 4 |
		while IFS= read -r v; do printf '%s' "$v" | text authres; done
done <"$msgs"

# Authentication-Results values from the shared A-R cases.
if [ -n "$corpora" ] && command -v jq >/dev/null 2>&1 &&
   [ -f "$corpora/authres-headers/authres-cases.jsonl" ]; then
	jq -r '.header | sub("^[Aa]uthentication-[Rr]esults:[ \t]*"; "") | gsub("\n"; " ")' \
		"$corpora/authres-headers/authres-cases.jsonl" |
		while IFS= read -r v; do printf '%s' "$v" | text authres; done
fi
printf '%s' 'mx.example.net; spf=pass smtp.mailfrom=a@example.com; dkim=pass header.d=example.com header.s=s1; dmarc=pass (p=reject) header.from=example.com' | text authres
printf '%s' 'mx.example.net 1; none' | text authres
printf '%s' 'mx.example.net (2 DKIM signatures ignored beyond dkim-max-signatures 8); dkim=pass (good \(nested\) \\ sig) header.d=example.com' | text authres

# Rule files.
find "$src/rules" "$src/examples" "$src/tests/lang" -type f -name '*.rules' |
	while IFS= read -r f; do seed rules "$f"; done

# Zones.
find "$src/examples" "$src/tests/fixtures" -type f -name '*.zone' |
	while IFS= read -r f; do seed dnsfix "$f"; done

# LMTP sessions: a mode byte (fuzz_lmtp.c), then what a client sends.
# Each example message becomes one transaction; a few hand-made sessions
# cover pipelining, XFORWARD, RSET, SIZE and the limits.
crlf() { sed 's/\r*$/\r/'; }
find "$src/examples" -type f -name '*.eml' ! -name 'expected*' | head -n 20 |
	while IFS= read -r f; do
		{ printf '\001LHLO c\r\nXFORWARD ADDR=192.0.2.1 HELO=mta.example.com\r\n'
		  printf 'MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\n'
		  printf 'RCPT TO:<c@example.net>\r\nDATA\r\n'
		  grep -v '^X-Postern-Envelope' "$f" | crlf | sed 's/^\./../'
		  printf '.\r\nQUIT\r\n'; } | text lmtp
	done
printf '\005LHLO c\r\nMAIL FROM:<> SIZE=100\r\nRCPT TO:<a@b>\r\nRCPT TO:<x!y@b>\r\nDATA\r\nSubject: s\r\n\r\n..dot\r\n.\r\nRSET\r\nNOOP\r\nVRFY a\r\nQUIT\r\n' | text lmtp
printf '\011RCPT TO:<a@b>\r\nDATA\r\nLHLO c\r\nMAIL FROM:<a@b> SIZE=999999\r\nMAIL FROM:<a@b>\r\nRSET\r\nXFORWARD ADDR=IPV6:2001:db8::1 NAME=[UNAVAILABLE] HELO=a+20b\r\nQUIT\r\n' | text lmtp
printf '\002LHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<a@b>\r\nDATA\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nJ: 10\r\nK: 11\r\nL: 12\r\nM: 13\r\nN: 14\r\nO: 15\r\nP: 16\r\nQ: 17\r\n\r\nx\r\n.\r\nQUIT\r\n' | text lmtp

# MIME structures: nesting, rfc822 inside, RFC 2231 and 2047 names, the
# malformed shapes mime.c reports.
text mime <<'EOF'
Content-Type: multipart/mixed; boundary="o"

pre
--o
Content-Type: multipart/alternative; boundary=i

--i
Content-Type: text/plain

x
--i
Content-Type: text/html

<p>
--i--
--o
Content-Type: message/rfc822

From: a@b
Content-Type: multipart/mixed; boundary=r

--r
Content-Type: application/zip; name="in.zip"

PK
--r--
--o
Content-Type: application/octet-stream; name="=?utf-8?B?ZXZpbC5leGU=?="
Content-Disposition: attachment; filename*0*=utf-8''a%2E; filename*1="e"; filename*2=xe

AA
--o--
epi
EOF
crlf <<'EOF' | text mime
Content-Type: multipart/digest; boundary=d

--d 

From: x@y

hi
--d
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

QQ==
--dx
EOF
text mime <<'EOF'
Content-Type: application/x (c; name=x) ; name*=iso-8859-1'en'%E9.exe%00.txt
Content-Type: text/plain
Content-Disposition: x; filename="a.exe. "

EOF

# DMARC aggregate reports (fuzz_rua.c): four control bytes, then
# NUL-separated pieces: rua value, extra zone lines, policy domain, its
# organizational domain, row 1 and row 2 (TAB-separated fields), meta and
# compose arguments (TAB-separated).
rua() {	# rua CONTROL-BYTES PIECE...: one seed
	ctl=$1
	shift
	{ printf "$ctl"; for p in "$@"; do printf '%s\000' "$p"; done; } | text rua
}
T=$(printf '\t')
row1="192.0.2.1${T}example.com${T}bounce.example.com${T}bounce.example.com${T}pass${T}${T}none${T}${T}${T}11${T}reject${T}quarantine${T}none${T}rs${T}n${T}1${T}example.com${T}s1${T}pass${T}${T}mail.example.net${T}sel<2>${T}fail${T}body hash mismatch & more"
row2="2001:db8::1${T}Example.COM${T}${T}${T}softfail${T}no <spf> \"here\"${T}quarantine${T}local_policy${T}rule 'x'${T}00"
meta="Postern Org${T}dmarc@receiver.example${T}https://receiver.example/dmarc${T}receiver.example${T}u1${T}postern 1.2"
rua '\021\000\000\010' 'mailto:rua@example.com!10m, mailto:r@reports.thirdparty.example' '' example.com '' "$row1" "$row2" "$meta" ''
rua '\002\001\001\002' 'mailto:x@over.thirdparty.example' \
	'example.com._report._dmarc.over.thirdparty.example. TXT "v=DMARC1; rua=mailto:Y@OVER.thirdparty.example!1k"' \
	example.com example.com "$row1" "$row1" "$meta" "dmarc@receiver.example${T}x@over.thirdparty.example"
rua '\000\002\003\011' 'MAILTO:%72ua@EXAMPLE.com?subject=x,https://x.example/r,mailto:a@b@c,mailto:"q"@x.example!9x,,  ,mailto:a@xn--bcher-kva.example!1t' \
	'$TIMEOUT example.com._report._dmarc.b.example. TXT' 'exa<mple>.com' '' "$row2" '' \
	"O&rg${T}e@x${T}${T}sub mitter${T}${T}" "a@b${T}c@d${T}id@x${T}f\"ile"
rua '\003\004\005\001' 'mailto:r@other.example' \
	'_dmarc.other.example. TXT "v=DMARC1; p=none"
example.com._report._dmarc.other.example. TXT "v=DMARC1; rua=mailto:z@evil.example"' \
	example.com '' "10.0.0.1${T}a.example${T}" '' "${T}${T}${T}long.submitter.domain.that.goes.on.and.on.example${T}${T}" \
	"from@example.com${T}to@example.com${T}$(printf 'x%.0s' $(seq 1 100)) $(printf 'y%.0s' $(seq 1 90))${T}file.xml.gz"
grep -hoE 'rua=[^;"]*' "$src/tests/adversarial/dns.zone" 2>/dev/null | sed 's/^rua=//' | sort -u |
	while IFS= read -r v; do rua '\001\000\000\010' "$v" '' example.com '' "$row1" '' "$meta" ''; done

for t in headers addr rules authres dnsfix eval lmtp mime rua; do
	echo "seeds: $t: $(ls "$out/$t" | wc -l) files"
done
