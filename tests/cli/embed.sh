#!/bin/sh
# examples/embed.c, the embedding example, built by make check: it compiles
# a rule file through the public API and decides each recipient.
. "$top_srcdir/tests/cli/tap.sh"
embed="$top_builddir/examples/embed"
s6="$top_srcdir/examples/scenario-06-static-ip"

out=$("$embed" "$s6/policy.rules" "$s6/outside.eml" 203.0.113.9 reports@example.net \
      alice@agency.example bob@example.org); rc=$?
is "$rc" 0 "embed exits 0"
is "$(printf '%s\n' "$out" | sed -n 1p)" \
   "alice@agency.example reject 550 5.7.1 sending IP 203.0.113.9 is not on the allowlist (rule only_known_ips)" \
   "the agency recipient is rejected by the allowlist rule"
is "$(printf '%s\n' "$out" | sed -n 2p)" "bob@example.org accept 250 2.0.0 ok (rule none)" \
   "the other tenant's recipient gets the implicit accept"
out=$("$embed" "$s6/policy.rules" "$s6/outside.eml" 2001:db8:100::25 reports@example.net alice@agency.example)
like "$out" '^alice@agency.example accept 250' "a client inside the listed IPv6 range is accepted"
"$embed" "$TMPDIR_TEST/none.rules" "$s6/outside.eml" 192.0.2.1 a@example.net b@example.org 2>/dev/null
is "$?" 78 "a rule file that cannot be read: 78"
"$embed" "$s6/policy.rules" "$s6/outside.eml" not-an-ip a@example.net b@example.org 2>/dev/null
is "$?" 65 "a bad client IP is refused by pst_message_new: 65"
done_testing
