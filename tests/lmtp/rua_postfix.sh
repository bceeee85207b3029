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
skip() { echo "1..0 # SKIP $*"; exit 0; }
pf_usable || skip "$PF_ERROR"
[ -x /usr/sbin/sendmail ] || skip "no /usr/sbin/sendmail (apt-get install postfix)"
UNIT="$top_builddir/tests/unit/test_rua_send"
[ -x "$UNIT" ] || skip "tests/unit/test_rua_send not built"
PF="$TMPDIR_TEST/postfix"; BOX="$PF/mail/reports.test/rua"
trap 'pf_stop; rm -rf "$TMPDIR_TEST"' EXIT
wait_for() {   # wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS
	n=$(($1 * 20)); shift
	while ! "$@"; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.05; done
}
muid=$(id -u nobody); mgid=$(id -g nobody)
mkdir -p "$PF/etc" "$PF/mail" && chown "$muid:$mgid" "$PF/mail"
echo "rua@reports.test reports.test/rua/" > "$PF/etc/vmailbox"
PF_MAPS="$PF/etc/vmailbox"
if ! pf_instance "$PF" 'virtual unix - n n - - virtual' myhostname=mx.test \
	virtual_mailbox_domains=reports.test virtual_mailbox_maps="hash:$PF/etc/vmailbox" \
	virtual_mailbox_base="$PF/mail" virtual_uid_maps="static:$muid" virtual_gid_maps="static:$mgid"; then
	not_ok "a private Postfix listens" "$PF_ERROR"; done_testing; exit 1
fi
CD=$PF_CD PFLOG=$PF_LOG SPORT=$PF_PORT
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
pf_stop
done_testing
