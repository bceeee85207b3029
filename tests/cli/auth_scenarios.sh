#!/bin/sh
# Scenarios 1-5, 9, 10 and 11 (examples/) through "postern check
# --json": SPF, DKIM and DMARC results, decisions and SMTP replies, the
# Authentication-Results value, and --output copies that differ from the
# input only by our Authentication-Results field (and, behind a gateway,
# the forged one removed). DNS comes from each scenario's dns.zone, the
# time from --now (the signatures were made at 1795424400).
. "$top_srcdir/tests/cli/tap.sh"
ex="$top_srcdir/examples"
NOW=1795424700

# check DIR MESSAGE [OPTIONS...]: the JSON report of DIR/MESSAGE under
# DIR/policy.rules and DIR/dns.zone, or "" on failure.
check() {
	dir=$1; msg=$2; shift 2
	"$POSTERN" check --rules "$dir/policy.rules" --dns "$dir/dns.zone" --now "$NOW" --json "$@" \
		"$dir/$msg" 2>>"$TMPDIR_TEST/stderr" || echo "$msg $*: exit $?" >> "$TMPDIR_TEST/failed"
}
: > "$TMPDIR_TEST/stderr"; : > "$TMPDIR_TEST/failed"
# q JSON FILTER: one jq value, compact.
q() { printf '%s' "$1" | jq -c "$2"; }
# strip_ours FILE: FILE less every header field "Authentication-Results:
# mx.example.net; ..." (postern's authserv-id), continuation lines included.
strip_ours() {
	awk 'BEGIN { hdr = 1 }
	     hdr && /^\r?$/ { hdr = 0 }
	     hdr && skip && /^[ \t]/ { next }
	     { skip = 0 }
	     hdr && tolower($0) ~ /^authentication-results:[ \t]*mx\.example\.net[ \t]*;/ { skip = 1; next }
	     { print }' "$1"
}
# ours FILE: postern's field in FILE, unfolded (CRLFs of folding removed).
ours() {
	awk 'BEGIN { hdr = 1 }
	     hdr && /^\r?$/ { exit }
	     on && /^[ \t]/ { printf "%s", $0; next }
	     { on = 0 }
	     tolower($0) ~ /^authentication-results:[ \t]*mx\.example\.net[ \t]*;/ { on = 1; printf "%s", $0 }
	     END { print "" }' "$1" | tr -d '\r'
}
# same_but_ar DIR MESSAGE OUT DESCRIPTION: OUT carries our A-R field, equal
# to the JSON's authentication_results, and is otherwise byte-identical to
# the input less its X-Postern-Envelope line (and less any field with our
# id, which postern must have removed).
same_but_ar() {
	sed 1d "$1/$2" > "$TMPDIR_TEST/in"
	strip_ours "$TMPDIR_TEST/in" > "$TMPDIR_TEST/in.stripped"
	strip_ours "$3" > "$TMPDIR_TEST/out.stripped"
	want="Authentication-Results: $(q "$out" .authentication_results | jq -r .)"
	is "$(ours "$3")" "$want" "$4: --output carries our Authentication-Results (the JSON's value)"
	if cmp -s "$TMPDIR_TEST/in.stripped" "$TMPDIR_TEST/out.stripped"; then
		ok "$4: --output is otherwise byte-identical to the input"
	else
		not_ok "$4: --output is otherwise byte-identical to the input" \
		       "$(diff "$TMPDIR_TEST/in.stripped" "$TMPDIR_TEST/out.stripped" | head -20)"
	fi
}
spf='.auth.spf | [.result, .aligned]'
dkim='.auth.dkim | map([.domain, .result, .aligned])'
dmarc='.auth.dmarc | [.result, .policy]'

# --- Scenario 1: on-premise sender --------------------------------------
s1="$ex/scenario-01-on-premise"
out=$(check "$s1" report.eml --output "$TMPDIR_TEST/s1.out"); rc=$?
is "$rc" 0 "s1: check exits 0"
is "$(q "$out" "$spf")" '["pass",true]' "s1: spf=pass, aligned"
is "$(q "$out" "$dkim")" '[["example.com","pass",true]]' "s1: dkim=pass d=example.com, aligned"
is "$(q "$out" "$dmarc")" '["pass","reject"]' "s1: dmarc=pass (p=reject)"
is "$(q "$out" '[.decision, .recipients[0].smtp.code, .recipients[0].rule]')" '["accept",250,null]' "s1: accepted"
like "$(q "$out" .authentication_results)" '^"mx\.example\.net; spf=pass smtp\.mailfrom=alerts@example\.com; dkim=pass header\.d=example\.com .*; dmarc=pass header\.from=example\.com' \
     "s1: Authentication-Results says spf, dkim and dmarc pass"
