#!/bin/sh
# Scenarios 6, 7 and 8 (examples/) through "postern check --json":
# per-recipient decisions, SMTP replies, deciding rules and edits, and
# --output copies that differ from the input only in the edited fields.
. "$top_srcdir/tests/cli/tap.sh"
ex="$top_srcdir/examples"

# check RULES MESSAGE [OPTIONS...]: the JSON report, or "" on failure.
check() {
	rules=$1; msg=$2; shift 2
	"$POSTERN" check --rules "$rules" --dns "$(dirname "$msg")/dns.zone" --json "$@" "$msg" 2>"$TMPDIR_TEST/stderr"
}
# q JSON FILTER: one jq value, compact.
q() { printf '%s' "$1" | jq -c "$2"; }

# --- Scenario 6: static-IP allowlist for agency.example -----------------
s6="$ex/scenario-06-static-ip"
out=$(check "$s6/policy.rules" "$s6/outside.eml"); rc=$?
is "$rc" 0 "s6 outside: check exits 0 whatever the decision"
is "$(q "$out" .decision)" '"mixed"' "s6 outside: recipients disagree (mixed)"
is "$(q "$out" '.recipients[0] | [.address, .decision, .smtp.code, .smtp.enhanced, .smtp.text, .rule]')" \
   '["alice@agency.example","reject",550,"5.7.1","sending IP 203.0.113.9 is not on the allowlist","only_known_ips"]' \
   "s6 outside: the agency recipient is rejected with the rule's text"
is "$(q "$out" '.recipients[1] | [.address, .decision, .smtp.code, .rule]')" \
   '["bob@example.org","accept",250,null]' "s6 outside: the other tenant accepts (implicit)"
is "$(q "$out" '.rules[] | select(.name=="only_known_ips") | .matched_for')" '["alice@agency.example"]' \
   "s6 outside: rules[] says for whom the rule matched"

out=$(check "$s6/policy.rules" "$s6/listed-v4.eml")
is "$(q "$out" '[.decision, (.recipients | length)]')" '["accept",2]' "s6 listed IPv4 relay: accepted for both"
out=$(check "$s6/policy.rules" "$s6/listed-v6.eml")
is "$(q "$out" '.recipients[0] | [.address, .decision]')" '["carol@sub.agency.example","accept"]' \
   "s6 listed IPv6 range, subdomain recipient: accepted"
out=$(check "$s6/policy.rules" "$s6/outside.eml" --client-ip ::ffff:192.0.2.25)
is "$(q "$out" .decision)" '"accept"' "s6 an IPv4-mapped IPv6 client matches its IPv4 block"
out=$(check "$s6/policy.rules" "$s6/outside.eml" --client-ip 2001:db8:200::1)
is "$(q "$out" '.recipients[0].decision')" '"reject"' "s6 an IPv6 client outside the range is rejected"
out=$(check "$s6/policy.rules" "$s6/outside.eml" --client-ip 198.51.100.7 --rcpt dave@agency.example)
is "$(q "$out" '.recipients | map([.address, .decision])')" '[["dave@agency.example","accept"]]' \
   "s6 --rcpt replaces the envelope's recipients; a single listed host is accepted"

# after-queue-reject: reject (the file's setting) keeps the 5xx; the default
# (reject-if-spf-pass) quarantines when SPF did not pass.
out=$(check "$s6/policy.rules" "$s6/outside.eml" --after-queue)
is "$(q "$out" '.recipients | map(.applied)')" '["reject","accept"]' \
   "s6 --after-queue with after-queue-reject reject: one 550, one 250"
grep -v '^after-queue-reject' "$s6/policy.rules" > "$TMPDIR_TEST/default.rules"
out=$(check "$TMPDIR_TEST/default.rules" "$s6/outside.eml" --after-queue)
is "$(q "$out" '.recipients | map([.decision, .applied])')" '[["reject","quarantine"],["accept","accept"]]' \
   "s6 --after-queue with the default: the refused copy is quarantined (SPF did not pass)"

out=$(check "$s6/policy.rules" "$s6/outside.eml")
is "$(q "$out" '[(.auth.dkim | map([.domain, .result, .aligned])), .auth.dmarc.result]')" \
   '[[["example.net","pass",true]],"pass"]' "s6 outside: signed by example.net, DMARC passes, rejected all the same"
for m in listed-v4 listed-v6; do
	out=$(check "$s6/policy.rules" "$s6/$m.eml")
	is "$(q "$out" '.auth.dkim | map([.domain, .result])')" '[["example.com","pass"]]' "s6 $m: signed by example.com"
done

