#!/bin/sh
# serve.sh POSTERN [--once]: the main job on embedded defaults. Starts
# "postern lmtp" on 127.0.0.1:2424 (POSTERN_PORT) with rules/baseline.rules,
# delivering into a Maildir under ./postern-demo (POSTERN_DEMO_DIR), sends
# example messages through it as Postfix would (examples/lmtp-send.py, with
# XFORWARD), and shows the reply each recipient got, where each copy landed
# and which rule decided. Then it keeps serving until Ctrl-C; with --once
# it stops the server and exits (0 when every step worked).
#
# The port is never shared: when something already listens on it, or the
# server cannot listen there, serve.sh stops with exit status 1 and a
# message naming the port and how to pick another (POSTERN_PORT); it does
# not pick one itself, so the address to give Postfix stays the one asked
# for. The server is started with a greeting name of its own
# (--hostname postern-demo-PID) and lmtp-send.py checks the greeting names
# it (--expect-greeting), so the demo mail never goes to another server.
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

name=postern-demo-$$

# port_taken PORT: does something accept connections there?
port_taken() {
	python3 - "$1" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port_refused() {   # port_refused WHY: say it, say how to pick another port, exit 1
	echo "serve.sh: $1" >&2
	echo "serve.sh: pick another port with POSTERN_PORT, e.g. POSTERN_PORT=$(free_port) ./quickstart serve" >&2
	exit 1
}

if port_taken "$port"; then
	port_refused "port $port on 127.0.0.1 is already taken by another process; not starting postern lmtp"
fi
"$postern" lmtp --rules "$top/rules/baseline.rules" --listen "127.0.0.1:$port" \
	--deliver "maildir:$demo/Maildir" --dns "$demo/dns.zone" \
	--log "$demo/postern.log" --recipient-delimiter + --hostname "$name" 2>"$demo/lmtp.err" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
# Wait for our server's greeting (it names $name); give up when it exits
# (3) or another server answers (2).
rc=0
python3 - "$port" "$name" "$pid" <<'PY' || rc=$?
import os, socket, sys, time
port, name, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(200):
    try:
        os.kill(pid, 0)
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            greeting = s.makefile("rb").readline().decode(errors="replace").strip()
        if greeting.split()[1:2] == [name]:
            sys.exit(0)
        if greeting:
            print("serve.sh: the server on port %d greeted \"%s\", not %s" % (port, greeting, name),
                  file=sys.stderr)
            sys.exit(2)
    except ProcessLookupError:
        sys.exit(3)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
PY
if [ $rc -ne 0 ]; then
	sed 's/^/serve.sh: /' "$demo/lmtp.err" >&2
	case $rc in
	2|3) port_refused "postern lmtp could not serve on 127.0.0.1:$port (is the port taken?)" ;;
	*) echo "serve.sh: postern lmtp did not start on port $port" >&2; exit 1 ;;
	esac
fi

echo "== postern lmtp on 127.0.0.1:$port, rules/baseline.rules, Maildir $demo/Maildir"
echo
echo "== sending the example messages (envelope from each X-Postern-Envelope line)"
python3 "$ex/lmtp-send.py" --expect-greeting "$name" "127.0.0.1:$port" \
	"$ex"/scenario-01-*/report.eml \
	"$ex"/scenario-04-*/none.eml "$ex"/scenario-04-*/quarantine.eml \
	"$ex"/scenario-04-*/reject.eml \
	"$ex"/scenario-10-*/spf-servfail.eml > "$demo/send.out" || {
	sed "s|$top/||" "$demo/send.out"
	echo "serve.sh: sending the example messages failed (above); nothing more to show" >&2
	exit 1
}
sed "s|$top/||" "$demo/send.out"

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
