#!/bin/sh
# postern milter behind a real Postfix (issue 18): a private Postfix
# instance (tests/lmtp/lib.sh pf_instance) whose smtpd has
# smtpd_milters = inet:127.0.0.1:PORT (postern milter with
# tests/milter/postfix.rules and the DNS fixture milter.zone) and
# milter_default_action = tempfail, delivering what it accepts over LMTP to
# a postern lmtp with no rules (authserv-id lmtp.test) that writes a
# Maildir, so the delivered copy can be read. swaks and smtp-source are the
# clients. Checked: what the client sees for reject, tempfail, discard and
# quarantine (held in Postfix's hold queue); the header edits and the
# Authentication-Results field of an accepted copy, a forged one removed;
# envelope rules decided at RCPT (a 5xx after one RCPT TO, the other
# recipient delivered), with the message rules below them still decided at
# the end of the message;
# '%' in a reply text; smtp-source load delivered exactly once; and the
# milter killed under load: Postfix answers 4xx, nothing answered 250 is
# lost (the worker process SIGKILLed: its supervisor exits 70), and mail
# flows again after a restart. Needs root, postfix, swaks
# and smtp-source; skipped otherwise. Postfix's master runs in the
# foreground in its own process group, stopped by the trap.
#
# To extend: a rule in postfix.rules, a t_* function (send_msg, box/nbox,
# queue_id, mlog, fields are the building blocks) and its name in the run
# list at the end. Postfix's settings are in the pf_instance call. The
# tenant split with a real sending MTA, and SIGHUP reload under load, are in
# postfix_tenants.sh.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
. "$top_srcdir/tests/milter/pflib.sh"
dir="$top_srcdir/tests/milter"
pf_usable || skip "$PF_ERROR"
command -v swaks >/dev/null 2>&1 || skip "swaks not installed (apt-get install swaks)"
SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SMTP_SOURCE" ] || skip "smtp-source not installed (apt-get install postfix)"
T0=$(date +%s)
PF="$TMPDIR_TEST/postfix"
MLOG="$TMPDIR_TEST/milter.log"
MILTER_PID=
trap 'pf_stop; stop_milter; stop_lmtp; rm -rf "$TMPDIR_TEST"' EXIT
chmod 711 "$TMPDIR_TEST"


# ---- the three servers --------------------------------------------------

start_milter() {   # on $MPORT, the log in $MLOG
	$POSTERN_WRAPPER "$POSTERN" milter --rules "$dir/postfix.rules" --dns "$dir/milter.zone" \
		--listen "inet:$MPORT@127.0.0.1" --log "$MLOG" --hostname mx.test \
		2>>"$TMPDIR_TEST/milter.stderr" &
	MILTER_PID=$!
	wait_port "$MPORT" ${POSTERN_WRAPPER:+60}
}

MPORT=$(free_port)
start_milter || { not_ok "postern milter listens" "$(cat "$TMPDIR_TEST/milter.stderr")"; done_testing; exit 1; }
printf 'authserv-id "lmtp.test";\n' > "$TMPDIR_TEST/lmtp.rules"
start_lmtp --rules "$TMPDIR_TEST/lmtp.rules"
LPORT=$PORT
# Postfix: every domain is routed to postern lmtp; 127.0.0.1 may relay, and
# a client played by XCLIENT may send to the relay_domains.
if ! pf_instance "$PF" 'lmtp unix - - n - - lmtp' myhostname=mx.test \
	default_transport="lmtp:inet:127.0.0.1:$LPORT" relay_transport="lmtp:inet:127.0.0.1:$LPORT" \
	smtpd_milters="inet:127.0.0.1:$MPORT" milter_default_action=tempfail \
	smtpd_authorized_xclient_hosts=127.0.0.1 relay_domains="example.org agency.example"; then
	not_ok "a private Postfix listens" "$PF_ERROR"; done_testing; exit 1
fi
CD=$PF_CD PFLOG=$PF_LOG SPORT=$PF_PORT
ok "Postfix (smtpd on 127.0.0.1:$SPORT, smtpd_milters inet:127.0.0.1:$MPORT) -> postern lmtp on $LPORT"
step "set-up done"

