#!/bin/sh
# Regenerate the signed message of this scenario from src/ and the key here.
# Usage (from this folder, after "make check" built the signer):
#   sh make.sh ../../build/tests/unit/dkim_sign
# The key ses2026b.pem was made once with
#   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ses2026b.pem
# and its public half is ses2026b._domainkey.shop.example.com in dns.zone.
# The provider signs with the customer's key, d=shop.example.com.
set -eu
SIGN=${1:?path to the dkim_sign helper}
T=1795424400    # 2026-11-23 09:00:00 UTC; check with --now 1795424700
env='X-Postern-Envelope: client-ip=198.51.100.20; helo=out-20.smtp.example.net; mail-from=bounce@mail.shop.example.com; rcpt=alice@example.org; rcpt=treasury@bank.example.org'
{ printf '%s\r\n' "$env"; "$SIGN" -t $T -k ses2026b.pem -d shop.example.com -s ses2026b < src/offer.msg; } > offer.eml
