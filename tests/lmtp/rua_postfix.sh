#!/bin/sh
# DMARC aggregate report delivery (engine/rua/transport.c) through a real
# Postfix: a private instance (smtpd on a free loopback port, the virtual
# delivery agent writing rua@reports.test to a Maildir, other mailboxes of
# reports.test refused at RCPT). tests/unit/test_rua_send's live_postfix
# test, pointed at it by POSTERN_RUA_SMTP and POSTERN_RUA_SENDMAIL, sends
# one report by SMTP, one by Postfix's own sendmail (-C the instance) and
# one to an unknown mailbox (REFUSED: 550 at RCPT); here both reports must
# land, with the Subject of RFC 9990 and the attachment's bytes intact
# (decoded by Python's email package). Postfix's master runs in the
# foreground in its own process group and is stopped by the trap. Needs
# root (Postfix's master) and postfix; skipped otherwise. Waits are 30 s:
# Postfix starts its helper daemons on first use, slowly on a loaded machine.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
PFSBIN=/usr/lib/postfix/sbin
skip() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "Postfix's master must start as root (run make check as root)"
command -v postfix >/dev/null 2>&1 && [ -x "$PFSBIN/master" ] && [ -x /usr/sbin/sendmail ] \
	|| skip "postfix not installed (apt-get install postfix)"
getent passwd postfix >/dev/null && getent group postdrop >/dev/null \
	|| skip "no postfix user or postdrop group (Debian's postfix package makes them)"
UNIT="$top_builddir/tests/unit/test_rua_send"
[ -x "$UNIT" ] || skip "tests/unit/test_rua_send not built"
PF="$TMPDIR_TEST/postfix"; CD="$PF/etc"; PFLOG="$PF/maillog"; BOX="$PF/mail/reports.test/rua"
MASTER_PID=
stop_postfix() {   # SIGTERM the master; it takes its process group with it
	[ -n "$MASTER_PID" ] || return 0
	kill -TERM "$MASTER_PID" 2>/dev/null
	i=0; while kill -0 "$MASTER_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -KILL -- "-$MASTER_PID" 2>/dev/null
	wait "$MASTER_PID" 2>/dev/null
	MASTER_PID=
}
trap 'stop_postfix; rm -rf "$TMPDIR_TEST"' EXIT
wait_for() {   # wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS
	n=$(($1 * 20)); shift
	while ! "$@"; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.05; done
}
chmod 711 "$TMPDIR_TEST"
muid=$(id -u nobody); mgid=$(id -g nobody)
mkdir -p "$CD" "$PF/spool" "$PF/data" "$PF/mail" && chown postfix "$PF/data" && chown "$muid:$mgid" "$PF/mail"
: > "$CD/main.cf"
echo "rua@reports.test reports.test/rua/" > "$CD/vmailbox"
SPORT=$(free_port)
postconf -c "$CD" -e compatibility_level=3.6 queue_directory="$PF/spool" data_directory="$PF/data" \
	mail_owner=postfix setgid_group=postdrop inet_interfaces=loopback-only inet_protocols=ipv4 \
	maillog_file="$PFLOG" maillog_file_prefixes="$TMPDIR_TEST" myhostname=mx.test mydestination= \
	mynetworks=127.0.0.0/8 alias_maps= alias_database= local_recipient_maps= smtpd_peername_lookup=no \
	virtual_mailbox_domains=reports.test virtual_mailbox_maps="hash:$CD/vmailbox" \
	virtual_mailbox_base="$PF/mail" virtual_uid_maps="static:$muid" virtual_gid_maps="static:$mgid" \
	delay_warning_time=0 bounce_queue_lifetime=0 maximal_queue_lifetime=1h
