#!/bin/sh
# postern replay: a generated corpus of 1,200 messages in three forms
# (Maildir, mboxrd, a tree of .eml), a rule file and a changed copy. The
# generator (gen_corpus.py) computes the expected outcome on its own; this
# checks that --baseline lists exactly the recipients whose decision changed,
# the counts per decision and per rule, the rules that never matched, the
# JSON shape, --received-by, and that --jobs 1 and 2 agree. DNS always comes
# from an empty fixture.
. "$top_srcdir/tests/cli/tap.sh"
T=$TMPDIR_TEST
N=1200
if ! python3 "$top_srcdir/tests/cli/gen_corpus.py" "$T" $N; then
	not_ok "the corpus generator runs"
	done_testing
	exit 1
fi
: > "$T/empty.zone"
R() { "$POSTERN" replay --dns "$T/empty.zone" "$@"; }

# The generator's expectations, written once into $T/exp.FORM.KEY.WHAT
# (python3 starts slowly here); expect WHAT FORM KEY prints one.
python3 - "$T" <<'PY'
import collections, json, os, sys
t = sys.argv[1]
e = json.load(open(os.path.join(t, "expected.json")))
def put(form, key, what, text):
    with open(os.path.join(t, "exp.%s.%s.%s" % (form, key, what)), "w") as f:
        f.write(text)
for key in ("rx", "plain"):
    for form, msgs in e[key].items():
        rcpts = [r for oc in msgs.values() for r in oc]
        put(form, key, "changed", "".join("\t".join([name, r["rcpt"], r["old"], r["new"], r["rule"] or "null"]) + "\n"
                                         for name, oc in msgs.items() for r in oc if r["old"] != r["new"]))
        c = collections.Counter(r["new"] for r in rcpts)
        put(form, key, "decisions", json.dumps({d: c[d] for d in ("accept", "reject", "tempfail", "discard", "quarantine")},
                                               sort_keys=True, separators=(",", ":")))
        c = collections.Counter(r["rule"] or "(implicit accept)" for r in rcpts)
        out = {n: c[n] for n in e["rules"]}
        out["(implicit accept)"] = c["(implicit accept)"]
        put(form, key, "rules", json.dumps(out, sort_keys=True, separators=(",", ":")))
        seen = {m for r in rcpts for m in r["matched"]}
        put(form, key, "never", json.dumps([n for n in e["rules"] if n not in seen], separators=(",", ":")))
        put(form, key, "recipients", str(len(rcpts)))
PY
expect() { cat "$T/exp.$2.$3.$1"; }

# got_changed JSON PREFIX: the changed list as the same tab-separated lines.
got_changed() {
	printf '%s' "$1" | jq -r --arg p "$2" \
	    '.changed[] | [(.message | ltrimstr($p)), (.recipient // ""), .from, .to, (.rule // "null")] | @tsv'
}

check_form() {   # check_form FORM CORPUS-PATH ENVKEY [options...]
	form=$1 corpus=$2 key=$3; shift 3
	out=$(R --rules "$T/new.rules" --baseline "$T/old.rules" --json --exact "$@" "$corpus" 2>"$T/err"); rc=$?
	is "$rc" 0 "$form ($key): replay exits 0"
	is "$(cat "$T/err")" "" "$form ($key): nothing on stderr"
	want=$(expect changed "$form" "$key" | LC_ALL=C sort)
	got=$(got_changed "$out" "$T/" | LC_ALL=C sort)
	if [ "$got" = "$want" ] && [ -n "$want" ]; then
		ok "$form ($key): changed lists exactly the $(printf '%s\n' "$want" | wc -l) expected recipients"
	else
		not_ok "$form ($key): changed lists exactly the expected recipients" \
		    "$(printf '%s\n' "$want" > "$T/want"; printf '%s\n' "$got" > "$T/got"; diff "$T/want" "$T/got" | head -20)"
	fi
	is "$(printf '%s' "$out" | jq -S -c '.decisions')" "$(expect decisions "$form" "$key")" "$form ($key): count per decision"
	is "$(printf '%s' "$out" | jq -S -c '.rules')" "$(expect rules "$form" "$key")" "$form ($key): count per deciding rule"
	is "$(printf '%s' "$out" | jq -c '.never_matched')" "$(expect never "$form" "$key")" "$form ($key): rules that never matched"
	is "$(printf '%s' "$out" | jq -c '[.messages, .recipients, .errors]')" "[$N,$(expect recipients "$form" "$key"),0]" \
	   "$form ($key): messages, recipients, no errors"
}

check_form maildir "$T/maildir" rx --received-by mx.test.example
check_form mbox "$T/box.mbox" rx --received-by MX.TEST.EXAMPLE.
check_form eml "$T/eml" rx --received-by mx.test.example
check_form maildir "$T/maildir" plain

