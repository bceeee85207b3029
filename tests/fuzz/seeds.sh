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

for t in headers addr rules authres dnsfix eval; do
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

# Rule files.
find "$src/rules" "$src/examples" "$src/tests/lang" -type f -name '*.rules' |
	while IFS= read -r f; do seed rules "$f"; done

# Zones.
find "$src/examples" "$src/tests/fixtures" -type f -name '*.zone' |
	while IFS= read -r f; do seed dnsfix "$f"; done

for t in headers addr rules authres dnsfix eval; do
	echo "seeds: $t: $(ls "$out/$t" | wc -l) files"
done