# ---- helpers ------------------------------------------------------------

# send_msg FROM TO SUBJECT [SWAKS-ARGS...]: swaks to Postfix; its output.
send_msg() {
	_f=$1 _t=$2 _s=$3; shift 3
	swaks --server 127.0.0.1 --port "$SPORT" --helo client.test --timeout 30 \
		--from "$_f" --to "$_t" --header "Subject: $_s" --body "Figures." "$@" 2>&1
}
queue_id() { printf '%s\n' "$1" | sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-F]*\).*/\1/p' | tail -1; }
mlog() { grep -F "$1" "$MLOG" | tail -1; }   # mlog STRING: the milter's last log line with it
# fields FILE: the header section of FILE, one field a line (folds joined).
fields() { sed '/^\r\?$/q' "$1" | tr -d '\r' | sed ':a;N;$!ba;s/\n[ \t]\+/ /g'; }

# ---- RCPT time: the envelope rules, per recipient ------------------------

# postfix.rules starts with envelope rules (agency.example's client.ip
# allowlist, spf_fail): the milter decides them at RCPT, so the refused
# recipient gets the 5xx after its RCPT TO and the others go on.
t_rcpt_envelope() {
	out=$(send_msg alice@example.org a1@agency.example,r1@example.org "two recipients" \
		--xclient-addr 203.0.113.9 --xclient-helo client.test)
	like "$(printf '%s\n' "$out" | grep -A1 -- '-> RCPT TO:<a1@agency.example>' | tail -1)" \
		'^<\*\* +550 5\.7\.1 agency\.example takes mail from its relays only, not 203\.0\.113\.9$' \
		"the tenant's client.ip rule: 550 5.7.1 right after a1@agency.example's RCPT TO (XCLIENT ADDR=203.0.113.9)"
	like "$(printf '%s\n' "$out" | grep -A1 -- '-> RCPT TO:<r1@example.org>' | tail -1)" '^<- +250 ' \
		"the other recipient of the transaction gets 250"
	like "$out" '<- +250 2\.0\.0 Ok: queued as ' "and the message is accepted for it"
	wait_for 30 has_mail r1@example.org 1
	is "$(nbox r1@example.org):$(nbox a1@agency.example)" 1:0 "r1@example.org has the message, a1@agency.example nothing"
	is "$(q "$(mlog '"rcpt":"a1@agency.example"')" '[.stage, .client_ip, .tenant, .decision, .rule, .reply.code, .reply.enhanced] | @csv')" \
		'"rcpt","203.0.113.9","agency.example","reject","agency_relays",550,"5.7.1"' \
		"the milter's stage rcpt line: the XCLIENT address, the tenant, the rule and the reply"
	is "$(q "$(mlog '"r1@example.org"')" '[.stage, (.rcpts | join(" ")), .decision] | @csv')" '"eom","r1@example.org","accept"' \
		"its stage eom line has only the kept recipient"
	like "$(grep 'milter-reject: RCPT from' "$PFLOG" | grep 'to=<a1@agency.example>')" \
		'milter-reject: RCPT from unknown\[203\.0\.113\.9\]: 550 5\.7\.1 agency\.example takes mail from its relays only, not 203\.0\.113\.9; from=<alice@example\.org> to=<a1@agency\.example>' \
		"Postfix logs the milter's reject at RCPT (milter-reject: RCPT from ...)"
	# From one of the tenant's relays, the same recipient is kept.
	out=$(send_msg alice@example.org a2@agency.example "from a relay" --xclient-addr 192.0.2.7 --xclient-helo relay.test)
	like "$out" '<- +250 2\.0\.0 Ok: queued as ' "from 192.0.2.7 (agency_relays) a2@agency.example is accepted"
	wait_for 30 has_mail a2@agency.example 1
	is "$(nbox a2@agency.example)" 1 "and delivered"
	# SPF fail (example.net: -all outside 192.0.2.0/24): refused at RCPT.
	out=$(send_msg alice@example.net s1@example.org "spf" --xclient-addr 203.0.113.9 --xclient-helo client.test)
	like "$(printf '%s\n' "$out" | grep -A1 -- '-> RCPT TO:<s1@example.org>' | tail -1)" \
		'^<\*\* +550 5\.7\.23 SPF fail for example\.net from 203\.0\.113\.9$' "spf_fail: 550 5.7.23 after the RCPT TO"
	is "$(q "$(mlog '"rcpt":"s1@example.org"')" '[.stage, .decision, .rule] | @csv')" '"rcpt","reject","spf_fail"' \
		"the milter's stage rcpt line for it"
	like "$(grep 'milter-reject: RCPT from' "$PFLOG" | grep 'to=<s1@example.org>')" '550 5\.7\.23 SPF fail for example\.net' \
		"Postfix's milter-reject RCPT line for it"
	is "$(grep -c '"stage":"eom".*"s1@example.org"' "$MLOG")" 0 "no end-of-message line for a transaction without recipients"
}

