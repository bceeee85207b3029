#!/bin/sh
# The bad-input table (what postern answers to each kind of bad input), one
# test (or a small group) per row, each named after its row: the input goes through a real "postern lmtp"
# (raw LMTP over loopback) or, for rows about messages and rule files,
# through "postern check"/"postern lint"/SIGHUP with DNS fixtures. After
# the server rows the same server must still answer a clean transaction.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
hello='LHLO client.test'
clean() {   # clean USER: a clean transaction to USER@example.org
	printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' "RCPT TO:<$1@example.org>" 'DATA' '<<354' \
		'From: a@example.net\r\nSubject: clean\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT"
}

# --- server A: default header reply (552), --max-size, --timeout, SPF zone
# that would pass 127.0.0.1 (the loopback row), authserv-id mx.test.
printf 'example.net. 300 IN TXT "v=spf1 ip4:127.0.0.1 ip6:::1 -all"\n' > "$T/loop.zone"
cat > "$T/srv.rules" <<'R'
authserv-id "mx.test";
rule eightbit { when subject contains "bad utf-8" then quarantine "Raw"; }
R
start_lmtp --rules "$T/srv.rules" --dns "$T/loop.zone" --max-size 200000 --timeout 2

r='line over 1,000 octets in LMTP commands: 500 5.5.2, the session continues'
long=$(printf 'NOOP %01200d' 0)
out=$(printf '%s\n' "$hello" "$long" 'NOOP' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -A2 '^500 5\.5\.2' | cut -c1-9 | tr '\n' ' ')" "500 5.5.2 250 2.0.0 221 2.0.0 " "$r"

r='message over --max-size: 552 5.3.4 after DATA, per recipient; nothing written'
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<big1@example.org>' 'RCPT TO:<big2@example.org>' \
	'DATA' '<<354' 'Subject: big\r\n' '@@big 300000' '.' 'NOOP' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^552 5\.3\.4')" 2 "$r (one 552 5.3.4 per recipient)"
is "$(msgs_in "$MD/example.org/big1")$(msgs_in "$MD/example.org/big2")$(find "$MD" -path '*big*' -type f | wc -l | tr -d ' ')" "000" "$r (nothing written, tmp/ included)"

r='header section over 256 KiB, or over 1,000 header fields: 552 5.3.4 or 554 5.6.0, configurable'
hdrs=$(python3 -c 'print("".join("X-F%d: v\\r\\n" % i for i in range(1001)) + "\\r\\nbody")')
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<hdr@example.org>' 'DATA' '<<354' "$hdrs" '.' 'QUIT' | lmtpc "$PORT")
like "$out" '552 5\.3\.4 Error: header section too big' "$r (1,001 fields, default: 552 5.3.4)"
is "$(msgs_in "$MD/example.org/hdr")" 0 "$r (1,001 fields: nothing written)"

r='NUL bytes, bare CR, bare LF, 8-bit headers, invalid UTF-8: parsed without crash; policy decides; raw bytes kept'
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<raw@example.org>' 'DATA' '<<354' \
	'Subject: \xff\xfe bad utf-8 \xc3\xa9\r\nX-Nul: a\x00b\r\nX-Cr: a\rb\r\n\r\nbare\nlf' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '250 2\.0\.0 .*Saved' "$r (250 after DATA)"
f=$(find "$MD/example.org/raw" -path '*/.Raw/new/*' -type f | head -1)
[ -n "$f" ] && ok "$r (the rule on the 8-bit Subject decided: quarantined in .Raw)" || not_ok "$r (the rule on the 8-bit Subject decided: quarantined in .Raw)" "$(find "$MD/example.org/raw" -type f)"
is "$(grep -c "$(printf 'a\rb')" "$f" 2>/dev/null)" 1 "$r (bare CR kept)"
is "$(grep -c "$(printf '\377\376 bad')" "$f" 2>/dev/null)" 1 "$r (invalid UTF-8 kept)"
is "$(tr -d '\n' < "$f" 2>/dev/null | grep -c 'barelf')" 1 "$r (bare LF kept)"
is "$(tr -d '\000' < "$f" 2>/dev/null | grep -c '^X-Nul: ab')" 1 "$r (NUL kept)"

