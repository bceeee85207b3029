#!/bin/sh
# demo.sh POSTERN: a dry run of the stock rules and the scenario rules over
# the example messages. Nothing is delivered; each message's decision per
# recipient is printed, as "postern check" reports it.
set -eu
postern=${1:-postern}
top=$(cd "$(dirname "$0")/.." && pwd)
"$postern" --version
echo
echo "== rules/baseline.rules: lint"
"$postern" lint "$top/rules/baseline.rules" && echo "rules/baseline.rules: no errors"
for dir in "$top"/examples/scenario-*/; do
	name=$(basename "$dir")
	for msg in "$dir"*.eml; do
		case "$msg" in *expected.*) continue ;; esac
		echo
		echo "== $name/$(basename "$msg") with $name/policy.rules"
		"$postern" check --rules "$dir/policy.rules" "$msg"
		echo "-- the same with rules/baseline.rules"
		"$postern" check --rules "$top/rules/baseline.rules" "$msg" | sed -n '/^recipient/,/^  rule/p'
	done
done
