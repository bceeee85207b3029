#!/bin/sh
# Issue 15: MIME structure facts (attachment.name, attachment.type,
# attachment.count, mime.valid, mime.error) through "postern check --json"
# and "--output", and through "postern lmtp" (the reply for a rejected
# recipient, the delivered copy for the other). The JSON is read with jq.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
zone="$top_srcdir/tests/fixtures/cli/empty.zone"
T=$TMPDIR_TEST
j() { printf '%s' "$1" | jq -c "$2"; }
check() {   # check RULES MESSAGE [OPTIONS...]: the JSON report
	rules=$1; msg=$2; shift 2
	"$POSTERN" check --rules "$rules" --dns "$zone" --json "$@" "$msg" 2>>"$T/stderr" ||
		echo "$msg: exit $?" >> "$T/failed"
}
: > "$T/stderr"; : > "$T/failed"

cat > "$T/att.rules" <<'R'
after-queue-reject reject;
rule block_exe { when attachment.name matches /\.(exe|js|iso)$/i then reject 550 5.7.1 "executable attachment"; }
rule no_attachments { when attachment.count > 0 and rcpt.domain == "tenant.example" then reject 550 5.7.1 "no attachments here"; }
rule broken { when not mime.valid then tag "mime-broken", log "mime: ${mime.error}"; }
rule none { when attachment.count == 0 then tag "no-attachments"; }
rule pdf { when attachment.type == "application/pdf" then tag "pdf"; }
rule note { when attachment.name exists then add header "X-Attachments" "${attachment.name} (${attachment.count})"; }
R

# mixed NAME PARTS: a multipart/mixed message with a text part, then PARTS
# (printf escapes: each "--b\r\n" + header lines + "\r\n" + content).
mixed() {
	printf "From: ann@example.org\r\nTo: bob@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n%b--b--\r\n" "$2" > "$T/$1.eml"
}

# Each case: name | parts | the recipient's decision, reply text and tags.
while IFS='|' read -r name parts want; do
	mixed "$name" "$parts"
	out=$(check "$T/att.rules" "$T/$name.eml" --rcpt bob@example.net)
	is "$(j "$out" '[.recipients[0].decision, .recipients[0].smtp.text, .recipients[0].tags]')" "$want" "$name"
done <<'C'
text only||["accept","ok",["no-attachments"]]
a pdf|--b\r\nContent-Type: application/pdf; name="r.pdf"\r\n\r\nx\r\n|["accept","ok",["pdf"]]
an exe by filename|--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="Setup.EXE"\r\n\r\nx\r\n|["reject","executable attachment",[]]
an exe by name= only|--b\r\nContent-Type: application/octet-stream; name=run.js\r\n\r\nx\r\n|["reject","executable attachment",[]]
name and filename disagree|--b\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Disposition: attachment; filename="a.iso"\r\n\r\nx\r\n|["reject","executable attachment",[]]
RFC 2231 continuations|--b\r\nContent-Disposition: attachment; filename*0*=utf-8''r%C3%A9; filename*1*=sum%C3%A9.e; filename*2=xe\r\n\r\nx\r\n|["reject","executable attachment",[]]
RFC 2047 encoded name|--b\r\nContent-Type: application/octet-stream; name="=?UTF-8?B?aW52b2ljZS5leGU=?="\r\n\r\nx\r\n|["reject","executable attachment",[]]
a NUL before .txt|--b\r\nContent-Disposition: attachment; filename*=utf-8''a.exe%00.txt\r\n\r\nx\r\n|["reject","executable attachment",[]]
trailing dot and space|--b\r\nContent-Disposition: attachment; filename="a.exe. "\r\n\r\nx\r\n|["reject","executable attachment",[]]
an exe in a forwarded message|--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\nContent-Type: application/x-msdownload; name=x.exe\r\n\r\nMZ\r\n|["reject","executable attachment",[]]
C