same_but_ar "$s1" report.eml "$TMPDIR_TEST/s1.out" "s1"
out=$(check "$s1" report.eml --now 1795424000)
is "$(q "$out" '.auth.dkim[0].result')" '"permerror"' "s1: before the signing time (t= in the future) the signature is not valid"

# --- Scenario 2: provider default MAIL FROM (SES case) ------------------
s2="$ex/scenario-02-provider-default-mail-from"
out=$(check "$s2" offer.eml --output "$TMPDIR_TEST/s2.out")
is "$(q "$out" '.auth.spf | [.result, .domain, .aligned]')" '["pass","bounces.example.net",false]' \
   "s2: spf=pass for bounces.example.net, not aligned"
is "$(q "$out" "$dkim")" '[["shop.example.com","pass",true]]' "s2: dkim=pass d=shop.example.com, aligned"
is "$(q "$out" "$dmarc")" '["pass","reject"]' "s2: dmarc=pass through DKIM"
is "$(q "$out" '.recipients | map([.address, .decision, .rule])')" \
   '[["alice@example.org","accept",null],["treasury@bank.example.org","reject","require_spf_aligned"]]' \
   "s2: accepted without the strict rule, rejected by the strict tenant"
is "$(q "$out" '.recipients[1].smtp | [.code, .enhanced, .text]')" \
   '[550,"5.7.1","SPF for shop.example.com is not aligned (MAIL FROM bounces.example.net)"]' "s2: the strict tenant's reply"
same_but_ar "$s2" offer.eml "$TMPDIR_TEST/s2.out.1" "s2 copy 1"
sed "/^tenant/,/^}/d" "$s2/policy.rules" > "$TMPDIR_TEST/s2.rules"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/s2.rules" --dns "$s2/dns.zone" --now $NOW --json "$s2/offer.eml")
is "$(q "$out" '.recipients | map(.decision)')" '["accept","accept"]' "s2: without the strict tenant both are accepted"

# --- Scenario 3: provider custom MAIL FROM ------------------------------
s3="$ex/scenario-03-provider-custom-mail-from"
out=$(check "$s3" offer.eml --output "$TMPDIR_TEST/s3.out")
is "$(q "$out" '.auth.spf | [.result, .domain, .aligned]')" '["pass","mail.shop.example.com",true]' \
   "s3: spf=pass (include: of the provider) for mail.shop.example.com, aligned under relaxed"
is "$(q "$out" "$dkim")" '[["shop.example.com","pass",true]]' "s3: dkim=pass, aligned"
is "$(q "$out" '.auth.dmarc | [.result, .spf_aligned, .dkim_aligned]')" '["pass",true,true]' "s3: dmarc=pass, both aligned"
is "$(q "$out" '.recipients | map([.address, .decision])')" \
   '[["alice@example.org","accept"],["treasury@bank.example.org","accept"]]' "s3: the strict tenant accepts too"
same_but_ar "$s3" offer.eml "$TMPDIR_TEST/s3.out.2" "s3 copy 2"
# The same under strict SPF alignment (aspf=s): not aligned, DMARC still
# passes through DKIM, and the strict tenant rejects.
sed 's/p=reject"/p=reject; aspf=s"/' "$s3/dns.zone" > "$TMPDIR_TEST/s3.zone"
out=$("$POSTERN" check --rules "$s3/policy.rules" --dns "$TMPDIR_TEST/s3.zone" --now $NOW --json "$s3/offer.eml")
is "$(q "$out" '[.auth.spf.aligned, .auth.dmarc.result, (.recipients | map(.decision))]')" \
   '[false,"pass",["accept","reject"]]' "s3 with aspf=s: SPF not aligned, DMARC pass, the strict tenant rejects"

