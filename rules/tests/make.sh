#!/bin/sh
# Regenerate the signed messages of the stock rule suites from src/.
# Usage (from this folder, after "make check" built the signer):
#   sh make.sh ../../build/tests/unit/dkim_sign
# The key is tests/fixtures/dkim/rsa2048.pem (made once, see its README);
# stock.zone publishes its public half under each selector used here.
set -eu
SIGN=${1:?path to the dkim_sign helper}
KEY=../../tests/fixtures/dkim/rsa2048.pem
T=1795424400    # 2026-11-23 09:00:00 UTC; the suites say now 2026-11-24T12:05:00Z
env() { printf 'X-Postern-Envelope: %s\r\n' "$1"; }
{ env 'client-ip=192.0.2.10; helo=mail.partner.example; mail-from=bounce@mail.partner.example; rcpt=treasury@bank.example.org; rcpt=alice@example.net'
  "$SIGN" -t $T -k $KEY -d partner.example -s p2026 < src/partner-own.msg; } > partner-own.eml
{ env 'client-ip=198.51.100.20; helo=out-20.provider.example; mail-from=0100018c-bounce@bounces.provider.example; rcpt=treasury@bank.example.org; rcpt=alice@example.net'
  "$SIGN" -t $T -k $KEY -d ses-customer.example -s c2026 < src/provider.msg; } > provider.eml
# Signed by the provider's own domain only: DKIM passes but does not align.
{ env 'client-ip=198.51.100.20; helo=out-20.provider.example; mail-from=0100018c-bounce@bounces.provider.example; rcpt=treasury@bank.example.org'
  "$SIGN" -t $T -k $KEY -d provider.example -s v2026 < src/thirdparty.msg; } > thirdparty.eml
