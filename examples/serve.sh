#!/bin/sh
# serve.sh POSTERN [--once]: the main job on embedded defaults. Starts
# "postern lmtp" on 127.0.0.1:2424 (POSTERN_PORT) with rules/baseline.rules,
# delivering into a Maildir under ./postern-demo (POSTERN_DEMO_DIR), sends
# example messages through it as Postfix would (examples/lmtp-send.py, with
# XFORWARD), and shows the reply each recipient got, where each copy landed
# and which rule decided. Then it keeps serving until Ctrl-C; with --once
# it stops the server and exits (0 when every step worked).
#
# No DNS is asked: the answers come from the DNS fixtures of scenarios 1, 4
# and 10, whose domains do not overlap.
set -eu
postern=${1:?usage: serve.sh POSTERN [--once]}
once=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
port=${POSTERN_PORT:-2424}
demo=${POSTERN_DEMO_DIR:-$PWD/postern-demo}
ex="$top/examples"

mkdir -p "$demo/Maildir"
cat "$ex"/scenario-01-*/dns.zone "$ex"/scenario-04-*/dns.zone \
	"$ex"/scenario-10-*/dns.zone > "$demo/dns.zone"
: > "$demo/postern.log"

"$postern" lmtp --rules "$top/rules/baseline.rules" --listen "127.0.0.1:$port" \
	--deliver "maildir:$demo/Maildir" --dns "$demo/dns.zone" \
	--log "$demo/postern.log" --recipient-delimiter + &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
python3 - "$port" <<'PY' || { echo "serve.sh: postern lmtp did not start on port $port" >&2; exit 1; }
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY

echo "== postern lmtp on 127.0.0.1:$port, rules/baseline.rules, Maildir $demo/Maildir"
echo
echo "== sending the example messages (envelope from each X-Postern-Envelope line)"
python3 "$ex/lmtp-send.py" "127.0.0.1:$port" \
	"$ex"/scenario-01-*/report.eml \
	"$ex"/scenario-04-*/none.eml "$ex"/scenario-04-*/quarantine.eml \
	"$ex"/scenario-04-*/reject.eml \
	"$ex"/scenario-10-*/spf-servfail.eml |
	sed "s|$top/||"

echo
echo "== where they landed"
(cd "$demo/Maildir" && find . -path '*/new/*' -type f | sort | sed 's|^\./||')

echo
echo "== why (one line per recipient from $demo/postern.log)"
# The log is JSON lines (postern(1)); show the decision, what was applied,
# the deciding rule and the auth results, without needing jq.
python3 - "$demo/postern.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "rcpt" not in e:
        continue
    a = e.get("auth") or {}
    auth = "spf=%s dkim=%s dmarc=%s" % (
        (a.get("spf") or {}).get("result", "-"),
        ",".join(s.get("result", "?") for s in a.get("dkim") or []) or "none",
        (a.get("dmarc") or {}).get("result", "-"))
    print("%-6s from %-34s decision %-10s applied %-10s rule %-16s %s reply %d" % (
        e["queue_id"][-6:], e.get("mail_from") or "<>", e["decision"], e["applied"],
        e.get("rule") or "(none)", auth, e["reply"]["code"]))
PY

if [ "$once" = "--once" ]; then
	exit 0
fi
echo
echo "postern lmtp keeps serving on 127.0.0.1:$port (Ctrl-C stops it). Try:"
echo "  python3 examples/lmtp-send.py 127.0.0.1:$port examples/scenario-01-on-premise/report.eml"
wait $pid
