#!/bin/sh
# bench_lib_callgrind.sh: instructions per message of the library benchmark
# (bench_lib) under valgrind --tool=callgrind, which are stable on a noisy
# machine where times are not. Collection is on only inside bench_lib's
# run_counted() (policy compile, corpus and fixture setup and a warm-up pass
# over the corpus are left out), over a
# fixed input: the first N messages of bench_lib's generated corpus.
#   lib-injected-instr-per-msg N instr   auth results given by the caller
#   lib-spf-dmarc-instr-per-msg N instr  SPF + DMARC via the DNS fixture
# Run by make bench from the build directory (top_builddir set);
# POSTERN_BENCH_QUICK=1 uses fewer messages. Needs valgrind.
set -u
bin=${top_builddir:-.}/tests/bench/bench_lib
if ! command -v valgrind >/dev/null 2>&1; then
	echo "# bench_lib_callgrind: valgrind not installed, no instruction counts"
	exit 0
fi
[ -x "$bin" ] || { echo "bench_lib_callgrind: $bin not built" >&2; exit 1; }
n=512
[ "${POSTERN_BENCH_QUICK:-0}" != 0 ] && n=128
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench_cg.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
for mode in injected spf-dmarc; do
	# libtool wrapper: run the real binary under valgrind.
	if ! ${top_builddir:-.}/libtool --mode=execute valgrind --tool=callgrind \
		--callgrind-out-file="$dir/cg.$mode" --collect-atstart=no \
		--toggle-collect='run_counted*' "$bin" --once "$mode" "$n" \
		>"$dir/out.$mode" 2>"$dir/err.$mode"; then
		cat "$dir/err.$mode" >&2
		echo "bench_lib_callgrind: valgrind run failed ($mode)" >&2
		exit 1
	fi
	total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dir/cg.$mode")
	if [ -z "$total" ] || [ "$total" -eq 0 ]; then
		echo "bench_lib_callgrind: no instructions collected in run_counted ($mode)" >&2
		exit 1
	fi
	echo "lib-$mode-instr-per-msg $((total / n)) instr"
done
