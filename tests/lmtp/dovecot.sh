#!/bin/sh
# postern lmtp --deliver lmtp:... in front of a real Dovecot 2.3 LMTP server
# (dovecot-core, dovecot-lmtpd) run from a config written here: edits and
# Authentication-Results arrive in Dovecot's Maildirs, per-recipient edits
# split into downstream transactions whose replies map back per recipient,
# Dovecot's 550 for an unknown user comes back, quarantine follows postern(1),
# connections are reused, and a kill -9 of Dovecot in the middle of a run
# never leaves a 250 without a file. Prints the relay rate. Runs as root
# (Dovecot's mail then belongs to nobody, as it refuses uid 0) or as a
# normal user (everything as that user).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
# pyenv and similar shims cost a second a start: run the interpreter itself.
PY=$(python3 -c 'import sys; print(sys.executable)')
lmtpc() { "$PY" "$LMTPC" "$@"; }
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
if [ ! -x "$DOVECOT" ] || [ ! -e /usr/lib/dovecot/lmtp ]; then
	echo "1..0 # SKIP dovecot not installed (apt-get install dovecot-core dovecot-lmtpd)"
	exit 0
fi
DV="$TMPDIR_TEST/dovecot"
DMAIL="$DV/mail"
DLOG="$DV/dovecot.log"
DV_PID=
trap 'stop_lmtp; stop_dovecot; rm -rf "$TMPDIR_TEST"' EXIT

# Dovecot refuses to deliver as uid 0: as root, mail belongs to nobody.
if [ "$(id -u)" -eq 0 ]; then
	muid=$(id -u nobody); mgid=$(id -g nobody)
	iuser=dovecot; igroup=dovecot; luser=dovenull
else
	muid=$(id -u); mgid=$(id -g)
	iuser=$(id -un); igroup=$(id -gn); luser=$iuser
fi
mkdir -p "$DV/run" "$DV/state" "$DMAIL"
chmod 711 "$TMPDIR_TEST" "$DV"
[ "$(id -u)" -eq 0 ] && chown "$muid:$mgid" "$DMAIL"
for u in alice@example.org bob@example.org carol@hr.example.org dave@hr.example.org load@example.org; do
	echo "$u:{PLAIN}unused::::::"
done > "$DV/users"
DPORT=$(free_port)
cat > "$DV/dovecot.conf" <<EOF
protocols = lmtp
listen = 127.0.0.1
base_dir = $DV/run
state_dir = $DV/state
log_path = $DLOG
info_log_path = $DLOG
ssl = no
default_internal_user = $iuser
default_internal_group = $igroup
default_login_user = $luser
first_valid_uid = $muid
mail_location = maildir:$DMAIL/%d/%n
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
# The kill below is of processes, not of the machine: no fsync needed.
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
EOF
[ "$(id -u)" -eq 0 ] || printf 'service lmtp {\n  user = %s\n}\n' "$iuser" >> "$DV/dovecot.conf"

start_dovecot() {
	"$DOVECOT" -F -c "$DV/dovecot.conf" 2>>"$DV/stderr" &
	DV_PID=$!
	wait_port "$DPORT" || { echo "# dovecot did not start"; sed 's/^/# /' "$DV/stderr" "$DLOG"; }
}
stop_dovecot() {
	[ -n "$DV_PID" ] || return 0
	kill -TERM "$DV_PID" 2>/dev/null
	wait "$DV_PID" 2>/dev/null
	DV_PID=
}
kill_dovecot() {   # SIGKILL the master and its children (stopped first: no new ones)
	kill -STOP "$DV_PID"
	kill -KILL $(pgrep -P "$DV_PID") "$DV_PID" 2>/dev/null
	wait "$DV_PID" 2>/dev/null
	DV_PID=
	rm -f "$DV/run/master.pid"
}
connects() { grep -c ': Connect from 127.0.0.1' "$DLOG"; }
box() {   # box ADDR [FOLDER]: the files of a mailbox in Dovecot's Maildir
	d="$DMAIL/${1#*@}/${1%@*}"; [ -n "$2" ] && d="$d/.$2"
	find "$d/new" "$d/cur" -type f 2>/dev/null
}
nbox() { box "$@" | wc -l | tr -d ' '; }
replies() {   # the per-recipient replies after DATA (not MAIL, RCPT, QUIT)
	printf '%s\n' "$1" | grep -E '^[245][0-9][0-9] [245]\.[0-9]+\.[0-9]+ ' | grep -vE '^(250 2\.1\.[05]|221) '
}
unfold() { awk '/^[ \t]/ { sub(/^[ \t]+/, " "); l = l $0; next } { if (NR > 1) print l; l = $0 } END { print l }' "$1"; }

