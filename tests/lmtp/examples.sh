#!/bin/sh
# The deployment examples, checked offline: examples/postfix/main.cf and
# master.cf parse with the real postconf without a warning (a bogus line
# shows the check can fail); the postern command line in
# examples/postfix/README.md and the ExecStart of
# examples/systemd/postern-lmtp.service (made by make from its .in with
# configure's bindir and sysconfdir) are accepted by the real binary
# (started on a free port with only addresses, paths and users swapped, they
# answer LHLO and exit 0 on SIGTERM; as root, their Unix socket gets the
# group and mode they ask for); systemd-analyze verify accepts the unit.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
ex="$top_srcdir/examples"
unit="$top_builddir/examples/systemd/postern-lmtp.service"

if command -v postconf >/dev/null 2>&1; then
	d="$TMPDIR_TEST/pf"; mkdir "$d"
	cp "$ex/postfix/main.cf" "$ex/postfix/master.cf" "$d/"
	out=$(postconf -c "$d" -n 2>"$TMPDIR_TEST/pf.err"); rc=$?
	is "$rc:$(cat "$TMPDIR_TEST/pf.err")" "0:" "postconf -n reads main.cf without a warning"
	like "$out" '^virtual_transport = postern:unix:/run/postern/lmtp$' \
	   "virtual_transport is master.cf's postern transport to postern's Unix socket"
	like "$out" 'lmtp_send_xforward_command = yes' "XFORWARD is sent"
	# Recipient validation (issue 16): the domain has a mailbox table and
	# Postfix refuses what it does not list, at RCPT.
	like "$out" '^virtual_mailbox_domains = example\.org$' "the virtual mailbox domain"
	like "$out" '^virtual_mailbox_maps = hash:/etc/postfix/virtual_mailboxes$' \
	   "recipients are validated against virtual_mailbox_maps"
	like "$out" '^smtpd_reject_unlisted_recipient = yes$' "and unlisted recipients are refused at RCPT"
	out=$(postconf -c "$d" -M 2>"$TMPDIR_TEST/pf.err"); rc=$?
	is "$rc:$(cat "$TMPDIR_TEST/pf.err")" "0:" "postconf -M reads master.cf without a warning"
	like "$out" '^postern +unix +- +- +n +.* lmtp -o lmtp_send_xforward_command=yes' \
	   "master.cf: the postern lmtp transport is not chrooted (reaches /run/postern) and sends XFORWARD"
	cp "$ex/postfix/virtual_mailboxes" "$d/vm"
	if postmap -c "$d" "hash:$d/vm" 2>"$TMPDIR_TEST/pf.err"; then
		is "$(postmap -c "$d" -q alice@example.org "hash:$d/vm"):$(postmap -c "$d" -q nosuchuser@example.org "hash:$d/vm"; echo "$?")" \
		   "OK:1" "postmap reads virtual_mailboxes: alice is listed, nosuchuser is not"
	else
		not_ok "postmap reads virtual_mailboxes" "$(cat "$TMPDIR_TEST/pf.err")"
	fi
	echo 'virtual_transprot = lmtp:inet:127.0.0.1:2424' >> "$d/main.cf"
	postconf -c "$d" -n >/dev/null 2>"$TMPDIR_TEST/pf.err"
	like "$(cat "$TMPDIR_TEST/pf.err")" 'unused parameter: virtual_transprot' "control: a misspelt parameter is warned about"
else
	echo "1..0 # SKIP postconf not installed (apt-get install postfix)"
	exit 0
fi

# try_cmdline NAME ARGS...: ARGS is an example's "postern lmtp ..." line
# without the program name. Addresses and paths are swapped for test ones,
# every option name is kept.
try_cmdline() {
	name=$1; shift
	[ "$1" = lmtp ] || { not_ok "$name: the command is postern lmtp" "got: $*"; return; }
	shift
	port=$(free_port)
	set -- "$@" --dns "$TMPDIR_TEST/empty.zone"
	args= sock= sgroup= smode=660 pidf=
	while [ $# -gt 0 ]; do
		case $1 in
		--rules) args="$args --rules $TMPDIR_TEST/ex.rules"; shift ;;
		--listen) case $2 in
			unix:*) sock="$TMPDIR_TEST/$name.sock"; args="$args --listen unix:$sock" ;;
			esac
			args="$args --listen 127.0.0.1:$port"; shift ;;
		# As root the socket goes to nobody and the example's group (daemon
		# where that group does not exist); as a normal user chown would fail.
		--socket-owner) [ "$(id -u)" = 0 ] && args="$args --socket-owner nobody"; shift ;;
		--socket-group) if [ "$(id -u)" = 0 ]; then
				sgroup=$2; getent group "$sgroup" >/dev/null || sgroup=daemon
				args="$args --socket-group $sgroup"
			fi; shift ;;
		--socket-mode) smode=${2#0}; args="$args $1 $2"; shift ;;
		--deliver) case $2 in
			lmtp:unix:*) args="$args --deliver lmtp:unix:$TMPDIR_TEST/dovecot-lmtp" ;;
			maildir:*) args="$args --deliver maildir:$MD" ;;
			*) args="$args --deliver $2" ;;
			esac; shift ;;
		--log) args="$args --log $TMPDIR_TEST/logs/$name.log"; shift ;;
		--pid-file) pidf="$TMPDIR_TEST/logs/$name.pid"; args="$args --pid-file $pidf"; shift ;;
		--user) [ "$(id -u)" = 0 ] && args="$args --user nobody"; shift ;;
		*) args="$args $1" ;;
		esac
		shift
	done
	# shellcheck disable=SC2086
	"$POSTERN" lmtp $args 2>"$TMPDIR_TEST/$name.err" &
	pid=$!
	if wait_port "$port"; then
		out=$(printf 'LHLO ex.test\nQUIT\n' | lmtpc "$port")
		like "$out" '^250[ -]' "$name: postern accepts the example's options and answers LHLO"
		if [ -n "$sock" ]; then
			like "$(printf 'LHLO ex.test\nQUIT\n' | lmtpc "unix:$sock")" '^250[ -]' "$name: and on its Unix socket"
			if [ -n "$sgroup" ]; then
				is "$(stat -c %U:%G:%a "$sock")" "nobody:$sgroup:$smode" \
				   "$name: the socket has the example's --socket-group and --socket-mode"
			fi
		fi
		if [ -n "$pidf" ]; then
			is "$(cat "$pidf" 2>/dev/null)" "$pid" "$name: its --pid-file names it (written after --user)"
			out=$("$POSTERN" reload --pid-file "$pidf" 2>&1); rc=$?
			is "$rc" 0 "$name: postern reload --pid-file (its ExecReload) reloads it" "$out"
		fi
		kill -TERM "$pid"; wait "$pid"; rc=$?
		is "$rc" 0 "$name: it exits 0 on SIGTERM"
	else
		kill "$pid" 2>/dev/null; wait "$pid"
		not_ok "$name: postern accepts the example's options" "$(cat "$TMPDIR_TEST/$name.err")" "args:$args"
	fi
}
printf 'rule r { when size > 0 then tag "x"; }\n' > "$TMPDIR_TEST/ex.rules"
# --user: as root it becomes --user nobody, which must read the rules and
# write the log after dropping privileges.
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$TMPDIR_TEST"; chmod 644 "$TMPDIR_TEST/ex.rules" "$TMPDIR_TEST/empty.zone"
	mkdir "$TMPDIR_TEST/logs"; chown nobody "$TMPDIR_TEST/logs"
