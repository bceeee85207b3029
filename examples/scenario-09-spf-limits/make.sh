#!/bin/sh
# Sign the messages of scenario 9 from src/ with the key here.
# Usage (from this folder, after "make check" built the signer):
#   sh make.sh ../../build/tests/unit/dkim_sign
# src/NAME.msg is a message as its sender wrote it (CRLF); src/NAME.top holds
# the fields above the signature: the X-Postern-Envelope line, and what hops
# after the signer added (Return-Path, Received, Authentication-Results).
# Each message is signed (relaxed/relaxed, rsa-sha256) at the time of its
# Date field.
# The key s2026.pem, the sending service's, was made once with
#   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out s2026.pem
# and its public half (openssl pkey -in s2026.pem -pubout -outform DER | base64 -w0)
# is s2026._domainkey.mailer.example.net in dns.zone.
set -eu
SIGN=${1:?path to the dkim_sign helper}
# sign NAME KEY DOMAIN SELECTOR: NAME.eml from src/NAME.top and src/NAME.msg.
sign() {
	t=$(date -u -d "$(sed -n 's/^Date: //p' "src/$1.msg" | tr -d '\r')" +%s)
	{ cat "src/$1.top"; "$SIGN" -t "$t" -k "$2" -d "$3" -s "$4" < "src/$1.msg"; } > "$1.eml"
}
for m in toomany ten voids twovoids long; do
	sign $m s2026.pem mailer.example.net s2026
done
