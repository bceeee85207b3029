#!/bin/sh
# What a newcomer needs is written down (issue 16): every option each
# subcommand's --help lists is in postern(1); every environment variable the
# program reads is in postern(1) ENVIRONMENT; every configure switch is in
# the README; the README says where the program is after ./quickstart and
# that the suite's last line is the count. Each list is read from the code,
# so a new option, variable or switch without documentation fails here.
. "$top_srcdir/tests/cli/tap.sh"
man1="$top_srcdir/doc/postern.1"
readme="$top_srcdir/README.md"
# The page's text as man sees it: \- is -.
page=$(sed 's/\\-/-/g' "$man1")

for cmd in check lint test replay lmtp reload dump milter "report dmarc"; do
	opts=$("$POSTERN" $cmd --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	[ -n "$opts" ] || { not_ok "postern $cmd --help lists options"; continue; }
	missing=
	for o in $opts; do
		[ "$o" = --help ] && continue
		printf '%s\n' "$page" | grep -qF -- "$o" || missing="$missing $o"
	done
	is "$missing" "" "postern(1) documents every option of postern $cmd --help"
done

env=$(page_env=$(printf '%s\n' "$page" | sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p'); printf '%s' "$page_env")
vars=$(grep -rhoE 'getenv\("POSTERN_[A-Z_]+"\)' "$top_srcdir/engine" | sed 's/getenv("//; s/")//' | sort -u)
[ -n "$vars" ] && ok "the program reads $(printf '%s\n' "$vars" | wc -l | tr -d ' ') POSTERN_* variables" ||
	not_ok "found the POSTERN_* variables the program reads"
for v in $vars; do
	printf '%s\n' "$env" | grep -q "$v" && ok "postern(1) ENVIRONMENT documents $v" ||
		not_ok "postern(1) ENVIRONMENT documents $v"
done

for sw in $(grep -oE 'AC_ARG_ENABLE\(\[[a-z-]+' "$top_srcdir/configure.ac" | sed 's/.*\[//'); do
	grep -q -- "--enable-$sw" "$readme" && ok "README lists configure --enable-$sw" ||
		not_ok "README lists configure --enable-$sw"
done
like "$(cat "$readme")" 'the program is `build/postern`' "README says where the program is after ./quickstart"
like "$(tr '\n' ' ' < "$readme")" 'The last line of the test run is `N passed, N failed, N skipped`' "README says the test run ends with the count"
grep -q -- '--no-print-directory -j"$(nproc)" check' "$top_srcdir/quickstart" &&
	ok "quickstart test prints nothing after the count (make --no-print-directory)" ||
	not_ok "quickstart test prints nothing after the count (make --no-print-directory)"
# Every example scenario goes into the distribution (make dist).
for d in "$top_srcdir"/examples/scenario-*/; do
	n=$(basename "$d")
	grep -q "examples/$n\b" "$top_srcdir/engine/Makemodule.am" && ok "$n is in EXTRA_DIST" ||
		not_ok "$n is in EXTRA_DIST (engine/Makemodule.am)"
done
done_testing
