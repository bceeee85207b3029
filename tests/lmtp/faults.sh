#!/bin/sh
# postern lmtp under injected faults (engine/util/fault.h, a build with
# --enable-fault-injection): every open, mkdir, write, fsync, close and
# rename that delivering one message to two Maildir recipients makes is
# failed in turn, one server per failure point. Each time the recipient
# whose delivery made the call gets a 4xx (452 4.2.2 for ENOSPC and EDQUOT,
# 451 4.3.0 for the others, postern(1)), the other one gets 250; no recipient
# without a 250 has a file in new/, no file in new/ is partial, nothing is
# left in tmp/, and the server answers a clean session after it.
#
# The failure points are found by counting: a run without faults and
# POSTERN_FAULT_COUNT set prints the number of calls of each kind, first for
# one recipient (so a call number tells whose delivery it was), then two.
# Three layouts: a fresh Maildir (directories created on the way), one that
# exists, and a fresh quarantine folder (.Quarantine, maildirfolder).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"

# A build without fault injection ignores POSTERN_FAULT; one with it
# refuses a malformed value at start.
if POSTERN_FAULT=bogus "$POSTERN" --version >/dev/null 2>&1; then
	echo "1..0 # SKIP postern was built without --enable-fault-injection"
	exit 0
fi

cat > "$TMPDIR_TEST/p.rules" <<'R'
rule q { when envelope.from == "q@example.net" then quarantine; }
R
KINDS="open mkdir write fsync close rename"
R1=ann@one.example
R2=bob@two.example

# The server listens on a Unix socket and the client is a few lines of
# Perl: a Python start per connection costs half a second on a loaded
# machine, and there are some 200 servers to talk to here.
SOCK="$TMPDIR_TEST/lmtp.sock"
start_faulty() {   # start_faulty: postern lmtp on $SOCK, with the Maildir $MD
	rm -f "$SOCK"
	"$POSTERN" lmtp --rules "$TMPDIR_TEST/p.rules" --listen "unix:$SOCK" --deliver "maildir:$MD" \
		--dns "$TMPDIR_TEST/empty.zone" --log "$LOG" --hostname mx.test 2>>"$TMPDIR_TEST/stderr" &
	SRV_PID=$!
}

# client: send stdin (LF lines, sent with CRLF, all at once: the server
# pipelines) and print every reply line until the server closes. Connects
# again for up to 10 s while the server starts.
client() {
	perl -MIO::Socket::UNIX -e '
		my $s;
		for (1 .. 500) {
			$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) and last;
			select(undef, undef, undef, 0.02);
		}
		$s or die "connect $ARGV[0]: $!\n";
		local $/; my $in = <STDIN>; $in =~ s/\n/\r\n/g;
		print $s $in; $s->flush;
		$/ = "\n"; while (my $l = <$s>) { $l =~ s/\r$//; print $l; }' "$SOCK"
}

# session RCPT... : one transaction, the sender set by $FROM; prints replies.
session() {
	{
		printf '%s\n' 'LHLO client.test' "MAIL FROM:<$FROM>"
		for r in "$@"; do printf '%s\n' "RCPT TO:<$r>"; done
		printf '%s\n' 'DATA' 'Subject: faults' 'Message-ID: <f@example.net>' '' 'line one' 'line two' \
			'.' 'QUIT'
	} | client
}

box() {   # box ADDR: the Maildir folder a copy for ADDR goes to
	d=${1#*@}; l=${1%@*}
	if [ "$FROM" = q@example.net ]; then echo "$MD/$d/$l/.Quarantine"; else echo "$MD/$d/$l"; fi
}

# layout NAME: a new, empty Maildir root in $MD, set up for NAME.
layout() {
	MD="$TMPDIR_TEST/md.$1.$2"
	rm -rf "$MD"
	FROM=a@example.net
	case $1 in
	existing)
		for r in "$R1" "$R2"; do mkdir -p "$(box "$r")/tmp" "$(box "$r")/new" "$(box "$r")/cur"; done ;;
	folder)
		FROM=q@example.net ;;
	esac
}

