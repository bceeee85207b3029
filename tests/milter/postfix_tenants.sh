#!/bin/sh
# postern milter's tenant split and SIGHUP reload behind a real Postfix
# (issue 18). Two private Postfix instances (tests/lmtp/lib.sh pf_instance):
# "mx", whose smtpd has smtpd_milters = inet:127.0.0.1:PORT (postern milter
# with tests/milter/postfix_tenants.rules: tenants alpha.example and
# beta.example) and delivers over LMTP to a postern lmtp writing a Maildir;
# and "relay", a sending MTA (relayhost = [127.0.0.1]:MX-PORT) into which
# the test injects mail with sendmail -C, so the client that meets the
# 452 4.5.3 of the tenant split is Postfix's own smtp client.
# Checked: a message for both tenants is split (452 4.5.3 for the second
# tenant's recipient at RCPT), relay's smtp client sends that recipient in
# a new transaction (SPLIT_NOTE below says when), and each recipient gets
# exactly one copy with its own tenant's edits; with --tenant-split off,
# one transaction, one tenant's edits for both, "mixed" when the decisions
# or the edits
# differ. Then SIGHUP (and postern reload) under load: smtpreplies.py
# sending (8 sessions, on until 40 replies after the last change) while
# the rule file changes four times; every message answered 250 or 550, every 250 delivered once, the
# reload events ok, the same worker throughout, the messages after the
# last reload under its rules. About 30 s.
# Needs root, postfix, swaks and jq; skipped otherwise.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
. "$top_srcdir/tests/milter/pflib.sh"
dir="$top_srcdir/tests/milter"
pf_usable || skip "$PF_ERROR"
command -v swaks >/dev/null 2>&1 || skip "swaks not installed (apt-get install swaks)"
command -v jq >/dev/null 2>&1 || skip "jq not installed (apt-get install jq)"
T0=$(date +%s)
MLOG="$TMPDIR_TEST/milter.log"
RULES="$TMPDIR_TEST/tenants.rules"
PIDF="$TMPDIR_TEST/milter.pid"
MILTER_PID= MX_MASTER= RELAY_MASTER=
stop_pfs() {
	PF_MASTER=$RELAY_MASTER; pf_stop; RELAY_MASTER=
	PF_MASTER=$MX_MASTER; pf_stop; MX_MASTER=
}
trap 'stop_pfs; stop_milter; stop_lmtp; rm -rf "$TMPDIR_TEST"' EXIT
chmod 711 "$TMPDIR_TEST"


# ---- the servers ----------------------------------------------------------

# write_rules GEN: postfix_tenants.rules with its "gen" rule for
# generation GEN: odd, bob@example.org's copy gets X-Gen: GEN; even, bob is
# refused at RCPT (550 5.7.1 generation GEN). Written beside and renamed,
# so a reload never reads half a file.
write_rules() {
	{
		sed '/^# gen$/,$d' "$dir/postfix_tenants.rules"
		echo "# gen"
		if [ $(($1 % 2)) = 1 ]; then
			printf 'rule gen {\n  when rcpt == "bob@example.org"\n  then add header "X-Gen" "%s";\n}\n' "$1"
		else
			printf 'rule gen {\n  when rcpt == "bob@example.org"\n  then reject 550 5.7.1 "generation %s refuses bob";\n}\n' "$1"
		fi
	} > "$RULES.new" && mv "$RULES.new" "$RULES"
}

start_milter() {   # start_milter [ARGS...]: on $MPORT, the log in $MLOG
	$POSTERN_WRAPPER "$POSTERN" milter --rules "$RULES" --dns "$dir/milter.zone" \
		--listen "inet:$MPORT@127.0.0.1" --log "$MLOG" --hostname mx.test --pid-file "$PIDF" "$@" \
		2>>"$TMPDIR_TEST/milter.stderr" &
	MILTER_PID=$!
	wait_port "$MPORT" ${POSTERN_WRAPPER:+60}
}
worker_of() { ps -o pid= --ppid "$MILTER_PID" | tr -d ' ' | head -1; }

