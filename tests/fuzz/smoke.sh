#!/bin/sh
# tests/fuzz/smoke.sh: "make fuzz-smoke". Runs each fuzz target for SECONDS
# under ASan + UBSan, with its seeds (tests/fuzz/seeds.sh) and dictionary,
# and fails on the first crash, leak or sanitizer report.
#
#   sh smoke.sh SECONDS TARGET...     (run from the build directory)
#
# Environment: top_srcdir (default: this script's ../..), FUZZ_JOBS unused;
# each target's crash inputs land in fuzz-out/<target>/.
set -eu
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
src=${top_srcdir:-$(cd "$here/../.." && pwd)}
sh "$src/tests/fuzz/seeds.sh" "$src" fuzz-corpus
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for prog in "$@"; do
	t=$(basename "$prog")
	short=${t#fuzz_}
	case $short in
	headers|mime) max=65536 ;;
	*) max=16384 ;;
	esac
	# Each run's new inputs go to a scratch directory, not the seeds.
	mkdir -p "fuzz-out/$t" "fuzz-work/$t"
	echo "== $t: ${secs}s"
	if ! "./$prog" -max_total_time="$secs" -max_len=$max -timeout=10 -rss_limit_mb=2048 \
		-dict="$src/tests/fuzz/$t.dict" -artifact_prefix="fuzz-out/$t/" \
		-print_final_stats=1 "fuzz-work/$t" "fuzz-corpus/$short" >"fuzz-out/$t.log" 2>&1; then
		echo "FAIL: $t (see fuzz-out/$t.log):"
		tail -n 40 "fuzz-out/$t.log"
		status=1
	else
		grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' "fuzz-out/$t.log" | tail -n 3
	fi
done
exit $status
