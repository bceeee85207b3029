#!/bin/sh
# The README's quick start on embedded defaults: examples/demo.sh (a dry run
# of the stock and scenario rules over the example messages) and
# examples/serve.sh --once (postern lmtp on loopback with rules/baseline.rules
# into a Maildir, the example messages sent through it with XFORWARD).
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"

out=$(sh "$top_srcdir/examples/demo.sh" "$POSTERN" 2>&1); rc=$?
is "$rc" 0 "demo.sh exits 0"
like "$out" 'no errors' "demo.sh lints the stock rules clean"
is "$(printf '%s\n' "$out" | grep -c '^== .*\.eml, rules')" \
	"$(ls "$top_srcdir"/examples/scenario-*/*.eml | grep -vc expected)" \
	"demo.sh checks every example message"

port=$(free_port)
demo="$TMPDIR_TEST/demo"
out=$(POSTERN_PORT=$port POSTERN_DEMO_DIR=$demo sh "$top_srcdir/examples/serve.sh" "$POSTERN" --once 2>&1); rc=$?
is "$rc" 0 "serve.sh --once exits 0"
md="$demo/Maildir/example.net/bob"
is "$(msgs_in "$md")" 2 "two accepted copies in bob's new/"
is "$(msgs_in "$md/.Quarantine")" 2 "the quarantined one and the after-queue reject in .Quarantine/new"
like "$out" 'spf-servfail.eml
  bob@example.net +451 4\.7\.1 DNS trouble' "the DNS trouble message is tempfailed"
like "$out" 'security@bank\.example\.com +decision reject +applied quarantine +rule dmarc_reject' \
	"the why section shows decision, applied action and rule"
is "$(grep -c '"rcpt"' "$demo/postern.log")" 5 "one log line per recipient"
# Every delivered copy carries the hop's fields and our A-R.
bad=0
for f in $(find "$demo/Maildir" -path '*/new/*' -type f); do
	for h in Return-Path Delivered-To Received Authentication-Results; do
		grep -q "^$h:" "$f" || { bad=1; echo "# $f lacks $h"; }
	done
done
is "$bad" 0 "delivered copies have Return-Path, Delivered-To, Received and Authentication-Results"
done_testing
