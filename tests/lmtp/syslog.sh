#!/bin/sh
# postern lmtp --log syslog: the JSON lines go to syslog, facility mail,
# priority info, tagged postern[PID]. The test needs its own /dev/log: it
# runs in a private mount namespace (unshare -m, as root, as CI runs) with a
# tmpfs over /dev, where a Python receiver binds /dev/log. Skipped when the
# namespace cannot be made (not root, or no unshare).
. "$top_srcdir/tests/cli/tap.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1 ||
   ! unshare -m true 2>/dev/null; then
	echo "1..0 # SKIP needs root and unshare -m for a private /dev/log"
	exit 0
fi
py=$(command -v python3)
printf 'rule r { when size > 0 then tag "seen"; }\n' > "$TMPDIR_TEST/r.rules"
: > "$TMPDIR_TEST/empty.zone"
printf 'X-Postern-Envelope: client-ip=192.0.2.1; helo=a.example; mail-from=a@example.net; rcpt=b@example.org\nFrom: a@example.net\nSubject: syslog\n\nbody\n' > "$TMPDIR_TEST/m.eml"
out=$(unshare -m sh -s "$POSTERN" "$TMPDIR_TEST" "$py" "$top_srcdir" <<'SH' 2>&1
set -eu
postern=$1 dir=$2 py=$3 src=$4
mount --make-rprivate /
mkdir -p "$dir/olddev"
mount --bind /dev "$dir/olddev"
mount -t tmpfs tmpfs /dev
for n in null zero urandom random; do
	touch "/dev/$n"; mount --bind "$dir/olddev/$n" "/dev/$n"
done
"$py" - "$dir" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + "/ready", "w").close()
s.settimeout(20)
with open(sys.argv[1] + "/syslog", "wb") as out:
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        out.write(d + b"\n"); out.flush()
        if b'"event":"stop"' in d:
            break
PY
recv=$!
i=0; while [ ! -e "$dir/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$postern" lmtp --rules "$dir/r.rules" --listen "127.0.0.1:$port" --deliver "maildir:$dir/md" \
	--dns "$dir/empty.zone" --log syslog --hostname mx.test 2>"$dir/stderr" &
srv=$!
i=0; while ! grep -q '"event":"start"' "$dir/syslog" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
"$py" "$src/examples/lmtp-send.py" "127.0.0.1:$port" "$dir/m.eml" >"$dir/client" 2>&1 || true
kill -TERM $srv; wait $srv || true
wait $recv || true
cat "$dir/client"
SH
)
like "$out" '250 2\.0\.0' "the message was delivered"
# <22>: facility mail (2) * 8 + info (6).
like "$(grep '"rcpt":"b@example.org"' "$TMPDIR_TEST/syslog")" '^<22>.*postern\[[0-9]+\]: \{"time":' \
	"the recipient's JSON line reached syslog at mail.info, tagged postern[PID]"
like "$(grep '"rcpt"' "$TMPDIR_TEST/syslog")" '"decision":"accept".*"reply":\{"code":250' \
	"with the decision and the reply"
like "$(cat "$TMPDIR_TEST/syslog")" '"event":"start"' "the start event is logged there too"
[ -s "$TMPDIR_TEST/syslog" ] || printf '%s\n' "$out" | sed 's/^/# /'
done_testing
