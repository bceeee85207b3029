#!/bin/sh
# SPF macros through `postern check --dns`: records whose exists: names are
# macros (RFC 7208 section 7) give pass only when the names are expanded as
# RFC 7208 7.3 and 7.4 say (tests/fixtures/spf/macros.zone), and fail when
# the sender or client is another.
. "$top_srcdir/tests/cli/tap.sh"
zone="$top_srcdir/tests/fixtures/spf/macros.zone"
q() { printf '%s' "$1" | jq -r "$2"; }
printf 'rule r { when spf == pass then tag "spf-pass"; }\n' > "$TMPDIR_TEST/spf.rules"
printf 'From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n' > "$TMPDIR_TEST/m.eml"

# spf_result MAIL-FROM CLIENT-IP [HELO]: the spf result of postern check.
spf_result() {
	out=$("$POSTERN" check --dns "$zone" --rules "$TMPDIR_TEST/spf.rules" --json \
		--mail-from "$1" --client-ip "$2" --helo "${3:-mx.example.org}" \
		--rcpt r@example.org "$TMPDIR_TEST/m.eml") || { echo "exit $?"; return; }
	q "$out" '.auth.spf.result'
}

is "$(spf_result strong-bad@email.example.com 192.0.2.3)" pass \
   "exists:%{d4}.d4.example.net for email.example.com keeps all three labels (7.4)"
is "$(spf_result strong-bad@lp.example.com 192.0.2.3)" pass \
   "%{lr-}.lp.%{ir}.%{v}._spf.%{d2} expands as in 7.4"
is "$(spf_result strong-good@lp.example.com 192.0.2.3)" fail \
   "another local-part gives another name: fail"
is "$(spf_result strong-bad@lp.example.com 192.0.2.4)" fail \
   "another client IP gives another name: fail"
is "$(spf_result strong-bad@v6.example.com 2001:db8::cb01)" pass \
   "%{ir}.%{v}._spf.%{d2} from 2001:db8::cb01: 32 dotted nibbles and ip6 (7.4)"
is "$(spf_result strong-bad@v6.example.com 2001:db8::cb02)" fail \
   "another IPv6 client: fail"
is "$(spf_result foo-bar+zip@multi.example.com 192.0.2.3)" pass \
   "%{l2r+-} and %{d2r}: two delimiters, reversal, two right-hand parts"
is "$(spf_result aaaaaaaaa.bbbbbbbbb.ccccccccc.ddddddddd.eeeeeeeee.fffffffff@long.example.com 192.0.2.3)" pass \
   "an expansion of 316 octets loses left-hand labels until it fits 253 (7.3)"
is "$(spf_result x@p.example.com 192.0.2.3)" pass \
   "%{p} is the validated name under <domain> (7.3)"
is "$(spf_result x@h.example.com 192.0.2.3)" pass "%{h} is the HELO name"
is "$(spf_result x@h.example.com 192.0.2.3 other.example.org)" fail "another HELO: fail"

done_testing