# A structure that does not parse: mime.valid false, mime.error the reason,
# attachment.count unknown (no "no-attachments" tag), the names found kept.
printf 'From: ann@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nno close delimiter\r\n' > "$T/open.eml"
out=$(check "$T/att.rules" "$T/open.eml")
is "$(j "$out" '[.recipients[0].tags, .recipients[0].logs]')" '[["mime-broken"],["mime: unterminated multipart"]]' \
   "unterminated multipart: mime.valid false, mime.error says why, no count"
printf 'From: ann@example.org\r\nContent-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n' > "$T/nob.eml"
out=$(check "$T/att.rules" "$T/nob.eml")
is "$(j "$out" '.recipients[0].logs')" '["mime: multipart without boundary"]' "multipart without boundary"

# The tenant rule: any attachment to tenant.example is refused, none elsewhere.
mixed tenant '--b\r\nContent-Type: application/pdf; name="r.pdf"\r\n\r\nx\r\n'
out=$(check "$T/att.rules" "$T/tenant.eml" --rcpt amy@tenant.example --rcpt bob@example.net)
is "$(j "$out" '[.recipients[] | .decision]')" '["reject","accept"]' "attachment.count > 0 and rcpt.domain: per recipient"

# --trace shows the set; --output: the delivered copy with the names interpolated.
mixed two '--b\r\nContent-Type: application/pdf; name="r.pdf"\r\n\r\nx\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="p.png"\r\n\r\nx\r\n'
out=$("$POSTERN" check --rules "$T/att.rules" --dns "$zone" --trace "$T/two.eml" 2>>"$T/stderr")
like "$out" 'attachment\.name = "?r\.pdf, p\.png"?' "--trace: attachment.name, its members joined"
"$POSTERN" check --rules "$T/att.rules" --dns "$zone" --output "$T/two.out" "$T/two.eml" >/dev/null 2>>"$T/stderr" ||
	echo "two: exit $?" >> "$T/failed"
like "$(cat "$T/two.out")" 'X-Attachments: r\.pdf, p\.png \(2\)' "--output: names joined by \", \" in an added header"

# Through postern lmtp: one recipient refused by the tenant rule (550 in
# the reply), the other's delivered copy carries the added header.
start_lmtp --rules "$T/att.rules"
body=$(sed 's/\r$//' "$T/two.eml" | awk '{printf "%s\\r\\n", $0}')
out=$(printf '%s\n' 'LHLO client.test' 'MAIL FROM:<ann@example.org>' 'RCPT TO:<amy@tenant.example>' \
	'RCPT TO:<bob@example.net>' 'DATA' '<<354' "$body" '.' 'QUIT' | lmtpc "$PORT")
like "$out" '550 5\.7\.1 no attachments here' "lmtp: the tenant's recipient gets the rule's 550"
is "$(msgs_in "$MD/tenant.example/amy")" 0 "lmtp: no copy for the tenant's recipient"
is "$(msgs_in "$MD/example.net/bob")" 1 "lmtp: the other recipient's copy is delivered"
like "$(cat "$MD"/example.net/bob/new/* 2>/dev/null)" 'X-Attachments: r\.pdf, p\.png \(2\)' \
   "lmtp: the delivered copy carries the names"
exe=$(printf 'Content-Type: multipart/mixed; boundary=b\\r\\n\\r\\n--b\\r\\nContent-Disposition: attachment; filename="x.iso"\\r\\n\\r\\nx\\r\\n--b--')
out=$(printf '%s\n' 'LHLO client.test' 'MAIL FROM:<ann@example.org>' 'RCPT TO:<bob@example.net>' \
	'DATA' '<<354' "$exe" '.' 'QUIT' | lmtpc "$PORT")
like "$out" '550 5\.7\.1 executable attachment' "lmtp: an .iso attachment is refused"
is "$(msgs_in "$MD/example.net/bob")" 1 "lmtp: and not delivered"
stop_lmtp

is "$(cat "$T/failed")" "" "every check exited 0"
done_testing
