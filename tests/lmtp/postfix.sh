#!/bin/sh
# The deployment of examples/postfix run for real (issue 16): swaks ->
# a private Postfix instance (smtpd on a free loopback port, recipient
# validation from examples/postfix/main.cf, the postern lmtp transport of
# examples/postfix/master.cf sending XFORWARD) -> postern lmtp on a Unix
# socket of the postfix group (--socket-group postfix, 0660) -> a private
# Dovecot LMTP. An accepted message lands in Dovecot's Maildir with postern's
# Authentication-Results, and postern's log line has the address swaks
# connected from (127.0.0.2: XFORWARD, not the LMTP peer); an unknown local
# part is refused by Postfix at RCPT and never reaches postern; a message a
# rule rejects is bounced by Postfix with postern's reply. Postfix's master
# runs in the foreground in its own process group and is stopped by the
# trap, whatever happens. Needs root (Postfix's master), postfix, dovecot
# (dovecot-core, dovecot-lmtpd) and swaks; skipped otherwise. Waits are
# generous (30 s) because Postfix starts its helper daemons on first use,
# slowly on a loaded machine; a healthy run takes about 10 s.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
PFSBIN=/usr/lib/postfix/sbin
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
skip() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "Postfix's master must start as root (run make check as root)"
command -v postfix >/dev/null 2>&1 && [ -x "$PFSBIN/master" ] || skip "postfix not installed (apt-get install postfix)"
[ -x "$DOVECOT" ] && [ -e /usr/lib/dovecot/lmtp ] || skip "dovecot not installed (apt-get install dovecot-core dovecot-lmtpd)"
command -v swaks >/dev/null 2>&1 || skip "swaks not installed (apt-get install swaks)"
getent passwd postfix >/dev/null && getent group postdrop >/dev/null && getent group postfix >/dev/null \
	|| skip "no postfix user or postdrop group (Debian's postfix package makes them)"
T0=$(date +%s)
ex="$top_srcdir/examples/postfix"
PF="$TMPDIR_TEST/postfix"; CD="$PF/etc"; PFLOG="$PF/maillog"
DV="$TMPDIR_TEST/dovecot"; DMAIL="$DV/mail"; DLOG="$DV/dovecot.log"
SOCK="$TMPDIR_TEST/postern.sock"
MASTER_PID= DV_PID=

stop_postfix() {   # SIGTERM the master; it takes its process group with it
	[ -n "$MASTER_PID" ] || return 0
	kill -TERM "$MASTER_PID" 2>/dev/null
	i=0; while kill -0 "$MASTER_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -KILL -- "-$MASTER_PID" 2>/dev/null
	wait "$MASTER_PID" 2>/dev/null
	# Exited children may wait a moment for their new parent to reap them.
	LEFT=$(ps -o stat= -g "$MASTER_PID" | grep -vc '^Z')
	[ "$LEFT" = 0 ] || ps -o pid,stat,etime,args -g "$MASTER_PID" | sed 's/^/# left: /'
	MASTER_PID=
}
stop_dovecot() {
	[ -n "$DV_PID" ] || return 0
	kill -TERM "$DV_PID" 2>/dev/null; wait "$DV_PID" 2>/dev/null; DV_PID=
}
trap 'stop_postfix; stop_lmtp; stop_dovecot; rm -rf "$TMPDIR_TEST"' EXIT
# wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS.
wait_for() {
	n=$(($1 * 20)); shift
	while ! "$@"; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.05; done
}
chmod 711 "$TMPDIR_TEST"

# Dovecot (as tests/lmtp/dovecot.sh): mail belongs to nobody, LMTP on a port.
muid=$(id -u nobody); mgid=$(id -g nobody)
mkdir -p "$DV/run" "$DV/state" "$DMAIL" && chmod 711 "$DV" && chown "$muid:$mgid" "$DMAIL"
for u in alice bob carol; do echo "$u@example.org:{PLAIN}unused::::::"; done > "$DV/users"
DPORT=$(free_port)
cat > "$DV/dovecot.conf" <<EOF2
protocols = lmtp
listen = 127.0.0.1
base_dir = $DV/run
state_dir = $DV/state
log_path = $DLOG
ssl = no
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = $muid
mail_location = maildir:$DMAIL/%d/%n
mail_fsync = never
passdb {
  driver = passwd-file
  args = $DV/users
}
userdb {
  driver = passwd-file
  args = $DV/users
  default_fields = uid=$muid gid=$mgid home=$DV/home/%d/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DPORT
  }
}
EOF2
"$DOVECOT" -F -c "$DV/dovecot.conf" 2>>"$DV/stderr" &
DV_PID=$!
wait_port "$DPORT" 10 || { not_ok "Dovecot started" "$(cat "$DV/stderr" "$DLOG" 2>/dev/null)"; done_testing; exit 1; }
box() { find "$DMAIL/${1#*@}/${1%@*}/new" "$DMAIL/${1#*@}/${1%@*}/cur" -type f 2>/dev/null; }
nbox() { box "$1" | wc -l | tr -d ' '; }
has_mail() { [ "$(nbox "$1")" -ge "$2" ]; }   # has_mail ADDR N: at least N files

