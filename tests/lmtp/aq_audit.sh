#!/bin/sh
# Through postern lmtp (issue 15): after-queue-reject per rule and tenant
# decides each recipient's reply and where its copy goes; the log line of
# each recipient carries the audit rules that matched with what they would
# have done; the delivered copy carries the headers of rules reading
# reply_to.domain and sender.address. The policy is
# tests/cli/aq_options/agency.rules (see tests/cli/aq_options.sh), the DNS
# tests/fixtures/cli/authors.zone.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
rules="$top_srcdir/tests/cli/aq_options/agency.rules"
start_lmtp --rules "$rules" --dns "$top_srcdir/tests/fixtures/cli/authors.zone"

# send IP MAIL-FROM MESSAGE RCPT...: one transaction; the replies on stdout.
send() {
	ip=$1 from=$2 body=$3; shift 3
	set -- "$@"
	{ printf '%s\n' 'LHLO client.test' "XFORWARD ADDR=$ip HELO=mx.example.net NAME=mx.example.net" "MAIL FROM:<$from>"
	  for r in "$@"; do printf 'RCPT TO:<%s>\n' "$r"; done
	  printf '%s\n' 'DATA' '<<354' "$body" '.' 'QUIT'; } | lmtpc "$PORT"
}
# after_data REPLIES: the replies after DATA's 354 (one per recipient), codes and texts.
after_data() { printf '%s\n' "$1" | sed -n '/^354/,$p' | sed '1d' | grep -v '^221'; }
# log_of RCPT: the last log line for RCPT.
log_of() { grep "\"rcpt\":\"$1\"" "$LOG" | tail -1; }
# copy DIR: the newest message file under DIR/new.
copy() { ls -t "$1"/new/* 2>/dev/null | head -1; }

# --- A spoofed bank message from outside both ranges (SPF fails) ------------
spoof='From: test@bank.example.com\r\nTo: bob@agency.example, alice@example.net\r\nSubject: figures\r\n\r\nThe figures.'
out=$(send 198.51.100.9 test@bank.example.com "$spoof" bob@agency.example alice@example.net)
is "$(after_data "$out" | cut -d' ' -f1-2 | tr '\n' ' ')" "550 5.7.1 250 2.0.0 " \
   "the agency's allowlist refusal is a 550 (rule option), the DMARC refusal 250 (quarantined)"
like "$out" "550 5\\.7\\.1 agency mail comes only from the agency's servers" "  with the allowlist rule's text"
is "$(msgs_in "$MD/agency.example/bob"):$(msgs_in "$MD/agency.example/bob/.Quarantine")" "0:0" "bob has no copy"
is "$(msgs_in "$MD/example.net/alice/.Quarantine"):$(msgs_in "$MD/example.net/alice")" "1:0" \
   "alice's copy is in her .Quarantine, not her inbox"
is "$(q "$(log_of bob@agency.example)" '[.decision, .applied, .rule, .reply.code, .delivered] | @csv')" \
   '"reject","reject","agency_ips",550,false' "bob's log line: rejected and applied as a reject"
is "$(q "$(log_of alice@example.net)" '[.decision, .applied, .rule, .folder, .delivered] | @csv')" \
   '"reject","quarantine","dmarc_reject",".Quarantine",true' "alice's log line: rejected, applied as a quarantine"

# --- From the agency's range, DMARC failing: the tenant's discard ----------
att='From: spoof@attacker.example.net\r\nTo: bob@agency.example\r\nSubject: hello\r\n\r\nhi'
out=$(send 192.0.2.7 spoof@attacker.example.net "$att" bob@agency.example)
is "$(after_data "$out")" "250 2.0.0 Ok: discarded by policy" "a rule without the option takes its tenant's: discarded (250)"
is "$(msgs_in "$MD/agency.example/bob"):$(msgs_in "$MD/agency.example/bob/.Quarantine")" "0:0" "and no copy is stored"
is "$(q "$(log_of bob@agency.example)" '[.decision, .applied, .rule, .delivered] | @csv')" \
   '"reject","discard","agency_dmarc",false' "the log line: rejected, applied as a discard"

# --- An audit rule in the log line, facts in the delivered copy -------------
reply='From: test@bank.example.com\r\nSender: assistant@bank.example.com\r\nReply-To: <collect@elsewhere.example>\r\nTo: alice@example.net\r\nSubject: invoice\r\n\r\nPay here.'
out=$(send 192.0.2.7 test@bank.example.com "$reply" alice@example.net)
is "$(after_data "$out" | cut -d' ' -f1)" "250" "a message the audit rule matches is delivered"
f=$(copy "$MD/example.net/alice")
is "$(grep -c '^X-Reply-Elsewhere: elsewhere\.example' "$f")" 1 "the copy has X-Reply-Elsewhere: elsewhere.example (reply_to.domain)"
is "$(grep -c '^X-On-Behalf: assistant@bank\.example\.com' "$f")" 1 "and X-On-Behalf: assistant@bank.example.com (sender.address)"
line=$(log_of alice@example.net)
is "$(q "$line" '[.decision, .applied, .rule, .delivered] | @csv')" '"accept","accept",,true' \
   "the log line: accepted, the audit rule enforced nothing"
is "$(q "$line" '.audit_rules')" \
   '[{"rule":"no_reply_elsewhere","decision":"reject","applied":"reject","smtp":{"code":550,"enhanced":"5.7.1","text":"replies go to elsewhere.example"},"tags":["reply-elsewhere"],"logs":["Reply-To elsewhere.example for From bank.example.com"]}]' \
   "the log line's audit_rules: the rule, what it would have done (decision, applied, reply), its tag and log text"
is "$(grep -c 'X-Postern\|reply-elsewhere' "$f")" 0 "the audit rule's tag and log text are not in the copy"

# --- Reply-To in the From domain, no Sender: no header, no audit ------------
same='From: test@bank.example.com\r\nReply-To: <desk@bank.example.com>\r\nTo: alice@example.net\r\nSubject: invoice 2\r\n\r\nPay here.'
out=$(send 192.0.2.7 test@bank.example.com "$same" alice@example.net)
is "$(after_data "$out" | cut -d' ' -f1)" "250" "a message with Reply-To in the From domain is delivered"
f=$(grep -l '^Subject: invoice 2' "$MD/example.net/alice/new/"*)
is "$(grep -c '^X-Reply-Elsewhere:\|^X-On-Behalf:' "$f")" 0 "its copy has neither X-Reply-Elsewhere nor X-On-Behalf"
is "$(q "$(log_of alice@example.net)" '.audit_rules')" '[]' "its log line's audit_rules is empty"

stop_lmtp
is "$STOP_RC" 0 "postern lmtp stops cleanly"
done_testing
