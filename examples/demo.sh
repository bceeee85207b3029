#!/bin/sh
# demo.sh POSTERN: a dry run of the stock rules and the scenario rules over
# the example messages. Nothing is delivered and no DNS is asked: each
# scenario's DNS answers come from its dns.zone fixture. Each message's
# decision per recipient is printed as "postern check" reports it.
set -eu
postern=${1:-postern}
top=$(cd "$(dirname "$0")/.." && pwd)
"$postern" --version
echo
echo "== postern lint rules/*.rules"
"$postern" lint "$top"/rules/*.rules | sed "s|^$top/||"
for dir in "$top"/examples/scenario-*/; do
	name=$(basename "$dir")
	for msg in "$dir"*.eml; do
		case "$msg" in *expected.*) continue ;; esac
		echo
		echo "== $name/$(basename "$msg"), rules $name/policy.rules"
		"$postern" check --rules "$dir/policy.rules" --dns "$dir/dns.zone" "$msg"
		echo "-- the same message under rules/baseline.rules"
		"$postern" check --rules "$top/rules/baseline.rules" --dns "$dir/dns.zone" "$msg" |
			grep -E '^(decision|recipient|  reply|  rule|auth)'
	done
done