write_rules 1
MPORT=$(free_port)
start_milter || { not_ok "postern milter listens" "$(cat "$TMPDIR_TEST/milter.stderr")"; done_testing; exit 1; }
printf 'authserv-id "lmtp.test";\n' > "$TMPDIR_TEST/lmtp.rules"
start_lmtp --rules "$TMPDIR_TEST/lmtp.rules"
LPORT=$PORT
# mx: the tenants' domains and example.org relayed to postern lmtp.
# (The masters are noted before the check, so the trap stops a half-started one.)
pf_instance "$TMPDIR_TEST/mx" 'lmtp unix - - n - - lmtp' myhostname=mx.test \
	relay_domains="alpha.example beta.example example.org" \
	default_transport="lmtp:inet:127.0.0.1:$LPORT" relay_transport="lmtp:inet:127.0.0.1:$LPORT" \
	smtpd_milters="inet:127.0.0.1:$MPORT" milter_default_action=tempfail
rc=$?; MX_MASTER=$PF_MASTER MX_LOG=$PF_LOG SPORT=$PF_PORT PF_MASTER=
[ "$rc" = 0 ] || { not_ok "the mx Postfix listens" "$PF_ERROR"; done_testing; exit 1; }
# relay: everything to mx's smtpd, by its smtp client.
pf_instance "$TMPDIR_TEST/relay" 'smtp unix - - n - - smtp' myhostname=relay.test \
	relayhost="[127.0.0.1]:$SPORT"
rc=$?; RELAY_MASTER=$PF_MASTER RELAY_CD=$PF_CD RELAY_LOG=$PF_LOG PF_MASTER=
[ "$rc" = 0 ] || { not_ok "the relay Postfix listens" "$PF_ERROR"; done_testing; exit 1; }
ok "relay Postfix -> mx Postfix (127.0.0.1:$SPORT, smtpd_milters inet:127.0.0.1:$MPORT) -> postern lmtp on $LPORT"
step "set-up done"

# ---- helpers --------------------------------------------------------------

# inject FROM SUBJECT RCPT...: a message into relay (its sendmail).
inject() {
	_f=$1 _s=$2; shift 2
	printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@tenants.test>\n\nFigures.\n' \
		"$_f" "$(echo "$@" | tr ' ' ,)" "$_s" "$(echo "$_s" | tr ' ' -)" |
		sendmail -C "$RELAY_CD" -f "$_f" "$@"
}
# tenant_of ADDR: the X-Tenant values of ADDR's copies, sorted, one line.
tenant_of() { box "$1" | xargs -r grep -h '^X-Tenant:' | tr -d '\r' | sort | tr '\n' ' '; }
# eom_of ADDR: the milter's stage eom line listing ADDR.
eom_of() { grep '"stage":"eom"' "$MLOG" | grep -F "\"$1\"" | tail -1; }

# ---- the tenant split, Postfix's smtp client as the client ---------------

