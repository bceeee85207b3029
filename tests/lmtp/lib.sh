# lib.sh: shared by the LMTP interop tests. Source after tests/cli/tap.sh.
# start_lmtp ARGS... starts "postern lmtp" on a free loopback port ($PORT)
# with a Maildir under $TMPDIR_TEST/md, an empty DNS fixture and the log in
# $LOG, and waits until it answers; stop_lmtp sends SIGTERM and waits,
# leaving the exit status in $STOP_RC. lmtpc runs tests/lmtp/lmtpc.py.
# With $POSTERN_WRAPPER set (e.g. "valgrind -q ..."), the server runs under
# it; the wrapper must exec postern in the same process (valgrind, env do).
# With $LMTP_PORT set, start_lmtp listens there instead of a free port (a
# restart on the same port).
# pg_cluster DIR makes a throwaway PostgreSQL server (store_pg.sh,
# store_pg_load.sh; see its comment below), pg_cluster_or_skip DIR DB...
# that and its databases, or the test's SKIP or Bail out.
# The Python helpers write no __pycache__ into the source tree (storeload.py,
# relayload.py and faultd.py import loadlib.py).
export PYTHONDONTWRITEBYTECODE=1
LMTPC="$top_srcdir/tests/lmtp/lmtpc.py"
MD="$TMPDIR_TEST/md"
LOG="$TMPDIR_TEST/lmtp.log"
: > "$TMPDIR_TEST/empty.zone"
SRV_PID=

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {   # wait_port PORT [SECONDS]: until it accepts, at most SECONDS (10)
	python3 - "$1" "${2:-10}" <<'PY'
import socket, sys, time
for _ in range(int(sys.argv[2]) * 20):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

start_lmtp() {
	PORT=${LMTP_PORT:-$(free_port)}
	$POSTERN_WRAPPER "$POSTERN" lmtp --listen "127.0.0.1:$PORT" --deliver "maildir:$MD" \
		--dns "$TMPDIR_TEST/empty.zone" --log "$LOG" --hostname mx.test "$@" \
		2>>"$TMPDIR_TEST/stderr" &
	SRV_PID=$!
	wait_port "$PORT" ${POSTERN_WRAPPER:+60} || { echo "# postern lmtp did not start"; cat "$TMPDIR_TEST/stderr" | sed 's/^/# /'; }
}

stop_lmtp() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	wait "$SRV_PID"; STOP_RC=$?
	SRV_PID=
	check_stderr
}

check_stderr() {   # sanitizer reports of the server fail the test
	if grep -Eq 'Sanitizer|runtime error:' "$TMPDIR_TEST/stderr" 2>/dev/null; then
		not_ok "the server ran clean under the sanitizers" "$(head -40 "$TMPDIR_TEST/stderr")"
		: > "$TMPDIR_TEST/stderr"
	fi
}
trap 'stop_lmtp; rm -rf "$TMPDIR_TEST"' EXIT

lmtpc() { python3 "$LMTPC" "$@"; }

msgs_in() {   # msgs_in DIR: number of files under DIR/new
	find "$1/new" -type f 2>/dev/null | wc -l | tr -d ' '
}

q() { printf '%s\n' "$1" | jq -rc "$2"; }

# The report store's messages (store.sh, store_pg.sh, tests/report/lib.sh;
# their rules: dmarc_reject_rules below):
# send_dmarc PORT IP MAILFROM BODY sends one message to bob@example.net the
# way Postfix hands it over (XFORWARD gives the client IP), its replies on
# stdout; plain_body FROM SUBJECT is a message body without a signature,
# signed_body the one of tests/fixtures/dkim/rsa2048.eml (DKIM-signed by
# example.com), both with \r\n line ends for lmtpc.
send_dmarc() {
	printf '%s\n' 'LHLO client.test' "XFORWARD ADDR=$2 HELO=mta.test" "MAIL FROM:<$3>" \
		"RCPT TO:<bob@example.net>" 'DATA' '<<354' "$4" '.' 'QUIT' | lmtpc "$1"
}
plain_body() {
	printf 'From: %s\\r\\nTo: bob@example.net\\r\\nSubject: %s\\r\\nMessage-ID: <%s@test>\\r\\n\\r\\nhello\\r\\n' "$1" "$2" "$2"
}
signed_body() {
	tr -d '\r' < "$top_srcdir/tests/fixtures/dkim/rsa2048.eml" | awk '{ printf "%s\\r\\n", $0 }'
}

