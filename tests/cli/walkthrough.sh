#!/bin/sh
# The README's walkthrough, run as written: the files and commands of the
# blocks marked "<!-- walkthrough NAME -->" are taken from README.md (so
# the README cannot drift from what works), the commands run in an empty
# folder with postern on PATH and only the port changed, and what they print
# is compared with what the README says they print.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
readme="$top_srcdir/README.md"
W="$TMPDIR_TEST/walk"; mkdir "$W"

# block NAME: the fenced block after the marker line.
block() {
	awk -v m="<!-- walkthrough $1 -->" '
		$0 == m { on = 1; next }
		on == 1 && /^```/ { on = 2; next }
		on == 2 && /^```/ { exit }
		on == 2 { print }' "$readme"
}
for f in acme.rules acme.test run.sh; do
	block "$f" > "$W/$f"
	[ -s "$W/$f" ] && ok "README has the walkthrough's $f" || not_ok "README has the walkthrough's $f"
done
# What the README says the last command prints: the block after "The last command prints".
want=$(awk '/^The last command prints/ { on = 1; next } on == 1 && /^```/ { on = 2; next }
	on == 2 && /^```/ { exit } on == 2 { print }' "$readme")

port=$(free_port)
sed "s/--port 2424/--port $port/g; s/127\.0\.0\.1:2424/127.0.0.1:$port/g" "$W/run.sh" > "$W/run-here.sh"
# The server needs a moment before swaks connects: wait for its port after
# the line that starts it (the README's reader types slower than a script).
awk -v p="$port" '{ print } /^    --deliver maildir:.*&$/ { print "i=0; while ! (echo > /dev/tcp/127.0.0.1/" p ") 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done" }' \
	"$W/run-here.sh" > "$W/run-wait.sh"
bin=$(cd "$(dirname "$POSTERN")" && pwd)
out=$(cd "$W" && PATH="$bin:$PATH" timeout 60 bash "$W/run-wait.sh" 2>"$W/err"); rc=$?
is "$rc" 0 "the walkthrough's commands run and exit 0"
like "$out" 'acme\.rules: 3 rules, 1 tenant, 0 includes, 1 list, 0 settings: no errors' "lint says what it checked, as the README shows"
like "$out" '3 passed, 0 failed' "the suite passes, as the README shows"
is "$(printf '%s\n' "$out" | tail -2)" "$want" "the log lines are what the README says"
is "$(ls "$W/Maildir/acme.example/bob/.Quarantine/new" 2>/dev/null | wc -l | tr -d ' '):$(ls "$W/Maildir/acme.example/bob/new" 2>/dev/null | wc -l | tr -d ' ')" \
   "1:1" "one copy quarantined, one delivered, where the README says"
like "$(cat "$W/Maildir/acme.example/bob/new/"* 2>/dev/null)" 'Subject: \[EXT\] offer' "the delivered copy is tagged [EXT]"
like "$(cat "$W/err")" 'warning: XFORWARD and XCLIENT are trusted .* over a TCP listener' "postern warned about XFORWARD over TCP, as the README says"
done_testing