r='forged Authentication-Results with our authserv-id: removed before delivery'
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<forged@example.org>' 'DATA' '<<354' \
	'Authentication-Results: mx.test; spf=pass smtp.mailfrom=forged.example; dkim=pass header.d=forged.example\r\nFrom: a@example.net\r\nSubject: f\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
f=$(find "$MD/example.org/forged/new" -type f | head -1)
is "$(grep -ci 'forged\.example' "$f" 2>/dev/null)" 0 "$r (the forged field is gone)"
is "$(grep -ci '^Authentication-Results: mx\.test' "$f" 2>/dev/null)" 1 "$r (only ours is left)"

r='recipient local part or domain with /, .., NUL or control characters: 550 5.1.3, never a path outside the Maildir root'
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<../../etc@example.org>' 'RCPT TO:<a/b@example.org>' \
	'RCPT TO:<a@..>' 'RCPT TO:<a@ex/ample.org>' 'RCPT TO:<x\x00y@example.org>' 'RCPT TO:<c\x01@example.org>' \
	'RCPT TO:<d@exa\x7fmple.org>' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^550 5\.1\.3')" 7 "$r (7 recipients, 7 times 550 5.1.3)"
is "$(find "$T" -name etc -o -name 'ample.org' -o -name b | wc -l | tr -d ' ')" 0 "$r (no path made outside the root)"