# --- Scenario 7: required X-Classification ------------------------------
s7="$ex/scenario-07-required-header"
for case in missing:reject secret:reject lower:reject official:accept; do
	name=${case%%:*}; want=${case#*:}
	out=$(check "$s7/policy.rules" "$s7/$name.eml")
	is "$(q "$out" '.recipients[0].decision')" "\"$want\"" "s7 $name: the defence tenant says $want"
	is "$(q "$out" '.recipients[1].decision')" '"accept"' "s7 $name: the other recipient is accepted"
done
out=$(check "$s7/policy.rules" "$s7/missing.eml")
is "$(q "$out" '[(.auth.dkim | map([.domain, .result, .aligned])), .auth.dmarc.result]')" \
   '[[["example.com","pass",true]],"pass"]' "s7 missing: signed by example.com, DMARC passes; the header is still required"
is "$(q "$out" '.recipients[0].smtp | [.code, .enhanced, .text]')" \
   '[550,"5.7.0","X-Classification header required"]' "s7 missing: the rule's code and text"

# --- Scenario 8: header rewriting per tenant ----------------------------
s8="$ex/scenario-08-header-rewriting"
out=$(check "$s8/policy.rules" "$s8/offer.eml" --output "$TMPDIR_TEST/out")
is "$(q "$out" '.decision')" '"accept"' "s8 every recipient is accepted"
is "$(q "$out" '.recipients[0].edits | map([.op, .value])')" '[["set-from-display",""]]' \
   "s8 sales: From display stripped"
is "$(q "$out" '.recipients[1].edits | map([.op, .name])')" '[["remove-header","X-Internal-Route"]]' \
   "s8 ops: the internal routing header removed"
is "$(q "$out" '.recipients[2].edits | map([.op, .name, .value])')" \
   '[["prepend-subject",null,"[EXTERNAL] "],["add-header","X-External-Sender","yes"]]' \
   "s8 hr: subject tag and header added"
for i in 1 2 3; do
	if cmp -s "$TMPDIR_TEST/out.$i" "$s8/expected.$i.eml"; then
		ok "s8 --output copy $i equals the golden file byte for byte"
	else
		not_ok "s8 --output copy $i equals the golden file byte for byte" \
		       "$(diff "$s8/expected.$i.eml" "$TMPDIR_TEST/out.$i" | head -20)"
	fi
done
# The copies differ from the input (less its X-Postern-Envelope line) only
# in the edited fields.
sed 1d "$s8/offer.eml" > "$TMPDIR_TEST/input"
d1=$(diff "$TMPDIR_TEST/input" "$TMPDIR_TEST/out.1" | grep '^[<>]' | tr -d '\r')
is "$d1" "$(printf '%s\n' '< From: "Jane Roe, Acme Corp" <jane@example.net>' '> X-Original-From: "Jane Roe, Acme Corp" <jane@example.net>' '> From: jane@example.net' | sort -r | sort -k1,1 -s)" \
   "s8 copy 1 differs only in From (and X-Original-From keeps the original)"
d2=$(diff "$TMPDIR_TEST/input" "$TMPDIR_TEST/out.2" | grep '^[<>]' | tr -d '\r')
is "$d2" "< X-Internal-Route: edge-3/pool-b" "s8 copy 2 differs only by the removed header"
d3=$(diff "$TMPDIR_TEST/input" "$TMPDIR_TEST/out.3" | grep '^[<>]' | tr -d '\r' | sort)
is "$d3" "$(printf '%s\n' '< Subject: Quarterly offer' '> Subject: [EXTERNAL] Quarterly offer' '> X-External-Sender: yes' | sort)" \
   "s8 copy 3 differs only in Subject and the added header"
# The message is signed by example.net (d=example.net, key in dns.zone);
# each tenant's edit touches a signed field (From, X-Internal-Route,
# Subject), so the edited copies no longer verify.
out=$(check "$s8/policy.rules" "$s8/offer.eml")
is "$(q "$out" '.auth.dkim | map([.domain, .result, .aligned])')" '[["example.net","pass",true]]' \
   "s8 the message as received: the example.net signature passes, aligned"
for i in 1 2 3; do
	out=$("$POSTERN" check --rules "$s8/policy.rules" --dns "$s8/dns.zone" --json "$TMPDIR_TEST/out.$i")
	is "$(q "$out" '.auth.dkim | map([.domain, .result])')" '[["example.net","fail"]]' \
	   "s8 copy $i: the edit broke the signature"
done
tail -c 29 "$TMPDIR_TEST/out.1" | od -c | grep -q '\\r  \\n' && ok "s8 copies keep CRLF line endings" || not_ok "s8 copies keep CRLF line endings"

done_testing