# ---- end of message: reject, tempfail -----------------------------------

t_reject_tempfail() {
	# A DMARC p=reject failure (example.net publishes p=reject, SPF for
	# 192.0.2.0/24 only; the client is 127.0.0.1).
	out=$(send_msg alice@example.net bob@example.org "quarterly")
	like "$out" '<\*\* +550 5\.7\.1 DMARC policy of example\.net says reject' \
		"DMARC p=reject failure: the client gets the rule's 550 5.7.1 and text"
	like "$out" '-> +\.' "at the end of the message (after the data's final dot)"
	# A header rule, with '%' in its text: libmilter's '%%' reaches the client as '%'.
	out=$(send_msg alice@example.org bob@example.org "please reject me")
	like "$out" '<\*\* +554 5\.7\.9 subject refused: 100% spam$' \
		"a header rule: 554 5.7.9 and its text; the client sees one '%' (milter.c doubles it for libmilter)"
	like "$(grep 'milter-reject: END-OF-MESSAGE' "$PFLOG" | tail -1)" '5\.7\.9 subject refused: 100% spam;' \
		"Postfix logs the milter-reject with the same text"
	out=$(send_msg alice@example.org later@example.org "soon")
	like "$out" '<\*\* +451 4\.7\.2 later@example\.org: try again in 5 minutes' "tempfail: the rule's 451 4.7.2 and text"
	is "$(q "$(mlog '"later@example.org"')" '[.decision, .rule, .reply.code] | @csv')" '"tempfail","later",451' \
		"the milter's log line of the tempfail"
	# postfix.rules' envelope rules come first: they left these recipients
	# undecided at RCPT (kept), and the message rules decided at the end.
	is "$(grep '"stage":"rcpt"' "$MLOG" | grep -c -e '"rcpt":"bob@example.org"' -e '"rcpt":"later@example.org"')" 0 \
		"none of these was decided at RCPT: the envelope rules above the message rules kept them"
	is "$(q "$(mlog '"later@example.org"')" '.stage')" eom "the tempfail is the end of the message's (stage eom)"
}

# ---- discard and quarantine ---------------------------------------------

t_discard_quarantine() {
	out=$(send_msg alice@example.org spam@example.org "discard me")
	like "$out" '<- +250 2\.0\.0 Ok: queued as ' "discard: 250 at the client"
	id=$(queue_id "$out")
	like "$(grep "$id: milter-discard" "$PFLOG")" 'milter triggers DISCARD action' "Postfix discards it (milter-discard)"

	out=$(send_msg alice@example.org hold@example.org "hold me")
	like "$out" '<- +250 2\.0\.0 Ok: queued as ' "quarantine: 250 at the client"
	HOLD_ID=$(queue_id "$out")
	like "$(grep "$HOLD_ID: milter-hold" "$PFLOG")" 'milter triggers HOLD action' "Postfix holds it (milter-hold)"
	like "$(postqueue -c "$CD" -p)" "^$HOLD_ID! .* alice@example\.org" "postqueue -p lists it on hold ('!')"
	like "$(postcat -c "$CD" -hq "$HOLD_ID" 2>&1 | tr '\n' ' ')" '^Authentication-Results: mx\.test; spf=none ' \
		"the held copy (postcat) starts with our Authentication-Results"
}

