#!/bin/sh
# The adversarial corpus (tests/adversarial/README) through a real Postfix
# smtpd and postern milter (issue 18): for each case of cases.tsv, the
# message is sent with swaks to a private Postfix whose smtpd_milters is
# postern milter (rules/baseline.rules, tests/adversarial/dns.zone), the
# case's client IP and HELO given by XCLIENT (smtpd_authorized_xclient_hosts
# = 127.0.0.1; Postfix hands XCLIENT's address and HELO to the milter), its
# MAIL FROM and recipients from its X-Postern-Envelope line, its data the
# rest of the file. The outcome Postfix gives (the client's reply at the
# end of the data; milter-hold or milter-discard in Postfix's log for a
# 250; with the milter's own log of recipients it refused at RCPT time,
# the strictest of those) must be the strictest of postern check's recipient decisions for the
# same message and envelope, without --after-queue (at SMTP time a reject
# is a reject), in the milter's order reject > tempfail > quarantine >
# discard > accept. Accepted mail goes to Postfix's discard transport.
# Cases where Postfix changes the message before the milter sees it, so
# that the decision differs from postern check's, are listed in KNOWN
# below, each with its reason, and reported as TODO (an unlisted
# difference fails; a listed case that agrees fails too, to be removed). local_header_rewrite_clients is empty: with its default
# (permit_inet_interfaces) Postfix's cleanup added a From: field (the
# envelope sender) to the messages without one, as for a local client,
# although XCLIENT named a remote one (the real peer is 127.0.0.1), and the
# milter then accepted five attacks whose From field Postfix does not see
# (ck-missing-from, and four whose header section Postfix ends at a line
# without a colon). A real remote client gets no such field. Where Postfix
# reads the header section otherwise than postern check (a line without a
# colon ends it; NUL and bare CR), the decision is the same but the rule
# may differ: those are printed as a note, as is any MAIL FROM the milter
# got otherwise than the case wrote it. Needs root, postfix, swaks and jq;
# skipped otherwise.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
. "$top_srcdir/tests/milter/pflib.sh"
adv="$top_srcdir/tests/adversarial"
RULES="$top_srcdir/rules/baseline.rules"
pf_usable || skip "$PF_ERROR"
command -v swaks >/dev/null 2>&1 || skip "swaks not installed (apt-get install swaks)"
command -v jq >/dev/null 2>&1 || skip "jq not installed"
T0=$(date +%s)
PF="$TMPDIR_TEST/postfix"
MLOG="$TMPDIR_TEST/milter.log"
MILTER_PID=
trap 'pf_stop; [ -z "$MILTER_PID" ] || kill "$MILTER_PID"; rm -rf "$TMPDIR_TEST"' EXIT
chmod 711 "$TMPDIR_TEST"

tab=$(printf '\t')
cr=$(printf '\r')
# KNOWN: "case<TAB>reason" lines for each case whose outcome through Postfix is
# known to differ from postern check's decision (reported as TODO).
KNOWN="ctl-obs-from-spacing${tab}Postfix's smtpd drops a first data line that starts with 'From ' (a mailbox separator), so the message reaches the milter without its obsolete-syntax 'From :' field: the milter rejects it (no From field), check accepts"

MPORT=$(free_port)
"$POSTERN" milter --rules "$RULES" --dns "$adv/dns.zone" --listen "inet:$MPORT@127.0.0.1" \
	--log "$MLOG" --hostname mx.test 2>>"$TMPDIR_TEST/milter.stderr" &
MILTER_PID=$!
wait_port "$MPORT" || { not_ok "postern milter listens" "$(cat "$TMPDIR_TEST/milter.stderr")"; done_testing; exit 1; }
if ! pf_instance "$PF" 'smtp unix - - n - - smtp' myhostname=mx.test \
	smtpd_milters="inet:127.0.0.1:$MPORT" milter_default_action=tempfail \
	smtpd_authorized_xclient_hosts=127.0.0.1 local_header_rewrite_clients= relay_domains="mail.example.org example.org" \
	default_transport=discard relay_transport=discard; then
	not_ok "a private Postfix listens" "$PF_ERROR"; done_testing; exit 1