# Enough of a change to be a real test: some changes, not everything.
n=$(expect changed maildir rx | wc -l)
if [ "$n" -gt 20 ] && [ "$n" -lt $((N / 2)) ]; then ok "the known change affects a subset ($n)"; else not_ok "the known change affects a subset" "$n"; fi
like "$(expect changed maildir rx)" 'reject	block_domains' "the list entry change shows"
like "$(expect changed maildir rx)" 'quarantine	lottery' "the regex change shows"

# The same results, byte for byte but the timing, with one and two jobs.
o1=$(R --rules "$T/new.rules" --baseline "$T/old.rules" --received-by mx.test.example --json --jobs 1 "$T/maildir" | jq -S -c 'del(.timing)')
o2=$(R --rules "$T/new.rules" --baseline "$T/old.rules" --received-by mx.test.example --json --jobs 2 "$T/maildir" | jq -S -c 'del(.timing)')
is "$o1" "$o2" "--jobs 1 and --jobs 2 give the same report"
is "$(R --rules "$T/new.rules" --baseline "$T/old.rules" --json --jobs 2 "$T/maildir" | jq -c '.changed | map(.message)')" \
   "$(R --rules "$T/new.rules" --baseline "$T/old.rules" --json --jobs 2 "$T/maildir" | jq -c '.changed | map(.message) | sort')" \
   "changed is sorted by message path"
is "$(printf '%s' "$o1" | jq -c '.timing')" "null" "(timing is the only field left out)"

# Without --exact the same: each verdict lists the rules that matched, the
# tag-only rule tag_it included, so never-matched is exact in one pass.
out=$(R --rules "$T/new.rules" --received-by mx.test.example --json "$T/maildir")
is "$(printf '%s' "$out" | jq -c '[.never_matched, .never_matched_exact]')" "[$(expect never maildir rx),true]" \
   "without --exact: never-matched is exact (tag_it, which only tags, is seen matching)"
like "$(expect never maildir rx)" '^\["never"\]$' "(the generator's never-matched list is just 'never')"

# JSON shape.
out=$(R --rules "$T/new.rules" --json "$T/maildir")
is "$(printf '%s' "$out" | jq -c '[(.messages|type), (.decisions|type), (.rules|type), has("changed"), (.timing.msgs_per_s|type)]')" \
   '["number","object","object",false,"number"]' "--json without --baseline: messages, decisions, rules; no changed"
out=$(R --rules "$T/new.rules" --baseline "$T/old.rules" --json "$T/maildir")
is "$(printf '%s' "$out" | jq -c '.changed[0] | keys_unsorted[0:5]')" '["message","recipient","from","to","rule"]' \
   "each changed entry has message, recipient, from, to, rule"
is "$(printf '%s' "$out" | jq -c '[.changed[] | select(.rule == null)] | length')" \
   "$(expect changed maildir plain | awk -F'\t' '$5 == "null"' | wc -l | tr -d ' ')" \
   "rule is null where the implicit accept decides under the new file"
is "$(printf '%s' "$out" | jq -c '[.changed[] | select(.recipient == null)] | length > 0')" "true" \
   "messages without any recipient are decided for the unknown recipient (null), not the To: address"

# Text output.
out=$(R --rules "$T/new.rules" --baseline "$T/old.rules" "$T/maildir")
like "$out" "^replayed $N messages" "text: a summary line"
like "$out" 'never matched \(any recipient\): never$' "text: never-matched is exact without --exact"
like "$(R --rules "$T/new.rules" --exact "$T/maildir")" 'never matched \(any recipient\): never$' "text: --exact"
like "$out" 'changed between .*old.rules and .*new.rules: [0-9]+ recipients' "text: the changes"
like "$out" 'accept -> reject \(block_domains\)' "text: from what to what, and the rule"
like "$out" 'slowest messages \(parse' "text: the slowest messages"

# Several corpora at once, and single files.
out=$(R --rules "$T/new.rules" --json "$T/maildir" "$T/box.mbox" "$T/eml/00/00000.eml")
is "$(printf '%s' "$out" | jq -c '.messages')" "$((N * 2 + 1))" "several corpora and a single .eml file add up"

# Time per rule: a rule with a pathological regex (it runs into the match
# limit on every subject) against cheap ones. The counts are exact: each
# rule is evaluated for every recipient that reaches it.
mkdir -p "$T/slow"
xs=xxxxxxxxxxxxxxxxxxxxxxxx
for i in 1 2 3 4 5 6 7 8 9 10; do
	printf 'X-Postern-Envelope: client-ip=192.0.2.1; mail-from=a@example.com; rcpt=b@example.net; rcpt=c@example.org\r\nFrom: a@example.com\r\nTo: b@example.net\r\nSubject: %s!\r\n\r\nmessage %s\r\n' \
		"$xs" $i > "$T/slow/$i.eml"