# ---- accept: the header edits --------------------------------------------

t_accept_edits() {
	out=$(send_msg alice@example.org tag@example.org "Hello" --add-header "X-Internal-Route: secret" \
		--add-header "Authentication-Results: mx.test; dmarc=pass header.from=bank.example")
	like "$out" '<- +250 2\.0\.0 Ok: queued as ' "accept: 250 at the client"
	wait_for 30 has_mail tag@example.org 1
	is "$(nbox tag@example.org)" 1 "the accepted message is delivered once"
	f=$(box tag@example.org)
	fields "$f" > "$TMPDIR_TEST/tag.fields"
	# postern lmtp's own fields (Return-Path, Delivered-To, Received,
	# Authentication-Results lmtp.test) come first; Postfix's copy follows.
	pfcopy=$(sed -n '/^Authentication-Results: lmtp\.test;/,$p' "$TMPDIR_TEST/tag.fields" | tail -n +2)
	is "$(printf '%s\n' "$pfcopy" | cut -d: -f1 | head -3 | tr '\n' ' ')" "X-Tag Authentication-Results Received " \
		"at the top of Postfix's copy: the rule's X-Tag, our Authentication-Results, then Postfix's Received"
	like "$(printf '%s\n' "$pfcopy" | sed -n 2p)" \
		'^Authentication-Results: mx\.test; spf=none smtp\.mailfrom=alice@example\.org; dkim=none; dmarc=none header\.from=example\.org$' \
		"our Authentication-Results (authserv-id mx.test)"
	like "$(printf '%s\n' "$pfcopy" | sed -n 3p)" '^Received: from client\.test \(unknown \[127\.0\.0\.1\]\) by mx\.test \(Postfix\)' \
		"Postfix's own Received field is below the milter's insertions"
	is "$(grep -c '^Authentication-Results: mx\.test' "$TMPDIR_TEST/tag.fields")" 1 "the forged Authentication-Results of mx.test is gone"
	is "$(grep -c 'bank\.example' "$TMPDIR_TEST/tag.fields")" 0 "nothing of the forged field is left"
	is "$(grep '^Subject:' "$TMPDIR_TEST/tag.fields")" "Subject: [EXT] Hello" "the Subject is prepended"
	is "$(grep -c '^X-Internal-Route:' "$TMPDIR_TEST/tag.fields")" 0 "X-Internal-Route is removed"
	is "$(q "$(mlog '"tag@example.org"')" '[.decision, .edits] | @csv')" '"accept",5' \
		"the milter's log: accept with five edits (X-Tag, A-R, Subject, two removals)"
	is "$(nbox bob@example.org)$(nbox later@example.org)$(nbox spam@example.org)$(nbox hold@example.org)" 0000 \
		"nothing rejected, tempfailed, discarded or held was delivered"
}

# ---- load: smtp-source, every accepted message delivered once ------------

t_load() {
	LOAD=400
	n0=$(grep -c '"decision":"accept"' "$MLOG")
	out=$("$SMTP_SOURCE" -s 16 -m "$LOAD" -M client.test -f alice@example.org -t load@example.org \
		-S "load" "127.0.0.1:$SPORT" 2>&1)
	is "$?:$out" "0:" "smtp-source -s 16 -m $LOAD: exit 0, no error printed (every reply 2xx/3xx)"
	all_loaded() { [ "$(nbox load@example.org)" -ge "$LOAD" ]; }
	wait_for 60 all_loaded
	is "$(nbox load@example.org)" "$LOAD" "$LOAD copies in the Maildir"
	is "$(box load@example.org | xargs grep -h '^Message-Id:' | sort -u | wc -l | tr -d ' ')" "$LOAD" \
		"$LOAD different Message-IDs: each message delivered exactly once"
	is "$(($(grep -c '"decision":"accept"' "$MLOG") - n0))" "$LOAD" "the milter logged $LOAD accepts"
	is "$(grep 'to=<load@example.org>' "$PFLOG" | grep -c 'status=sent')" "$LOAD" "Postfix logged $LOAD deliveries"
}

