#!/bin/sh
# The LMTP interop tests session.sh, clients.sh and limits.sh again, with
# the server under valgrind memcheck (POSTERN_WRAPPER, read by lib.sh's
# start_lmtp): each must still pass, and every server run must end with
# "ERROR SUMMARY: 0 errors" (definite leaks count as errors), which also
# shows each run reached its exit under valgrind. A control program that
# leaks and reads uninitialised memory shows the options catch both. The
# three run side by side to keep the time down. Sanitizer builds cannot run
# under valgrind; they have their own checks (check_stderr in lib.sh).
# Last, relay mode (--deliver lmtp:HOST:PORT) under valgrind, relaying to a
# second postern.
. "$top_srcdir/tests/cli/tap.sh"
if grep -q -- '--enable-sanitizers' "$top_builddir/config.log" 2>/dev/null; then
	echo "1..0 # SKIP ASan build: valgrind cannot run it"
	exit 0
fi
vg="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --vgdb=no"
t0=$(date +%s)

cat > "$TMPDIR_TEST/leak.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	int *p = malloc(64 * sizeof *p);
	char *q = malloc(16);
	if (p == NULL || q == NULL)
		return 1;
	if (p[7] > 3)   /* uninitialised */
		puts("x");
	q = NULL;       /* 16 bytes definitely lost */
	return 0;
}
EOF
${CC:-cc} -g -O0 -o "$TMPDIR_TEST/leak" "$TMPDIR_TEST/leak.c"
$vg --log-file="$TMPDIR_TEST/control.vg" "$TMPDIR_TEST/leak" >/dev/null; rc=$?
is "$rc" 99 "control: valgrind with these options fails a program with memory errors"
like "$(cat "$TMPDIR_TEST/control.vg")" "definitely lost: [1-9][0-9]* bytes" "control: the definite leak is reported"
like "$(cat "$TMPDIR_TEST/control.vg")" "depends on uninitialised value" "control: the uninitialised read is reported"

for t in session clients limits; do
	mkdir "$TMPDIR_TEST/$t"
	( POSTERN_WRAPPER="$vg --log-file=$TMPDIR_TEST/$t/vg.%p" \
		sh "$top_srcdir/tests/lmtp/$t.sh" > "$TMPDIR_TEST/$t.tap" 2>&1
	  echo $? > "$TMPDIR_TEST/$t.rc" ) &
done
wait
for t in session clients limits; do
	is "$(cat "$TMPDIR_TEST/$t.rc")" 0 "$t.sh passes with the server under valgrind"
	grep '^not ok' "$TMPDIR_TEST/$t.tap" | sed 's/^/# /'
	runs=$(ls "$TMPDIR_TEST/$t" | wc -l | tr -d ' ')
	clean=$(grep -l 'ERROR SUMMARY: 0 errors from 0 contexts' "$TMPDIR_TEST/$t"/vg.* 2>/dev/null | wc -l | tr -d ' ')
	[ "$runs" -gt 0 ] && [ "$clean" = "$runs" ] \
		&& ok "$t.sh: no memcheck error or definite leak in any of its $runs server runs" \
		|| { not_ok "$t.sh: no memcheck error or definite leak in any server run" \
			"$clean of $runs runs clean"
		     for f in "$TMPDIR_TEST/$t"/vg.*; do
			grep -q 'ERROR SUMMARY: 0 errors from 0 contexts' "$f" || sed -n '1,60s/^/# /p' "$f"
		     done; }
done
# Relay mode, which those tests do not reach: postern under valgrind relays
# to a second postern (plain, Maildir), two messages, one of them to two
# recipients, over one downstream connection, then SIGTERM.
. "$top_srcdir/tests/lmtp/lib.sh"
printf 'rule r { when size > 0 then add header "X-Relayed" "yes"; }\n' > "$TMPDIR_TEST/relay.rules"
start_lmtp --rules "$TMPDIR_TEST/relay.rules"
down=$PORT down_pid=$SRV_PID
up=$(free_port)
$vg --log-file="$TMPDIR_TEST/relay.vg" "$POSTERN" lmtp --rules "$TMPDIR_TEST/relay.rules" \
	--listen "127.0.0.1:$up" --deliver "lmtp:127.0.0.1:$down" --dns "$TMPDIR_TEST/empty.zone" \
	--log "$TMPDIR_TEST/relay.log" --hostname relay.test 2>"$TMPDIR_TEST/relay.err" &
up_pid=$!
wait_port "$up" 60
out=$(printf '%s\n' 'LHLO c' 'MAIL FROM:<a@example.net>' 'RCPT TO:<u@example.org>' 'RCPT TO:<v@example.org>' \
	'DATA' '<<354' 'Subject: one\r\n\r\nbody one' '.' '<<2' \
	'MAIL FROM:<a@example.net>' 'RCPT TO:<u@example.org>' 'DATA' '<<354' 'Subject: two\r\n\r\nbody two' '.' '<<1' \
	'QUIT' | lmtpc "$up")
is "$(printf '%s\n' "$out" | grep -c '^250 2.0.0')" 3 "relay under valgrind: three recipients answered 250 from downstream"
is "$(grep -l '^X-Relayed: yes' "$MD"/example.org/*/new/* 2>/dev/null | wc -l | tr -d ' ')" 3 "and three copies stored downstream"
kill -TERM "$up_pid"; wait "$up_pid"; rc=$?
is "$rc" 0 "relay under valgrind: exit 0 on SIGTERM"
like "$(cat "$TMPDIR_TEST/relay.vg")" 'ERROR SUMMARY: 0 errors from 0 contexts' \
	"relay: no memcheck error or definite leak"
grep -q 'ERROR SUMMARY: 0 errors from 0 contexts' "$TMPDIR_TEST/relay.vg" || sed -n '1,60s/^/# /p' "$TMPDIR_TEST/relay.vg"
stop_lmtp
printf '# valgrind: %d s\n' $(( $(date +%s) - t0 ))
done_testing
