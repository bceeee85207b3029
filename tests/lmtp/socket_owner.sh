#!/bin/sh
# --socket-owner and --socket-group (issue 16): as root, postern gives every
# unix: listener the owner, group and mode asked for after binding and before
# --user drops privileges, so a process of that group (Postfix's lmtp client
# as postfix) can connect and one outside it cannot; an unknown user or group
# is refused before anything is bound (exit 77), and a socket that cannot be
# given away is a listen error (exit 71). Needs root (chown); skipped as a
# normal user.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP --socket-owner/--socket-group need root to chown (run make check as root)"
	exit 0
fi
getent group daemon >/dev/null && getent passwd nobody >/dev/null || {
	echo "1..0 # SKIP no user nobody or group daemon on this system"; exit 0; }
chmod 755 "$TMPDIR_TEST"
printf 'rule r { when size > 0 then tag "x"; }\n' > "$TMPDIR_TEST/r.rules"
chmod 644 "$TMPDIR_TEST/r.rules" "$TMPDIR_TEST/empty.zone"
mkdir "$MD" && chown nobody "$MD"
SOCK="$TMPDIR_TEST/postern.sock"
# as USER GROUP CMD...: run CMD with that uid, primary group and no others.
as() { u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" --clear-groups "$@"; }
# The client runs as other users: the system's interpreter (not a shim
# under root's home) and a copy of lmtpc.py they can read.
PYSYS=/usr/bin/python3
[ -x "$PYSYS" ] || { echo "1..0 # SKIP no /usr/bin/python3 to run a client as another user"; exit 0; }
cp "$LMTPC" "$TMPDIR_TEST/lmtpc.py" && chmod 644 "$TMPDIR_TEST/lmtpc.py"
greet() { printf 'LHLO t\nQUIT\n' | as "$1" "$2" "$PYSYS" "$TMPDIR_TEST/lmtpc.py" "unix:$SOCK" 2>&1; }

start_lmtp --rules "$TMPDIR_TEST/r.rules" --listen "unix:$SOCK" --socket-mode 0660 \
	--socket-owner nobody --socket-group daemon --user nobody
is "$(stat -c %U:%G:%a "$SOCK")" "nobody:daemon:660" "the socket is nobody:daemon 0660 (--socket-owner, --socket-group, --socket-mode)"
like "$(greet bin daemon | head -1)" "^220 " "a process of group daemon (not the owner) connects and gets the greeting"
like "$(greet bin bin | tail -1)" '^PermissionError: .*Permission denied' "a process outside the group is refused by the file mode"
is "$(ps -o user= -p "$SRV_PID" | tr -d ' ')" nobody "and postern itself runs as --user nobody"
stop_lmtp
is "$STOP_RC" 0 "it exits 0 on SIGTERM"

# Numeric ids, and only the group (the owner stays root).
start_lmtp --rules "$TMPDIR_TEST/r.rules" --listen "unix:$SOCK" --socket-group "$(getent group daemon | cut -d: -f3)"
is "$(stat -c %U:%G:%a "$SOCK")" "root:daemon:660" "--socket-group GID alone: root:daemon 0660"
stop_lmtp

# Refusals: exit codes and messages, nothing left listening.
run() { "$POSTERN" lmtp --rules "$TMPDIR_TEST/r.rules" --deliver "maildir:$MD" --dns "$TMPDIR_TEST/empty.zone" \
	--listen "unix:$SOCK" "$@" 2>"$TMPDIR_TEST/err"; echo "$?:$(cat "$TMPDIR_TEST/err")"; }
rm -f "$SOCK"
is "$(run --socket-owner no-such-user-x)" "77:postern lmtp: --socket-owner no-such-user-x: no such user" \
   "an unknown --socket-owner: exit 77, said so"
is "$(run --socket-group no-such-group-x)" "77:postern lmtp: --socket-group no-such-group-x: no such group" \
   "an unknown --socket-group: exit 77, said so"
[ -e "$SOCK" ] && not_ok "nothing was bound for an unknown name" || ok "nothing was bound for an unknown name"
mkdir "$TMPDIR_TEST/nb" && chown nobody "$TMPDIR_TEST/nb"
out=$(as nobody "$(id -gn nobody)" "$POSTERN" lmtp --rules "$TMPDIR_TEST/r.rules" --deliver "maildir:$MD" \
	--dns "$TMPDIR_TEST/empty.zone" --listen "unix:$TMPDIR_TEST/nb/s" --socket-owner root 2>&1; echo "rc=$?")
like "$out" "cannot give unix:$TMPDIR_TEST/nb/s to root:-: Operation not permitted" "a socket that cannot be given away is said so"
like "$out" 'rc=71$' "and is exit 71, as other listen errors"
done_testing
