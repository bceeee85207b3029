#!/bin/sh
# Sign the messages of scenario 11 from src/ with the key here.
# Usage (from this folder, after "make check" built the signer):
#   sh make.sh ../../build/tests/unit/dkim_sign
# src/NAME.msg is a message as its sender wrote it (CRLF); src/NAME.top holds
# the fields above the signature: the X-Postern-Envelope line, and what hops
# after the signer added (Return-Path, Received, Authentication-Results).
# Each message is signed (relaxed/relaxed, rsa-sha256) at the time of its
# Date field.
# The keys were made once with
#   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out KEY.pem
# s1.pem is example.com's key: its public half
# (openssl pkey -in s1.pem -pubout -outform DER | base64 -w0) is
# s1._domainkey.example.com in dns.zone. forger.pem is published nowhere:
# the forger of upstream-fail.eml signed in example.com's name with it.
set -eu
SIGN=${1:?path to the dkim_sign helper}
# sign NAME KEY DOMAIN SELECTOR: NAME.eml from src/NAME.top and src/NAME.msg.
sign() {
	t=$(date -u -d "$(sed -n 's/^Date: //p' "src/$1.msg" | tr -d '\r')" +%s)
	{ cat "src/$1.top"; "$SIGN" -t "$t" -k "$2" -d "$3" -s "$4" < "src/$1.msg"; } > "$1.eml"
}
for m in upstream-pass upstream-dkim-only untrusted-only; do
	sign $m s1.pem example.com s1
done
sign upstream-fail forger.pem example.com s1
# upstream-spf-only.eml: example.com's outbound server appended a disclaimer
# to the body after signing, so the body hash no longer matches.
sign upstream-spf-only s1.pem example.com s1
printf '%s\r\n' '-- ' 'This message is confidential.' >> upstream-spf-only.eml
