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

for t in headers addr rules authres dnsfix eval lmtp mime; do
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

for t in headers addr rules authres dnsfix eval lmtp mime; do
	echo "seeds: $t: $(ls "$out/$t" | wc -l) files"
done
