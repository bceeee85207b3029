#!/bin/sh
# postern check: the envelope from options and X-Postern-Envelope, exit
# codes, --dns validation, --trace, stdin.
. "$top_srcdir/tests/cli/tap.sh"
fx="$top_srcdir/tests/fixtures/cli"
q() { printf '%s' "$1" | jq -c "$2"; }

out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --json "$fx/envelope.eml"); rc=$?
is "$rc" 0 "check exits 0"
is "$(q "$out" '.recipients | map(.address)')" '["x@example.org","y@example.org"]' \
   "rcpt from every leading X-Postern-Envelope field, in order"
is "$(q "$out" '.recipients[0].edits')" '[{"op":"add-header","name":"X-Untrusted","value":"203.0.113.5","rule":"untrusted_tag"}]' \
   "client-ip from X-Postern-Envelope, interpolated"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --json --client-ip 192.0.2.9 --rcpt r@example.org "$fx/envelope.eml")
is "$(q "$out" '[.recipients[0].address, (.recipients[0].edits | length), (.recipients | length)]')" '["r@example.org",0,1]' \
   "options win over X-Postern-Envelope (client-ip and rcpt)"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --json "$fx/noenvelope.eml")
is "$(q "$out" '.recipients | map(.address)')" '["z@example.org"]' "without any rcpt, the first To: address"
is "$(q "$out" '.recipients[0].edits | map(.value)')" '["(unknown)"]' \
   "an unknown client IP matches nothing, so 'not in' holds (postern.rules(5)), and interpolates as (unknown)"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --json --mail-from '<>' --client-ip 203.0.113.5 "$fx/noenvelope.eml")
is "$(q "$out" '.recipients[0] | [.decision, .rule]')" '["accept","null_sender_ok"]' "--mail-from '<>' is the null sender"
out=$(cat "$fx/noenvelope.eml" | "$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --json --client-ip 203.0.113.5 -)
is "$(q "$out" '.recipients[0].edits[0].value')" '"203.0.113.5"' "the message can come from stdin"

printf 'rule t { when true then tag "seen", log "hello ${rcpt}"; }\n' > "$TMPDIR_TEST/tag.rules"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/tag.rules" --json "$fx/noenvelope.eml")
is "$(q "$out" '[.rules[0].matched_for, .recipients[0].tags, .recipients[0].logs]')" \
   '[["z@example.org"],["seen"],["hello z@example.org"]]' \
   "a rule that only tags and logs shows in matched_for without --trace; tags and logs are reported"

out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --trace --client-ip 203.0.113.5 "$fx/noenvelope.eml")
like "$out" 'untrusted_tag .*matched' "--trace shows the rule that matched"
like "$out" 'client.ip = 203.0.113.5' "--trace shows the facts a rule read"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" "$fx/noenvelope.eml")
like "$out" 'recipient z@example.org: accept' "the text report names each recipient's decision"

out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --dns "$fx/good.zone" --json "$fx/noenvelope.eml"); rc=$?
is "$rc" 0 "a valid --dns fixture is accepted"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --dns "$fx/bad.zone" "$fx/noenvelope.eml" 2>&1); rc=$?
is "$rc" 65 "a bad --dns fixture exits 65"
like "$out" 'bad.zone:1:[0-9]+: error' "the fixture error names file:line:col"
like "$out" 'bad.zone:2:[0-9]+: error' "every fixture error is reported"

"$POSTERN" check --json "$fx/noenvelope.eml" 2>/dev/null; is "$?" 64 "--rules missing: exit 64"
"$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" 2>/dev/null; is "$?" 64 "no message: exit 64"
"$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --bogus x 2>/dev/null; is "$?" 64 "an unknown option: exit 64"
"$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" "$TMPDIR_TEST/none.eml" 2>/dev/null; is "$?" 66 "a missing message: exit 66"
# A directory is no message (issue 16): 66 and a pointer to replay, not 74.
mkdir -p "$TMPDIR_TEST/folder"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" "$TMPDIR_TEST/folder" 2>"$TMPDIR_TEST/err"); rc=$?
is "$rc:$out" "66:" "a directory as the message: exit 66, nothing on stdout"
is "$(cat "$TMPDIR_TEST/err")" "postern: $TMPDIR_TEST/folder is a directory, not a message; postern replay reads every message of a Maildir or a folder" \
   "and stderr says it is a directory and names postern replay"
# Numbers (util/number.h): the whole argument is the number, in range.
for bad in '' '+5' '-0' ' 5' '5x' '99999999999999999999'; do
	err=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --now "$bad" \
	      "$fx/noenvelope.eml" 2>&1 >/dev/null); rc=$?
	is "$rc" 64 "--now '$bad': exit 64"
	case $err in
	*"--now wants seconds since the epoch, not '$bad'"*) ok "--now '$bad': says why" ;;
	*) not_ok "--now '$bad': says why" "$err" ;;
	esac
done
"$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --now 0017 "$fx/noenvelope.eml" \
	>/dev/null 2>&1; is "$?" 0 "--now with leading zeros is a number"
