#!/bin/sh
# run.sh: the adversarial corpus (tests/adversarial/README) against the stock
# policy. For each case of cases.tsv it runs
#   postern check --after-queue --json --rules rules/baseline.rules
#                 --dns dns.zone --now NOW ENVELOPE-OPTIONS - < message
# where the case file's first line, its X-Postern-Envelope field, gives the
# envelope options and the rest of the file, byte for byte, is the message
# (so a case may start its header section with any line it likes). It reads
# each recipient's applied action:
#   refuse: every recipient's applied action is reject or quarantine.
#           tempfail or discard (no inbox delivery, but no refusal the sender
#           sees either) fails the case and is counted apart;
#   accept: the decision is accept and every applied action is accept.
# One TAP line per case with the technique and, on failure, what it got and
# the auth results; the counts at the end. It fails, never skips, when
# postern or jq is missing.
# Outside make check: top_srcdir=. POSTERN=build/postern sh tests/adversarial/run.sh
. "$top_srcdir/tests/cli/tap.sh"
dir="$top_srcdir/tests/adversarial"
NOW=1700000300   # make.py signs at t=1700000000

if ! command -v jq >/dev/null 2>&1; then
	not_ok "jq is installed (needed to read postern's JSON)"
	done_testing; exit 1
fi
if [ ! -x "$POSTERN" ]; then
	not_ok "postern is built" "no executable at $POSTERN"
	done_testing; exit 1
fi

tab=$(printf '\t')
cr=$(printf '\r')
nl='
'
oldifs=$IFS

# envelope FILE: set _args to the envelope options given by FILE's first
# line, an X-Postern-Envelope field ("key=value; ...", one line, no
# folding), as "--key<NL>value<NL>..." (values hold no newline). Pure
# shell: the suite runs some 90 cases and must stay fast.
envelope() {
	IFS= read -r line < "$1"
	line=${line%"$cr"}
	_args=""
	case $line in
	X-Postern-Envelope:*) line=${line#X-Postern-Envelope:} ;;
	*) return ;;
	esac
	while [ -n "$line" ]; do
		item=${line%%;*}
		case $line in *";"*) line=${line#*;} ;; *) line="" ;; esac
		item=${item#"${item%%[! $tab]*}"}
		item=${item%"${item##*[! $tab]}"}
		[ -n "$item" ] || continue
		_args="$_args--${item%%=*}$nl${item#*=}$nl"
	done
}

# The jq program: decision, applied actions (unique, sorted), auth summary.
summary='[.decision,
	([.recipients[].applied] | unique | join(",")),
	"spf=\(.auth.spf.result // "-") dkim=\([.auth.dkim[]?.result] | join(",") | if . == "" then "none" else . end) dmarc=\(.auth.dmarc.result // "-") from=\(.auth.dmarc.domain // "-")"]
	| join("\t")'

attacks=0; refused=0; soft=0; controls=0; accepted=0
while IFS="$tab" read -r name technique expect description; do
	case $name in '#'*|'') continue ;; esac
	file="$dir/cases/$name.eml"
	if [ ! -f "$file" ]; then
		not_ok "$name: $technique" "missing $file"
		continue
	fi
	envelope "$file"
	set -f; IFS=$nl; set -- $_args; IFS=$oldifs; set +f
	res=$(tail -n +2 "$file" | "$POSTERN" check --after-queue --json \
		--rules "$top_srcdir/rules/baseline.rules" --dns "$dir/dns.zone" --now "$NOW" "$@" - \
		2>"$TMPDIR_TEST/stderr" | jq -r "$summary" 2>>"$TMPDIR_TEST/stderr")
	decision=""; applied=""; auth=""
	if [ -n "$res" ]; then
		IFS=$tab read -r decision applied auth <<EOF
$res
EOF
		got="$decision applied=$applied"
	else
		got="no decision: $(head -c 300 "$TMPDIR_TEST/stderr")"
	fi
	case $expect in
	refuse)
		attacks=$((attacks + 1))
		others=$(printf '%s\n' "$applied" | tr ',' '\n' | grep -Evx 'reject|quarantine')
		if [ -n "$applied" ] && [ -z "$others" ]; then
			refused=$((refused + 1))
			ok "$name: $technique: refused ($got)"
		elif [ -n "$applied" ] && ! printf '%s\n' "$others" | grep -qx accept; then
			soft=$((soft + 1))
			not_ok "$name: $technique: not refused, not delivered ($applied)" \
			       "got: $got; $auth" "want: reject or quarantine for every recipient"
		else
			not_ok "$name: $technique: DELIVERED" "got: $got; $auth" \
			       "want: reject or quarantine for every recipient" "case: $description"
		fi ;;
	accept)
		controls=$((controls + 1))
		if [ "$applied" = accept ] && [ "$decision" = accept ]; then
			accepted=$((accepted + 1))
			ok "$name: $technique: accepted ($auth)"
		else
			not_ok "$name: $technique: genuine mail not accepted" \
			       "got: $got; $auth" "want: accept for every recipient" "case: $description"
		fi ;;
	*)
		not_ok "$name: expect is '$expect', not refuse or accept" ;;
	esac
done < "$dir/cases.tsv"

if [ "$attacks" -ge 60 ]; then ok "at least 60 attacks ($attacks)"; else not_ok "at least 60 attacks" "got $attacks"; fi
if [ "$controls" -ge 12 ]; then ok "at least 12 controls ($controls)"; else not_ok "at least 12 controls" "got $controls"; fi
echo "# adversarial: $refused of $attacks attacks refused, $accepted of $controls controls accepted ($soft attacks neither delivered nor refused: tempfail or discard)"
done_testing