# SPLIT_NOTE: what Postfix 3.7 (checked with 3.7.11) does with the
# 452 4.5.3: its smtp client finishes the transaction for the recipients
# that got 250 and defers the other one (status=deferred, dsn=4.5.3, "in
# reply to RCPT TO command"), like any 4xx to RCPT; it does not open a new
# transaction at once. The message stays in the deferred queue for that
# recipient until the next try (minimal_backoff_time, 300 s by default) or
# a flush (postqueue -f), which the test does; that try is a new
# transaction with the deferred recipient alone.
t_split() {
	inject alice@example.org "split on" a1@alpha.example b1@beta.example
	wait_for 30 has_mail a1@alpha.example 1
	deferred() { grep -q 'to=<b1@beta.example>.*status=deferred' "$RELAY_LOG"; }
	wait_for 10 deferred
	like "$(grep 'to=<b1@beta.example>' "$RELAY_LOG" | head -1)" \
		"relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$SPORT, .* dsn=4\\.5\\.3, status=deferred \\(host 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] said: 452 4\\.5\\.3 Recipient under another policy: send it in a new transaction \\(in reply to RCPT TO command\\)\\)$" \
		"relay's smtp client: 452 4.5.3 to b1@beta.example's RCPT TO, and b1 deferred"
	like "$(grep 'to=<a1@alpha.example>' "$RELAY_LOG")" 'status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)$' \
		"the same transaction goes on for a1@alpha.example: sent"
	like "$(grep 'milter-reject: RCPT from' "$MX_LOG" | grep 'to=<b1@beta.example>')" \
		': milter-reject: RCPT from unknown\[127\.0\.0\.1\]: 452 4\.5\.3 Recipient under another policy: send it in a new transaction; from=<alice@example\.org> to=<b1@beta\.example> proto=ESMTP helo=<relay\.test>$' \
		"mx's smtpd logs the milter's 452 at RCPT"
	is "$(q "$(grep '"stage":"rcpt"' "$MLOG" | grep -F '"b1@beta.example"' | tail -1)" '[.tenant, .decision, .reply.code, .reply.enhanced, .why] | @csv')" \
		'"beta.example","tempfail",452,"4.5.3","tenant split: the transaction'"'"'s tenant is alpha.example, this recipient'"'"'s beta.example"' \
		"the milter's stage rcpt line says why: tenant split"
	queued() { postqueue -c "$RELAY_CD" -p | grep -q '452 4\.5\.3'; }   # deferred, with its reason
	wait_for 10 queued
	pq=$(postqueue -c "$RELAY_CD" -p)
	like "$(printf '%s\n' "$pq" | tr '\n' ' ')" '\(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 452 4\.5\.3 .*\) +b1@beta\.example' \
		"the message waits in relay's queue for b1@beta.example, with the 452 as the reason"
	is "$(printf '%s\n' "$pq" | grep -c 'a1@alpha\.example')" 0 "and not for a1@alpha.example"
	sleep 2
	is "$(nbox b1@beta.example)" 0 "Postfix 3.7 does not send it again at once: 2 s later b1 has nothing (next try: minimal_backoff_time)"
	postqueue -c "$RELAY_CD" -f
	wait_for 30 has_mail b1@beta.example 1
	like "$(grep 'to=<b1@beta.example>' "$RELAY_LOG" | tail -1)" 'status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)$' \
		"after postqueue -f, relay sends it in a new transaction: sent"
	is "$(grep -c 'message-id=<split-on@tenants.test>' "$MX_LOG")" 2 "mx received the message twice (two transactions)"
	sleep 0.5
	is "$(nbox a1@alpha.example):$(nbox b1@beta.example)" 1:1 "each recipient has exactly one copy"
	is "$(tenant_of a1@alpha.example)" "X-Tenant: alpha " "a1's copy has alpha.example's edit only"
	is "$(tenant_of b1@beta.example)" "X-Tenant: beta " "b1's copy has beta.example's edit only"
	is "$(q "$(eom_of a1@alpha.example)" '[(.rcpts | join(" ")), .decision, .mixed] | @csv')" '"a1@alpha.example","accept",false' \
		"the first transaction's decision line lists alpha.example's recipient only"
	is "$(q "$(eom_of b1@beta.example)" '[(.rcpts | join(" ")), .decision, .mixed] | @csv')" '"b1@beta.example","accept",false' \
		"the second's lists beta.example's recipient only"
}

