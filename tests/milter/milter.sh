#!/bin/sh
# postern milter under miltertest(8): each tests/milter/*.lua script (but
# lib.lua) drives one part of the protocol against postern milter on a free
# loopback port, with the DNS fixture milter.zone and the rules
# milter.rules, and prints "ok - ..." / "not ok - ..." lines that become
# this test's lines; then the log lines, malformed milter packets, and the
# same over a Unix socket. Then the RCPT-time decisions (rcpt_*.lua) under
# rcpt.rules, with the tenant split on (the default with tenants) and off.
# The negotiation (negotiate.lua, and nr.py on the wire): no reply asked
# at connect, HELO, MAIL FROM, header, end of header and body when the MTA
# speaks protocol 6, errors answered at RCPT or the end of the message.
# Skipped without miltertest.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
dir="$top_srcdir/tests/milter"

if ! command -v miltertest >/dev/null 2>&1; then
	echo "1..0 # SKIP miltertest is not installed (apt-get install miltertest)"
	exit 0
fi

start_milter() {   # start_milter SOCKET [RULES [OPTION...]]: postern milter in the background
	sock_=$1 rules_=${2:-$dir/milter.rules}
	shift; [ $# -gt 0 ] && shift
	$POSTERN_WRAPPER "$POSTERN" milter --rules "$rules_" --listen "$sock_" \
		--dns "$dir/milter.zone" --log "$LOG" --hostname mx.test --max-size 20000 "$@" \
		2>>"$TMPDIR_TEST/stderr" &
	SRV_PID=$!
}

# run_script NAME SOCKET [NAME=VALUE...]: its check lines as tests, and its
# exit status; the NAME=VALUE pairs are more miltertest -D definitions.
run_script() {
	name_=$1 sock_=$2
	shift 2
	defs_=
	for d in "$@"; do defs_="$defs_ -D $d"; done
	# shellcheck disable=SC2086
	out=$(miltertest -D "sock=$sock_" -D "dir=$dir" $defs_ -s "$dir/$name_.lua" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(not )?ok - ' | while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok - ${line#ok - }" ;;
		*) echo "not ok - ${line#not ok - }" ;;
		esac
	done
	checks=$(printf '%s\n' "$out" | grep -cE '^(not )?ok - ')
	_tap_n=$((_tap_n + checks))
	_tap_failed=$((_tap_failed + $(printf '%s\n' "$out" | grep -c '^not ok - ')))
	is "$rc" 0 "$name_.lua${1:+ ($*)} ran to its end" || true
	[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
}

PORT=$(free_port)
start_milter "inet:$PORT@127.0.0.1"
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern milter did not start"; sed 's/^/# /' "$TMPDIR_TEST/stderr"; }
sock="inet:$PORT@127.0.0.1"

for s in accept reject tempfail edit abrupt refused negotiate; do
	run_script "$s" "$sock"
done

ar=$(miltertest -D "sock=$sock" -D "dir=$dir" -s "$dir/accept.lua" 2>&1 | sed -n '/^AR: /,/^ok/p' | tr '\n' ' ')
like "$ar" '^AR: mx\.test; spf=pass smtp\.mailfrom=alice@example\.net; +dkim=none; dmarc=pass header\.from=example\.net' \
   "the inserted Authentication-Results: our authserv-id, SPF and DMARC pass"

# The log: one line per message.
line=$(grep '"mail_from":"bad@example.net"' "$LOG" | tail -1)
is "$(q "$line" '[.stage, .client_ip, .helo, .decision, .rule, .reply.code, .reply.text] | @csv')" \
   '"eom","192.0.2.7","mail.example.net","reject","no_bad",550,"sender bad@example.net refused, 100% sure"' \
   "the log line of a reject: stage eom, client facts from the callbacks, rule, reply"
line=$(grep '"later@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .rule, .mixed, .nrcpts] | @csv')" '"tempfail","later",true,2' \
   "mixed recipients: the strictest decision, marked mixed"
line=$(grep '"mail_from":"big@example.net"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .size, .reply.code, .reply.enhanced, .why] | @csv')" \
   '"tempfail",20001,452,"4.3.4","message over 20000 bytes"' \
   "over --max-size: logged as a tempfail 452 4.3.4, counting stopped past the limit"
is "$(grep -c '"mail_from":"big@example.net"' "$LOG")" 1 "over --max-size: one log line, at the end of the message"

# On the wire (nr.py): as a protocol 6 MTA, the milter asks for no reply
# at connect, HELO, MAIL FROM, header, end of header and body, and for the
# macro {i} at the end of the message only; it sends nothing at those
# stages, the message over --max-size included (452 4.3.4 at its end).
out=$(python3 "$dir/nr.py" "$PORT" 1fffff 2>&1)
like "$out" '^nr=HDR,CONN,HELO,MAIL,EOH,BODY$' \
   "protocol 6: no reply asked at header, connect, HELO, MAIL FROM, end of header, body"
like "$out" '^macros=0: 1: 2: 3: 4: 5:\{i\} 6:$' \
   "protocol 6: macros asked: {i} at the end of the message, none elsewhere"
like "$out" '^envelope=-$' "protocol 6: no reply at connect and HELO"
like "$out" '^small=RCPT:c \| eom:a$' "protocol 6: a message, replies at RCPT and at its end only (accept)"
like "$out" '^big=RCPT:c \| eom:y 452 4\.3\.4 Error: message too big for the policy check$' \
   "protocol 6: over --max-size, nothing before 452 4.3.4 at the end of the message"
# Protocol 6 without the NR bits: libmilter answers continue for the
# milter (asked all the same), errors still wait for the end.
out=$(python3 "$dir/nr.py" "$PORT" 100f7f 2>&1)
like "$out" '^nr=-$' "protocol 6 without NR bits: none in the answer (libmilter stands in)"
like "$out" '^envelope=CONN:c HELO:c$' "protocol 6 without NR bits: connect and HELO answered continue"
like "$out" '^small=MAIL:c RCPT:c HDR:c HDR:c EOH:c BODY:c \| eom:a$' \
   "protocol 6 without NR bits: every stage of a message answered continue"
like "$out" '^big=MAIL:c RCPT:c HDR:c HDR:c EOH:c( BODY:c){10} \| eom:y 452 4\.3\.4 ' \
   "protocol 6 without NR bits: over --max-size, continue until 452 4.3.4 at the end"
# Protocol 2 (no NODATA offered): nothing asked, errors answered at once.
out=$(python3 "$dir/nr.py" "$PORT" 7f 2>&1)
like "$out" '^nr=-$' "protocol 2: no NR bit asked"
like "$out" '^macros=-$' "protocol 2: no macro list asked"
like "$out" '^envelope=CONN:c HELO:c$' "protocol 2: connect and HELO answered"
like "$out" '^big=MAIL:c RCPT:c HDR:c HDR:c EOH:c( BODY:c){6} BODY:y \| stopped$' \
   "protocol 2: over --max-size, tempfail at the body chunk that passes it"
like "$(grep '"rcpts":\["tag@example.org"\]' "$LOG" | tail -1)" '"decision":"accept".*"edits":4' \
   "the edit message: four header operations (X-Tag, AR, Subject, X-Internal-Route)"

# Malformed milter packets: a bad command, a length past any sane size,
# a packet cut short; the milter survives each.
python3 - "$PORT" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
for data in (struct.pack(">I", 5) + b"Zjunk", b"\xff\xff\xff\xf0O", struct.pack(">I", 100) + b"O\x00\x00",
             struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1ff, 0x1fffff)
             + struct.pack(">I", 3) + b"Cx\x00"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
run_script accept "$sock"
is "$(kill -0 "$SRV_PID" 2>/dev/null && echo alive)" alive "malformed packets: the milter is still running"
stop_lmtp
is "$STOP_RC" 0 "SIGTERM: postern milter exits 0"

# A Unix socket.
start_milter "unix:$TMPDIR_TEST/milter.sock"
run_script reject "unix:$TMPDIR_TEST/milter.sock"
stop_lmtp

# RCPT time: envelope rules refuse their recipient at once; the tenant
# split (on by default: rcpt.rules has tenants) answers 452 4.5.3.
start_milter "inet:$PORT@127.0.0.1" "$dir/rcpt.rules"
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || echo "# postern milter did not start"
for s in rcpt_reject rcpt_undecided rcpt_spf; do
	run_script "$s" "$sock"
done
run_script rcpt_split "$sock" split=on
stop_lmtp
start_milter "inet:$PORT@127.0.0.1" "$dir/rcpt.rules" --tenant-split off
wait_port "$PORT" ${POSTERN_WRAPPER:+60} || echo "# postern milter did not start"
run_script rcpt_split "$sock" split=off
stop_lmtp

line=$(grep '"rcpt":"bob@agency.example"' "$LOG" | tail -1)
is "$(q "$line" '[.stage, .client_ip, .mail_from, .tenant, .decision, .rule, .reply.code, .reply.enhanced, .reply.text] | @csv')" \
   '"rcpt","203.0.113.5","alice@example.org","agency.example","reject","agency_relays",550,"5.7.1","agency.example takes mail from its relays only, not 203.0.113.5"' \
   "the log line of a RCPT reject: stage rcpt, the recipient, its tenant, the rule and its reply"
line=$(grep '"stage":"eom".*"mail_from":"alice@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .nrcpts, (.rcpts | join(" "))] | @csv')" '"accept",1,"carol@other.example"' \
   "the recipient refused at RCPT is not in the end-of-message decision"
is "$(grep -c '"rcpt":"dave@corp.example"' "$LOG")" 0 "an undecided recipient: no RCPT line"
line=$(grep '"stage":"eom".*"mail_from":"ann@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .rule, .reply.code, (.rcpts | join(" "))] | @csv')" '"reject","corp_client",554,"dave@corp.example"' \
   "an undecided recipient: decided at the end of the message"
line=$(grep '"stage":"rcpt".*"rcpt":"frank@other.example"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .rule, .reply.code, .reply.enhanced, .reply.text] | @csv')" \
   '"reject","spf_fail",550,"5.7.23","SPF fail for example.net from 203.0.113.5"' \
   "SPF at RCPT: the fixture's record fails the client, the rule's reply"
like "$(q "$line" .dns)" '^[1-9][0-9]*$' "SPF at RCPT: DNS asked (the fixture), counted in the line"
line=$(grep '"stage":"rcpt".*"rcpt":"b@corp.example"' "$LOG" | tail -1)
is "$(q "$line" '[.mail_from, .tenant, .decision, .rule, .reply.code, .reply.enhanced, .reply.text] | @csv')" \
   '"split-on@example.org","corp.example","tempfail",,452,"4.5.3","Recipient under another policy: send it in a new transaction"' \
   "tenant split: 452 4.5.3 for a recipient of another tenant, logged"
like "$(q "$line" .why)" "tenant split: the transaction's tenant is agency.example, this recipient's corp.example" \
   "tenant split: why names both tenants"
is "$(grep '"rcpt":"c@other.example"' "$LOG" | q "$(cat)" '[.tenant, .reply.code] | @csv')" ',452' \
   "tenant split: no tenant is a tenant of its own"
line=$(grep '"stage":"eom".*"mail_from":"split-on@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, (.rcpts | join(" "))] | @csv')" '"accept","a@agency.example d@Mail.Agency.Example"' \
   "tenant split: the message for one tenant's recipients"
is "$(grep -c '"stage":"rcpt".*"mail_from":"split-off@example.org"' "$LOG")" 0 "--tenant-split off: no recipient refused"
line=$(grep '"stage":"eom".*"mail_from":"split-off@example.org"' "$LOG" | tail -1)
is "$(q "$line" '.nrcpts')" 4 "--tenant-split off: every recipient in the message"

# Start-up errors: exit statuses.
"$POSTERN" milter --rules "$dir/milter.rules" >/dev/null 2>&1
is "$?" 64 "without --listen: usage, 64"
"$POSTERN" milter --rules "$dir/milter.zone" --listen "inet:$PORT@127.0.0.1" >/dev/null 2>&1
is "$?" 78 "rules that do not compile: 78"
"$POSTERN" milter --rules "$dir/milter.rules" --dns "$dir/milter.rules" --listen "inet:$PORT@127.0.0.1" \
	>/dev/null 2>&1
is "$?" 65 "a bad DNS fixture: 65"
"$POSTERN" milter --rules "$dir/milter.rules" --listen "inet:$PORT@127.0.0.1" --tenant-split maybe \
	>/dev/null 2>&1
is "$?" 64 "--tenant-split maybe: usage, 64"
out=$("$POSTERN" milter --help)
for o in --rules --listen --dns --log --hostname --max-size --tenant-split; do
	like "$out" "$o " "--help lists $o"
done

done_testing