# --- Scenario 4: spoofed From --------------------------------------------
s4="$ex/scenario-04-spoofed-from"
for p in reject quarantine none; do
	out=$(check "$s4" $p.eml --output "$TMPDIR_TEST/s4-$p.out")
	is "$(q "$out" "[.auth.spf.result, ($dkim), .auth.dmarc.result, .auth.dmarc.policy]")" \
	   "[\"fail\",[[\"secure-login.example\",\"pass\",false]],\"fail\",\"$p\"]" \
	   "s4 p=$p: spf=fail, the phisher's own signature passes unaligned, dmarc=fail, policy $p"
	like "$(q "$out" .authentication_results)" '; spf=fail .*; dkim=pass header\.d=secure-login\.example.*; dmarc=fail header\.from=' \
	     "s4 p=$p: Authentication-Results says spf=fail, dkim=pass (secure-login.example), dmarc=fail"
	case $p in
	reject)
		is "$(q "$out" '.recipients[0] | [.decision, .smtp.code, .smtp.enhanced, .smtp.text, .rule]')" \
		   '["reject",550,"5.7.1","DMARC policy of bank.example.com says reject","dmarc_reject"]' \
		   "s4 p=reject: 550 5.7.1 by the DMARC rule" ;;
	quarantine)
		is "$(q "$out" '.recipients[0] | [.decision, .rule, .folder]')" '["quarantine","dmarc_quarantine",null]' \
		   "s4 p=quarantine: quarantined (the default quarantine folder)" ;;
	none)
		is "$(q "$out" '.recipients[0] | [.decision, .rule]')" '["accept",null]' "s4 p=none: accepted"
		like "$(ours "$TMPDIR_TEST/s4-none.out")" '^Authentication-Results: mx\.example\.net; .*dmarc=fail header\.from=club\.example\.com policy\.dmarc=none$' \
		     "s4 p=none: the delivered copy's Authentication-Results says dmarc=fail"
		same_but_ar "$s4" none.eml "$TMPDIR_TEST/s4-none.out" "s4 p=none" ;;
	esac
done
out=$(check "$s4" reject.eml --after-queue)
is "$(q "$out" '.recipients[0] | [.decision, .applied]')" '["reject","quarantine"]' \
   "s4 p=reject after the queue: quarantined, no bounce to the forged sender (SPF failed)"

# --- Scenario 5: altered in transit --------------------------------------
s5="$ex/scenario-05-altered-in-transit"
out=$(check "$s5" intact.eml)
is "$(q "$out" "[($dkim), .auth.dmarc.result]")" '[[["example.com","pass",true]],"pass"]' "s5 intact: dkim=pass, dmarc=pass"
out=$(check "$s5" altered.eml --output "$TMPDIR_TEST/s5.out")
is "$(q "$out" '.auth.dkim | map([.result, .reason])')" '[["fail","body hash mismatch"]]' "s5 altered: dkim=fail (body hash)"
is "$(q "$out" "$spf")" '["pass",true]' "s5 altered: spf=pass, aligned"
is "$(q "$out" '.auth.dmarc | [.result, .spf_aligned, .dkim_aligned]')" '["pass",true,false]' \
   "s5 altered: dmarc=pass on SPF alignment alone"
is "$(q "$out" '.recipients[0].decision')" '"accept"' "s5 altered: accepted"
like "$(q "$out" .authentication_results | jq -r .)" 'dkim=fail reason="body hash mismatch" header\.d=example\.com.*; dmarc=pass' \
     "s5 altered: Authentication-Results says dkim=fail with the reason, dmarc=pass"
same_but_ar "$s5" altered.eml "$TMPDIR_TEST/s5.out" "s5 altered"
out=$(check "$s5" altered-forwarded.eml)
is "$(q "$out" "[.auth.spf.result, .auth.dkim[0].result, .auth.dmarc.result]")" '["fail","fail","fail"]' \
   "s5 altered and forwarded: spf=fail, dkim=fail, dmarc=fail"
is "$(q "$out" '.recipients[0] | [.decision, .smtp.code, .rule]')" '["reject",550,"dmarc_reject"]' \
   "s5 altered and forwarded: nothing left aligned, p=reject rejects"

# --- Scenario 9: SPF limits ----------------------------------------------
s9="$ex/scenario-09-spf-limits"
out=$(check "$s9" toomany.eml)
is "$(q "$out" '.auth.spf.result')" '"permerror"' "s9: 11 DNS-querying terms over an include chain: spf=permerror"
is "$(q "$out" "$dkim")" '[["mailer.example.net","pass",false]]' \
   "s9: the sending service's signature passes but does not align, so spf_broken applies"
is "$(q "$out" '.recipients[0] | [.decision, .rule, .folder]')" '["quarantine","spf_broken","SPF-Errors"]' \
   "s9: the broken-SPF rule quarantines it"
