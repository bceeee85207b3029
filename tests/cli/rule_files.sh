#!/bin/sh
# postern lint on rule, include and list files that are not regular files
# (a FIFO with no writer would block the reader for ever): each is refused
# at once with a clear error, never waited on. And a policy without a rule
# (an empty file accepts everything) is warned about.
. "$top_srcdir/tests/cli/tap.sh"
T="$TMPDIR_TEST"
mkfifo "$T/fifo.rules" "$T/inc.rules" "$T/list.txt" || { echo "Bail out! mkfifo"; exit 1; }
printf 'include "inc.rules";\nrule r { when true then accept; }\n' > "$T/main.rules"
printf 'list l = domains file "list.txt";\nrule r { when from.domain in l then accept; }\n' > "$T/lists.rules"

# lint_quickly NAME FILE ERE: lint FILE under a 10 s timeout; exit 1 and
# stderr matching ERE, well before the timeout.
lint_quickly() {
	t0=$(date +%s)
	err=$(cd "$T" && timeout 10 "$POSTERN" lint "$2" 2>&1); rc=$?
	t1=$(date +%s)
	is "$rc" 1 "$1: lint exits 1 (124 is a hang killed by timeout)"
	like "$err" "$3" "$1: the error says it is not a regular file"
	[ $((t1 - t0)) -le 2 ] && ok "$1: at once ($((t1 - t0)) s)" || not_ok "$1: at once" "took $((t1 - t0)) s"
}
lint_quickly "a FIFO as the rule file" fifo.rules "fifo\.rules.*not a regular file \(a FIFO\)"
lint_quickly "an include that is a FIFO" main.rules "main\.rules:1:[0-9]+: error: cannot read included file '.*inc\.rules': not a regular file \(a FIFO\)"
lint_quickly "a list file that is a FIFO" lists.rules "lists\.rules:1:[0-9]+: error: cannot read list file '.*list\.txt': not a regular file \(a FIFO\)"
lint_quickly "a directory as the rule file" . "not a regular file \(a directory\)"

# A policy without rules accepts everything: lint warns (and still exits 0).
: > "$T/empty.rules"
printf '# only a comment\nafter-queue-reject reject;\n' > "$T/settings.rules"
for f in empty settings; do
	err=$("$POSTERN" lint "$T/$f.rules" 2>&1); rc=$?
	is "$rc" 0 "$f.rules (no rules): lint exits 0"
	like "$err" "$f\.rules: warning: the policy has no rules: every message is accepted" \
		"$f.rules (no rules): lint warns that every message is accepted"
done
printf 'include "empty.rules";\nrule r { when true then accept; }\n' > "$T/one.rules"
is "$("$POSTERN" lint "$T/one.rules" 2>&1 >/dev/null)" "" "a policy with a rule (and an empty include): no warning"

done_testing
