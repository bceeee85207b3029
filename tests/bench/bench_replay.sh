#!/bin/sh
# bench_replay.sh: postern replay against Pigeonhole's sieve-filter over the
# same Maildir (20,000 messages of about 4 KB from tests/cli/gen_corpus.py
# --bench; 2,000 with POSTERN_BENCH_QUICK=1) and the same 10 header rules
# (gen_corpus.py's bench.rules, and the Sieve script below, rule for rule).
# sieve-filter runs in its simulation mode (no -e, no -W) with a cold
# Dovecot index every run (fresh INDEX and CONTROL folders; the corpus
# itself is never written). The corpus is read once before the runs so
# both read it from the page cache. Median of 3 runs (1 when quick).
# postern runs with --jobs 1 for the fixed ratio (sieve-filter is single
# threaded) and with --jobs 2 beside it. CPU per message is the child's
# user+system time (wait4). Both must agree on how many messages the
# subject rule sends to Spam, a check that the policies are the same. Needs dovecot-core and dovecot-sieve.
. "$top_srcdir/tests/bench/srv_common.sh"
SIEVE_FILTER=$(command -v sieve-filter || echo /usr/lib/dovecot/sieve-filter)
[ -x "$SIEVE_FILTER" ] || { echo "bench_replay: sieve-filter not found (apt-get install dovecot-sieve)" >&2; exit 1; }
RCPT=bench@example.org   # one recipient a message, as sieve-filter decides once a message
if [ -n "$QUICK" ]; then N=2000; RUNS=1; else N=20000; RUNS=3; fi