# count LAYOUT RCPT...: the calls of every kind one delivery makes, as
# "open=N mkdir=N ..." (empty when the server did not report them).
count() {
	lay=$1; shift
	layout "$lay" count
	: > "$TMPDIR_TEST/stderr"
	POSTERN_FAULT_COUNT=1; export POSTERN_FAULT_COUNT
	start_faulty
	unset POSTERN_FAULT_COUNT
	session "$@" > "$TMPDIR_TEST/count.out"
	stop_lmtp
	sed -n 's/^postern: fault calls: //p' "$TMPDIR_TEST/stderr" | tail -1
}

calls_of() {   # calls_of KIND "open=N ...": N
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# A complete copy: its size is the S= of its name, and it ends with the body.
complete() {
	size=$(wc -c < "$1" | tr -d ' ')
	case $1 in *",S=$size") ;; *) return 1 ;; esac
	[ "$(tail -c 10 "$1" | tr -d '\r')" = "line two" ]
}

# check_rcpt ADDR WANTCODE REPLY: the reply code and what is on disk.
check_rcpt() {
	b=$(box "$1")
	got=$(msgs_in "$b")
	left=$(find "$b/tmp" -type f 2>/dev/null | wc -l | tr -d ' ')
	case $2 in
	250)
		[ "$got" = 1 ] || { echo "$1: $got files in new/ after a 250"; return 1; }
		f=$(find "$b/new" -type f)
		complete "$f" || { echo "$1: partial copy $f"; return 1; } ;;
	*)
		[ "$got" = 0 ] || { echo "$1: $got files in new/ without a 250"; return 1; } ;;
	esac
	[ "$left" = 0 ] || { echo "$1: $left files left in tmp/"; return 1; }
	case $3 in "$2 "*) ;; *) echo "$1: reply '$3', want $2"; return 1 ;; esac
	return 0
}

want_for() {   # want_for ERRNO: the reply code and enhanced code
	case $1 in ENOSPC|EDQUOT) echo "452 4.2.2" ;; *) echo "451 4.3.0" ;; esac
}

# run LAYOUT KIND N ERRNO C1: fail call N of KIND; C1 calls are the first
# recipient's. Prints nothing when every check holds, else what failed.
run() {
	lay=$1 kind=$2 n=$3 err=$4 c1=$5
	layout "$lay" "$kind$n"
	: > "$TMPDIR_TEST/stderr"
	POSTERN_FAULT="$kind:$n:$err"; export POSTERN_FAULT
	start_faulty
	unset POSTERN_FAULT
	out=$(session "$R1" "$R2")
	replies=$(printf '%s\n' "$out" | sed -n '/^354/,/^221/p' | grep -E '^[0-9]{3} [0-9]\.' | grep -v '^221')
	rep1=$(printf '%s\n' "$replies" | sed -n 1p)
	rep2=$(printf '%s\n' "$replies" | sed -n 2p)
	want=$(want_for "$err")
	if [ "$n" -le "$c1" ]; then w1=$want w2=250; else w1=250 w2=$want; fi
	check_rcpt "$R1" "${w1%% *}" "$rep1"
	check_rcpt "$R2" "${w2%% *}" "$rep2"
	case "$rep1|$rep2" in
	*"$want "*) ;;
	*) echo "no '$want' reply: $rep1 | $rep2" ;;
	esac
	grep -q "^postern: fault injected: $kind call $n: $err\$" "$TMPDIR_TEST/stderr" ||
		echo "the fault was not reported as injected"
	# The server stays up: a clean session to a third recipient.
	FROM=a@example.net
	again=$(session carol@three.example)
	printf '%s\n' "$again" | grep -q '^250 2\.0\.0 .*Saved' || echo "the next session got: $(printf '%s' "$again" | tail -2 | tr '\n' ' ')"
	[ "$(msgs_in "$MD/three.example/carol")" = 1 ] || echo "the next session's copy is missing"
	kill -0 "$SRV_PID" 2>/dev/null || echo "the server is gone"
	stop_lmtp
	[ "$STOP_RC" = 0 ] || echo "the server exited with $STOP_RC"
}

# The errno of failure point N: the ENOSPC/EDQUOT class and the others in turn.
errno_for() {
	case $(( $1 % 4 )) in 0) echo EIO ;; 1) echo ENOSPC ;; 2) echo EROFS ;; 3) echo EDQUOT ;; esac
}

