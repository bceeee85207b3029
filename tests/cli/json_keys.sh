#!/bin/sh
# Every key the program writes in JSON is documented in postern-json(5),
# and every key documented there is written.
#
# The page documents each member as a .TP paragraph whose tag is its key
# path: ".B recipients[].smtp.code", ".BR auth.authres \" (conditional)\"",
# ".BI decisions. DECISION" (an italic part stands for any one key). The
# section says which JSON it belongs to: CHECK REPORT, REPLAY REPORT, and
# under LMTP LOG the subsections "Recipient lines", "Every event line" and
# "The NAME event". Those tags are read here (doc_keys).
#
# The program is run over inputs that make every optional member appear:
# check --json --trace --after-queue over a DKIM-signed message with a
# trusted Authentication-Results field, every edit op, tag, log, audit, and
# a quarantined message with a warning; replay --json with and without
# --baseline over a corpus with a broken message; a real postern lmtp
# session (with XFORWARD IDENT and a refused recipient) with SIGHUP (good
# and bad rule files), SIGUSR1, SIGUSR2 and SIGTERM. Every key path is
# collected with jq (array elements as "[]").
#
# A key written but not documented fails. A documented key that no input
# wrote fails unless the page marks it "(conditional)" and NOT_PRODUCED
# below says why it cannot be made here.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
page="$top_srcdir/doc/postern-json.5"
fix="$top_srcdir/tests/cli/json_keys"
dkim="$top_srcdir/tests/fixtures/dkim"

# Documented keys that no input here can produce: "ID KEY: why".
NOT_PRODUCED='check auth.warnings: only when an auth library cannot be set up or fails on a message
event:error queue_id: only when a message cannot be evaluated (out of memory, or refused by the parser after the session checks passed it)
event:error why: as event:error queue_id
event:reopen error: only when the log file cannot be opened again (tests/lmtp/logs.sh makes it)
event:warning report_store: only when the report store fails to write (tests/lmtp/store.sh makes it)'

