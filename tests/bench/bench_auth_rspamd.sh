#!/bin/sh
# bench_auth_rspamd.sh: auth-aware evaluation, postern against rspamd 3.4
# with only its spf, dkim and dmarc modules, both over live DNS from a local
# NSD. The work is in bench_auth_rspamd.py (read its header);
# this runs it for make bench with POSTERN, top_srcdir and top_builddir set.
# Prints auth-rspamd-cpu, auth-postern-cpu (ms/msg), auth-cpu-vs-rspamd.
if ! command -v python3 >/dev/null 2>&1; then
	echo "# bench_auth_rspamd: python3 not installed, skipped"
	exit 0
fi
exec python3 "${top_srcdir:-.}/tests/bench/bench_auth_rspamd.py"
