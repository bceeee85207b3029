#!/bin/sh
# Regenerate the messages of scenario 5 from src/ and the key here.
# Usage (from this folder, after "make check" built the signer):
#   sh make.sh ../../build/tests/unit/dkim_sign
# The key news2026.pem was made once with
#   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out news2026.pem
# and its public half is news2026._domainkey.example.com in dns.zone.
set -eu
SIGN=${1:?path to the dkim_sign helper}
T=1795424400    # 2026-11-23 09:00:00 UTC; check with --now 1795424700
direct='X-Postern-Envelope: client-ip=192.0.2.25; helo=mail.example.com; mail-from=newsletter@example.com; rcpt=bob@example.net'
forwarded='X-Postern-Envelope: client-ip=203.0.113.40; helo=lists.example.org; mail-from=newsletter@example.com; rcpt=bob@example.net'
"$SIGN" -t $T -k news2026.pem -d example.com -s news2026 < src/newsletter.msg > signed.tmp
# intact.eml: the signed message as sent.
{ printf '%s\r\n' "$direct"; cat signed.tmp; } > intact.eml
# A hop on the way appends a footer to the body: the body hash (bh=) no
# longer matches. altered.eml still comes straight from the sender's own
# server (SPF pass, aligned); altered-forwarded.eml is relayed by the list
# server lists.example.org, which keeps the MAIL FROM (SPF fails).
footer='-- \r\nScanned for viruses by relay.example.org\r\n'
{ printf '%s\r\n' "$direct"; cat signed.tmp; printf '%b' "$footer"; } > altered.eml
{ printf '%s\r\n' "$forwarded"; cat signed.tmp; printf '%b' "$footer"; } > altered-forwarded.eml
rm -f signed.tmp