start_dovecot
is "$(printf '%s\n' 'LHLO t' 'QUIT' | lmtpc "$DPORT" | head -1 | cut -c1-3)" 220 "Dovecot LMTP answers on 127.0.0.1:$DPORT"

rules="$TMPDIR_TEST/relay.rules"
cat > "$rules" <<'EOF'
authserv-id "mx.test";
after-queue-reject reject;
rule stamp { when true then add header "X-Relayed-By" "postern"; }
tenant "hr.example.org" {
  rule hr_tag { when true then prepend subject "[EXTERNAL] ", add header "X-External-Sender" "yes"; }
}
rule hold { when subject contains "hold me" then quarantine; }
rule hold_named { when subject contains "junk me" then quarantine "Suspect"; }
EOF
start_lmtp --rules "$rules" --deliver "lmtp:127.0.0.1:$DPORT" --recipient-delimiter +

# One message, five recipients in two tenants and one unknown user.
c0=$(connects)
msg='From: Sender <s@example.net>\r\nSubject: quarterly\r\nMessage-ID: <m1@example.net>\r\n\r\nFigures.\r\n..dotted line'
out=$(printf '%s\n' 'LHLO client.test' 'MAIL FROM:<s@example.net>' 'RCPT TO:<alice@example.org>' \
	'RCPT TO:<carol@hr.example.org>' 'RCPT TO:<nobody@example.org>' 'RCPT TO:<bob@example.org>' \
	'RCPT TO:<dave@hr.example.org>' 'DATA' '<<354' "$msg" '.' 'QUIT' | lmtpc "$PORT")
is "$(replies "$out" | cut -c1-9 | tr '\n' ' ')" "250 2.0.0 250 2.0.0 550 5.1.1 250 2.0.0 250 2.0.0 " \
   "five recipients: 250, 250, Dovecot's 550 5.1.1 for the unknown user, 250, 250, in RCPT order"
is "$(replies "$out" | sed -E 's/^[0-9]{3} [0-9.]+ <([^>]*)>.*/\1/' | tr '\n' ' ')" \
   "alice@example.org carol@hr.example.org nobody@example.org bob@example.org dave@hr.example.org " \
   "each reply is Dovecot's own reply for that recipient (its <address> maps back)"
like "$out" "550 5.1.1 <nobody@example.org> User doesn't exist" "the 550 carries Dovecot's text"
is "$(nbox alice@example.org):$(nbox bob@example.org):$(nbox carol@hr.example.org):$(nbox dave@hr.example.org)" \
   "1:1:1:1" "one copy in each known recipient's Dovecot Maildir"
fa=$(box alice@example.org); fc=$(box carol@hr.example.org)
like "$(cat "$fa")" '^Return-Path: <s@example.net>' "Dovecot wrote Return-Path from the relayed MAIL FROM"
is "$(grep -c '^Return-Path:' "$fa")" 1 "and postern added none of its own in relay mode"
is "$(grep -c '^X-Relayed-By: postern' "$fa"):$(grep -c '^X-External-Sender' "$fa"):$(grep '^Subject:' "$fa")" \
   "1:0:Subject: quarterly" "alice (example.org): the global header, no tenant edits"
