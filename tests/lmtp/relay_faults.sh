#!/bin/sh
# postern lmtp --deliver lmtp:... against a downstream that misbehaves
# (tests/lmtp/faultd.py, since Dovecot cannot be told to): 421 at connect,
# to MAIL and to RCPT, the connection closed in the middle of DATA, after
# the first of two replies, and stalls past --timeout at the greeting and
# after DATA. The recipients affected get 451 4.4.x, never a 250 for a copy
# the downstream did not store, and postern serves the next session.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
# pyenv and similar shims cost a second a start: run the interpreter itself.
PY=$(python3 -c 'import sys; print(sys.executable)')
lmtpc() { "$PY" "$LMTPC" "$@"; }
FD_PID=
trap 'stop_lmtp; [ -n "$FD_PID" ] && kill "$FD_PID" 2>/dev/null; rm -rf "$TMPDIR_TEST"' EXIT
MODE="$TMPDIR_TEST/mode"; REC="$TMPDIR_TEST/record"
echo ok > "$MODE"; : > "$REC"
"$PY" "$top_srcdir/tests/lmtp/faultd.py" "$TMPDIR_TEST/fport" "$MODE" "$REC" &
FD_PID=$!
i=0; while [ ! -s "$TMPDIR_TEST/fport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
FPORT=$(cat "$TMPDIR_TEST/fport")
rules="$TMPDIR_TEST/r.rules"
echo 'rule stamp { when true then add header "X-Relayed-By" "postern"; }' > "$rules"
start_lmtp --rules "$rules" --deliver "lmtp:127.0.0.1:$FPORT" --timeout 2

# send TAG: one message to a@ and b@example.org; prints the two replies
# after DATA as "CODE ENHANCED" and leaves the whole session in $TMPDIR_TEST/out.TAG.
send() {
	printf '%s\n' 'LHLO client.test' 'MAIL FROM:<s@example.net>' 'RCPT TO:<a@example.org>' 'RCPT TO:<b@example.org>' \
		'DATA' '<<354' "Subject: $1\r\n\r\nbody" '@@big 100000' '.' 'QUIT' | lmtpc "$PORT" > "$TMPDIR_TEST/out.$1"
	grep -E '^[245][0-9][0-9] [245]\.[0-9]+\.[0-9]+ ' "$TMPDIR_TEST/out.$1" | grep -vE '^(250 2\.1\.[05]|221) ' \
		| cut -d' ' -f1-2 | tr '\n' ' '
}
# no_false_250 TAG MODE: every 250 postern gave in that session is a copy
# faultd stored for that recipient in that mode.
no_false_250() {
	bad=0
	for r in a@example.org b@example.org; do
		if grep -q "^250 2\.0\.0 <$r>" "$TMPDIR_TEST/out.$1" \
		   && ! grep -q "^$2 STORED $r\$" "$REC"; then bad=$((bad + 1)); fi
	done
	# postern's 250s after DATA are faultd's own ("<rcpt> stored")
	if grep -E '^250 2\.0\.0' "$TMPDIR_TEST/out.$1" | grep -qv 'stored$'; then bad=$((bad + 1)); fi
	is "$bad" 0 "$2: no 250 for a copy the downstream did not store"
}
next_ok() {   # the next session, against a well-behaved downstream
	echo ok > "$MODE"
	is "$(send "after-$1")" "250 2.0.0 250 2.0.0 " "after $1: the next session is relayed (250, 250)"
}

is "$(send first)" "250 2.0.0 250 2.0.0 " "a well-behaved downstream: 250 for both"
no_false_250 first ok

for m in greet421 mail421 rcpt421 dataclose; do
	echo "$m" > "$MODE"
	got=$(send "$m")
	like "$got" '^451 4\.4\.[0-9]+ 451 4\.4\.[0-9]+ $' "$m: 451 4.4.x for both recipients (got $got)"
	no_false_250 "$m" "$m"
	next_ok "$m"
done
like "$(cat "$TMPDIR_TEST/out.greet421")" '451 4\.4\.1 downstream refused the session: 421' \
   "greet421: the reply says the downstream refused the session"
like "$(cat "$TMPDIR_TEST/out.rcpt421")" '451 4\.4\.2 .*421' "rcpt421: the downstream's 421 is named in the 451"

echo partial > "$MODE"
is "$(send partial)" "250 2.0.0 451 4.4.2 " "closed after the first reply: 250 for the stored copy, 451 4.4.2 for the other"
no_false_250 partial partial
next_ok partial

for m in stallgreet stalldata; do
	echo "$m" > "$MODE"
	t0=$(date +%s)
	got=$(send "$m")
	t1=$(date +%s)
	is "$got" "451 4.4.2 451 4.4.2 " "$m: a downstream silent past --timeout 2 gives 451 4.4.2"
	[ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 8 ] && ok "$m: after the timeout, not before ($((t1 - t0)) s)" \
		|| not_ok "$m: after the timeout" "took $((t1 - t0)) s"
	no_false_250 "$m" "$m"
	next_ok "$m"
done
like "$(cat "$TMPDIR_TEST/out.stalldata")" 'downstream timeout \(after DATA\)' "stalldata: the 451 says timeout after DATA"

# A 3xx is not a final reply (RFC 5321 4.2.1): to MAIL, RCPT, DATA or
# after it, the recipients get a temporary 451 4.3.0 naming it, never the 3xx.
for m in mail354 rcpt354 data355 after354; do
	echo "$m" > "$MODE"
	got=$(send "$m")
	is "$got" "451 4.3.0 451 4.3.0 " "$m: a downstream 3xx gives 451 4.3.0 for both recipients"
	like "$(cat "$TMPDIR_TEST/out.$m")" '451 4\.3\.0 unexpected downstream reply 35[45] ' \
		"$m: the 451 names the downstream's reply"
	if grep -Eq '^3[0-9][0-9] 3\.' "$TMPDIR_TEST/out.$m"; then
		not_ok "$m: no 3xx passed on" "$(grep -E '^3' "$TMPDIR_TEST/out.$m")"
	else ok "$m: no 3xx passed on"; fi
	no_false_250 "$m" "$m"
	next_ok "$m"
done

replies=$(grep -c '"reply":{"code":250' "$LOG")
stored=$(grep -c ' STORED ' "$REC")
[ "$replies" -le "$stored" ] && ok "250 lines in postern's log ($replies) <= copies stored downstream ($stored)" \
	|| not_ok "250 lines in postern's log <= copies stored downstream" "250: $replies, stored: $stored"
stop_lmtp
is "$STOP_RC" 0 "postern exits 0 on SIGTERM after all of it"
done_testing
