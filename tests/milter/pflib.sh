# tests/milter/pflib.sh: what the tests of postern milter behind a real
# Postfix share (postfix.sh, postfix_tenants.sh, spoof.sh): sourced after
# tests/cli/tap.sh and tests/lmtp/lib.sh. The caller sets T0 (date +%s) for
# step, MD (postern lmtp's Maildir) for the mailbox helpers and MILTER_PID
# for stop_milter.

skip() { echo "1..0 # SKIP $*"; exit 0; }

wait_for() {   # wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS
	n=$(($1 * 20)); shift
	while ! "$@"; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.05; done
}

step() { printf '# %s: %ss\n' "$1" $(($(date +%s) - T0)); }   # step NAME: the time so far

# stop_milter: SIGTERM to the supervisor and wait; its status in MILTER_RC.
stop_milter() {
	[ -n "$MILTER_PID" ] || return 0
	kill -TERM "$MILTER_PID" 2>/dev/null; wait "$MILTER_PID"; MILTER_RC=$?; MILTER_PID=
}

# The copies postern lmtp delivered to ADDR, their number, and whether
# there are at least N.
box() { find "$MD/${1#*@}/${1%@*}/new" "$MD/${1#*@}/${1%@*}/cur" -type f 2>/dev/null; }
nbox() { box "$1" | wc -l | tr -d ' '; }
has_mail() { [ "$(nbox "$1")" -ge "$2" ]; }

# replies_settled REPLIES MAILDIR SECONDS: wait (at most SECONDS) until the
# Maildir holds at least as many copies as REPLIES (smtpreplies.py's record)
# has 250s, then put smtpreplies.py's verdict in $res (lost, dup,
# unacked, accepted, tempfailed, ...). Uses $dir and $TMPDIR_TEST.
replies_settled() {
	_settled() {
		python3 "$dir/smtpreplies.py" check "$1" "$2" > "$TMPDIR_TEST/check"
		acc=$(sed 's/.*accepted=\([0-9]*\).*delivered=\([0-9]*\).*/\1 \2/' "$TMPDIR_TEST/check")
		[ "${acc% *}" -le "${acc#* }" ]
	}
	wait_for "$3" _settled "$1" "$2"
	res=$(cat "$TMPDIR_TEST/check")
}
