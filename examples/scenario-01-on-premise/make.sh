#!/bin/sh
# Regenerate the signed message of scenario 1 from src/ and the key here.
# Usage (from this folder, after "make check" built the signer):
#   sh make.sh ../../build/tests/unit/dkim_sign
# The key s2026.pem was made once with
#   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out s2026.pem
# and its public half is s2026._domainkey.example.com in dns.zone.
set -eu
SIGN=${1:?path to the dkim_sign helper}
T=1795424400    # 2026-11-23 09:00:00 UTC; check with --now 1795424700
env='X-Postern-Envelope: client-ip=192.0.2.10; helo=mail.example.com; mail-from=alerts@example.com; rcpt=bob@example.net'
{ printf '%s\r\n' "$env"; "$SIGN" -t $T -k s2026.pem -d example.com -s s2026 < src/report.msg; } > report.eml
