#!/bin/sh
# The man pages in doc/: each one is installed (dist_man_MANS), renders
# without a warning (groff -man -ww, and man -l at 80 columns), is accepted
# by lexgrog (its NAME section gives a whatis line), names only man pages of
# postern that exist, and is linked from the README.
. "$top_srcdir/tests/cli/tap.sh"
doc="$top_srcdir/doc"

pages=$(cd "$doc" && ls *.[1-8] 2>/dev/null)
n=$(printf '%s\n' $pages | grep -c .)
[ "$n" -ge 4 ] && ok "doc/ holds the man pages ($n)" || not_ok "doc/ holds the man pages" "found: $pages"
for p in postern.1 postern.rules.5 postern-test.5 postern-json.5; do
	[ -f "$doc/$p" ] && ok "doc/$p exists" || not_ok "doc/$p exists"
done

# Every dist_man_MANS line of Makefile.am and the Makemodule.am files.
installed=$(grep -h '^dist_man_MANS' "$top_srcdir/Makefile.am" \
	$(find "$top_srcdir/engine" "$top_srcdir/lang" "$top_srcdir/tests" -name 'Makemodule*.am') |
	sed -n 's/^dist_man_MANS *+\{0,1\}= *//p' | tr ' ' '\n' | sed -n 's,^doc/,,p' | sort)

for p in $pages; do
	f="$doc/$p"
	printf '%s\n' $installed | grep -qx "$p" && ok "$p is installed by make install (dist_man_MANS)" ||
		not_ok "$p is installed by make install (dist_man_MANS)" "installed: $installed"

	if command -v groff >/dev/null 2>&1; then
		w=$(groff -man -ww -z "$f" 2>&1)
		is "$w" "" "$p: groff -man -ww reports no warning"
	else
		ok "$p: groff -man -ww # SKIP groff not installed"
	fi
	if command -v man >/dev/null 2>&1; then
		w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" 2>&1 >/dev/null)
		is "$w" "" "$p: man -l renders it at 80 columns without a warning"
		out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$f" 2>/dev/null)
		like "$out" '^NAME' "$p: man -l output starts with NAME"
	else
		ok "$p: man -l # SKIP man not installed"
		ok "$p: man -l output # SKIP man not installed"
	fi
	if command -v lexgrog >/dev/null 2>&1; then
		w=$(lexgrog "$f" 2>&1); rc=$?
		is "$rc" 0 "$p: lexgrog accepts it"
		name=${p%.*}
		like "$w" ": \"$name - [^\"]+\"$" "$p: lexgrog finds the whatis line '$name - ...'"
	else
		ok "$p: lexgrog # SKIP man-db not installed"
		ok "$p: lexgrog whatis # SKIP man-db not installed"
	fi
	# .TH NAME SECTION agrees with the file name.
	th=$(sed -n 's/^\.TH  *\([^ ]*\)  *\([^ ]*\).*/\1.\2/p' "$f" | head -1 | tr 'A-Z' 'a-z' | tr -d '"\\')
	is "$th" "$p" "$p: its .TH names it"
	# Every postern page it refers to (.BR postern-test (5)) exists.
	refs=$(grep -o '^\.BR  *postern[a-z.\\-]* *([1-8])' "$f" | sed 's/^\.BR  *//; s/ *(\([1-8]\))/.\1/' |
		sed 's/\\//g' | sort -u)
	missing=""
	[ -n "$refs" ] || missing="(no reference to another postern page)"
	for r in $refs; do [ -f "$doc/$r" ] || missing="$missing $r"; done
	is "$missing" "" "$p: every postern page it refers to exists"
	# The README links it: [name(section)](doc/FILE).
	name=${p%.*}; sec=${p##*.}
	grep -qF "[\`$name($sec)\`](doc/$p)" "$top_srcdir/README.md" ||
	grep -qF "[$name($sec)](doc/$p)" "$top_srcdir/README.md"
	is "$?" 0 "README.md links $p"
done

# The JSON formats live in postern-json(5) alone: postern(1) and
# postern-test(5) refer to it and no longer list members themselves
# (tests/cli/json_keys.sh checks the page against the program).
for p in postern.1 postern-test.5; do
	grep -q '^\.BR  *postern\\-json  *(5)' "$doc/$p"
	is "$?" 0 "$p refers to postern-json(5)"
done
is "$(grep -cE 'matched_for|unsigned_header|slowest_rules|usec_per_evaluation|reload_failures' "$doc/postern.1")" 0 \
   "postern(1) leaves the JSON members to postern-json(5)"
# The documentation and the tests refer to nothing outside the repository:
# no spec file of the project's own notes (the name is split so that this
# file does not match itself).
spec='shared''/spec|\<(CLI|LANGUAGE|TARGETS|LIBRARIES|STYLE)''\.md\>'
out=$(grep -rnE "$spec" "$doc" "$top_srcdir/README.md" "$top_srcdir/tests" 2>/dev/null | sed "s|^$top_srcdir/||")
is "$out" "" "doc/, README.md and tests/ refer to no file outside the repository"

# The test can fail: a page with an undefined macro and a bad escape warns.
printf '.TH BAD 1\n.SH NAME\nbad \\- a bad page\n.SH DESCRIPTION\n.XX undefined\n\\q\n' > "$TMPDIR_TEST/bad.1"
if command -v groff >/dev/null 2>&1; then
	like "$(groff -man -ww -z "$TMPDIR_TEST/bad.1" 2>&1)" "warning" "groff -ww does warn about a broken page"
else
	ok "groff -ww warns # SKIP groff not installed"
fi
done_testing