# --tenant-split off: one transaction whatever the tenants.
t_split_off() {
	stop_milter
	start_milter --tenant-split off || not_ok "postern milter restarts with --tenant-split off" "$(tail -3 "$TMPDIR_TEST/milter.stderr")"
	inject alice@example.org "split off" a2@alpha.example b2@beta.example
	wait_for 30 has_mail a2@alpha.example 1
	wait_for 10 has_mail b2@beta.example 1
	ida=$(grep 'to=<a2@alpha.example>' "$RELAY_LOG" | sed -n 's/.*status=sent (250 2\.0\.0 Ok: queued as \([0-9A-F]*\)).*/\1/p')
	idb=$(grep 'to=<b2@beta.example>' "$RELAY_LOG" | sed -n 's/.*status=sent (250 2\.0\.0 Ok: queued as \([0-9A-F]*\)).*/\1/p')
	like "$ida" '^[0-9A-F]+$' "split off: relay sent a2@alpha.example"
	is "$idb" "$ida" "and b2@beta.example in the same transaction (mx's queue id $ida for both)"
	is "$(grep '"stage":"rcpt"' "$MLOG" | grep -c -e '"a2@alpha.example"' -e '"b2@beta.example"')" 0 "no recipient answered at RCPT"
	is "$(q "$(eom_of b2@beta.example)" '[(.rcpts | join(" ")), .decision, .mixed] | @csv')" '"a2@alpha.example b2@beta.example","accept",true' \
		"one decision line for both tenants' recipients, mixed: both accept, with other edits"
	sleep 0.5
	is "$(nbox a2@alpha.example):$(nbox b2@beta.example)" 1:1 "each has one copy"
	# One message, one set of header edits: the deciding (first) recipient's.
	is "$(tenant_of a2@alpha.example)|$(tenant_of b2@beta.example)" "X-Tenant: alpha |X-Tenant: alpha " \
		"both copies carry alpha.example's edit (one message, one set of edits: why the split exists)"
	# Decisions that differ: beta.example refuses the message, alpha accepts.
	out=$(swaks --server 127.0.0.1 --port "$SPORT" --helo client.test --timeout 30 --from alice@example.org \
		--to a3@alpha.example,b3@beta.example --header "Subject: beta-refuse this" --body "Figures." 2>&1)
	like "$(printf '%s\n' "$out" | grep -A1 -- '-> RCPT TO:<b3@beta.example>' | tail -1)" '^<- +250 ' \
		"split off: b3@beta.example kept at RCPT after a3@alpha.example"
	like "$out" '<\*\* +550 5\.7\.1 beta\.example refuses this message' "the message gets beta.example's 550 (the strictest)"
	is "$(q "$(eom_of b3@beta.example)" '[(.rcpts | join(" ")), .decision, .rule, .mixed] | @csv')" \
		'"a3@alpha.example b3@beta.example","reject","beta_refuse",true' "its decision line: both recipients, reject, mixed true"
	is "$(nbox a3@alpha.example)" 0 "nothing delivered to a3@alpha.example"
	stop_milter
	is "$MILTER_RC" 0 "postern milter exits 0 on SIGTERM"
	start_milter || not_ok "postern milter restarts" "$(tail -3 "$TMPDIR_TEST/milter.stderr")"
}

# ---- SIGHUP under load ----------------------------------------------------