# postern on a Unix socket for the postfix group, relaying to Dovecot.
cat > "$TMPDIR_TEST/policy.rules" <<'EOF2'
authserv-id "mx.test";
after-queue-reject reject;
rule block { when subject contains "reject me" then reject 550 5.7.1 "refused by rule block"; }
EOF2
chmod 644 "$TMPDIR_TEST/policy.rules" "$TMPDIR_TEST/empty.zone"
start_lmtp --rules "$TMPDIR_TEST/policy.rules" --deliver "lmtp:127.0.0.1:$DPORT" \
	--listen "unix:$SOCK" --socket-owner nobody --socket-group postfix --socket-mode 0660 --user nobody
is "$(stat -c %U:%G:%a "$SOCK")" "nobody:postfix:660" "postern's socket is nobody:postfix 0660"

# Postfix: the example's main.cf and master.cf's postern transport, with the
# instance's own directories, port and tables.
mkdir -p "$CD" "$PF/spool" "$PF/data" && chown postfix "$PF/data"
cp "$ex/main.cf" "$CD/main.cf"
{ cat "$ex/virtual_mailboxes"; echo "carol@example.org OK"; } > "$CD/virtual_mailboxes"
SPORT=$(free_port)
postconf -c "$CD" -e compatibility_level=3.6 queue_directory="$PF/spool" data_directory="$PF/data" \
	mail_owner=postfix setgid_group=postdrop inet_interfaces=loopback-only inet_protocols=ipv4 \
	maillog_file="$PFLOG" maillog_file_prefixes="$TMPDIR_TEST" myhostname=mx.test mydestination= \
	mynetworks=127.0.0.0/8 alias_maps= alias_database= local_recipient_maps= smtpd_peername_lookup=no \
	virtual_mailbox_maps="hash:$CD/virtual_mailboxes" virtual_transport="postern:unix:$SOCK" \
	delay_warning_time=0 bounce_queue_lifetime=0 maximal_queue_lifetime=1h
postmap -c "$CD" "hash:$CD/virtual_mailboxes"
{
	echo "127.0.0.1:$SPORT inet n - n - - smtpd"
	for s in 'pickup unix n - n 60 1 pickup' 'cleanup unix n - n - 0 cleanup' 'qmgr unix n - n 300 1 qmgr' \
		'rewrite unix - - n - - trivial-rewrite' 'bounce unix - - n - 0 bounce' \
		'defer unix - - n - 0 bounce' 'trace unix - - n - 0 bounce' 'verify unix - - n - 1 verify' \
		'flush unix n - n 1000? 0 flush' 'proxymap unix - - n - - proxymap' \
		'showq unix n - n - - showq' 'error unix - - n - - error' 'retry unix - - n - - error' \
		'discard unix - - n - - discard' 'smtp unix - - n - - smtp' 'anvil unix - - n - 1 anvil' \
		'scache unix - - n - 1 scache' 'postlog unix-dgram n - n - 1 postlogd'; do
		echo "$s"
	done
	cat "$ex/master.cf"
} > "$CD/master.cf"
postfix -c "$CD" check </dev/null >/dev/null 2>&1
if [ ! -d "$PF/spool/private" ]; then
	not_ok "postfix check made the queue" "$(cat "$PFLOG" 2>/dev/null)"; done_testing; exit 1
fi
# The master in the foreground (-d), in a process group of its own (setsid
# execs it: $! is the master) so that its SIGTERM reaches every child.
setsid "$PFSBIN/master" -c "$CD" -d </dev/null >>"$PF/stderr" 2>&1 &
MASTER_PID=$!
if ! wait_port "$SPORT" 10; then
	not_ok "Postfix's smtpd answers on 127.0.0.1:$SPORT" "$(cat "$PFLOG" "$PF/stderr" 2>/dev/null)"
	done_testing; exit 1
fi
ok "a private Postfix (master -c $CD -d, pid $MASTER_PID) listens on 127.0.0.1:$SPORT"