else
	mkdir "$TMPDIR_TEST/logs"
fi

# The README's command: the lines from "postern lmtp" to the end of its
# backslash continuations.
cmd=$(awk '/^ *postern lmtp --/{on=1} on{l=$0; sub(/^ +/, "", l); sub(/\\$/, "", l); printf "%s ", l; if ($0 !~ /\\$/) exit}' \
	"$ex/postfix/README.md")
like "$cmd" '--deliver lmtp:unix:/var/run/dovecot/lmtp' "README: postern relays to Dovecot's LMTP socket"
like "$cmd" '--listen unix:/run/postern/lmtp .*--socket-group postfix --socket-mode 0660' \
   "README: postern listens on main.cf's socket, for the postfix group"
# shellcheck disable=SC2086
set -f; try_cmdline readme ${cmd#postern }; set +f

# The unit's ExecStart (with its continuations).
exec_start=$(awk '/^ExecStart=/{on=1} on{l=$0; sub(/\\$/, "", l); printf "%s ", l; if ($0 !~ /\\$/) exit}' "$unit")
# make wrote the unit with the build's bindir and sysconfdir.
bindir=$(sed -n 's/^bindir = //p' "$top_builddir/Makefile")
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
bindir=$(printf '%s' "$bindir" | sed "s|\${exec_prefix}|$prefix|; s|\${prefix}|$prefix|")
like "$exec_start" "^ExecStart=$bindir/postern lmtp --rules $prefix/etc/postern/policy.rules " \
   "unit: ExecStart runs postern lmtp from bindir ($bindir), the rules from sysconfdir"
is "$(grep -c '@[a-z]*@' "$unit")" 0 "unit: make substituted every @name@"
like "$exec_start" '--listen unix:/run/postern/lmtp .*--socket-group postfix --socket-mode 0660 ' \
   "unit: postern listens on /run/postern/lmtp for the postfix group"
like "$exec_start" '--xforward-from unix .*--pid-file /run/postern/postern.pid' \
   "unit: XFORWARD trusted on the socket only; a pid file for postern reload"
# shellcheck disable=SC2086
set -f; try_cmdline unit ${exec_start#ExecStart="$bindir"/postern }; set +f
for k in 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' 'Restart=on-failure' \
	 "ExecReload=$bindir/postern reload --pid-file /run/postern/postern.pid" \
	 'ExecStartPre=+/bin/chown postern /run/postern' 'ReadWritePaths=/var/run/dovecot' 'RuntimeDirectory=postern' \
	 'CapabilityBoundingSet=CAP_CHOWN CAP_SETUID CAP_SETGID CAP_NET_BIND_SERVICE'; do
	grep -q "^$k\$" "$unit" && ok "unit: $k" || not_ok "unit: $k"
done

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants the ExecStart program to exist: point it at the build.
	abs=$(cd "$(dirname "$POSTERN")" && pwd)/$(basename "$POSTERN")
	sed -e "s|^ExecStart=$bindir/postern |ExecStart=$abs |" -e "s|^ExecReload=$bindir/postern |ExecReload=$abs |" \
		"$unit" > "$TMPDIR_TEST/postern-lmtp.service"
	out=$(systemd-analyze verify --man=no "$TMPDIR_TEST/postern-lmtp.service" 2>&1); rc=$?
	is "$rc:$out" "0:" "systemd-analyze verify accepts the unit without a warning"
	sed -i 's/^Restart=on-failure/Restart=sometimes/' "$TMPDIR_TEST/postern-lmtp.service"
	like "$(systemd-analyze verify --man=no "$TMPDIR_TEST/postern-lmtp.service" 2>&1)" 'restart specifier' \
		"control: systemd-analyze verify reports a bad setting"
else
	ok "systemd-analyze verify # SKIP systemd-analyze not installed"
fi
done_testing