# smtpreplies.py sends messages to bob@example.org over 8 sessions while
# the rule file goes through generations 2..5 (write_rules: even ones
# refuse bob at RCPT), each taken by SIGHUP or postern reload. The client
# goes on until told to stop, 40 replies after the last reload, so the
# reloads fall under load however fast the machine.
t_reload() {
	REPLIES="$TMPDIR_TEST/replies"
	: > "$REPLIES"
	nreplies() { wc -l < "$REPLIES" | tr -d ' '; }
	reached() { [ "$(nreplies)" -ge "$1" ] || ! kill -0 "$CLIENT_PID" 2>/dev/null; }
	nreloads() { grep -c '"event":"reload"' "$MLOG"; }
	reloads_are() { [ "$(nreloads)" -ge "$1" ]; }
	w0=$(worker_of)
	r0=$(nreloads)
	rm -f "$TMPDIR_TEST/stop"
	python3 "$dir/smtpreplies.py" send "$SPORT" 0 8 "$REPLIES" 0 "$TMPDIR_TEST/stop" > "$TMPDIR_TEST/sent" &
	CLIENT_PID=$!
	rl_rc=
	for g in 2 3 4 5; do
		wait_for 30 reached $(((g - 1) * 60))
		write_rules "$g"
		if [ $((g % 2)) = 0 ]; then
			kill -HUP "$MILTER_PID"
		else
			"$POSTERN" reload --pid-file "$PIDF" >>"$TMPDIR_TEST/reload.out" 2>&1; rl_rc="$rl_rc$?"
		fi
		wait_for 10 reloads_are $((r0 + g - 1))
		echo "# generation $g taken after $(nreplies) replies"
	done
	last=$(nreplies)
	wait_for 30 reached $((last + 40))
	kill -0 "$CLIENT_PID" 2>/dev/null && ok "the four reloads were taken while the client was sending" ||
		not_ok "the four reloads were taken while the client was sending" "the client ended after $(nreplies) replies"
	more=$(($(nreplies) - last))
	[ "$more" -ge 40 ] && ok "and it went on after the last one ($more replies)" ||
		not_ok "and it went on after the last one" "$more replies"
	touch "$TMPDIR_TEST/stop"
	wait "$CLIENT_PID"
	N=$(sed -n 's/^sent \([0-9]*\)$/\1/p' "$TMPDIR_TEST/sent")
	is "$rl_rc" 00 "postern reload --pid-file exits 0 (twice)"
	is "$(($(nreloads) - r0))" 4 "four reload events"
	is "$(grep '"event":"reload"' "$MLOG" | tail -4 | grep -c '"ok":true')" 4 "each says ok"
	is "$(grep -c '"event":"error"' "$MLOG")" 0 "no error event"
	w1=$(worker_of)
	like "$w0" '^[0-9]+$' "the worker runs ($w0)"
	is "$w1" "$w0" "the same worker process before and after the reloads"
	like "$N" '^[0-9]+$' "the client says how many messages it sent ($N)"
	is "$(nreplies)" "$N" "a reply to each of the $N messages"
	codes=$(cut -d' ' -f2 "$REPLIES" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
	like "$codes" '^ ?[0-9]+ 250, [0-9]+ 550,$' "only 250 and 550, both seen: $codes"
	n550=$(grep -c ' 550$' "$REPLIES")
	# A 550 is the gen rule's, at RCPT, or at the end of the message for
	# a message whose RCPT came before a reload to an even generation and
	# its end after it (each stage uses the policy current at the time).
	gen_rejects() { grep -F "$1" "$MLOG" | grep -F '"bob@example.org"' | grep '"decision":"reject","rule":"gen"'; }
	at_rcpt=$(gen_rejects '"stage":"rcpt"' | wc -l | tr -d ' ')
	at_eom=$(gen_rejects '"stage":"eom"' | wc -l | tr -d ' ')
	is "$((at_rcpt + at_eom))" "$n550" "the milter logged a gen reject for each 550 ($n550: $at_rcpt at RCPT, $at_eom at the end of the message)"
	is "$(gen_rejects '"stage"' | grep -c -v -e '"text":"generation 2 refuses bob"' -e '"text":"generation 4 refuses bob"')" 0 \
		"each of them in generation 2's or 4's words"
	replies_settled "$REPLIES" "$MD/example.org/bob" 30
	like "$res" ' lost=0 dup=0 unacked=0$' "every 250 delivered exactly once, nothing else delivered: $res"
	gens=$(box bob@example.org | xargs grep -h '^X-Gen:' | tr -d '\r' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
	like "$gens" '^( ?[0-9]+ X-Gen: [135],)+$' "the delivered copies went through generation 1, 3 or 5: $gens"
	# After the last reload: generation 5 for every message.
	python3 "$dir/smtpreplies.py" send "$SPORT" 30 4 "$REPLIES.after" 1000 >/dev/null
	is "$(cut -d' ' -f2 "$REPLIES.after" | sort | uniq -c | tr -s ' ')" " 30 250" "after the last reload: 30 messages, 30 250s"
	after5() { [ "$(grep -l '^Message-ID: <10[0-9][0-9]@replies\.test>' $(box bob@example.org) | wc -l)" -ge 30 ]; }
	wait_for 30 after5
	is "$(grep -l '^Message-ID: <10[0-9][0-9]@replies\.test>' $(box bob@example.org) | xargs grep -h '^X-Gen:' | tr -d '\r' | sort | uniq -c | tr -s ' ')" \
		" 30 X-Gen: 5" "each delivered once with generation 5's X-Gen: 5"
}

for t in t_split t_split_off t_reload; do
	$t
	step "$t done"
done

stop_pfs
stop_milter
is "$MILTER_RC" 0 "postern milter exits 0 on SIGTERM"
stop_lmtp
el=$(($(date +%s) - T0))
echo "# the whole run took ${el}s (each wait above has its own bound; time is measured by make bench, not asserted)"
done_testing
