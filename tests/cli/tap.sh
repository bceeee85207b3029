# tap.sh: a tiny TAP producer for the shell tests. Source it, call ok/is/like,
# then done_testing. Each test script is run from the build directory with
# $POSTERN, $top_srcdir and $top_builddir set (see AM_TESTS_ENVIRONMENT).
_tap_n=0
_tap_failed=0
: "${POSTERN:=./postern}"
: "${top_srcdir:=.}"
TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/postern-test.XXXXXX")
trap 'rm -rf "$TMPDIR_TEST"' EXIT

ok() {   # ok DESCRIPTION
	_tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"
}
not_ok() {   # not_ok DESCRIPTION [DETAIL...]
	_tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"; shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
is() {   # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "got:  $1" "want: $2"; fi
}
like() {   # like GOT ERE DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok "$3"; else not_ok "$3" "got:  $1" "want match: $2"; fi
}
done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}