# doc_keys PAGE: "ID<TAB>KEY<TAB>0|1 (conditional)" for every documented key,
# and "HEADING<TAB>ID" for every JSON section. IDs: check, replay, log,
# event:* (every event line), event:NAME.
doc_keys() {
	awk '
	function unq(s) { gsub(/"/, "", s); return s }
	function id() {
		if (sec == "CHECK REPORT") return "check"
		if (sec == "REPLAY REPORT") return "replay"
		if (sec != "LMTP LOG") return ""
		if (sub_ == "Recipient lines") return "log"
		if (sub_ == "Every event line") return "event:*"
		if (sub_ ~ /^The [a-z]+ event$/) { split(sub_, w, " "); return "event:" w[2] }
		return "?" sub_
	}
	/^\.SH / { sec = unq(substr($0, 5)); sub_ = ""; tp = 0; if (id() != "") print "HEADING\t" id(); next }
	/^\.SS / { sub_ = unq(substr($0, 5)); tp = 0; if (id() != "") print "HEADING\t" id(); next }
	/^\.TP/ { tp = 1; next }
	tp {
		tp = 0
		if (id() == "") next
		line = $0
		gsub(/\\-/, "-", line); gsub(/\\&/, "", line)
		gsub(/\\fI[^\\]*\\f[PRB]/, "*", line)
		cond = line ~ /\(conditional\)/
		if (line ~ /^\.B /) key = unq(substr(line, 4))
		else if (line ~ /^\.BR /) { split(substr(line, 5), a, " "); key = unq(a[1]) }
		else if (line ~ /^\.BI /) {
			n = split(substr(line, 5), a, " "); key = ""
			for (i = 1; i <= n; i++) key = key (i % 2 ? a[i] : "*")
		} else key = "(unreadable tag: " line ")"
		print id() "\t" key "\t" cond
	}' "$1"
}

# paths ID < JSON lines: "ID<TAB>PATH" for every key path ("a[].b"); with
# ID "lmtp", each line gets "log" or "event:NAME".
paths() {
	jq -r --arg id "$1" '
		(if $id != "lmtp" then $id elif has("event") then "event:" + .event else "log" end) as $i
		| [paths | map(if type == "number" then "[]" else gsub("\\."; "_") end)
		   | join(".") | gsub("\\.\\[\\]"; "[]") | select(endswith("[]") | not)]
		| .[] | $i + "\t" + .'
}

# match DOCS GOT: "UNDOC<TAB>ID<TAB>PATH" for a path no documented key
# matches, "UNMADE<TAB>ID<TAB>KEY<TAB>COND" for a documented key no path
# matches. In a recipient line of the log, auth.* is the check report's auth.
match_keys() {
	jq -n -r --rawfile docs "$1" --rawfile got "$2" '
		def rows($s): $s | split("\n") | map(select(length > 0) | split("\t"));
		def rx: "^" + (split("*") | map(gsub("(?<c>[.\\[\\](){}+?|^$\\\\])"; "\\\(.c)"))
		             | join("[^.\\[]+")) + "$";
		[rows($docs)[] | select(.[0] != "HEADING") | {id: .[0], key: .[1], cond: .[2], rx: (.[1] | rx)}] as $d
		| [rows($got)[] | {id: .[0], path: .[1]}] as $g
		| def doc_ids($id): if ($id | startswith("event:")) then [$id, "event:*"] else [$id] end;
		  def in_docs($id; $p): any($d[]; . as $k | (doc_ids($id) | index([$k.id]))
		                                  and ($p | test($k.rx)))
		                        or ($id == "log" and ($p | startswith("auth."))
		                            and any($d[]; . as $k | $k.id == "check" and ($p | test($k.rx))));
		  def made($k): any($g[]; (if $k.id == "event:*" then (.id | startswith("event:"))
		                           else .id == $k.id end) and (.path | test($k.rx)));
		  ($g[] | select(in_docs(.id; .path) | not) | "UNDOC\t\(.id)\t\(.path)"),
		  ($d[] | select(made(.) | not) | "UNMADE\t\(.id)\t\(.key)\t\(.cond)")'
}

# ---- The documented keys ------------------------------------------------
doc_keys "$page" > "$T/docs"
n=$(grep -vc '^HEADING' "$T/docs")
[ "$n" -ge 100 ] && ok "postern-json(5) documents $n keys" || not_ok "postern-json(5) documents keys" "found $n"
bad=$(grep -v '^HEADING' "$T/docs" | awk -F'\t' '$1 !~ /^(check|replay|log|event:[*a-z]+)$/ || $2 !~ /^[A-Za-z_(*][][A-Za-z_.*() ]*$/')
is "$bad" "" "every key tag of postern-json(5) is under a known heading and reads as a key path"
for id in check replay log 'event:*' event:start event:reload event:reopen event:stats event:stopping event:stop event:error event:warning; do
	n=$(awk -F'\t' -v id="$id" '$1 == id' "$T/docs" | wc -l | tr -d ' ')
	[ "$id" = event:stop ] && want=0 || want=1
	[ "$n" -ge "$want" ] && ok "postern-json(5) documents $id ($n keys)" ||
		not_ok "postern-json(5) documents $id" "no .TP key tag under its heading"
done

# ---- check --json -------------------------------------------------------
cat "$dkim/keys.zone" "$fix/dns.zone" > "$T/dns.zone"
# The signed message, for two recipients, under a trusted A-R field.
{ printf 'X-Postern-Envelope: client-ip=192.0.2.5; helo=gw.example.net; mail-from=alice@example.com; rcpt=bob@example.net; rcpt=carol@example.net\r\n'
  printf 'Authentication-Results: gw.example.net; spf=pass smtp.mailfrom=alice@example.com;\r\n\tdkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n'
  cat "$dkim/rsa2048.eml"; } > "$T/signed.eml"
# An SPF failure whose display name decodes to a control character.
printf 'X-Postern-Envelope: client-ip=198.51.100.1; mail-from=x@example.com; rcpt=bob@example.net\nFrom: =?utf-8?q?A=07B?= <x@example.com>\nTo: bob@example.net\nSubject: held\n\nbody\n' > "$T/held.eml"
printf 'X-Postern-Envelope: client-ip=not-an-ip\nSubject: broken\n\nx\n' > "$T/broken.eml"

: > "$T/got"
for m in signed held; do
	out=$("$POSTERN" check --rules "$fix/policy.rules" --dns "$T/dns.zone" --now 1700000100 \
		--json --trace --after-queue "$T/$m.eml" 2>"$T/err"); rc=$?
	is "$rc:$(cat "$T/err")" "0:" "check --json --trace --after-queue $m.eml runs"
	printf '%s\n' "$out" | paths check >> "$T/got"
done
is "$(printf '%s\n' "$out" | jq -r '.recipients[0].warnings[0]')" \
   "control characters in \${from.display} replaced by '?'" "the held message has a recipient warning"

# ---- replay --json ------------------------------------------------------
mkdir -p "$T/corpus"
cp "$T/signed.eml" "$T/held.eml" "$T/broken.eml" "$T/corpus/"
for base in "" "--baseline $fix/baseline.rules"; do
	# shellcheck disable=SC2086
	out=$("$POSTERN" replay --rules "$fix/policy.rules" $base --dns "$T/dns.zone" --now 1700000100 \
		--json "$T/corpus" 2>"$T/err"); rc=$?
	is "$rc" 0 "replay --json ${base:+--baseline }runs"
	printf '%s\n' "$out" | paths replay >> "$T/got"
done
is "$(printf '%s\n' "$out" | jq -c '[.errors, (.changed | length), .changed[0].from_rule]')" \
   '[1,1,"everything"]' "replay --baseline: one broken message, one changed recipient"

# ---- the LMTP log ---------------------------------------------------------
cp "$fix/policy.rules" "$T/lmtp.rules"
start_lmtp --rules "$T/lmtp.rules" --dns "$T/dns.zone" \
	--report-store "sqlite:$T/reports.db"   # SPF fails for the held message; stats.report_store
wait_log() {   # wait_log ERE: until the log has a matching line, at most 5 s
	i=0; while ! grep -Eq "$1" "$LOG" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
body=$(tr -d '\r' < "$dkim/rsa2048.eml" | awk '{ printf "%s\\r\\n", $0 }')
# With Postfix's queue id (IDENT) and a recipient refused at RCPT time.
printf '%s\n' 'LHLO client.test' 'XFORWARD ADDR=198.51.100.1 NAME=mta.example.org HELO=mta.example.org' \
	'XFORWARD IDENT=4XyZ1k2abc' \
	'MAIL FROM:<x@example.com>' 'RCPT TO:<bob@example.net>' 'RCPT TO:<carol@example.net>' \
	'RCPT TO:<a b@example.net>' 'DATA' '<<354' "$body" '.' 'QUIT' | lmtpc "$PORT" > "$T/session"
like "$(cat "$T/session")" '250 2\.0\.0 .*Saved' "an LMTP transaction is stored"
# The held message (a recipient line with warnings).
held=$(sed 1d "$T/held.eml" | awk '{ printf "%s\\r\\n", $0 }')
printf '%s\n' 'LHLO client.test' 'XFORWARD ADDR=198.51.100.1 NAME=mta.example.org HELO=mta.example.org' \
	'MAIL FROM:<x@example.com>' 'RCPT TO:<bob@example.net>' \
	'DATA' '<<354' "$held" '.' 'QUIT' | lmtpc "$PORT" > "$T/session2"
like "$(cat "$T/session2")" '250 2\.[0-9]\.[0-9]' "the held message is taken"
kill -HUP "$SRV_PID"; wait_log '"event":"reload","ok":true'
printf 'rule broken { when nosuch.fact then accept; }\n' > "$T/lmtp.rules"
kill -HUP "$SRV_PID"; wait_log '"event":"reload","ok":false'
# A policy without rules: a reload that is taken, with a warning event.
printf '# nothing\n' > "$T/lmtp.rules"
kill -HUP "$SRV_PID"; wait_log '"warning":"the policy has no rules'
kill -USR1 "$SRV_PID"; wait_log '"event":"stats"'
kill -USR2 "$SRV_PID"; wait_log '"event":"reopen"'
stop_lmtp
is "$(jq -r '.event // "recipient"' "$LOG" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')" \
   "recipient=4 reload=3 reopen=1 start=1 stats=2 stop=1 stopping=1 warning=2 " "the log has recipient lines and every event but error"
is "$(jq -c 'select(.event == null and .refused == null and .rcpt == "bob@example.net")
             | [.mta_queue_id, (.message_id | type), .generation, [.edits[].op], .tags]' "$LOG" | head -1)" \
   '["4XyZ1k2abc","string",1,["add-header","remove-header","replace-header","set-from-display","set-from-address","prepend-subject"],["signed"]]' \
   "a recipient line has Postfix's queue id, the Message-ID, the generation, the edits and the tags"
is "$(jq -c 'select(.event == null and .refused) | [.rcpt, .refused, .reply.code, .decision, .queue_id, .mta_queue_id]' "$LOG")" \
   '["a b@example.net","bad address syntax",501,null,null,"4XyZ1k2abc"]' \
   "a recipient refused at RCPT time has a line with its reply and the reason"
is "$(jq -r 'select(.warnings) | .warnings[0]' "$LOG")" \
   "control characters in \${from.display} replaced by '?'" "the held message's recipient line has its warning"
jq -c . "$LOG" | paths lmtp >> "$T/got"
# A --deliver lmtp: target that does not answer: a warning event at start.
: > "$LOG"
start_lmtp --rules "$fix/policy.rules" --deliver "lmtp:127.0.0.1:$(free_port)" --xforward-from unix
stop_lmtp
like "$(jq -r 'select(.event == "warning") | .deliver' "$LOG")" '^lmtp:127' "an unreachable --deliver target: a warning event"
jq -c . "$LOG" | paths lmtp >> "$T/got"
sort -u "$T/got" -o "$T/got"

# ---- Every key written is documented, every key documented is written -----
match_keys "$T/docs" "$T/got" > "$T/result" 2>&1
is "$?:$(grep -v '^UN' "$T/result")" "0:" "the key paths are matched against the page"
for id in check replay log event; do
	n=$(grep -c "^$id" "$T/got")
	undoc=$(awk -F'\t' -v id="$id" '$1 == "UNDOC" && index($2, id) == 1 { print $2 " " $3 }' "$T/result")
	is "$undoc" "" "$id: every one of the $n key paths written is documented in postern-json(5)"
done
awk -F'\t' '$1 == "UNMADE" { print $2 "\t" $3 "\t" $4 }' "$T/result" > "$T/unmade"
while IFS='	' read -r id key cond; do
	why=$(printf '%s\n' "$NOT_PRODUCED" | grep -F "$id $key: " | head -1)
	why=${why#"$id $key: "}
	if [ "$cond" = 1 ] && [ -n "$why" ]; then
		ok "$id $key: documented as conditional, not produced here ($why)"
	elif [ "$cond" = 1 ]; then
		not_ok "$id $key: documented as conditional, but no input produced it and NOT_PRODUCED does not say why"
	else
		not_ok "$id $key: documented, but no input produced it (mark it (conditional) if it can be absent)"
	fi
done < "$T/unmade"
printf '%s\n' "$NOT_PRODUCED" | while read -r id key _; do
	key=${key%:}
	grep -q "^$id	$key	1\$" "$T/docs" || echo "$id $key is not a conditional key of the page"
	grep -q "^$id	$key	" "$T/unmade" || echo "$id $key was produced"
done > "$T/stale"
is "$(cat "$T/stale")" "" "NOT_PRODUCED lists only conditional keys that no input produced"
for ev in start reload reopen stats stopping stop error warning; do
	grep -q "^HEADING	event:$ev\$" "$T/docs" && ok "postern-json(5) has a section for the $ev event" ||
		not_ok "postern-json(5) has a section for the $ev event"
done

# ---- The check can fail ---------------------------------------------------
printf 'check\tauth.spf.nosuch\n' >> "$T/got"
like "$(match_keys "$T/docs" "$T/got")" "UNDOC	check	auth.spf.nosuch" "an undocumented key is reported"
grep -v '^check	auth.dkim\[\].selector	' "$T/docs" > "$T/docs-less"
like "$(match_keys "$T/docs-less" "$T/got")" "UNDOC	check	auth.dkim\[\].selector" \
   "a key whose .TP paragraph is removed from the page is reported"
printf 'replay\tnosuch_member\t0\n' >> "$T/docs"
like "$(match_keys "$T/docs" "$T/got")" "UNMADE	replay	nosuch_member	0" "a documented key that nothing writes is reported"
printf 'log\tauth.nosuch\n' >> "$T/got"
like "$(match_keys "$T/docs" "$T/got")" "UNDOC	log	auth.nosuch" "a log auth member unknown to the check report is reported"
done_testing
