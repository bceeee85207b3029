#!/bin/sh
# postern --version and --help, and the usage exit code.
. "$top_srcdir/tests/cli/tap.sh"

out=$("$POSTERN" --version); rc=$?
is "$rc" 0 "--version exits 0"
like "$out" '^postern [0-9]+\.[0-9]+\.[0-9]+$' "--version prints the version"
out=$("$POSTERN" --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" 'lint' "--help lists lint"
"$POSTERN" no-such-command 2>/dev/null; rc=$?
is "$rc" 64 "an unknown command exits 64 (EX_USAGE)"
done_testing
