#!/bin/sh
. "$top_srcdir/tests/cli/tap.sh"
done_testing