for lay in fresh existing folder; do
	one=$(count "$lay" "$R1")
	two=$(count "$lay" "$R1" "$R2")
	if [ -z "$one" ] || [ -z "$two" ]; then
		not_ok "$lay: the server reported its call counts" "$(cat "$TMPDIR_TEST/stderr")"
		continue
	fi
	is "$(grep -c '^250 2\.0\.0 .*Saved' "$TMPDIR_TEST/count.out")" 2 "$lay: without faults both recipients get 250"
	echo "# $lay Maildir, calls for one recipient: $one; for two: $two"
	total=0
	for kind in $KINDS; do
		c1=$(calls_of "$kind" "$one")
		c2=$(calls_of "$kind" "$two")
		# Each recipient has its own domain: the second makes the same calls.
		is "$c2" "$((2 * c1))" "$lay: $kind: the second recipient makes as many calls as the first ($c1)"
		bad=""
		n=1
		while [ "$n" -le "$c2" ]; do
			err=$(errno_for "$n")
			r=$(run "$lay" "$kind" "$n" "$err" "$c1")
			[ -z "$r" ] || bad="$bad
$kind call $n ($err): $r"
			n=$((n + 1))
		done
		total=$((total + c2))
		if [ -z "$bad" ]; then
			ok "$lay: $kind: each of the $c2 failure points gives the right 4xx, no partial or stray copy, and the server stays up"
		else
			not_ok "$lay: $kind: every failure point handled" "$bad"
		fi
	done
	echo "# $lay Maildir: $total failure points"
	case $lay in
	fresh) [ "$(calls_of mkdir "$two")" -gt 0 ] && ok "fresh: directories are made, and their creation is covered" ||
		not_ok "fresh: directories are made" "$two" ;;
	existing) is "$(calls_of mkdir "$two")" 0 "existing: no directory is made" ;;
	folder) [ "$(calls_of close "$two")" -gt "$(calls_of rename "$two")" ] &&
		ok "folder: the maildirfolder marker's close is among the points" ||
		not_ok "folder: maildirfolder is created" "$two" ;;
	esac
done

# Faults that delivery absorbs: EINTR from write is retried, and a tmp/
# name taken already (EEXIST from the create in tmp/) gets another name.
layout existing absorbed
: > "$TMPDIR_TEST/stderr"
POSTERN_FAULT="write:1:EINTR,open:6:EEXIST"; export POSTERN_FAULT
start_faulty
unset POSTERN_FAULT
out=$(session "$R1" "$R2")
stop_lmtp
is "$(printf '%s\n' "$out" | grep -c '^250 2\.0\.0 .*Saved')" 2 "EINTR on write and EEXIST on the tmp/ name are retried: both get 250"
is "$(grep -c '^postern: fault injected' "$TMPDIR_TEST/stderr")" 2 "both faults were injected"
r=$(check_rcpt "$R1" 250 "250 x"; check_rcpt "$R2" 250 "250 x")
is "$r" "" "and both copies are complete"

# A disk that stays full: every write fails, both get 452, nothing stored.
layout existing full
: > "$TMPDIR_TEST/stderr"
POSTERN_FAULT="write:1+:ENOSPC"; export POSTERN_FAULT
start_faulty
unset POSTERN_FAULT
out=$(session "$R1" "$R2")
is "$(printf '%s\n' "$out" | grep -c '^452 4\.2\.2 mailbox full: write: No space left on device')" 2 \
   "a full disk (every write ENOSPC): 452 4.2.2 for both recipients"
is "$(find "$MD" -type f | wc -l | tr -d ' ')" 0 "and no file anywhere in the Maildir"
is "$(grep '"rcpt":"ann@one.example"' "$LOG" | tail -1 | jq -r '[.delivered, .reply.code] | @csv')" \
   "false,452" "the log line says not delivered, 452"
out=$(printf '%s\n' 'LHLO c' 'NOOP' 'QUIT' | client)
like "$out" '250 2\.0\.0 Ok' "the server still answers"
stop_lmtp

# A malformed POSTERN_FAULT stops the program at start.
POSTERN_FAULT="fsync:0:EIO" "$POSTERN" --version > /dev/null 2> "$TMPDIR_TEST/bad.err"
is "$?" 2 "a malformed POSTERN_FAULT: exit status 2"
like "$(cat "$TMPDIR_TEST/bad.err")" 'POSTERN_FAULT: fsync:0:EIO: N must be a number from 1' "with the reason"
done_testing