is "$(grep -c '^X-Relayed-By: postern' "$fc"):$(grep -c '^X-External-Sender: yes' "$fc"):$(grep '^Subject:' "$fc")" \
   "1:1:Subject: [EXTERNAL] quarterly" "carol (hr.example.org): the global header, the tenant's header and subject tag"
like "$(unfold "$fa" | grep '^Authentication-Results:')" '^Authentication-Results: mx\.test; spf=none .*dmarc=none header\.from=example\.net' \
   "postern's Authentication-Results (authserv-id mx.test) arrived"
is "$(grep -c '^\.dotted line' "$fa")" 1 "dot-stuffing survives the relay (..dotted is .dotted on disk)"
cmp -s "$(box bob@example.org)" "$fa" && same_ab=yes || same_ab=no
tid() { grep "lmtp($1)<" "$DLOG" | tail -1 | sed -E 's/.*><([^>:]*)(:[^>]*)?>.*/\1\2/' | sed -E 's/:R[0-9]+$//'; }
ta=$(tid alice@example.org); tb=$(tid bob@example.org); tc=$(tid carol@hr.example.org); td=$(tid dave@hr.example.org)
[ -n "$ta" ] && [ "$ta" = "$tb" ] && [ "$tc" = "$td" ] && [ "$ta" != "$tc" ] \
	&& ok "two downstream transactions: {alice, bob} and {carol, dave} (Dovecot's ids $ta, $tc)" \
	|| not_ok "two downstream transactions: {alice, bob} and {carol, dave}" "ids: $ta $tb $tc $td"
is "$(($(connects) - c0))" 1 "both transactions went over one downstream connection"
line=$(grep '"rcpt":"carol@hr.example.org"' "$LOG" | tail -1)
is "$(q "$line" '[.decision, .delivered, .reply.code] | @csv')" '"accept",true,250' "the log line: accept, delivered, 250"
like "$(q "$line" '.reply.text')" 'carol@hr\.example\.org> .* Saved' "the log line keeps Dovecot's reply text"

# Quarantine with --recipient-delimiter: user+NAME, Dovecot files it in NAME.
out=$(printf '%s\n' 'LHLO client.test' 'MAIL FROM:<s@example.net>' 'RCPT TO:<bob@example.org>' 'RCPT TO:<alice@example.org>' \
	'DATA' '<<354' 'From: s@example.net\r\nSubject: please hold me\r\n\r\nq' '.' \
	'MAIL FROM:<s@example.net>' 'RCPT TO:<carol@hr.example.org>' 'DATA' '<<354' \
	'From: s@example.net\r\nSubject: junk me\r\n\r\nq' '.' 'QUIT' | lmtpc "$PORT")
is "$(replies "$out" | sed -E 's/^([0-9]{3}) [0-9.]+ <([^>]*)>.*/\1 \2/' | tr '\n' ' ')" \
   "250 bob+Quarantine@example.org 250 alice+Quarantine@example.org 250 carol+Suspect@hr.example.org " \
   "quarantine relays to user+Quarantine@domain (and user+Suspect for the named folder)"
is "$(nbox bob@example.org Quarantine):$(nbox alice@example.org Quarantine):$(nbox carol@hr.example.org Suspect)" "1:1:1" \
   "Dovecot filed them in the Quarantine and Suspect folders"
is "$(nbox bob@example.org):$(nbox carol@hr.example.org)" "1:1" "and not in the inboxes"
fq=$(box carol@hr.example.org Suspect)
is "$(head -20 "$fq" | grep -c '^X-Postern-Action: quarantine; folder=Suspect$')" 1 \
   "the quarantined copy has X-Postern-Action: quarantine; folder=Suspect"
is "$(grep '"rcpt":"carol@hr.example.org"' "$LOG" | tail -1 | jq -r '[.decision, .applied, (.folder | ltrimstr(".")), .reply.code] | @csv')" \
   '"quarantine","quarantine","Suspect",250' "the log line says quarantine to Suspect, 250"

