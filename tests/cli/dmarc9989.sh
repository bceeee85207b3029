#!/bin/sh
# RFC 9989 DMARC (issue 17) through postern check --json and postern lmtp:
# the DNS tree walk decides organizational domains (psd=y at bank.example
# makes giant. and mega.bank.example two organizations, where the Public
# Suffix List made them one), t=y lowers the policy one step and says so in
# the JSON and in the Authentication-Results reason, pct no longer samples,
# and pct-seed draws a lint warning. DNS: tests/cli/dmarc9989/dns.zone.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
dir="$top_srcdir/tests/cli/dmarc9989"
T=$TMPDIR_TEST

# msg FROM-DOMAIN FILE: a small message from someone@FROM-DOMAIN.
msg() { printf 'From: someone@%s\r\nTo: bob@example.net\r\nSubject: s\r\n\r\nbody\r\n' "$1" > "$2"; }
# chk FROM-DOMAIN MAIL-FROM [OPTIONS...]: the JSON report, client 192.0.2.7.
chk() {
	msg "$1" "$T/m.eml"
	"$POSTERN" check --rules "$dir/policy.rules" --dns "$dir/dns.zone" --json \
		--client-ip 192.0.2.7 --mail-from "$2" "$T/m.eml" 2>>"$T/check.err"
}
dm='.auth.dmarc | [.result, .policy, .published_policy, .record_domain, .testing, .spf_aligned] | @csv'

out=$(chk giant.bank.example x@mega.bank.example)
is "$(q "$out" "$dm")" '"fail","reject","reject","giant.bank.example",false,false' \
   "psd=y at bank.example: SPF for mega.bank.example does not align with giant.bank.example"
is "$(q "$out" .auth.spf.result)" pass "  (SPF itself passed)"
like "$(q "$out" .authentication_results)" 'dmarc=fail header\.from=giant\.bank\.example policy\.dmarc=reject' \
   "  and the Authentication-Results field says dmarc=fail"

out=$(chk giant.bank.example x@giant.bank.example)
is "$(q "$out" "$dm")" '"pass","reject","reject","giant.bank.example",false,true' \
   "the same organization's MAIL FROM aligns"

out=$(chk mail.shop.bank.example x@mega.bank.example)
is "$(q "$out" "$dm")" '"fail","reject","reject","bank.example",false,false' \
   "no record below the PSD: the public suffix domain's record applies"

out=$(chk testing.example.com x@elsewhere.example)
is "$(q "$out" "$dm")" '"fail","quarantine","reject","testing.example.com",true,false' \
   "t=y: p=reject is applied as quarantine, and testing is true"
like "$(q "$out" .authentication_results)" 'dmarc=fail reason="t=y: quarantine for p=reject" header\.from=testing\.example\.com policy\.dmarc=quarantine' \
   "  the Authentication-Results field gives the reason"

out=$(chk pct.example.com x@elsewhere.example)
is "$(q "$out" "$dm")" '"fail","reject","reject","pct.example.com",false,false' \
   "pct=0 is ignored (RFC 9989 removed pct): reject stays reject"
is "$(q "$out" '.auth.dmarc | has("pct")')" false "  and the JSON has no pct any more"
is "$(cat "$T/check.err")" "" "check wrote nothing on stderr"

# --- pct-seed: a warning, not an error ------------------------------------
printf 'pct-seed 7;\nrule r { when true then accept; }\n' > "$T/seed.rules"
err=$("$POSTERN" lint "$T/seed.rules" 2>&1 >/dev/null); rc=$?
is "$rc" 0 "lint accepts a rule file still setting pct-seed (exit 0)"
like "$err" 'seed\.rules:1:1: warning: pct-seed has no effect: RFC 9989 removed the DMARC pct tag' \
   "  with a warning that says it does nothing"

# --- Through postern lmtp: the delivered copies ----------------------------
start_lmtp --rules "$dir/policy.rules" --dns "$dir/dns.zone"
# send FROM-DOMAIN MAIL-FROM RCPT: one transaction from 192.0.2.7.
send() {
	printf '%s\n' 'LHLO client.test' 'XFORWARD ADDR=192.0.2.7 HELO=mx.example.net NAME=mx.example.net' \
		"MAIL FROM:<$2>" "RCPT TO:<$3>" 'DATA' '<<354' \
		"From: someone@$1\\r\\nTo: $3\\r\\nSubject: s\\r\\n\\r\\nbody" '.' 'QUIT' | lmtpc "$PORT"
}
copy() { ls -t "$1"/new/* 2>/dev/null | head -1; }
# field NAME FILE: the header field NAME of FILE, unfolded, without CR.
field() { awk -v n="$1" 'BEGIN { n = tolower(n) ":" } /^\r?$/ { exit }
	on && /^[ \t]/ { printf "%s", $0; next } { on = 0 }
	tolower(substr($0, 1, length(n))) == n { on = 1; printf "%s", $0 } END { print "" }' "$2" | tr -d '\r'; }

like "$(send giant.bank.example x@mega.bank.example a@example.net)" '250 2\.0\.0' "lmtp: the giant/mega message is delivered"
f=$(copy "$MD/example.net/a")
is "$(field X-DMARC "$f")" "X-DMARC: fail reject giant.bank.example" \
   "lmtp: the copy's facts say dmarc fail, policy reject (the tree walk, not the PSL)"
like "$(field Authentication-Results "$f")" 'dmarc=fail header\.from=giant\.bank\.example policy\.dmarc=reject' \
   "lmtp: and its Authentication-Results field says dmarc=fail"

like "$(send testing.example.com x@elsewhere.example b@example.net)" '250 2\.0\.0' "lmtp: the t=y message is delivered"
f=$(copy "$MD/example.net/b")
is "$(field X-DMARC "$f")" "X-DMARC: fail quarantine testing.example.com" \
   "lmtp: t=y: the copy's dmarc.policy is quarantine"
like "$(field Authentication-Results "$f")" 'reason="t=y: quarantine for p=reject"' \
   "lmtp: and its Authentication-Results field gives the t=y reason"
line=$(grep '"rcpt":"b@example.net"' "$LOG" | tail -1)
is "$(q "$line" '.auth.dmarc.testing // "absent"')" "true" "lmtp: the log line says testing" 
stop_lmtp
is "$STOP_RC" 0 "postern lmtp exits 0 on SIGTERM"
done_testing
