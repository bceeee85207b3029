#!/bin/sh
# run_all.sh: what "make bench" and "make bench-quick" run. Each argument is
# a benchmark: a program (run as is) or a .sh script (run with $SHELL),
# from the build directory with POSTERN, top_srcdir and top_builddir set by
# the caller. Prints "== NAME" before each and "# NAME: N s" after it, and
# at the end the figure "bench-wall N s" (the whole run; TARGETS: make
# bench under 10 minutes, make bench-quick under 60 s). Stops at the first
# benchmark that fails.
set -u
now() { date +%s; }
start=$(now)
for b in "$@"; do
	echo "== $b"
	t0=$(now)
	case $b in
	*.sh) ${SHELL:-/bin/sh} "${top_srcdir:-.}/$b" ;;
	*) "./$b" ;;
	esac || { echo "run_all: $b failed" >&2; exit 1; }
	echo "# $b: $(( $(now) - t0 )) s"
done
echo "bench-wall $(( $(now) - start )) s"