postmap -c "$CD" "hash:$CD/vmailbox"
{
	echo "127.0.0.1:$SPORT inet n - n - - smtpd"
	for s in 'pickup unix n - n 60 1 pickup' 'cleanup unix n - n - 0 cleanup' 'qmgr unix n - n 300 1 qmgr' \
		'rewrite unix - - n - - trivial-rewrite' 'bounce unix - - n - 0 bounce' \
		'defer unix - - n - 0 bounce' 'trace unix - - n - 0 bounce' 'verify unix - - n - 1 verify' \
		'flush unix n - n 1000? 0 flush' 'proxymap unix - - n - - proxymap' \
		'showq unix n - n - - showq' 'error unix - - n - - error' 'retry unix - - n - - error' \
		'discard unix - - n - - discard' 'virtual unix - n n - - virtual' 'anvil unix - - n - 1 anvil' \
		'scache unix - - n - 1 scache' 'postlog unix-dgram n - n - 1 postlogd'; do
		echo "$s"
	done
} > "$CD/master.cf"
postfix -c "$CD" check </dev/null >/dev/null 2>&1
if [ ! -d "$PF/spool/maildrop" ]; then
	not_ok "postfix check made the queue" "$(cat "$PFLOG" 2>/dev/null)"; done_testing; exit 1
fi
setsid "$PFSBIN/master" -c "$CD" -d </dev/null >>"$PF/stderr" 2>&1 &
MASTER_PID=$!
if ! wait_port "$SPORT" 10; then
	not_ok "Postfix's smtpd answers on 127.0.0.1:$SPORT" "$(cat "$PFLOG" "$PF/stderr" 2>/dev/null)"
	done_testing; exit 1
fi
ok "a private Postfix (master -c $CD -d) listens on 127.0.0.1:$SPORT"

out=$(POSTERN_RUA_SMTP="127.0.0.1:$SPORT" POSTERN_RUA_SENDMAIL="/usr/sbin/sendmail -C $CD" \
	CMOCKA_TEST_ABORT=0 CMOCKA_MESSAGE_OUTPUT=TAP "$UNIT" 2>&1)
rc=$?
line=$(printf '%s\n' "$out" | grep 'live_postfix')
is "$line" "ok 18 - live_postfix" "test_rua_send's live_postfix passed against Postfix"
[ "$line" = "ok 18 - live_postfix" ] || printf '%s\n' "$out" | sed 's/^/# /'
is "$rc" 0 "test_rua_send exited 0"
like "$out" 'smtp: relay: end of data: 250 2\.0\.0 Ok: queued as' "smtpd queued the SMTP report"
like "$out" 'unknown mailbox: relay: RCPT TO: 550 5\.1\.1 <nobody@reports\.test>' \
	"smtpd refused nobody@reports.test at RCPT (REFUSED)"

count() { find "$BOX/new" "$BOX/cur" -type f 2>/dev/null | wc -l | tr -d ' '; }
two() { [ "$(count)" -ge 2 ]; }
wait_for 30 two || printf '%s\n' "$(tail -20 "$PFLOG")" | sed 's/^/# /'
is "$(count)" 2 "both reports (SMTP, sendmail) reached rua@reports.test's Maildir"
ways=
for f in $(find "$BOX/new" "$BOX/cur" -type f 2>/dev/null); do
	got=$(python3 - "$f" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
want = bytes((i * 7 + (i >> 3)) & 255 for i in range(1000))
att = [p for p in m.iter_attachments()]
ok = (len(att) == 1 and att[0].get_content_type() == "application/gzip"
      and att[0].get_filename() == "mx.test!example.com!1!2.xml.gz"
      and att[0].get_content() == want)
rid = m["Message-ID"]
print("%s|%s|%s" % (m["Subject"], "attachment intact" if ok else "attachment wrong", rid))
PY
)
	like "$got" '^Report Domain: example\.com Submitter: mx\.test Report-ID: <1\.2\.example\.com@via-(smtp|sendmail)\.test>\|attachment intact\|<1\.2\.example\.com@via-(smtp|sendmail)\.test>$' \
		"$(basename "$f"): RFC 9990 Subject, Message-ID and the attachment's 1000 bytes"
	ways="$ways ${got##*@via-}"
done
is "$(printf '%s\n' $ways | sort | tr '\n' ' ')" "sendmail.test> smtp.test> " \
	"one came by SMTP, the other by Postfix's sendmail"
like "$(grep 'to=<rua@reports.test>' "$PFLOG" | grep -c 'status=sent')" '^2$' \
	"Postfix's log: two deliveries to rua@reports.test, status=sent"
stop_postfix
done_testing
