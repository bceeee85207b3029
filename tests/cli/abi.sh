#!/bin/sh
# abi.sh: the library's exported surface, and the library as installed.
#
# libpostern.so exports exactly the functions engine/postern.h declares
# (each marked PST_API; everything else is compiled with hidden
# visibility), every one named pst_. Installed with "make install
# prefix=DIR", postern.pc names DIR, and examples/embed.c builds with
# "cc embed.c $(pkg-config --cflags --libs postern)" as its comment says,
# links the installed library and decides mail as the in-tree build does.
# A program that calls an internal function does not link.
. "$top_srcdir/tests/cli/tap.sh"
: "${CC:=cc}" "${NM:=nm}" "${PKG_CONFIG:=pkg-config}" "${MAKE:=make}"
header="$top_srcdir/engine/postern.h"
s6="$top_srcdir/examples/scenario-06-static-ip"

# declared_functions HEADER: the names of the functions HEADER declares,
# sorted. The header is preprocessed (comments, #ifdef and PST_API
# resolved) and only its own lines are kept; attributes and braces'
# contents are dropped; every declaration that is not a typedef and has a
# parameter list names a function: the identifier before its "(".
declared_functions() {
	printf '#include "%s"\n' "$1" | $CC -E -x c - | awk -v h="\"$1\"" '
		function emit(s,   n) {
			gsub(/__attribute__ *\(\([^()]*(\([^()]*\))*[^()]*\)\)/, "", s)
			if (s ~ /^[ \t]*typedef[ \t]/ || !match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/))
				return
			n = substr(s, RSTART, RLENGTH); sub(/[ \t]*\($/, "", n); print n
		}
		/^# [0-9]+ "/ { keep = (index($0, h) > 0); next }
		/^#/ { next }
		keep { text = text " " $0 }
		END {
			for (i = 1; i <= length(text); i++) {
				c = substr(text, i, 1)
				if (c == "{") depth++
				else if (c == "}") depth--
				else if (depth == 0 && c == ";") { emit(stmt); stmt = "" }
				else if (depth == 0) stmt = stmt c
			}
		}' | sort
}

# exported LIBRARY: the names of the symbols LIBRARY defines in its
# dynamic symbol table (functions and data alike), sorted.
exported() {
	$NM -D --defined-only "$1" | awk 'NF >= 3 { print $NF }' | sort
}

# same_surface WHAT LIBRARY: LIBRARY exports exactly the declared functions.
same_surface() {
	got=$(exported "$2")
	extra=$(printf '%s\n' "$got" | comm -13 "$TMPDIR_TEST/declared" -)
	missing=$(printf '%s\n' "$got" | comm -23 "$TMPDIR_TEST/declared" -)
	is "$extra" "" "$1 exports nothing postern.h does not declare"
	is "$missing" "" "$1 exports every function postern.h declares"
}

declared_functions "$header" >"$TMPDIR_TEST/declared"
n=$(wc -l <"$TMPDIR_TEST/declared")
marked=$(grep -c '^PST_API ' "$header")
if [ "$n" -gt 0 ] && [ "$n" -eq "$marked" ]; then
	ok "postern.h declares $n functions, each marked PST_API"
else
	not_ok "postern.h: every declared function is marked PST_API" \
		"declared: $n, marked: $marked" "$(cat "$TMPDIR_TEST/declared")"
fi
is "$(grep -v '^pst_' "$TMPDIR_TEST/declared")" "" "every function postern.h declares is named pst_"

same_surface "the built libpostern.so" "$top_builddir/.libs/libpostern.so"

# Install into a private prefix given to make install, not to configure.
# MAKEFLAGS is cleared: the jobserver and the variables of the make running
# the tests are not this make's.
inst="$TMPDIR_TEST/inst"
(cd "$top_builddir" && MAKEFLAGS= MFLAGS= $MAKE install prefix="$inst" DESTDIR=) \
	>"$TMPDIR_TEST/install.log" 2>&1
rc=$?
is "$rc" 0 "make install prefix=DIR succeeds"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMPDIR_TEST/install.log"
libdir="$inst/lib"
same_surface "the installed libpostern.so" "$libdir/libpostern.so"

