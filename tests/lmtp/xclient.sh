#!/bin/sh
# postern lmtp and XCLIENT (issue 16): swaks --xclient-addr gives a hand
# test its client facts through the trusted peers of --xforward-from,
# and XCLIENT is refused (550 5.7.0) and not advertised to others.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
s6="$top_srcdir/examples/scenario-06-static-ip"
printf 'From: a@example.net\r\nSubject: xclient\r\n\r\nbody\r\n' > "$TMPDIR_TEST/m.eml"

# Scenario 6 takes mail for agency.example only from 192.0.2.0/24.
start_lmtp --rules "$s6/policy.rules"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr 192.0.2.55 \
	--xclient-name host.sender.example --xclient-helo mail.sender.example 2>&1)
like "$out" '250-XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT' "XCLIENT advertised to a trusted peer"
is "$(printf '%s\n' "$out" | grep -c '^<-  220 mx.test')" 2 "a good XCLIENT is answered with a new 220 greeting"
is "$(printf '%s\n' "$out" | grep -c ' -> LHLO lmtp.client')" 2 "and swaks says LHLO again"
like "$out" '<-  250 2\.0\.0 [0-9A-F]+ Saved' "swaks --xclient-addr 192.0.2.55: accepted by the allowlist"
line=$(grep '"rcpt":"x@agency.example"' "$LOG" | tail -1)
is "$(q "$line" '[.client_ip,.client_name,.helo]|join(" ")')" "192.0.2.55 host.sender.example mail.sender.example" \
	"the log line has XCLIENT's client IP, name and HELO"
is "$(msgs_in "$MD/agency.example/x")" 1 "the copy is delivered"

out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr IPV6:2001:db8:100::9 2>&1)
like "$out" '<-  250 2\.0\.0 [0-9A-F]+ Saved' "an IPV6: address through XCLIENT is in 2001:db8:100::/48"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr 203.0.113.9 2>&1)
like "$out" '<\*\* +550 5\.7\.1 sending IP 203\.0\.113\.9 is not on the allowlist' "a client IP off the allowlist is refused"

out=$(printf '%s\n' 'LHLO c' 'XCLIENT ADDR=192.0.2.1 HELO=a+0Ab' 'XCLIENT NAME=x+00y' 'XCLIENT ADDR=192.0.2.1' \
	'MAIL FROM:<a@example.net>' 'LHLO c' 'MAIL FROM:<a@example.net>' 'XCLIENT ADDR=192.0.2.2' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -E '^(501|503|220)' | tail -n +2 | cut -c1-9 | tr '\n' ' ')" \
	"501 5.5.4 501 5.5.4 220 mx.te 503 5.5.1 503 5.5.1 " \
	"control characters from xtext are 501 5.5.4, and XCLIENT only before MAIL (after XCLIENT, MAIL needs LHLO)"
stop_lmtp

# A peer outside --xforward-from: not advertised, refused.
start_lmtp --rules "$s6/policy.rules" --xforward-from 192.0.2.0/24
out=$(printf '%s\n' 'LHLO c' 'XCLIENT ADDR=192.0.2.1' 'QUIT' | lmtpc "$PORT")
is "$(printf '%s\n' "$out" | grep -c XCLIENT)" 0 "XCLIENT is not advertised to an untrusted peer"
like "$out" '550 5.7.0 Error: insufficient authorization' "and refused with 550 5.7.0"
out=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo lmtp.client --from a@example.net \
	--to x@agency.example --data @"$TMPDIR_TEST/m.eml" --xclient-addr 192.0.2.55 2>&1)
is "$(msgs_in "$MD/agency.example/x")" 2 "swaks --xclient-addr from an untrusted peer delivers nothing"
stop_lmtp
done_testing
