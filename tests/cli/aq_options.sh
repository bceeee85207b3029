#!/bin/sh
# after-queue-reject as a rule and tenant option, and audit rules that say
# what they would have done (issue 15), through postern check --after-queue,
# postern dump and postern replay. The LMTP side is tests/lmtp/aq_audit.sh.
#
# The policy (aq_options/agency.rules): the file keeps reject-if-spf-pass;
# the agency's tenant discards; its IP allowlist rule stays a 5xx. The
# DNS (tests/fixtures/cli/authors.zone): bank.example.com (p=reject) and
# shop.example.com send from 192.0.2.0/24 only; attacker.example.net
# (p=none) from 203.0.113.66.
. "$top_srcdir/tests/cli/tap.sh"
T=$TMPDIR_TEST
rules="$top_srcdir/tests/cli/aq_options/agency.rules"
zone="$top_srcdir/tests/fixtures/cli/authors.zone"

# msg FILE IP FROM [FIELD]: a message from IP with MAIL FROM and From FROM.
msg() {
	{ printf 'X-Postern-Envelope: client-ip=%s; helo=mx.example.net; mail-from=%s\n' "$2" "$3"
	  printf 'From: %s\nTo: bob@agency.example\nSubject: figures\n' "$3"
	  [ -n "$4" ] && printf '%s\n' "$4"
	  printf '\nThe figures.\n'; } > "$T/$1"
}
# check FILE ARGS...: postern check --after-queue --json for the agency's
# bob and example.net's alice.
check() {
	f=$1; shift
	"$POSTERN" check --rules "$rules" --dns "$zone" --rcpt bob@agency.example --rcpt alice@example.net \
		--after-queue "$@" "$T/$f" 2>"$T/err"
}
per_rcpt() { jq -r '.recipients[] | "\(.address) \(.decision) \(.applied) \(.rule) \(.smtp.code)"'; }

# --- The use case: a spoofed bank message from outside both ranges ---------
msg spoof.eml 198.51.100.9 test@bank.example.com
is "$(check spoof.eml --json | per_rcpt)" \
"bob@agency.example reject reject agency_ips 550
alice@example.net reject quarantine dmarc_reject 550" \
   "SPF failed: the agency's IP allowlist refusal stays a 5xx (rule option), the DMARC refusal is quarantined (file default)"
is "$(cat "$T/err")" "" "  and nothing on stderr"
like "$(check spoof.eml)" "recipient alice@example.net: reject \\(applied after queue: quarantine\\)" \
     "the text report says the DMARC refusal is quarantined after the queue"
out=$(check spoof.eml)
case $out in *"recipient bob@agency.example: reject (applied"*) not_ok "the allowlist refusal is applied as is" "$out" ;;
*) ok "the allowlist refusal is applied as is (no 'applied after queue' for bob)" ;; esac

# --- The tenant's option: from an agency address, DMARC failing ------------
msg tenant.eml 192.0.2.7 spoof@attacker.example.net
is "$(check tenant.eml --json | per_rcpt)" \
"bob@agency.example reject discard agency_dmarc 550
alice@example.net accept accept null 250" \
   "a rule without the option takes its tenant's (discard); outside the tenant nothing refuses"

# --- Without --after-queue nothing changes --------------------------------
is "$("$POSTERN" check --rules "$rules" --dns "$zone" --rcpt bob@agency.example --json "$T/spoof.eml" |
      jq -c '.recipients[0] | [.decision, has("applied")]')" '["reject",false]' \
   "without --after-queue: the decision, no applied member"

# --- The file's setting still decides where neither option is written ------
sed 's/^after-queue-reject reject-if-spf-pass;/after-queue-reject discard;/' "$rules" > "$T/discard.rules"
is "$("$POSTERN" check --rules "$T/discard.rules" --dns "$zone" --rcpt bob@agency.example \
      --rcpt alice@example.net --after-queue --json "$T/spoof.eml" | jq -r '[.recipients[].applied] | join(" ")')" \
   "reject discard" "after-queue-reject discard in the file: the rule's reject still wins, dmarc_reject discards"

# --- postern dump shows the option where it applies ------------------------
out=$("$POSTERN" dump "$rules")
is "$(printf '%s\n' "$out" | awk '/^  rule /{r=$2} /after-queue-reject/{print (r ? r : "settings") " " $2}')" \
"settings reject-if-spf-pass
agency_ips reject
agency_dmarc discard
no_reply_elsewhere reject" "dump: the setting, the rule's own, the tenant's (inherited), none on the others"