# dmarc_reject_rules: the report store tests' rules on stdout (a DMARC
# fail whose policy is reject is rejected, 550 5.7.1; after the queue,
# applied as quarantine).
dmarc_reject_rules() {
	cat <<'RULES'
rule dmarc_reject {
  when dmarc == fail and dmarc.policy == reject
  then reject 550 5.7.1 "DMARC says reject";
}
RULES
}

# pg_cluster DIR: a throwaway PostgreSQL cluster under DIR (initdb, pg_ctl
# from the newest /usr/lib/postgresql/*/bin; run as the unprivileged
# "postgres" user, else nobody, when the test runs as root; trust
# authentication for the role "postern"; listening on a free port
# ($PGPORT) on 127.0.0.1 only, fsync off). Returns 2 when PostgreSQL is
# not installed (the caller skips), 1 when initdb or the start failed
# (the reason in $PG_ERROR), 0 when the server runs. Gives pg_start and
# pg_stop (pg_ctl -m fast, waiting), pg_running and psqlc ARGS (psql as
# postern on the cluster, unaligned, fields split by |). The caller's exit
# trap must call pg_stop when pg_running.
pg_cluster() {
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] || ! command -v psql >/dev/null; then
		return 2
	fi
	PGDIR=$1
	mkdir -p "$PGDIR"
	if [ "$(id -u)" = 0 ]; then
		PGUSER_OS=postgres
		id "$PGUSER_OS" >/dev/null 2>&1 || PGUSER_OS=nobody
		chmod o+x "$(dirname "$PGDIR")"
		chown "$PGUSER_OS" "$PGDIR"
	fi
	PGPORT=$(free_port)
	if ! pg_as "'$PGBIN/initdb' -D '$PGDIR/data' -U postern --auth=trust -E UTF8 --no-sync" >"$PGDIR/initdb.log" 2>&1; then
		PG_ERROR="initdb failed: $(tail -3 "$PGDIR/initdb.log" | tr '\n' ' ')"
		return 1
	fi
	pg_start || { PG_ERROR="the PostgreSQL server did not start: $(tail -3 "$PGDIR/log" | tr '\n' ' ')"; return 1; }
	return 0
}
pg_as() {   # pg_as COMMAND: COMMAND (a shell line) as the cluster's owner
	if [ "$(id -u)" = 0 ]; then su -s /bin/sh "$PGUSER_OS" -c "$*"; else sh -c "$*"; fi
}
pg_start() {
	pg_as "'$PGBIN/pg_ctl' -D '$PGDIR/data' -l '$PGDIR/log' -w -t 30 -o \"-p $PGPORT -k '$PGDIR' -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null
}
pg_stop() { pg_as "'$PGBIN/pg_ctl' -D '$PGDIR/data' -m fast -w stop" >/dev/null 2>&1; }
pg_running() { [ -n "${PGDIR:-}" ] && [ -f "$PGDIR/data/postmaster.pid" ]; }
psqlc() { psql -X -q -At -F '|' -h 127.0.0.1 -p "$PGPORT" -U postern "$@"; }

# pg_cluster_or_skip DIR DB...: pg_cluster DIR and CREATE DATABASE DB for
# each DB. Where PostgreSQL is not installed it prints the plan of a
# skipped test and exits 0; where the cluster or a database cannot be
# made, "Bail out!" with the reason, exit 1 (the caller's exit trap stops
# the server).
pg_cluster_or_skip() {
	pg_cluster "$1"; _pg_rc=$?
	if [ "$_pg_rc" = 2 ]; then
		echo "1..0 # SKIP PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, pg_ctl or psql; apt-get install postgresql)"
		exit 0
	fi
	[ "$_pg_rc" = 0 ] || { echo "Bail out! $PG_ERROR"; exit 1; }
	shift
	for _pg_db; do
		psqlc -d postgres -c "CREATE DATABASE $_pg_db" || { echo "Bail out! CREATE DATABASE $_pg_db failed"; exit 1; }
	done
}