like "$(q "$out" .authentication_results)" '; spf=permerror smtp\.mailfrom=info@toomany\.example\.com;' \
     "s9: Authentication-Results says spf=permerror"
out=$(check "$s9" ten.eml)
is "$(q "$out" '[.auth.spf.result, .decision]')" '["pass","accept"]' "s9: exactly 10 DNS-querying terms: spf=pass"
out=$(check "$s9" voids.eml)
is "$(q "$out" '.auth.spf.result')" '"permerror"' "s9: 3 void look-ups (NXDOMAIN, NODATA): spf=permerror"
out=$(check "$s9" twovoids.eml)
is "$(q "$out" '.auth.spf.result')" '"pass"' "s9: 2 void look-ups are allowed: spf=pass"
long=$(grep '^long\.example\.com\..*TXT' "$s9/dns.zone" | sed 's/^[^"]*//; s/" "//g; s/"//g')
[ "${#long}" -gt 450 ] && [ "$(grep '^long\.example\.com\..*TXT' "$s9/dns.zone" | grep -o '" "' | wc -l)" -ge 2 ] &&
	ok "s9: the long record is over 450 octets, in 3 or more strings (${#long})" ||
	not_ok "s9: the long record is over 450 octets, in 3 or more strings (${#long})"
out=$(check "$s9" long.eml --output "$TMPDIR_TEST/s9.out")
is "$(q "$out" '[.auth.spf.result, .auth.spf.aligned, .decision]')" '["pass",true,"accept"]' \
   "s9: the record over 450 octets parses, the last term matches: spf=pass"
same_but_ar "$s9" long.eml "$TMPDIR_TEST/s9.out" "s9 long"