r='commands out of order (RCPT before MAIL, DATA without RCPT): 503 5.5.1'
out=$(printf '%s\n' "$hello" 'RCPT TO:<a@example.org>' 'MAIL FROM:<a@example.net>' 'DATA' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^[0-9]{3} ' | cut -c1-9 | tr '\n' ' ')" "220 mx.te 250 SMTPU 503 5.5.1 250 2.1.0 503 5.5.1 221 2.0.0 " "$r"

r='LMTP session from loopback without XFORWARD: client facts unknown: spf=none, never pass for 127.0.0.1'
out=$(clean spf)
line=$(grep '"rcpt":"spf@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[(.client_ip // ""), .auth.spf.result] | @csv')" '"","none"' "$r (log: no client IP, spf=none)"
f=$(find "$MD/example.org/spf/new" -type f | head -1)
like "$(grep -i '^Authentication-Results' "$f" 2>/dev/null)" 'spf=none' "$r (A-R says spf=none)"

r='client silent past --timeout: 421 4.4.2 and close'
start=$(date +%s)
out=$(printf '%s\n' "$hello" | lmtpc "$PORT")
took=$(( $(date +%s) - start ))
like "$out" '421 4\.4\.2' "$r (421 4.4.2)"
[ "$took" -le 8 ] && ok "$r (closed after ${took}s, --timeout 2)" || not_ok "$r (closed soon after the timeout)" "took ${took}s"

r='the server keeps serving'
like "$(clean after)" '250 2\.0\.0 .*Saved' "$r: server A answers a clean transaction with 250 after the rows above"
is "$(msgs_in "$MD/example.org/after")" 1 "$r: and stores it"
kill -0 "$SRV_PID" 2>/dev/null && ok "$r: server A is still the same process" || not_ok "$r: server A is still the same process"

# --- server B: --header-limit-reply 554, --max-sessions 1, SIGHUP.
stop_lmtp
printf 'after-queue-reject reject;\nrule old { when subject contains "old-policy" then reject 550 5.7.1 "old policy"; }\n' > "$T/b.rules"
start_lmtp --rules "$T/b.rules" --header-limit-reply 554 --max-sessions 1
B_PID=$SRV_PID
r='header section over 256 KiB, or over 1,000 header fields: 552 5.3.4 or 554 5.6.0, configurable'
big=$(python3 -c 'print("".join("X-B%d: %s\\r\\n" % (i, "v" * 900) for i in range(300)) + "\\r\\nbody")')
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<hb@example.org>' 'DATA' '<<354' "$big" '.' \
	'MAIL FROM:<a@example.net>' 'RCPT TO:<hf@example.org>' 'DATA' '<<354' "$hdrs" '.' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c '^554 5\.6\.0 Error: header section too big')" 2 \
   "$r (--header-limit-reply 554: 300 fields of 900 octets (270 KB) and 1,001 fields both 554 5.6.0)"
is "$(msgs_in "$MD/example.org/hb")$(msgs_in "$MD/example.org/hf")" 00 "$r (554: nothing written)"

r='more sessions than --max-sessions: 421 4.3.2 at connect'
out=$(python3 - "$PORT" <<'PY'
import socket, sys
a = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print("first", a.recv(1000).decode().strip())
b = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print("second", b.recv(1000).decode().strip())
print("closed", b.recv(1000) == b"")
a.close()
PY
)
like "$out" 'first 220 ' "$r (--max-sessions 1: the first session is served)"
like "$out" 'second 421 4\.3\.2' "$r (the second gets 421 4.3.2 at connect)"
like "$out" 'closed True' "$r (and is closed)"
sleep 0.3

# --- rule files: lint, check, and a running server on SIGHUP.
r='rule file with syntax errors, unknown facts, bad CIDR, bad regex, include loop: every error reported with file:line:col; lint exits 1, other commands 78; a running server keeps its old policy'
printf 'include "loop2.rules";\n' > "$T/loop1.rules"
printf 'include "loop1.rules";\n' > "$T/loop2.rules"
cat > "$T/bad.rules" <<'R'
rule syntax { when subject contains then accept; }
rule fact { when nosuch.fact == "x" then accept; }
rule cidr { when client.ip in { 192.0.2.0/33 } then accept; }
rule re { when subject matches /(unclosed/ then accept; }
include "loop1.rules";
R
err=$("$POSTERN" lint "$T/bad.rules" 2>&1); rc=$?
is "$rc" 1 "$r (lint exits 1)"
for l in 1 2 3 4; do
	like "$err" "bad\.rules:$l:[0-9]+: error" "$r (line $l reported with file:line:col)"
done
like "$err" 'loop[12]\.rules:1:[0-9]+: error|bad\.rules:5:[0-9]+: error' "$r (the include loop reported with file:line:col)"
like "$err" '(cycle|loop)' "$r (and called a loop)"
printf 'Subject: x\r\n\r\nx\r\n' > "$T/x.eml"
"$POSTERN" check --dns "$T/empty.zone" --rules "$T/bad.rules" "$T/x.eml" >/dev/null 2>&1
is "$?" 78 "$r (check exits 78)"
cp "$T/bad.rules" "$T/b.rules"
kill -HUP "$B_PID"; sleep 0.5
out=$(clean hup)
like "$out" '250 2\.0\.0 .*Saved' "$r (after SIGHUP with the bad file the server still answers 250)"
out=$(printf '%s\n' "$hello" 'MAIL FROM:<a@example.net>' 'RCPT TO:<old@example.org>' 'DATA' '<<354' \
	'Subject: old-policy\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '550 5\.7\.1 old policy' "$r (and under the old policy: its rule still rejects)"
like "$(cat "$T/stderr" "$LOG")" 'b\.rules:[0-9]+:[0-9]+' "$r (the reload failure is reported with file:line:col)"

r='the server keeps serving'
like "$(clean afterb)" '250 2\.0\.0 .*Saved' "$r: server B answers a clean transaction with 250 after the rows above"
is "$SRV_PID" "$B_PID" "$r: server B is the same process"
stop_lmtp
is "$STOP_RC" 0 "$r: and exits 0 on SIGTERM"

# --- message rows through postern check (DNS from fixtures).
chk() {   # chk RULES ZONE MESSAGE [OPTIONS...]: the JSON report
	rules=$1; zone=$2; m=$3; shift 3
	"$POSTERN" check --rules "$rules" --dns "$zone" --json "$@" "$m" 2>>"$T/check.err"
}
cat > "$T/facts.rules" <<'R'
authserv-id "mx.test";
rule facts { when size > 0 then log "count=${from.count} domain=[${from.domain}] display=[${from.display}]"; }
R
r='no From, two From, From with two addresses, unparsable From: facts say so; DMARC evaluates every author domain, the strictest result applies; the stock rules refuse it; never dmarc=none for a p=reject author'
printf '_dmarc.example.org. 300 IN TXT "v=DMARC1; p=reject"\n' > "$T/reject.zone"
cat > "$T/author.rules" <<'R'
rule facts { when size > 0 then log "count=${from.count} fields=${from.fields} domain=[${from.domain}] error=[${from.error}]"; }
R
n=0
for c in 'Subject: none|count=0 fields=0 domain=[(unknown)] error=[no From field]|none -' \
         'From: a@example.net\r\nFrom: b@example.org|count=2 fields=2 domain=[(unknown)] error=[more than one From field]|fail example.org reject' \
         'From: a@example.net, b@example.org|count=2 fields=1 domain=[(unknown)] error=[more than one address in From]|fail example.org reject' \
         'From: <<<@@@|count=1 fields=1 domain=[(unknown)] error=[unparsable From]|none -'; do
	n=$((n + 1))
	hdr=${c%%|*}; rest=${c#*|}; want=${rest%%|*}; dmarc=${rest#*|}
	printf "$hdr"'\r\nSubject: s\r\n\r\nbody\r\n' > "$T/from$n.eml"
	out=$(chk "$T/author.rules" "$T/reject.zone" "$T/from$n.eml" --client-ip 192.0.2.1 --mail-from a@example.net); rc=$?
	is "$rc" 0 "$r (case $n: check exits 0)"
	is "$(q "$out" '.recipients[0].logs[0]')" "$want" "$r (case $n: $want)"
	is "$(q "$out" '.auth.dmarc.result + " " + (.auth.dmarc.domain // "-") + (if .auth.dmarc.result == "fail" then " " + .auth.dmarc.policy else "" end)')" \
	   "$dmarc" "$r (case $n: dmarc $dmarc)"
	out=$(chk "$top_srcdir/rules/baseline.rules" "$T/reject.zone" "$T/from$n.eml" --client-ip 192.0.2.1 --mail-from a@example.net)
	is "$(q "$out" '.recipients[0] | .decision + " " + .rule + " " + .smtp.enhanced')" "reject ambiguous_author 5.7.1" \
	   "$r (case $n: the stock rules refuse it)"
done

r='RFC 2047 encoded-word that is malformed or in an unknown charset: display text kept raw; no crash'
printf 'From: =?x-unknown?q?abc?= <a@example.net>\r\nSubject: s\r\n\r\nb\r\n' > "$T/cs.eml"
printf 'From: =?utf-8?q?broken <a@example.net>\r\nSubject: s\r\n\r\nb\r\n' > "$T/mal.eml"
is "$(q "$(chk "$T/facts.rules" "$T/empty.zone" "$T/cs.eml")" '.recipients[0].logs[0]')" 'count=1 domain=[example.net] display=[=?x-unknown?q?abc?=]' "$r (unknown charset)"
is "$(q "$(chk "$T/facts.rules" "$T/empty.zone" "$T/mal.eml")" '.recipients[0].logs[0]')" 'count=1 domain=[example.net] display=[=?utf-8?q?broken]' "$r (malformed)"

s9="$top_srcdir/examples/scenario-09-spf-limits"
r='SPF chain over 10 DNS terms or 2 void look-ups: spf=permerror (not pass)'
is "$(q "$(chk "$s9/policy.rules" "$s9/dns.zone" "$s9/toomany.eml")" .auth.spf.result)" permerror "$r (11 DNS terms)"
is "$(q "$(chk "$s9/policy.rules" "$s9/dns.zone" "$s9/voids.eml")" .auth.spf.result)" permerror "$r (3 void look-ups)"
is "$(q "$(chk "$s9/policy.rules" "$s9/dns.zone" "$s9/ten.eml")" .auth.spf.result)" pass "$r (control: exactly 10 terms pass)"

s10="$top_srcdir/examples/scenario-10-dns-trouble"
r='DNS SERVFAIL or timeout: temperror, and the rule file decides (the stock rules tempfail)'
for c in spf-servfail:spf spf-timeout:spf dmarc-servfail:dmarc dmarc-timeout:dmarc; do
	name=${c%%:*}; what=${c#*:}
	out=$(chk "$s10/policy.rules" "$s10/dns.zone" "$s10/$name.eml" --now 1795424700)
	is "$(q "$out" "[.auth.$what.result, .recipients[0].decision, .recipients[0].smtp.code] | @csv")" \
	   "\"temperror\",\"tempfail\",451" "$r ($name: $what=temperror, the rule tempfails 451)"
done
printf 'rule unrelated { when subject contains "zzzz" then reject; }\n' > "$T/lax.rules"
out=$(chk "$T/lax.rules" "$s10/dns.zone" "$s10/spf-servfail.eml" --now 1795424700)
is "$(q "$out" '[.auth.spf.result, .decision] | @csv')" '"temperror","accept"' "$r (a rule file without a temperror rule accepts: the rules decide)"

D="$top_srcdir/tests/fixtures/dkim"
printf 'authserv-id "mx.test";\nrule d { when dkim == pass then tag "dkimpass"; }\n' > "$T/dkim.rules"
r='more than max-signatures DKIM signatures (default 8): extra ones ignored, noted in the A-R comment'
out=$(chk "$T/dkim.rules" "$D/keys.zone" "$D/ten.eml" --now 1700000100)
is "$(q "$out" '.auth.dkim | length')" 8 "$r (ten signatures: 8 verified)"
ar=$(q "$out" .authentication_results)
is "$(printf '%s' "$ar" | grep -o 'dkim=' | wc -l | tr -d ' ')" 8 "$r (8 dkim= results in A-R)"
like "$ar" '^mx\.test \(2 DKIM signatures ignored beyond dkim-max-signatures 8\); spf=' "$r (the A-R comment after the authserv-id notes the 2 ignored)"
printf 'authserv-id "mx.test";\ndkim-max-signatures 3;\nrule noop { when false then accept; }\n' > "$T/dkim3.rules"
out=$(chk "$T/dkim3.rules" "$D/keys.zone" "$D/ten.eml" --now 1700000100)
is "$(q "$out" '.auth.dkim | length')" 3 "$r (dkim-max-signatures 3: 3 verified)"
like "$(q "$out" .authentication_results)" '^mx\.test \(7 DKIM signatures ignored beyond dkim-max-signatures 3\); ' "$r (dkim-max-signatures 3: the A-R comment notes the 7 ignored)"
out=$(chk "$T/dkim.rules" "$D/keys.zone" "$D/rsa2048.eml" --now 1700000100)
is "$(q "$out" '.authentication_results | test("\\(")')" false "$r (control: one signature, no comment)"

# The same through a real delivery: the A-R field of the stored file, one
# server per setting (the default, then dkim-max-signatures 3).
ar_field() {   # ar_field FILE: its Authentication-Results field, unfolded
	awk '{ sub(/\r$/, "") } /^$/ { exit }
	     /^[ \t]/ { if (inar) v = v $0; next }
	     { if (inar) exit; if (tolower(substr($0, 1, 23)) == "authentication-results:") { inar = 1; v = $0 } }
	     END { print v }' "$1"
}
dkim_deliver() {   # dkim_deliver USER: ten.eml to USER@example.org over LMTP (one script
	# line, its line breaks escaped: lmtpc drops empty lines); the stored A-R field
	{ printf '%s\n' "$hello" 'MAIL FROM:<alice@example.com>' "RCPT TO:<$1@example.org>" 'DATA' '<<354'
	  python3 -c 'import sys; print(open(sys.argv[1]).read().rstrip("\n").replace("\n", "\\r\\n"))' "$D/ten.eml"
	  printf '%s\n' '.' 'QUIT'; } | lmtpc "$PORT" > "$T/$1.out"
	f=$(find "$MD/example.org/$1/new" -type f 2>/dev/null | head -1)
	[ -n "$f" ] && ar_field "$f"
}
for c in dkim:8:2 dkim3:3:7; do
	rules=${c%%:*}; rest=${c#*:}; max=${rest%%:*}; ign=${rest#*:}
	start_lmtp --rules "$T/$rules.rules" --dns "$D/keys.zone"
	field=$(dkim_deliver "ten$max")
	like "$(cat "$T/ten$max.out")" '250 2\.0\.0 .*Saved' "$r (delivered over LMTP, dkim-max-signatures $max: 250)"
	like "$field" "^Authentication-Results: mx\\.test \\($ign DKIM signatures ignored beyond dkim-max-signatures $max\\); " \
	     "$r (dkim-max-signatures $max: the stored A-R comment notes the $ign ignored)"
	is "$(printf '%s' "$field" | grep -o 'dkim=pass' | wc -l | tr -d ' ')" "$max" "$r (dkim-max-signatures $max: the stored A-R has $max dkim=pass results)"
	stop_lmtp
done

r='rsa-sha1 signature, RSA key under 1024 bits: dkim=policy (RFC 8601 2.7.1), never pass'
for m in rsa1024-sha1 rsa512; do
	out=$(chk "$T/dkim.rules" "$D/keys.zone" "$D/$m.eml" --now 1700000100)
	is "$(q "$out" '[.auth.dkim[0].result, (.recipients[0].tags | length)] | @csv')" '"policy",0' "$r ($m: policy, the dkim == pass rule does not fire)"
	like "$(q "$out" .authentication_results)" 'dkim=policy' "$r ($m: A-R says dkim=policy)"
done

r='regex with catastrophic backtracking against a long header: match limit hit: the condition is false and a warning is logged; never a hang'
printf 'rule slow { when header "X-Long" matches /^(a+)+$/ then reject "slow matched"; }\n' > "$T/slow.rules"
python3 -c 'import sys; sys.stdout.write("X-Long: " + "a" * 5000 + "c\r\nSubject: s\r\n\r\nb\r\n")' > "$T/slow.eml"
start=$(date +%s)
out=$(chk "$T/slow.rules" "$T/empty.zone" "$T/slow.eml")
took=$(( $(date +%s) - start ))
is "$(q "$out" '.recipients[0].decision')" accept "$r (the condition is false: accept)"
like "$(q "$out" '.recipients[0].warnings[]')" 'match limit' "$r (warning: match limit)"
[ "$took" -le 5 ] && ok "$r (done in ${took}s)" || not_ok "$r (no hang)" "took ${took}s"

r='${fact} interpolation that would carry CR/LF into a header or reply: refused at run time, logged'
cat > "$T/inj.rules" <<'R'
rule inj { when subject contains "evil" then add header "X-Echo" "${subject}"; }
rule inj2 { when subject contains "evil" then reject "echo ${subject}"; }
R
printf 'Subject: =?utf-8?q?a=0D=0ABcc:_evil?=\r\n\r\nb\r\n' > "$T/inj.eml"
out=$(chk "$T/inj.rules" "$T/empty.zone" "$T/inj.eml")
is "$(q "$out" '.recipients[0].edits[0].value')" 'a??Bcc: evil' "$r (no CR/LF in the added header: replaced by ?)"
is "$(q "$out" '.recipients[0].smtp.text')" 'echo a??Bcc: evil' "$r (nor in the reply: replaced by ?)"
like "$(q "$out" '.recipients[0].warnings[]')" "control characters in \\$\\{subject\\}" "$r (a warning says so)"

is "$(cat "$T/check.err")" "" "postern check printed nothing on stderr"
done_testing