done
cat > "$T/slow.rules" <<'RULES'
rule cheap { when size > 1G then tag "big"; }
rule heavy { when subject matches /^(x+x+)+$/ then tag "never"; }
tenant "example.org" {
  rule org_only { when true then reject; }
}
rule last { when true then accept; }
rule unreached { when true then discard; }
RULES
out=$(R --rules "$T/slow.rules" --json "$T/slow" 2>/dev/null)
is "$(printf '%s' "$out" | jq -c '.timing.slowest_rules[0].rule')" '"heavy"' "the slowest rule is the one with the heavy regex"
is "$(printf '%s' "$out" | jq -c '.timing.slowest_rules | map([.rule, .evaluations]) | sort')" \
   '[["cheap",20],["heavy",20],["last",10],["org_only",20]]' \
   "evaluations per rule: every recipient reaching it (the org tenant rejects one of two); a rule never reached is absent"
is "$(printf '%s' "$out" | jq -c '.timing.rule_time_sample')" 1 "a small corpus: every message timed"
ratio=$(printf '%s' "$out" | jq '[.timing.slowest_rules[] | {(.rule): .usec_per_evaluation}] | add | .heavy / .cheap | floor')
[ "${ratio:-0}" -ge 20 ] && ok "the heavy rule costs far more per evaluation than the cheap one (x$ratio)" ||
	not_ok "the heavy rule costs far more per evaluation than the cheap one" "ratio: $ratio" "$out"
# usec is printed to 0.1, usec_per_evaluation to 0.001: the product may differ by their rounding.
is "$(printf '%s' "$out" | jq -c '[.timing.slowest_rules[] | ((.usec_per_evaluation * .evaluations - .usec) | fabs) < 0.001 * .usec + 0.06 + 0.001 * .evaluations] | all')" \
   true "usec_per_evaluation is usec over evaluations"
out=$(R --rules "$T/slow.rules" "$T/slow" 2>/dev/null)
like "$out" 'slowest rules \(time in the rule' "text: the slowest rules"
like "$(printf '%s\n' "$out" | sed -n '/^slowest rules/,/^$/p' | sed -n 3p)" \
     '^ +[0-9.]+ us +[0-9.]+ us/evaluation +20 evaluations  heavy$' "text: the heavy rule comes first, with its figures"
# A large corpus is sampled: 1 message in 4 timed.
out=$(R --rules "$T/new.rules" --json "$T/maildir")
is "$(printf '%s' "$out" | jq -c '.timing.rule_time_sample')" 4 "over 1,000 messages: the rules of 1 message in 4 timed"
sum=$(printf '%s' "$out" | jq '[.timing.slowest_rules[].evaluations] | max')
[ "${sum:-0}" -gt 0 ] && [ "$sum" -le $(( (N + 3) / 4 * 3 )) ] &&
	ok "sampled evaluations stay within the sampled messages' recipients ($sum)" ||
	not_ok "sampled evaluations stay within the sampled messages' recipients" "max evaluations: $sum"

# Errors and exit codes.
printf 'X-Postern-Envelope: clientip=1\n\nx\n' > "$T/maildir/new/broken"
out=$(R --rules "$T/new.rules" --json "$T/maildir"); rc=$?
is "$rc" 0 "a message that does not parse does not stop the replay"
is "$(printf '%s' "$out" | jq -c '[.errors, (.error_list[0].message | endswith("new/broken"))]')" '[1,true]' \
   "it is counted and listed"
rm -f "$T/maildir/new/broken"
R --rules "$T/new.rules" 2>/dev/null; is "$?" 64 "no corpus: exit 64"
R "$T/maildir" 2>/dev/null; is "$?" 64 "no --rules: exit 64"
R --rules "$T/new.rules" --jobs 0 "$T/maildir" 2>/dev/null; is "$?" 64 "--jobs 0: exit 64"
R --rules "$T/new.rules" "$T/nothing" 2>/dev/null; is "$?" 66 "a missing corpus: exit 66"
printf 'rule x { when nosuch then accept; }\n' > "$T/bad.rules"
R --rules "$T/new.rules" --baseline "$T/bad.rules" "$T/maildir" 2>/dev/null; is "$?" 78 "a baseline that does not compile: exit 78"
"$POSTERN" replay --rules "$T/new.rules" --dns "$top_srcdir/tests/fixtures/cli/bad.zone" "$T/maildir" 2>/dev/null
is "$?" 65 "a bad --dns fixture: exit 65"
done_testing
