#!/bin/sh
# Ambiguous authors (issue 13, the bad-input rows "no From, two From, ..."): the
# from.* facts say what is wrong with the From, DMARC is evaluated over
# every author domain with the strictest outcome (never none for a
# p=reject author), and the stock rules refuse such mail.
. "$top_srcdir/tests/cli/tap.sh"
zone="$top_srcdir/tests/fixtures/cli/authors.zone"
rules="$top_srcdir/rules/baseline.rules"

# msg FROM-LINE...: a message sent by the attacker's own server, whose
# MAIL FROM passes SPF for attacker.example.net.
msg() {
	{
		printf 'X-Postern-Envelope: client-ip=203.0.113.66; helo=mx.attacker.example.net; mail-from=x@attacker.example.net; rcpt=bob@example.net\n'
		for f in "$@"; do printf '%s\n' "$f"; done
		printf 'To: bob@example.net\nSubject: hello\n\nbody\n'
	} > "$TMPDIR_TEST/m.eml"
}
# check ARGS...: postern check --json with the stock rules.
check() {
	"$POSTERN" check --rules "$rules" --dns "$zone" --json "$@" "$TMPDIR_TEST/m.eml" 2>"$TMPDIR_TEST/err"
}
# dmarc: "result policy domain" of the JSON.
dmarc() {
	check | jq -r '.auth.dmarc | "\(.result) \(.policy) \(.domain)"'
}
# facts RULE-CONDITION: the decision of a one-rule file reading facts.
facts() {
	printf 'rule r { when %s then reject "${from.error}|${from.fields}|${from.count}"; }\n' "$1" > "$TMPDIR_TEST/f.rules"
	"$POSTERN" check --rules "$TMPDIR_TEST/f.rules" --dns "$zone" --json "$TMPDIR_TEST/m.eml" |
		jq -r '.recipients[0] | "\(.decision) \(.smtp.text)"'
}

# --- The control: one author, its own mail passes --------------------------
msg 'From: Spoof <spoof@attacker.example.net>'
is "$(dmarc)" "pass none attacker.example.net" "control: one author, its own DMARC passes"
is "$(facts 'from.valid')" "reject (unknown)|1|1" "control: from.valid, no from.error, 1 field, 1 address"
is "$(check | jq -r '.decision')" "accept" "control: the stock rules accept"

# --- Several author domains: every one is evaluated, the strictest wins ----
msg 'From: spoof@attacker.example.net, test@bank.example.com'
is "$(dmarc)" "fail reject bank.example.com" "two addresses: fail under bank's p=reject, not attacker's pass"
is "$(facts 'not from.valid')" "reject more than one address in From|1|2" "two addresses: from.error, from.fields 1, from.count 2"
out=$(check)
is "$(printf '%s' "$out" | jq -r '.recipients[0] | "\(.decision) \(.rule) \(.smtp.code) \(.smtp.enhanced)"')" \
   "reject ambiguous_author 550 5.7.1" "two addresses: the stock rules reject (ambiguous_author, 550 5.7.1)"
like "$(printf '%s' "$out" | jq -r '.recipients[0].smtp.text')" "more than one address in From" "the reply says why"
like "$(printf '%s' "$out" | jq -r '.authentication_results')" "dmarc=fail header.from=bank.example.com policy.dmarc=reject" \
     "Authentication-Results names the domain that failed"

msg 'From: a@shop.example.com, b@bank.example.com'
is "$(dmarc)" "fail reject bank.example.com" "quarantine and reject authors: the strictest policy (reject)"
msg 'From: b@bank.example.com, a@shop.example.com'
is "$(dmarc)" "fail reject bank.example.com" "the same in the other order"
msg 'From: a@club.example.com, a@shop.example.com'
is "$(dmarc)" "fail quarantine shop.example.com" "none and quarantine authors: quarantine"