"$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/none.rules" "$fx/noenvelope.eml" 2>/dev/null; is "$?" 78 "a missing rule file: exit 78"
printf 'rule x { when nosuch.fact then accept; }\n' > "$TMPDIR_TEST/bad.rules"
err=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/bad.rules" "$fx/noenvelope.eml" 2>&1); rc=$?
is "$rc" 78 "rules that do not compile: exit 78"
like "$err" 'bad.rules:1:[0-9]+: error: ' "and the diagnostics are printed"
printf 'X-Postern-Envelope: clientip=192.0.2.1\n\nbody\n' > "$TMPDIR_TEST/badenv.eml"
err=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" "$TMPDIR_TEST/badenv.eml" 2>&1); rc=$?
is "$rc" 65 "a bad X-Postern-Envelope key: exit 65"
like "$err" "did you mean 'client-ip'" "with a suggestion"
"$POSTERN" check --dns "$fx/empty.zone" --rules "$fx/simple.rules" --client-ip 300.1.2.3 "$fx/noenvelope.eml" 2>/dev/null
is "$?" 65 "a bad --client-ip: exit 65"
# dns-max-questions: the questions of one message are capped; once spent,
# a question is answered as a timeout, so SPF through a chain of includes
# is temperror instead of pass, and the JSON counts only the questions asked.
cat > "$TMPDIR_TEST/chain.zone" <<'EOF'
chain.example.      300 IN TXT "v=spf1 include:a.chain.example. -all"
a.chain.example.    300 IN TXT "v=spf1 include:b.chain.example. -all"
b.chain.example.    300 IN TXT "v=spf1 include:c.chain.example. -all"
c.chain.example.    300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
EOF
printf 'From: a@chain.example\r\nSubject: s\r\n\r\nbody\r\n' > "$TMPDIR_TEST/chain.eml"
printf 'rule r { when spf == pass then tag "spf-pass"; }\n' > "$TMPDIR_TEST/q.rules"
printf 'dns-max-questions 3;\nrule r { when spf == pass then tag "spf-pass"; }\n' > "$TMPDIR_TEST/q3.rules"
out=$("$POSTERN" check --dns "$TMPDIR_TEST/chain.zone" --rules "$TMPDIR_TEST/q.rules" --json \
	--client-ip 192.0.2.7 --mail-from x@chain.example --rcpt r@example.org "$TMPDIR_TEST/chain.eml")
is "$(q "$out" '[.auth.spf.result, (.dns.queries > 3)]')" '["pass",true]' "the default question budget lets a 4-record SPF chain pass"
out=$("$POSTERN" check --dns "$TMPDIR_TEST/chain.zone" --rules "$TMPDIR_TEST/q3.rules" --json \
	--client-ip 192.0.2.7 --mail-from x@chain.example --rcpt r@example.org "$TMPDIR_TEST/chain.eml")
is "$(q "$out" '[.auth.spf.result, .dns.queries]')" '["temperror",3]' "dns-max-questions 3: the fourth question is refused, spf=temperror"
printf 'dns-max-questions 0;\n' > "$TMPDIR_TEST/q0.rules"
out=$("$POSTERN" lint "$TMPDIR_TEST/q0.rules" 2>&1); rc=$?
is "$rc" 1 "dns-max-questions 0 does not compile"
like "$out" 'q0.rules:1:[0-9]+: error: .*dns-max-questions' "and the error names the setting at file:line:col"

# Facts compared with facts (issue 13): the right side of != is the fact
# envelope.from.domain, not the text "envelope.from.domain".
cat > "$TMPDIR_TEST/facts.rules" <<'EOF'
rule envelope_mismatch {
  when from.domain != envelope.from.domain
  then reject 550 5.7.1 "From ${from.domain} is not MAIL FROM ${envelope.from.domain}";
}
EOF
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/facts.rules" --json \
	--mail-from bounce@other.example --rcpt r@example.org "$fx/noenvelope.eml")
is "$(q "$out" '.recipients[0] | [.decision, .rule, .smtp.text]')" \
   '["reject","envelope_mismatch","From example.net is not MAIL FROM other.example"]' \
   "from.domain != envelope.from.domain: a mismatching message is rejected"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/facts.rules" --json \
	--mail-from bounce@Example.NET --rcpt r@example.org "$fx/noenvelope.eml")
is "$(q "$out" '.recipients[0] | [.decision, .rule]')" '["accept",null]' \
   "and a matching one (any case) is accepted"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/facts.rules" --json \
	--rcpt r@example.org "$fx/noenvelope.eml")
is "$(q "$out" '.recipients[0].decision')" '"accept"' \
   "with the MAIL FROM unknown the comparison is false, != included"
out=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/facts.rules" --json --trace \
	--mail-from bounce@other.example --rcpt r@example.org "$fx/noenvelope.eml")
is "$(q "$out" '.trace[0].rules[0].facts | map(.name + "=" + .value)')" \
   '["from.domain=example.net","envelope.from.domain=other.example"]' \
   "--trace shows both sides' values"
sed 's/envelope\.from\.domain$/envelope.from.domian/' "$TMPDIR_TEST/facts.rules" > "$TMPDIR_TEST/typo.rules"
err=$("$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/typo.rules" "$fx/noenvelope.eml" 2>&1); rc=$?
is "$rc" 78 "a misspelt fact on the right does not compile"
like "$err" "typo.rules:2:23: error: unknown fact 'envelope.from.domian'; did you mean 'envelope.from.domain'\?" \
   "and the error says which fact was meant, at file:line:col"

# set from.display keeps a quoted local part quoted: the delivered From
# parses back to the same address.
printf 'rule r { when true then set from.display "Support"; }\n' > "$TMPDIR_TEST/disp.rules"
printf 'From: Jane <"a b"@example.com>\r\nSubject: s\r\n\r\nbody\r\n' > "$TMPDIR_TEST/quoted.eml"
"$POSTERN" check --dns "$fx/empty.zone" --rules "$TMPDIR_TEST/disp.rules" --rcpt r@example.org \
	--output "$TMPDIR_TEST/quoted.out" "$TMPDIR_TEST/quoted.eml" >/dev/null
is "$(grep '^From:' "$TMPDIR_TEST/quoted.out" | tr -d '\r')" 'From: "Support" <"a b"@example.com>' \
   "set from.display: a quoted local part stays quoted"

done_testing