pc() { PKG_CONFIG_PATH="$libdir/pkgconfig" $PKG_CONFIG "$@" postern; }
is "$(pc --variable=prefix)" "$inst" "the installed postern.pc names the prefix given to make install"
is "$(pc --variable=libdir)" "$libdir" "its libdir lies under that prefix"
cflags=$(pc --cflags); libs=$(pc --libs)
like "$cflags" "^-I$inst/include/postern( |\$)" "pkg-config --cflags postern: the installed header's directory first"
like "$libs" "^-L$libdir -lpostern *\$" "pkg-config --libs postern: the installed library"
[ -f "$inst/include/postern/postern.h" ] && ok "postern.h is installed where --cflags points" ||
	not_ok "postern.h is installed where --cflags points"

# examples/embed.c, built as its comment says, against the installed library.
# SAN_LDFLAGS: in a sanitizer or coverage build the library needs their
# run-time libraries in the program.
embed="$TMPDIR_TEST/embed"
# shellcheck disable=SC2086 # the flags are word lists
$CC -o "$embed" "$top_srcdir/examples/embed.c" $cflags $libs $SAN_LDFLAGS -Wl,-rpath,"$libdir" \
	>"$TMPDIR_TEST/cc.log" 2>&1
rc=$?
is "$rc" 0 "embed.c builds with pkg-config --cflags --libs postern"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMPDIR_TEST/cc.log"
if command -v ldd >/dev/null 2>&1; then
	like "$(ldd "$embed" 2>&1 | grep libpostern)" "=> $libdir/libpostern\\.so\\.0 " \
		"the program loads the installed libpostern.so.0"
fi
out=$("$embed" "$s6/policy.rules" "$s6/outside.eml" 203.0.113.9 reports@example.net \
      alice@agency.example bob@example.org); rc=$?
is "$rc" 0 "the installed-library program exits 0"
is "$out" "alice@agency.example reject 550 5.7.1 sending IP 203.0.113.9 is not on the allowlist (rule only_known_ips)
bob@example.org accept 250 2.0.0 ok (rule none)" "it decides as the in-tree build does (tests/cli/embed.sh)"

# An internal function (a pst_ one the core library defines and postern.h
# does not declare) is not there for a program to call.
internal=$($NM --defined-only -g "$top_builddir/.libs/libpostern-core.a" 2>/dev/null |
	awk '$2 == "T" && $3 ~ /^pst_/ { print $3 }' | sort -u | comm -23 - "$TMPDIR_TEST/declared" | sed -n 1p)
if [ -n "$internal" ]; then
	printf 'void %s(void);\nint main(void) { %s(); return 0; }\n' "$internal" "$internal" \
		>"$TMPDIR_TEST/internal.c"
	# shellcheck disable=SC2086
	$CC -o "$TMPDIR_TEST/internal" "$TMPDIR_TEST/internal.c" $cflags $libs $SAN_LDFLAGS \
		>"$TMPDIR_TEST/internal.log" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && ok "a program calling the internal $internal does not link" ||
		not_ok "a program calling the internal $internal does not link"
	like "$(cat "$TMPDIR_TEST/internal.log")" "undefined reference to .$internal|$internal.*hidden" \
		"the linker says why: $internal is not exported"
else
	not_ok "the core library defines internal pst_ functions" "none found with $NM"
fi

# Without a prefix given to make, postern.pc names configure's prefix again.
# So does the systemd unit, in case the install above had to make it (a
# Makefile regenerated during the run): tests/lmtp/examples.sh reads it.
(cd "$top_builddir" && rm -f examples/systemd/postern-lmtp.service &&
	MAKEFLAGS= MFLAGS= $MAKE postern.pc examples/systemd/postern-lmtp.service) >"$TMPDIR_TEST/pc.log" 2>&1
configured=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
is "$(sed -n 's/^prefix=//p' "$top_builddir/postern.pc")" "$configured" \
	"without make install prefix=, postern.pc names configure's prefix ($configured)"
done_testing
