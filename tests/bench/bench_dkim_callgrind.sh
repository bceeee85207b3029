#!/bin/sh
# bench_dkim_callgrind.sh: instructions per DKIM verification under
# valgrind --tool=callgrind, stable where bench_dkim's times are not: the
# same message (one RSA-2048 signature, 4 KB and 40 KB bodies) verified by
# postern (parse + our adapter + the DNS fixture), by libopendkim alone
# (key from memory) and by the crypto floor (SHA-256 + RSA verify through
# OpenSSL EVP). Only bench_dkim's run_counted() is collected (key load,
# signing and a warm-up verification are left out).
#   dkim-4k-instr-ours N instr, ...-libopendkim, ...-floor
#   dkim-4k-vs-libopendkim-instr RATIO x (and 40k)
# Run by make bench from the build directory (top_builddir set);
# POSTERN_BENCH_QUICK=1: 4 KB only, fewer times. Needs valgrind.
set -u
bin=${top_builddir:-.}/tests/bench/bench_dkim
if ! command -v valgrind >/dev/null 2>&1; then
	echo "# bench_dkim_callgrind: valgrind not installed, no instruction counts"
	exit 0
fi
[ -x "$bin" ] || { echo "bench_dkim_callgrind: $bin not built" >&2; exit 1; }
n=40 sizes="4k 40k"
[ "${POSTERN_BENCH_QUICK:-0}" != 0 ] && n=10 sizes=4k
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench_dkim_cg.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
for size in $sizes; do
	for who in ours libopendkim floor; do
		if ! ${top_builddir:-.}/libtool --mode=execute valgrind --tool=callgrind \
			--callgrind-out-file="$dir/cg" --collect-atstart=no \
			--toggle-collect='run_counted*' "$bin" --once "$who" "$size" "$n" \
			>"$dir/out" 2>"$dir/err"; then
			cat "$dir/err" >&2
			echo "bench_dkim_callgrind: valgrind run failed ($who $size)" >&2
			exit 1
		fi
		total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dir/cg")
		if [ -z "$total" ] || [ "$total" -eq 0 ]; then
			echo "bench_dkim_callgrind: nothing collected in run_counted ($who $size)" >&2
			exit 1
		fi
		eval "i_$who=$((total / n))"
		echo "dkim-$size-instr-$who $((total / n)) instr"
	done
	awk -v a="$i_ours" -v b="$i_libopendkim" -v f="$i_floor" -v s="$size" 'BEGIN {
		printf "dkim-%s-vs-libopendkim-instr %.3f x\n", s, a / b
		printf "dkim-%s-vs-floor-instr %.2f x\n", s, a / f }'
done