fi
ok "Postfix (smtpd on 127.0.0.1:$PF_PORT, XCLIENT from 127.0.0.1) -> postern milter on $MPORT"


# envelope FILE: IP, HELO, FROM and RCPTS (space-separated) from FILE's
# X-Postern-Envelope line.
envelope() {
	IFS= read -r line < "$1"
	line=${line%"$cr"}; line=${line#X-Postern-Envelope:}
	IP= HELO= FROM= RCPTS=
	while [ -n "$line" ]; do
		item=${line%%;*}
		case $line in *";"*) line=${line#*;} ;; *) line="" ;; esac
		item=${item# }
		case $item in
		client-ip=*) IP=${item#*=} ;;
		helo=*) HELO=${item#*=} ;;
		mail-from=*) FROM=${item#*=} ;;
		rcpt=*) RCPTS="$RCPTS${RCPTS:+ }${item#*=}" ;;
		esac
	done
}

# check_decision FILE: the strictest of postern check's recipient
# decisions, and the rule of the first recipient with it ("-": none).
check_decision() {
	set -- --client-ip "$IP" --helo "$HELO" --mail-from "$FROM"
	for r in $RCPTS; do set -- "$@" --rcpt "$r"; done
	tail -n +2 "$f" | "$POSTERN" check --json --rules "$RULES" --dns "$adv/dns.zone" "$@" - 2>/dev/null \
		| jq -r '.recipients as $r | [$r[].decision] as $d
			| first(("reject","tempfail","quarantine","discard","accept") as $a
				| select($d | index($a)) | $a) as $w
			| "\($w // "none") \(first($r[] | select(.decision == $w) | .rule) // "-")"'
}


# strictest DECISION...: the strictest of the decisions, in the milter's
# order ("none" without any).
strictest() {
	for d in reject tempfail quarantine discard accept; do
		case " $* " in *" $d "*) echo "$d"; return ;; esac
	done
	echo none
}

# data_outcome: from the swaks transcript, the outcome of the data: reject
# or tempfail (the reply to the final dot), quarantine, discard or accept
# (a 250, and Postfix's log of that queue id); nothing when no data was
# sent.
data_outcome() {
	reply=$(sed -n '/^ -> \.\r\{0,1\}$/,$p' "$TMPDIR_TEST/swaks" | grep -a -m1 -E '^<(-|\*\*) ')
	[ -n "$reply" ] || return 0
	code=$(printf '%s' "$reply" | sed 's/^<[-*]* *\([0-9]*\).*/\1/')
	case $code in
	5*) echo reject; return ;;
	4*) echo tempfail; return ;;
	250) ;;
	*) echo "other-$code"; return ;;
	esac
	id=$(printf '%s' "$reply" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p')
	i=0
	while ! grep -q "$id: \(milter-hold\|milter-discard\|removed\)" "$PF_LOG" && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	if grep -q "$id: milter-hold" "$PF_LOG"; then echo quarantine
	elif grep -q "$id: milter-discard" "$PF_LOG"; then echo discard
	else echo accept
	fi
}