# swaks --protocol LMTP, then connection reuse over 15 client sessions.
printf 'From: a@example.net\r\nSubject: via swaks\r\n\r\nbody\r\n' > "$TMPDIR_TEST/swaks.eml"
c0=$(connects)
sw=$(swaks --protocol LMTP --server 127.0.0.1 --port "$PORT" --helo client.test --from a@example.net \
	--to dave@hr.example.org,bob@example.org,ghost@hr.example.org --data @"$TMPDIR_TEST/swaks.eml" 2>&1)
is "$(printf '%s\n' "$sw" | grep -E '^<(-|\*\*) +[245][0-9][0-9] [245]\.' | grep -vE ' 2\.1\.[05] |221 ' | sed -E 's/^<(-|\*\*) +//' | cut -c1-9 | tr '\n' ' ')" \
   "250 2.0.0 250 2.0.0 550 5.1.1 " "swaks --protocol LMTP: 250, 250 and Dovecot's 550 for the ghost"
fd=$(box dave@hr.example.org | xargs grep -l 'Subject: \[EXTERNAL\] via swaks')
is "$(grep -c '^X-External-Sender: yes' $fd)" 1 "swaks: dave's copy has his tenant's edits"
"$PY" - "$PORT" > "$TMPDIR_TEST/reuse" <<'PY'
import socket, sys
n = 0
for i in range(15):                   # 15 client sessions, one message each
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
    f = s.makefile("rb")
    s.sendall(b"LHLO client.test\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<load@example.org>\r\nDATA\r\n")
    lines = [f.readline()]
    while lines[-1] and not lines[-1].startswith(b"354"):
        lines.append(f.readline())
    s.sendall(b"Subject: reuse %d\r\n\r\nx\r\n.\r\nQUIT\r\n" % i)
    lines += f.readlines()
    n += sum(1 for l in lines if l.startswith(b"250 2.0.0 <load@example.org>"))
    s.close()
print(n)
PY
is "$(cat "$TMPDIR_TEST/reuse"):$(nbox load@example.org)" "15:15" "15 client sessions, 15 messages relayed and stored"
[ $(($(connects) - c0)) -le 1 ] && ok "swaks and the 15 sessions took at most one new downstream connection ($(($(connects) - c0)): the pool)" \
	|| not_ok "swaks and the 15 sessions reused the pooled connections" "new downstream connections: $(($(connects) - c0))"
stop_lmtp

# Without --recipient-delimiter, quarantine is only the header (postern(1));
# over Dovecot's Unix socket (lmtp:unix:PATH) this time.
start_lmtp --rules "$rules" --deliver "lmtp:unix:$DV/run/lmtp"
out=$(printf '%s\n' 'LHLO client.test' 'MAIL FROM:<s@example.net>' 'RCPT TO:<dave@hr.example.org>' 'DATA' '<<354' \
	'From: s@example.net\r\nSubject: hold me too\r\n\r\nq' '.' 'QUIT' | lmtpc "$PORT")
like "$out" '250 2\.0\.0 <dave@hr\.example\.org> ' "lmtp:unix: quarantine without a delimiter relays to the plain address"
is "$(grep -c ': Connect from local' "$DLOG")" 2 "and it went over Dovecot's Unix socket (the start-up probe, then one connection)"
fq=$(box dave@hr.example.org | xargs grep -l 'Subject: \[EXTERNAL\] hold me too')
[ -n "$fq" ] && is "$(head -20 "$fq" | grep -c '^X-Postern-Action: quarantine; folder=Quarantine$')" 1 \
	"and marks it X-Postern-Action: quarantine; folder=Quarantine" \
	|| not_ok "the quarantined copy reached dave's inbox"
stop_lmtp