# --- Scenario 10: DNS trouble --------------------------------------------
s10="$ex/scenario-10-dns-trouble"
for case in spf-servfail:spf spf-timeout:spf dmarc-servfail:dmarc dmarc-timeout:dmarc; do
	name=${case%%:*}; what=${case#*:}
	out=$(check "$s10" $name.eml)
	is "$(q "$out" ".auth.$what.result")" '"temperror"' "s10 $name: $what=temperror"
	# Each message is signed by its sender's domain; where that domain's
	# name servers fail (the spf-* senders) the key look-up fails too.
	if [ "$what" = spf ]; then want='[["'$name'.example.com","temperror",true]]'
	else want='[["'$name'.example.com","pass",true]]'; fi
	is "$(q "$out" "$dkim")" "$want" "s10 $name: the signature of $name.example.com"
	is "$(q "$out" '.recipients[0] | [.decision, .smtp.code, .smtp.enhanced, .rule]')" \
	   '["tempfail",451,"4.7.1","dns_trouble"]' "s10 $name: the rule answers 451 4.7.1"
	like "$(q "$out" .authentication_results)" "$what=temperror" "s10 $name: Authentication-Results says $what=temperror"
	out=$(check "$s10" $name.eml --after-queue)
	is "$(q "$out" '.recipients[0].applied')" '"tempfail"' "s10 $name: after the queue too, the MTA retries"
done
is "$(q "$out" '.recipients[0].smtp.text')" '"DNS trouble checking dmarc-timeout.example.com; please retry"' \
   "s10: the rule's text"

# --- Scenario 11: behind another gateway ---------------------------------
s11="$ex/scenario-11-behind-gateway"
out=$(check "$s11" upstream-pass.eml --output "$TMPDIR_TEST/s11.out")
is "$(q "$out" '.auth.authres')" '{"spf":"pass","dkim":"pass","dmarc":"pass"}' \
   "s11: authres.* come from gw.example.net, not from the filter.example.org field saying fail"
is "$(q "$out" '.recipients[0] | [.decision, .rule]')" '["accept",null]' "s11: upstream pass: accepted"
is "$(q "$out" "$dkim")" '[["example.com","pass",true]]' "s11: example.com's signature survives the gateway"
is "$(grep -ci '^Authentication-Results: *mx\.example\.net' "$TMPDIR_TEST/s11.out")" 1 \
   "s11: one field with our id in the delivered copy"
# The forged field's continuation line (no header.s=, unlike the gateway's).
is "$(grep -c '^	dkim=pass header.d=example.com; dmarc=pass' "$TMPDIR_TEST/s11.out")" 0 \
   "s11: the forged field with our id is removed"
same_but_ar "$s11" upstream-pass.eml "$TMPDIR_TEST/s11.out" "s11 upstream pass"
grep -q '^Authentication-Results: gw.example.net;' "$TMPDIR_TEST/s11.out" &&
grep -q '^Authentication-Results: filter.example.org;' "$TMPDIR_TEST/s11.out" &&
	ok "s11: the gateway's and the other fields are kept" || not_ok "s11: the gateway's and the other fields are kept"
head -1 "$TMPDIR_TEST/s11.out" | grep -q '^Authentication-Results: mx\.example\.net; ' &&
	ok "s11: ours is added on top" || not_ok "s11: ours is added on top"

out=$(check "$s11" upstream-fail.eml)
is "$(q "$out" '.auth.authres')" '{"spf":"fail","dkim":"fail","dmarc":"fail"}' "s11 upstream fail: authres.* read"
is "$(q "$out" '.auth.dkim | map([.domain, .result, .reason])')" '[["example.com","fail","signature did not verify"]]' \
   "s11 upstream fail: postern too finds the forged example.com signature bad"
is "$(q "$out" '.recipients[0] | [.decision, .smtp.code, .smtp.text, .rule]')" \
   '["reject",550,"DMARC check at gw.example.net failed for example.com","upstream_dmarc_reject"]' \
   "s11 upstream fail: rejected on authres.dmarc"
out=$(check "$s11" upstream-dkim-only.eml)
is "$(q "$out" '[.auth.authres.spf, .auth.authres.dkim, .recipients[0].decision]')" '["softfail","pass","accept"]' \
   "s11 upstream DKIM only: authres.dkim=pass keeps it out of the unverified rule"
out=$(check "$s11" upstream-spf-only.eml)
is "$(q "$out" '[.auth.authres.spf, .auth.authres.dkim, .recipients[0].decision]')" '["pass","fail","accept"]' \
   "s11 upstream SPF only: authres.spf=pass keeps it out of the unverified rule"
is "$(q "$out" '.auth.dkim | map([.domain, .result, .reason])')" '[["example.com","fail","body hash mismatch"]]' \
   "s11 upstream SPF only: the disclaimer added after signing breaks the body hash"
out=$(check "$s11" untrusted-only.eml --output "$TMPDIR_TEST/s11u.out")
is "$(q "$out" '.auth.authres // "absent"')" '"absent"' \
   "s11 untrusted only: fields of another id and of our own id give no authres.* facts"
is "$(q "$out" '.recipients[0] | [.decision, .rule, .folder]')" '["quarantine","upstream_unverified","Unverified"]' \
   "s11 untrusted only: no upstream verdict, quarantined"
is "$(grep -ci '^Authentication-Results: *mx\.example\.net' "$TMPDIR_TEST/s11u.out")" 1 \
   "s11 untrusted only: the forged field is replaced by ours"
same_but_ar "$s11" untrusted-only.eml "$TMPDIR_TEST/s11u.out" "s11 untrusted only"
# The same message with the gateway not trusted: the authres.* facts vanish.
grep -v '^trusted-authserv-id' "$s11/policy.rules" > "$TMPDIR_TEST/s11.rules"
out=$("$POSTERN" check --rules "$TMPDIR_TEST/s11.rules" --dns "$s11/dns.zone" --json "$s11/upstream-pass.eml")
is "$(q "$out" '[.auth.authres // "absent", .recipients[0].decision]')" '["absent","quarantine"]' \
   "s11 without trusted-authserv-id: the gateway's field is ignored too"

# Our own id can never be trusted: lint refuses it (RFC 8601 section 5).
sed 's/^trusted-authserv-id.*/&\ntrusted-authserv-id "mx.example.net";/' "$s11/policy.rules" > "$TMPDIR_TEST/own.rules"
err=$("$POSTERN" lint "$TMPDIR_TEST/own.rules" 2>&1); rc=$?
is "$rc" 1 "s11: trusting our own authserv-id does not compile"
like "$err" "own.rules:[0-9]+:[0-9]+: error: trusted-authserv-id \"mx.example.net\" is postern's own authserv-id" \
   "s11: and lint says why"

# Every check above exited 0 and wrote nothing on stderr (a sanitizer
# build reports there).
is "$(cat "$TMPDIR_TEST/failed")" "" "every check exited 0"
is "$(cat "$TMPDIR_TEST/stderr")" "" "no check wrote to stderr"

done_testing