# via_postfix FILE: the outcome through Postfix and the milter: the
# strictest of the data's outcome and the decisions the milter logged for
# recipients it refused at RCPT time ("stage":"rcpt"); "refused-by-postfix
# CODE" when Postfix refused before the data and the milter logged
# nothing. The swaks transcript is left in $TMPDIR_TEST/swaks.
via_postfix() {
	tail -n +2 "$1" > "$TMPDIR_TEST/data.eml"
	from=$FROM
	case $from in "<>") ;; "<"*">") from=${from#<}; from=${from%>} ;; esac
	swaks --server 127.0.0.1 --port "$PF_PORT" --timeout 30 --helo "$HELO" \
		--xclient-addr "$IP" --xclient-helo "$HELO" --from "$from" --to "$(echo $RCPTS | tr ' ' ,)" \
		--data @"$TMPDIR_TEST/data.eml" </dev/null > "$TMPDIR_TEST/swaks" 2>&1
	rcpt_stage=$(tail -n +$((n0 + 1)) "$MLOG" | jq -r 'select(.stage == "rcpt") | .decision' 2>/dev/null)
	data=$(data_outcome)
	if [ -z "$data$rcpt_stage" ]; then
		echo "refused-by-postfix $(grep -a -m1 '^<\*\*' "$TMPDIR_TEST/swaks" | cut -c5-7)"
		return
	fi
	strictest $data $rcpt_stage
}

# milter_line: the milter's end-of-message log line for the message just
# sent (the line count before it in $n0), as "decision rule client_ip
# helo mail_from".
milter_line() {
	tail -n +$((n0 + 1)) "$MLOG" | jq -r 'select(.event == null and (.stage // "eom") == "eom")
		| [.decision, .rule // "-", .client_ip, .helo, .mail_from] | join(" ")' 2>/dev/null | tail -1
}

agree=0 known=0 total=0 seen=0 facts=0 from_differs="" rules_differ=""
while IFS="$tab" read -r name technique expect description; do
	case $name in '#'*|'') continue ;; esac
	f="$adv/cases/$name.eml"
	total=$((total + 1))
	envelope "$f"
	want=$(check_decision "$f")
	want_rule=${want#* } want=${want%% *}
	n0=$(wc -l < "$MLOG")
	got=$(via_postfix "$f")
	ml=$(milter_line)
	reason=$(printf '%s\n' "$KNOWN" | sed -n "s/^$name$tab//p")
	if [ -n "$ml" ]; then   # what the milter saw: XCLIENT's client, the HELO
		seen=$((seen + 1))
		set -- $ml
		[ "$3 $4" = "$IP $HELO" ] && facts=$((facts + 1))
		[ "<${5#null}>" = "<$FROM>" ] || [ "<$5>" = "$FROM" ] || [ "$5" = "$FROM" ] || from_differs="$from_differs $name($5)"
	fi
	if [ "$got" = "$want" ]; then
		agree=$((agree + 1))
		if [ -n "$reason" ]; then not_ok "$name: agrees now ($got): remove it from KNOWN"
		else ok "$name: $got, as postern check"; fi
		got_rule=$(printf '%s\n' "$ml" | cut -d' ' -f2)
		[ "$got_rule" = "$want_rule" ] || rules_differ="$rules_differ $name(milter $got_rule, check $want_rule)"
	elif [ -n "$reason" ]; then
		known=$((known + 1))
		echo "not ok $((_tap_n + 1)) - $name: Postfix+milter $got, check $want # TODO $reason"
		_tap_n=$((_tap_n + 1))
	else
		not_ok "$name: Postfix+milter $got, postern check $want" "milter log: $ml" \
			"envelope: ip=$IP helo=$HELO from=$FROM rcpts=$RCPTS" "$(grep -aE '^(<\*\*|<-  [45])' "$TMPDIR_TEST/swaks" | head -3)"
	fi
done < "$adv/cases.tsv"
ncases=$(ls "$adv/cases" | grep -c '\.eml$')
is "$total" "$ncases" "every case of cases.tsv was run ($ncases, one per cases/*.eml)"
is "$facts" "$seen" "the milter saw each case's client IP and HELO given by XCLIENT ($seen messages reached it)"
[ -z "$from_differs" ] || echo "# MAIL FROM as Postfix handed it to the milter, where it differs from the case's:$from_differs"
[ -z "$rules_differ" ] || echo "# same decision by another rule:$rules_differ"
echo "# $agree of $total cases agree with postern check; $known known differences (TODO); $(($(date +%s) - T0))s"
done_testing