# send FROM TO SUBJECT: swaks from 127.0.0.2 to Postfix's smtpd; its output.
send() {
	swaks --server 127.0.0.1 --port "$SPORT" --local-interface 127.0.0.2 --helo client.test \
		--timeout 30 --from "$1" --to "$2" --header "Subject: $3" --body "Figures." 2>&1
}

step() { printf '# %s: %ss\n' "$1" $(($(date +%s) - T0)); }
step "set-up done"
# 1. An accepted message: Dovecot's Maildir, postern's log line.
out=$(send carol@example.org alice@example.org "quarterly")
like "$out" '<- +250 2\.0\.0 Ok: queued as ' "swaks: Postfix queued the message for alice"
wait_for 30 has_mail alice@example.org 1
is "$(nbox alice@example.org)" 1 "it landed in alice's Dovecot mailbox"
fa=$(box alice@example.org)
like "$(grep -A2 '^Authentication-Results:' "$fa" | tr -d '\n')" '^Authentication-Results: mx\.test;' \
   "with postern's Authentication-Results (authserv-id mx.test)"
like "$(grep '^Received:' "$fa" | tr '\n' ' ')" 'Received: from client\.test \(unknown \[127\.0\.0\.2\]\)' \
   "and Postfix's Received field for the swaks client (client.test [127.0.0.2])"
line=$(grep '"rcpt":"alice@example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.client_ip, .decision, .reply.code] | @csv')" '"127.0.0.2","accept",250' \
   "postern's log line: client_ip 127.0.0.2 (the address swaks connected from, by XFORWARD), accept, 250"
like "$(grep 'to=<alice@example.org>' "$PFLOG")" "relay=mx\.test\[$SOCK\].* status=sent \(250 2\.0\.0 <alice@example\.org> " \
   "Postfix's lmtp client logged it sent over postern's socket, with the 250 postern relayed from Dovecot"

step "accepted message checked"
# 2. An unknown local part: refused by Postfix at RCPT, postern never asked.
n0=$(wc -l < "$LOG")
out=$(send carol@example.org nosuchuser@example.org "anyone there")
like "$out" '<\*\* +550 5\.1\.1 <nosuchuser@example\.org>: Recipient address rejected: User unknown' \
   "swaks: Postfix refuses nosuchuser@example.org at RCPT with 550 5.1.1"
like "$out" '-> +RCPT TO:<nosuchuser@example\.org>' "in answer to RCPT TO"
sleep 0.3
is "$(tail -n +$((n0 + 1)) "$LOG" | grep -c '"rcpt"')" 0 "no recipient line in postern's log: the message never reached it"

step "unknown recipient checked"
# 3. A message the rule rejects: postern's 550 to Postfix, which bounces it to
# the sender (carol, a local mailbox: the bounce itself goes through postern).
c0=$(nbox carol@example.org)
out=$(send carol@example.org bob@example.org "please reject me")
like "$out" '<- +250 2\.0\.0 Ok: queued as ' "swaks: Postfix queued the message for bob"
wait_for 30 grep -q 'bob@example.org.*status=bounced' "$PFLOG"
like "$(grep 'bob@example.org.*status=bounced' "$PFLOG")" 'said: 550 5\.7\.1 .*refused by rule block' \
   "Postfix bounced it with postern's reply (550 5.7.1 refused by rule block)"
is "$(q "$(grep '"rcpt":"bob@example.org"' "$LOG" | tail -1)" '[.decision, .reply.code] | @csv')" '"reject",550' \
   "postern's log line: reject, 550"
is "$(nbox bob@example.org)" 0 "bob's mailbox stays empty"
wait_for 30 has_mail carol@example.org $((c0 + 1))
fb=$(box carol@example.org | xargs grep -l 'refused by rule block' 2>/dev/null | head -1)
[ -n "$fb" ] && like "$(grep -m1 '^Subject:' "$fb")" 'Undelivered Mail Returned to Sender' \
	"the sender carol got Postfix's bounce with postern's reply in it" \
	|| not_ok "the sender carol got Postfix's bounce with postern's reply in it" "$(tail -5 "$PFLOG")"

step "rejected message checked"
stop_postfix
is "$LEFT" 0 "Postfix's master stopped with all its processes"
stop_lmtp
is "$STOP_RC" 0 "postern exits 0 on SIGTERM"
stop_dovecot
el=$(($(date +%s) - T0))
[ "$el" -lt 60 ] && ok "the whole run took ${el}s (< 60 s)" || not_ok "the whole run took under 60 s" "took ${el}s"
done_testing