# --- Audit rules: what they would have done (check) --------------------------
msg reply.eml 192.0.2.7 test@bank.example.com 'Reply-To: <collect@elsewhere.example>'
out=$(check reply.eml --json)
is "$(printf '%s' "$out" | jq -c '.recipients[1] | [.decision, .rule, .audit, .tags, .logs, [.edits[].rule]]')" \
   '["accept",null,["no_reply_elsewhere"],[],[],["reply_elsewhere"]]' \
   "the audit rule decides nothing, and its tag, log and edits are not the recipient's"
is "$(printf '%s' "$out" | jq -c '.recipients[1].audit_rules')" \
   '[{"rule":"no_reply_elsewhere","decision":"reject","applied":"reject","smtp":{"code":550,"enhanced":"5.7.1","text":"replies go to elsewhere.example"},"tags":["reply-elsewhere"],"logs":["Reply-To elsewhere.example for From bank.example.com"]}]' \
   "audit_rules: the rule, what it would have decided and replied, its tag and log text"
out=$(check reply.eml)
like "$out" '  audit: no_reply_elsewhere matched \(not enforced\): would reject 550 5\.7\.1 "replies go to elsewhere\.example"' \
     "the text report: what the audit rule would have done"
like "$out" '    log: "Reply-To elsewhere\.example for From bank\.example\.com"' "  with its log text"
like "$out" '    tag: reply-elsewhere' "  and its tag"
msg quiet.eml 192.0.2.7 test@bank.example.com 'Reply-To: <desk@bank.example.com>'
is "$(check quiet.eml --json | jq -c '[.recipients[].audit_rules]')" '[[],[]]' \
   "Reply-To in the From domain: no audit rule matched, audit_rules is empty"
# An audit rule with no decision, and one whose reject would be quarantined.
printf 'rule watch mode audit { when true then tag "seen", log "seen ${client.ip}"; }\nrule hold mode audit { when spf == fail then reject "spf"; }\n' > "$T/audit.rules"
is "$("$POSTERN" check --rules "$T/audit.rules" --dns "$zone" --rcpt alice@example.net --after-queue --json "$T/spoof.eml" |
      jq -c '.recipients[0].audit_rules | map([.rule, .decision, .applied, .smtp.code, .tags, .logs])')" \
   '[["watch",null,null,null,["seen"],["seen 198.51.100.9"]],["hold","reject","quarantine",550,[],[]]]' \
   "an audit rule that only tags and logs has no decision; a would-be reject follows after-queue-reject (SPF failed: quarantine)"

# --- Audit rules in postern replay ------------------------------------------
mkdir "$T/corpus"
cp "$T/reply.eml" "$T/quiet.eml" "$T/spoof.eml" "$T/corpus/"
out=$("$POSTERN" replay --rules "$rules" --dns "$zone" --rcpt alice@example.net "$T/corpus" 2>"$T/err"); rc=$?
is "$rc:$(cat "$T/err")" "0:" "replay runs"
like "$out" 'audit rules matched \(not enforced\) for 1 recipient:' "replay: the audit section counts the recipients"
is "$(printf '%s\n' "$out" | sed -n '/^audit rules matched/,$p' | sed 1d)" \
"  $T/corpus/reply.eml alice@example.net:
    audit: no_reply_elsewhere matched (not enforced): would reject 550 5.7.1 \"replies go to elsewhere.example\"
      log: \"Reply-To elsewhere.example for From bank.example.com\"
      tag: reply-elsewhere" "replay: per message and recipient, the check report's audit lines"
out=$("$POSTERN" replay --rules "$rules" --dns "$zone" --rcpt alice@example.net --json "$T/corpus")
is "$(printf '%s' "$out" | jq -c '.audit | map([.message, .recipient, (.audit_rules | map([.rule, .decision, .smtp.text, .tags, .logs]))])')" \
   "[[\"$T/corpus/reply.eml\",\"alice@example.net\",[[\"no_reply_elsewhere\",\"reject\",\"replies go to elsewhere.example\",[\"reply-elsewhere\"],[\"Reply-To elsewhere.example for From bank.example.com\"]]]]]" \
   "replay --json: audit[] names the message and recipient, with the check report's audit_rules"
is "$("$POSTERN" replay --rules "$T/discard.rules" --dns "$zone" --json "$T/corpus" |
      jq -c '[(.audit | length), (.never_matched | index("no_reply_elsewhere"))]')" '[1,null]' \
   "the audit rule is not in never_matched"
out=$(printf 'rule r { when true then accept; }\n' > "$T/plain.rules"; "$POSTERN" replay --rules "$T/plain.rules" --dns "$zone" "$T/corpus")
case $out in *"audit rules matched"*) not_ok "no audit section without audit matches" "$out" ;;
*) ok "no audit section when no audit rule matched" ;; esac
is "$("$POSTERN" replay --rules "$T/plain.rules" --dns "$zone" --json "$T/corpus" | jq -c '.audit')" '[]' \
   "replay --json: audit is an empty array then"

done_testing