msg 'From: spoof@attacker.example.net' 'From: test@bank.example.com'
is "$(dmarc)" "fail reject bank.example.com" "two From fields: fail under p=reject"
is "$(facts 'from.fields > 1')" "reject more than one From field|2|2" "two From fields: from.fields 2"

# --- Unreadable authors never turn p=reject into none -----------------------
msg 'From: =?utf-8?B?dGVzdEBiYW5rLmV4YW1wbGUuY29t?='
is "$(dmarc)" "fail reject bank.example.com" "an encoded-word standing in for the address: fail under p=reject"
is "$(check | jq -r '.recipients[0].rule')" "ambiguous_author" "and the stock rules refuse it"
msg 'From: "test@bank.example.com" <spoof@attacker.example.net>'
is "$(dmarc)" "fail reject bank.example.com" "a display name showing a p=reject address: fail under p=reject"
is "$(facts 'from.valid')" "reject (unknown)|1|1" "  (the From itself is well formed)"
msg 'From: "test@club.example.com" <spoof@attacker.example.net>'
is "$(dmarc)" "pass none attacker.example.net" "a display name showing a p=none address changes nothing"
msg 'From: <spoof@attacker.example.net> (test@bank.example.com)'
is "$(dmarc)" "fail reject bank.example.com" "a comment showing a p=reject address: fail"
printf 'From: test@bank.example.com\342\200\256\n' > "$TMPDIR_TEST/from"
msg "$(cat "$TMPDIR_TEST/from")"
is "$(dmarc)" "fail reject bank.example.com" "an invisible character after the domain: fail under p=reject"
is "$(facts 'not from.valid')" "reject invalid From domain|1|1" "  and from.error says the domain is invalid"

# --- The JSON report shows the author reading ------------------------------
msg 'From: "test@bank.example.com" <spoof@attacker.example.net>'
is "$(check | jq -c '.from')" \
   '{"valid":true,"error":null,"fields":1,"addresses":1,"address":"spoof@attacker.example.net","domain":"attacker.example.net","domains":[{"domain":"attacker.example.net","shown":false},{"domain":"bank.example.com","shown":true}]}' \
   "--json: from shows the author and every domain DMARC evaluated"
msg 'From: a@shop.example.com, b@bank.example.com' 'Subject: again'
is "$(check | jq -c '[.from.valid, .from.error, .from.fields, .from.addresses, .header.malformed, .header.duplicate]')" \
   '[false,"more than one address in From",1,2,false,"Subject"]' "--json: from and header for an ambiguous message"
like "$("$POSTERN" check --rules "$rules" --dns "$zone" "$TMPDIR_TEST/m.eml")" \
     'from: not one readable author: more than one address in From' "the text report says why the author is not readable"

# --- No author at all ----------------------------------------------------
msg
is "$(facts 'not from.valid')" "reject no From field|0|0" "no From: from.error, from.fields 0"
is "$(check | jq -r '.recipients[0] | "\(.decision) \(.rule)"')" "reject ambiguous_author" "no From: the stock rules refuse it"
msg 'From:'
is "$(facts 'not from.valid')" "reject empty From|1|0" "an empty From"
msg 'From: undisclosed-recipients:;'
is "$(facts 'not from.valid')" "reject no address in From|1|0" "an empty group"

# --- After the queue the refusal is a quarantine unless SPF passed ---------
msg 'From: spoof@attacker.example.net, test@bank.example.com'
is "$(check --after-queue | jq -r '.recipients[0].applied')" "reject" "after the queue: SPF passed, so the 5xx stays"
sed 's/client-ip=203.0.113.66/client-ip=198.51.100.9/' "$TMPDIR_TEST/m.eml" > "$TMPDIR_TEST/m2.eml"
mv "$TMPDIR_TEST/m2.eml" "$TMPDIR_TEST/m.eml"
is "$(check --after-queue | jq -r '.recipients[0].applied')" "quarantine" "after the queue: SPF failed, so quarantined"
done_testing