# ---- the milter killed under load ----------------------------------------

# smtpreplies.py records each message's reply; the milter is killed
# (SIGKILL) after KILL_AT replies and restarted RESTART_AFTER replies later.
t_milter_killed() {
	REPLIES="$TMPDIR_TEST/replies"
	N=240 KILL_AT=60 RESTART_AFTER=60
	: > "$REPLIES"
	nreplies() { wc -l < "$REPLIES" | tr -d ' '; }
	reached() { [ "$(nreplies)" -ge "$1" ] || ! kill -0 "$CLIENT_PID" 2>/dev/null; }
	python3 "$dir/smtpreplies.py" send "$SPORT" "$N" 4 "$REPLIES" >/dev/null &
	CLIENT_PID=$!
	wait_for 60 reached "$KILL_AT"
	# The process deciding mail is the worker, the supervisor's child (one
	# process where there is no supervisor); a crash is its SIGKILL.
	worker=$(ps -o pid= --ppid "$MILTER_PID" | tr -d ' ' | head -1)
	kill -KILL "${worker:-$MILTER_PID}"; wait "$MILTER_PID"; killed_rc=$?; MILTER_PID=
	k=$(nreplies)
	wait_for 60 reached $((k + RESTART_AFTER))
	r=$(nreplies)
	start_milter || not_ok "postern milter restarts" "$(tail -5 "$TMPDIR_TEST/milter.stderr")"
	wait "$CLIENT_PID"
	if [ -n "$worker" ]; then
		is "$killed_rc" 70 "the worker killed: the supervisor exits 70"
		like "$(grep '"event":"error"' "$MLOG" | tail -1)" '"worker":'"$worker"',"signal":9,' \
			"and logs an error event naming the worker and signal 9"
	fi
	is "$(nreplies)" "$N" "the client recorded a reply to each of its $N messages"
	python3 "$dir/smtpreplies.py" send "$SPORT" 40 4 "$REPLIES.after" 1000 >/dev/null
	# The messages started after the kill and before the restart: numbers
	# are taken in order, so at the kill at most k + 4 (k replies, four
	# sessions under way) were taken, and before the restart at least r.
	after_kill=$(awk -v a=$((k + 4)) -v b="$r" '$1 >= a && $1 < b { print $2 }' "$REPLIES" \
		| sort | uniq -c | tr -s ' ' | tr '\n' ',')
	like "$after_kill" '^ ?[0-9]+ 451,$' "messages sent between the kill and the restart: all 451 (milter_default_action = tempfail): $after_kill"
	like "$(grep -c "warning: connect to Milter service inet:127.0.0.1:$MPORT: Connection refused" "$PFLOG")" '^[1-9]' \
		"Postfix logs that it cannot reach the milter"
	is "$(cut -d' ' -f2 "$REPLIES.after" | sort | uniq -c | tr -s ' ')" " 40 250" \
		"after the restart, mail flows again: 40 more messages, 40 250s"
	cat "$REPLIES.after" >> "$REPLIES"
	replies_settled "$REPLIES" "$MD/example.org/bob" 60
	like "$res" ' lost=0 dup=0 ' "every 250 has exactly one delivered copy: $res"
	like "$res" ' unacked=0$' "and nothing the client saw refused was delivered"
	like "$res" 'accepted=[1-9][0-9]+ tempfailed=[1-9][0-9]* other=0 ' "both 250s and 4xx were seen, nothing else"
}

# ---- the run: each part, then the end ----------------------------------

for t in t_rcpt_envelope t_reject_tempfail t_discard_quarantine t_accept_edits t_load t_milter_killed; do
	$t
	step "$t done"
done

pf_stop
stop_milter
is "$MILTER_RC" 0 "postern milter exits 0 on SIGTERM"
stop_lmtp
el=$(($(date +%s) - T0))
echo "# the whole run took ${el}s (each wait above has its own bound; time is measured by make bench, not asserted)"
done_testing