python3 "$top_srcdir/tests/cli/gen_corpus.py" "$BT/corpus" "$N" --size 4096 --bench --forms maildir
C="$BT/corpus/maildir"
cat "$C"/new/* "$C"/cur/* > /dev/null

cat > "$BT/bench.sieve" <<'SIEVE'
# the 10 rules of gen_corpus.py's bench.rules. postern's == and contains
# are case-insensitive like Sieve's default comparator; its regexes are
# case-sensitive unless /i, hence i;octet. tempfail has no Sieve
# counterpart: reject stands in (both end the script).
require ["fileinto", "editheader", "variables", "regex", "reject", "comparator-i;octet"];
if not exists "Message-ID" { reject "no Message-ID"; stop; }
if header :regex "Subject" "viagra|lottery|winner" { fileinto "Spam"; stop; }
if header :regex :comparator "i;octet" "List-Id" "announce" { fileinto "Lists"; stop; }
if header :is "X-Priority" "1" { addheader "X-Flag" "urgent"; }
if header :regex :comparator "i;octet" "X-Classification" "^SECRET$" { reject "classified"; stop; }
if exists "X-Internal-Route" { deleteheader "X-Internal-Route"; }
if address :domain :matches "From" "*.invalid" {
  if header :matches "Subject" "*" { set "s" "${1}"; }
  deleteheader "Subject"; addheader :last "Subject" "[EXT] ${s}";
}
if header :contains "X-Mailer" "BulkMailer" { discard; stop; }
if header :regex :comparator "i;octet" "User-Agent" "^Evil" { reject "try later"; stop; }
if header :is "Precedence" "bulk" { addheader "X-Bulk" "yes"; }
SIEVE
mkdir -p "$BT/sieve"
cat > "$BT/sieve/dovecot.conf" <<CONF
mail_location = maildir:$C:INDEX=$BT/sieve/idx:CONTROL=$BT/sieve/ctl
mail_uid = $MUID
mail_gid = $MGID
first_valid_uid = 0
first_valid_gid = 0
plugin {
  sieve_extensions = +editheader
}
CONF
chown -R "$MUID:$MGID" "$BT/sieve"
# compile once, as the mail user, so no run pays for it
chown "$MUID:$MGID" "$BT" "$BT/bench.sieve"
rm -rf "$BT/sieve/idx" "$BT/sieve/ctl"; install -d -o "$MUID" -g "$MGID" "$BT/sieve/idx" "$BT/sieve/ctl"
"$SIEVE_FILTER" -c "$BT/sieve/dovecot.conf" "$BT/bench.sieve" INBOX > "$BT/sieve/first.out" 2> "$BT/sieve/err" || {
	echo "bench_replay: sieve-filter failed" >&2; cat "$BT/sieve/err" >&2; exit 1; }
[ -f "$BT/bench.svbin" ] || echo "# note: sieve-filter kept no compiled binary; every run compiles the script" >&2
sf_spam=$(grep -c 'store message in folder: Spam' "$BT/sieve/first.out")

sf_rate= ; sf_cpu= ; pj1_rate= ; pj1_cpu= ; pj2_rate= ; pj2_cpu=
r=0
while [ $r -lt $RUNS ]; do
	rm -rf "$BT/sieve/idx" "$BT/sieve/ctl"
	install -d -o "$MUID" -g "$MGID" "$BT/sieve/idx" "$BT/sieve/ctl"
	set -- $(run_cpu "$SIEVE_FILTER" -c "$BT/sieve/dovecot.conf" "$BT/bench.sieve" INBOX) || exit 1
	sf_rate="$sf_rate $(calc "$N / $1")"; sf_cpu="$sf_cpu $(calc "$2 * 1e6 / $N")"
	set -- $(run_cpu "$POSTERN" replay --rules "$BT/corpus/bench.rules" --dns "$BT/empty.zone" --rcpt "$RCPT" --jobs 1 "$C") || exit 1
	pj1_rate="$pj1_rate $(calc "$N / $1")"; pj1_cpu="$pj1_cpu $(calc "$2 * 1e6 / $N")"
	set -- $(run_cpu "$POSTERN" replay --rules "$BT/corpus/bench.rules" --dns "$BT/empty.zone" --rcpt "$RCPT" --jobs 2 "$C") || exit 1
	pj2_rate="$pj2_rate $(calc "$N / $1")"; pj2_cpu="$pj2_cpu $(calc "$2 * 1e6 / $N")"
	r=$((r + 1))
done
"$POSTERN" replay --rules "$BT/corpus/bench.rules" --dns "$BT/empty.zone" --rcpt "$RCPT" --json "$C" > "$BT/replay.json"
p_msgs=$(jq .messages "$BT/replay.json")
p_spam=$(jq .rules.subject_spam "$BT/replay.json")

sf_rate=$(median $sf_rate); sf_cpu=$(median $sf_cpu)
pj1_rate=$(median $pj1_rate); pj1_cpu=$(median $pj1_cpu)
pj2_rate=$(median $pj2_rate); pj2_cpu=$(median $pj2_cpu)
fig replay-messages "$N" msgs
fig replay-postern-messages-read "$p_msgs" msgs
fig replay-postern-spam-quarantined "$p_spam" msgs
fig replay-sieve-filter-spam-fileinto "$sf_spam" msgs
[ "$p_spam" = "$sf_spam" ] || echo "bench_replay: the two policies disagree on subject_spam ($p_spam, $sf_spam)" >&2
fig replay-sieve-filter-msgs "$sf_rate" msgs/s
fig replay-sieve-filter-cpu "$sf_cpu" us/msg
fig replay-postern-1j-msgs "$pj1_rate" msgs/s
fig replay-postern-1j-cpu "$pj1_cpu" us/msg
fig replay-postern-2j-msgs "$pj2_rate" msgs/s
fig replay-postern-2j-cpu "$pj2_cpu" us/msg
fig replay-vs-sieve-filter "$(calc "$pj1_rate / $sf_rate" 2)" x
fig replay-2j-vs-sieve-filter "$(calc "$pj2_rate / $sf_rate" 2)" x
fig replay-cpu-sieve-filter-over-postern "$(calc "$sf_cpu / $pj1_cpu" 2)" x
[ "$p_msgs" = "$N" ] || { echo "bench_replay: postern read $p_msgs of $N messages" >&2; exit 1; }
