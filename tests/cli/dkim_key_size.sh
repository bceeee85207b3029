#!/bin/sh
# A DKIM key record too large for a DNS reply the verifier can take (10 KB
# and 20 KB here; no real key is near that: RSA 16384 is under 3 KB) is a
# permanent error of that key, permerror, not temperror: asking again gives
# the same record. A record that fits is verified as before.
. "$top_srcdir/tests/cli/tap.sh"
msg="$top_srcdir/tests/fixtures/dkim/rsa2048.eml"
printf 'rule r { when dkim == pass then tag "ok"; }\n' > "$TMPDIR_TEST/r.rules"
for kb in 10 20; do
	zone="$TMPDIR_TEST/big$kb.zone"
	python3 - "$kb" > "$zone" <<'PY'
import sys
n = int(sys.argv[1]) * 1024
print('rsa2048._domainkey.example.com. 300 IN TXT "v=DKIM1; k=rsa; p=%s"' % ("A" * n))
PY
	out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$zone" --json "$msg"); rc=$?
	is "$rc" 0 "$kb KB key record: the message is decided"
	is "$(printf '%s' "$out" | jq -r '[.auth.dkim[0].result, .auth.dkim[0].reason] | @tsv')" \
	   "permerror	key record too large for a DNS reply" \
	   "$kb KB key record: permerror, saying the key record is too large"
done
out=$("$POSTERN" check --rules "$TMPDIR_TEST/r.rules" --dns "$top_srcdir/tests/fixtures/dkim/keys.zone" --json "$msg")
is "$(printf '%s' "$out" | jq -r '.auth.dkim[0].result')" pass "the same message with its real key: pass"
done_testing
