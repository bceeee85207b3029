#!/bin/sh
# tests/fuzz/long.sh: one long run of fuzz targets, one after the other
# (start two of these for the two-core pairs), not part of CI.
#
#   sh long.sh SECONDS TARGET...      (run from the build directory, after
#                                      make fuzz; seeds from seeds.sh)
#
# Corpora grow in fuzz-long/<target>/, crashes land in fuzz-long/<target>.out/,
# libFuzzer's log (with its final cov/ft figures) in fuzz-long/<target>.log.
set -eu
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
src=${top_srcdir:-$(cd "$here/../.." && pwd)}
[ -d fuzz-corpus ] || sh "$src/tests/fuzz/seeds.sh" "$src" fuzz-corpus
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "$@"; do
	case $t in
	headers|mime) max=65536 ;;
	*) max=16384 ;;
	esac
	mkdir -p "fuzz-long/$t" "fuzz-long/$t.out"
	nice -n 10 "./tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=$max -timeout=10 \
		-rss_limit_mb=2048 -dict="$src/tests/fuzz/fuzz_$t.dict" \
		-artifact_prefix="fuzz-long/$t.out/" -print_final_stats=1 \
		"fuzz-long/$t" "fuzz-corpus/$t" >"fuzz-long/$t.log" 2>&1 || true
	echo "== $t"
	grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)|stat::number_of_executed_units|SUMMARY|invariant' \
		"fuzz-long/$t.log" | tail -n 4
done