# Kill -9 Dovecot in the middle of a run: every 250 is a file on disk.
N=${POSTERN_RELAY_MESSAGES:-600}
: > "$LOG"
start_lmtp --rules "$rules" --deliver "lmtp:127.0.0.1:$DPORT" --timeout 5
before=$(($(nbox alice@example.org) + $(nbox carol@hr.example.org)))
t0=$(date +%s.%N)
"$PY" "$top_srcdir/tests/lmtp/relayload.py" "$PORT" 6 "$N" "$TMPDIR_TEST/load.out" alice@example.org carol@hr.example.org &
ld=$!
i=0; while [ "$(nbox carol@hr.example.org)" -lt $((N / 3)) ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
t1=$(date +%s.%N); atkill=$(($(nbox alice@example.org) + $(nbox carol@hr.example.org) - before))
kill_dovecot
wait "$ld"; ld_rc=$?
is "$ld_rc" 0 "the load client finished"
res="$TMPDIR_TEST/load.out"
n250=$(grep -c ' 250 ' "$res"); n451=$(grep -cE ' 451 4\.4\.[0-9]+$' "$res")
is "$(wc -l < "$res" | tr -d ' ')" $((N * 2)) "a reply for each of the $N messages x 2 recipients"
is "$((n250 + n451))" $((N * 2)) "every reply is 250 or 451 4.4.x ($n250 x 250, $n451 x 451)"
[ "$n250" -gt 0 ] && [ "$n451" -gt 0 ] && ok "the kill fell inside the run" || not_ok "the kill fell inside the run" "250: $n250 451: $n451"
is "$(grep -c '"reply":{"code":250' "$LOG")" "$n250" "postern's log has as many 250 lines as the client got"
is "$(grep '"reply":{"code":451' "$LOG" | grep -c '"delivered":false')" "$n451" "and as many 451 lines, each delivered:false"
missing=0
for r in alice@example.org carol@hr.example.org; do
	box "$r" | xargs grep -h '^X-Seq: ' | sed 's/^X-Seq: //' | sort -u > "$TMPDIR_TEST/disk.$r"
	grep " $r 250 " "$res" | cut -d' ' -f1 | sort -u > "$TMPDIR_TEST/ok.$r"
	missing=$((missing + $(comm -23 "$TMPDIR_TEST/ok.$r" "$TMPDIR_TEST/disk.$r" | wc -l)))
done
files=$(($(nbox alice@example.org) + $(nbox carol@hr.example.org) - before))
is "$missing" 0 "every (message, recipient) answered 250 is a file in Dovecot's Maildir"
[ "$files" -ge "$n250" ] && ok "files on disk ($files) >= 250 replies ($n250)" || not_ok "files on disk >= 250 replies" "files $files, 250s $n250"
like "$(grep -E ' 451 ' "$res" | cut -d' ' -f4 | sort -u | tr '\n' ' ')" '^(4\.4\.[12] )+$' \
   "the undelivered got 451 4.4.1 (not reachable) or 4.4.2 (connection lost)"
# what postern logged for any other 451 (for the failure above)
grep '"reply":{"code":451' "$LOG" | grep -v '"enhanced":"4\.4\.[12]"' | head -3 | sed 's/^/# /'
# Dovecot back: the dead pooled connections are dropped, new ones made.
start_dovecot
out=$(printf '%s\n' 'LHLO client.test' 'MAIL FROM:<s@example.net>' 'RCPT TO:<alice@example.org>' 'RCPT TO:<carol@hr.example.org>' \
	'DATA' '<<354' 'Subject: after the restart\r\n\r\nx' '.' 'QUIT' | lmtpc "$PORT")
is "$(replies "$out" | cut -c1-3 | tr '\n' ' ')" "250 250 " "Dovecot restarted: postern relays again at once"
stop_lmtp
rate=$(echo "$atkill / 2 / ($t1 - $t0)" | bc -l)
printf '# kill run: %d messages x 2 recipients (2 downstream transactions each), 6 sessions: %.0f msgs/s relayed before the kill; 250 replies %d, files %d, 451 %d\n' \
	"$N" "$rate" "$n250" "$files" "$n451"
stop_dovecot
done_testing
