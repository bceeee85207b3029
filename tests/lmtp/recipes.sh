#!/bin/sh
# Issue 15: scenario 12 (examples/scenario-12-gateway-recipes) through
# "postern lmtp", sent the way Postfix sends (examples/lmtp-send.py:
# XFORWARD with the client IP): the reply each recipient gets and the
# copies delivered or quarantined. The same recipes as the scenario's suite
# (postern test) and "postern check --output", here in LMTP position.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
S="$top_srcdir/examples/scenario-12-gateway-recipes"
start_lmtp --rules "$S/policy.rules" --dns "$S/dns.zone"

send() { python3 "$top_srcdir/examples/lmtp-send.py" "127.0.0.1:$PORT" "$S/$1.eml"; }
# reply RCPT OUTPUT: the reply line that recipient got
reply() { printf '%s\n' "$2" | sed -n "s/^  $1 *//p" | tr -d '\r'; }
# copy DOMAIN USER [FOLDER]: the one copy in that Maildir folder, CR removed
copy() { cat "$MD/$1/$2/${3:+.$3/}new/"* 2>/dev/null | tr -d '\r'; }
count() { ls "$MD/$1/$2/${3:+.$3/}new/" 2>/dev/null | wc -l | tr -d ' '; }
field() { printf '%s\n' "$1" | sed -n "s/^$2: //p"; }

# Sales: the company name goes, the person's name stays; [EXT] is dropped.
out=$(send offer)
like "$(reply sam@sales.example.org "$out")" '^250 2\.0\.0' "offer: sales accepts"
like "$(reply hana@hr.example.org "$out")" '^250 2\.0\.0' "offer: HR accepts (no attachment)"
c=$(copy sales.example.org sam)
is "$(field "$c" From)" '"Jane Roe" <jane@partner.example>' "offer: the delivered From keeps the person's name only"
is "$(field "$c" X-Original-From)" '"Jane Roe, Acme Corp" <jane@partner.example>' "offer: the original From is kept"
is "$(field "$c" Subject)" 'Quarterly offer' "offer: [EXT] is gone from the Subject"
is "$(field "$c" X-Reply-Elsewhere)" '' "offer: Reply-To in the author's domain is not marked"
c=$(copy hr.example.org hana)
is "$(field "$c" From)" '"Jane Roe, Acme Corp" <jane@partner.example>' "offer: HR's copy is as received"
is "$(field "$c" Subject)" '[EXT] Quarterly offer' "offer: HR's Subject is as received (the banner is audit only)"

# A non-ASCII name and subject are re-encoded.
rm -rf "$MD/sales.example.org/sam/new/"*
send greeting >/dev/null
c=$(copy sales.example.org sam)
is "$(field "$c" From)" '=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@partner.example>' "greeting: the new name is RFC 2047-encoded"
is "$(field "$c" Subject)" '=?UTF-8?B?R3LDvMOfZSBhdXMgSGFtYnVyZw==?=' "greeting: the substituted Subject too"

# An executable attachment is refused; SPF passed, so the 550 stays.
rm -rf "$MD/sales.example.org/sam/new/"*
out=$(send invoice)
is "$(reply sam@sales.example.org "$out")" '550 5.7.1 attachments of type .exe are refused' \
   "invoice: the .exe (an RFC 2231 name) is refused with its extension"
is "$(count sales.example.org sam)" 0 "invoice: no copy delivered"

# HR refuses the attachment; sales gets the copy marked Reply-To elsewhere.
out=$(send report)
is "$(reply hana@hr.example.org "$out")" '550 5.7.1 HR takes no attachments by mail; please use the upload portal' \
   "report: HR refuses the attachment"
like "$(reply sam@sales.example.org "$out")" '^250 2\.0\.0' "report: sales accepts"
is "$(field "$(copy sales.example.org sam)" X-Reply-Elsewhere)" 'collect.example' \
   "report: sales' copy says where replies would go"

# The forged bank mail: the agency's allowlist refusal stays a 550; the
# DMARC refusal of SPF-less mail is quarantined, never bounced.
out=$(send phish)
is "$(reply alice@agency.example "$out")" "550 5.7.1 agency mail comes only from the agency's relays, not 203.0.113.9" \
   "phish: the agency's rule keeps its 550 (after-queue-reject reject on the rule)"
like "$(reply sam@sales.example.org "$out")" '^250 ' "phish: sales' refusal is accepted for quarantine"
is "$(count sales.example.org sam Quarantine)" 1 "phish: into sales' Quarantine folder"
is "$(count agency.example alice)" 0 "phish: nothing delivered to the agency"

stop_lmtp
is "$STOP_RC" 0 "postern lmtp stopped cleanly"
sam=$(jq -c 'select(.rcpt? == "sam@sales.example.org")' "$LOG")
is "$(printf '%s\n' "$sam" | jq -sc 'map(select(.rule == "dmarc_reject") | [.decision, .applied])')" '[["reject","quarantine"]]' \
   "the log line of sales' phish copy: reject, applied as quarantine, by dmarc_reject"
is "$(printf '%s\n' "$sam" | jq -sc 'map(select(.rule == null) | .audit_rules | map(.rule)) | unique')" '[["external_banner"]]' \
   "the log lines of sales' accepted copies name the audit rule that matched (external_banner)"
check_stderr
done_testing