# pf_instance DIR SERVICE POSTCONF...: a private Postfix instance under DIR
# (config in $PF_CD = DIR/etc, log in $PF_LOG) with smtpd on a free
# loopback port ($PF_PORT), pickup for its sendmail (MAIL_CONFIG=$PF_CD, or
# sendmail -C), the usual services plus SERVICE (a master.cf line such as
# 'virtual unix - n n - - virtual'), and the main.cf settings POSTCONF
# (name=value) on top of a loopback-only base; the files named in $PF_MAPS
# (written by the caller under DIR/etc) become hash tables before the
# master starts (smtpd opens its tables once, at start). Its master runs in the
# foreground (-d) in a process group of its own; pf_stop ends it, and the
# caller's exit trap must call pf_stop. 0 when smtpd answers (30 s: Postfix
# starts its daemons slowly on a loaded machine), 1 with the reason in
# $PF_ERROR. Needs root, postfix and the postfix user and postdrop group:
# pf_usable says so, with the reason in $PF_ERROR.
PF_MASTER=
pf_usable() {
	PF_ERROR=
	if [ "$(id -u)" != 0 ]; then PF_ERROR="Postfix's master must start as root (run make check as root)"
	elif ! command -v postfix >/dev/null 2>&1 || [ ! -x /usr/lib/postfix/sbin/master ]; then
		PF_ERROR="postfix not installed (apt-get install postfix)"
	elif ! getent passwd postfix >/dev/null || ! getent group postdrop >/dev/null; then
		PF_ERROR="no postfix user or postdrop group (Debian's postfix package makes them)"
	fi
	[ -z "$PF_ERROR" ]
}
pf_instance() {
	pf_dir=$1 pf_service=$2; shift 2
	PF_CD="$pf_dir/etc" PF_LOG="$pf_dir/maillog" PF_PORT=$(free_port)
	chmod 711 "$(dirname "$pf_dir")"
	mkdir -p "$PF_CD" "$pf_dir/spool" "$pf_dir/data" && chown postfix "$pf_dir/data"
	: > "$PF_CD/main.cf"
	postconf -c "$PF_CD" -e compatibility_level=3.6 queue_directory="$pf_dir/spool" \
		data_directory="$pf_dir/data" mail_owner=postfix setgid_group=postdrop \
		inet_interfaces=loopback-only inet_protocols=ipv4 maillog_file="$PF_LOG" \
		maillog_file_prefixes="$(dirname "$pf_dir")" mydestination= mynetworks=127.0.0.0/8 \
		alias_maps= alias_database= local_recipient_maps= smtpd_peername_lookup=no \
		delay_warning_time=0 bounce_queue_lifetime=0 maximal_queue_lifetime=1h "$@"
	for m in ${PF_MAPS:-}; do postmap -c "$PF_CD" "hash:$m"; done
	{
		echo "127.0.0.1:$PF_PORT inet n - n - - smtpd"
		for s in 'pickup unix n - n 60 1 pickup' 'cleanup unix n - n - 0 cleanup' \
			'qmgr unix n - n 300 1 qmgr' 'rewrite unix - - n - - trivial-rewrite' \
			'bounce unix - - n - 0 bounce' 'defer unix - - n - 0 bounce' \
			'trace unix - - n - 0 bounce' 'verify unix - - n - 1 verify' \
			'flush unix n - n 1000? 0 flush' 'proxymap unix - - n - - proxymap' \
			'showq unix n - n - - showq' 'error unix - - n - - error' \
			'retry unix - - n - - error' 'discard unix - - n - - discard' \
			'anvil unix - - n - 1 anvil' 'scache unix - - n - 1 scache' \
			'postlog unix-dgram n - n - 1 postlogd' "$pf_service"; do
			echo "$s"
		done
	} > "$PF_CD/master.cf"
	postfix -c "$PF_CD" check </dev/null >/dev/null 2>&1
	if [ ! -d "$pf_dir/spool/maildrop" ]; then
		PF_ERROR="postfix check did not make the queue: $(cat "$PF_LOG" 2>/dev/null)"
		return 1
	fi
	setsid /usr/lib/postfix/sbin/master -c "$PF_CD" -d </dev/null >>"$pf_dir/stderr" 2>&1 &
	PF_MASTER=$!
	if ! wait_port "$PF_PORT" 30; then
		PF_ERROR="smtpd did not answer on 127.0.0.1:$PF_PORT: $(cat "$pf_dir/stderr" "$PF_LOG" 2>/dev/null)"
		return 1
	fi
}
pf_stop() {   # SIGTERM the master; it takes its process group with it
	[ -n "$PF_MASTER" ] || return 0
	kill -TERM "$PF_MASTER" 2>/dev/null
	i=0; while kill -0 "$PF_MASTER" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -KILL -- "-$PF_MASTER" 2>/dev/null
	wait "$PF_MASTER" 2>/dev/null
	PF_MASTER=
}
