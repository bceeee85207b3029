#!/bin/sh
# examples/editor: the vim syntax file for rule files. It must know every
# keyword of the scanner (lang/lexer.l) and every fact (lang/facts/registry.h),
# so it cannot go stale; and, where vim is installed, it must load without
# an error and give the expected group to each kind of token.
. "$top_srcdir/tests/cli/tap.sh"
ed="$top_srcdir/examples/editor"
syn="$ed/syntax/postern.vim"

# The words the syntax file declares (syn keyword lines, less the group).
sed -n 's/^syn keyword[[:space:]]\{1,\}[A-Za-z]\{1,\}[[:space:]]\{1,\}//p' "$syn" |
	sed 's/contained//' | tr -s ' \t' '\n\n' | sed '/^$/d' > "$TMPDIR_TEST/vim.list"
# and the single words of syn match lines, "\<word\>".
sed -n 's/^syn match[[:space:]]\{1,\}[A-Za-z]\{1,\}[[:space:]]\{1,\}"\\<\([a-z.-]*\)\\>"$/\1/p' "$syn" >> "$TMPDIR_TEST/vim.list"
sort -u "$TMPDIR_TEST/vim.list" > "$TMPDIR_TEST/vim.words"

# Keywords: the lexer's table, { "name", T_NAME }.
sed -n 's/.*{ *"\([a-z-]*\)", *T_[A-Z_]* *}.*/&/p' "$top_srcdir/lang/lexer.l" |
	grep -o '"[a-z-]*", *T_' | sed 's/"\([a-z-]*\)".*/\1/' | sort -u > "$TMPDIR_TEST/lex.words"
# Facts: the registry's lines, X(ID, sym, "name", TYPE, SOURCE, GROUP).
grep -o '^[[:space:]]*X([A-Z_]*, *[a-z_0-9]*, *"[a-z._]*"' "$top_srcdir/lang/facts/registry.h" |
	sed 's/.*"\(.*\)"/\1/' | sort -u > "$TMPDIR_TEST/facts.words"
# List kinds and setting names the checker knows.
grep -o 'list_kind_words\[\] = {[^}]*}' "$top_srcdir/lang/check.c" | grep -o '"[a-z]*"' | tr -d '"' |
	sort -u > "$TMPDIR_TEST/kinds.words"

nlex=$(wc -l < "$TMPDIR_TEST/lex.words"); nfacts=$(wc -l < "$TMPDIR_TEST/facts.words")
nkinds=$(wc -l < "$TMPDIR_TEST/kinds.words")
[ "$nlex" -ge 30 ] && ok "the lexer's keyword table read ($nlex words)" ||
	not_ok "the lexer's keyword table read" "only $nlex words: has lang/lexer.l changed shape?"
[ "$nfacts" -ge 25 ] && ok "the facts table read ($nfacts facts)" ||
	not_ok "the facts table read" "only $nfacts facts: has lang/facts/registry.h changed shape?"
[ "$nkinds" -ge 3 ] && ok "the list kinds read ($nkinds)" || not_ok "the list kinds read" "only $nkinds"
# Action words: the registry's definitions, .word = "x" (log and tag are
# no keywords of the lexer: the parser finds them in the registry).
grep -ho '\.word = "[a-z-]*"' "$top_srcdir"/lang/actions/act_*.c | sed 's/.*"\(.*\)"/\1/' |
	sort -u > "$TMPDIR_TEST/actions.words"
nact=$(wc -l < "$TMPDIR_TEST/actions.words")
[ "$nact" -ge 10 ] && ok "the action registry read ($nact words)" ||
	not_ok "the action registry read" "only $nact words: has lang/actions/ changed shape?"
for set in lex facts kinds actions; do
	missing=$(comm -23 "$TMPDIR_TEST/$set.words" "$TMPDIR_TEST/vim.words" | tr '\n' ' ')
	is "$missing" "" "the syntax file has every word of the $set table"
done

if ! command -v vim >/dev/null 2>&1; then
	echo "# vim is not installed: the loading test is skipped"
	done_testing; exit $?
fi

# A rule file with one of each kind of token.
cat > "$TMPDIR_TEST/probe.rules" <<'RULES'
authserv-id "mx.example.net";   # a comment TODO
list gov = ips { 192.0.2.0/24, 2001:db8::/32 };
tenant "agency.example" {
  rule r1 mode audit {
    when not client.ip in gov and size > 10M and header "X-A" matches /^a\/b$/i
    then reject 550 5.7.1 "no from ${client.ip}\n", tag "t";
  }
}
rule r2 { when dmarc == fail and dkim.aligned == false then quarantine; }
rule r3 { when from.display contains "Acme" then set from.display ""; }
RULES
# probe: a literal string to find (\V), and the group expected at its start.
cat > "$TMPDIR_TEST/probes" <<'PROBES'
authserv-id	posternSetting
"mx.example.net"	posternString
# a comment	posternComment
TODO	posternTodo
list	posternStructure
ips	posternType
192.0.2.0/24	posternAddress
2001:db8::/32	posternAddress
tenant	posternStructure
audit	posternConstant
not	posternOperator
client.ip	posternFact
10M	posternNumber
header	posternHeader
matches	posternOperator
/^a\/b$/i	posternRegex
i	posternRegex
reject	posternAction
550	posternSmtpCode
5.7.1	posternEnhanced
${client.ip}	posternInterp
\n	posternEscape
tag	posternAction
dmarc	posternFact
fail	posternResult
dkim.aligned	posternFact
false	posternBoolean
quarantine	posternAction
contains	posternOperator
set	posternAction
PROBES
cat > "$TMPDIR_TEST/probe.vim" <<'VIM'
let out = ['filetype=' . &filetype, 'syntax=' . get(b:, 'current_syntax', ''), 'errmsg=' . v:errmsg]
for p in readfile($PROBES)
  let [text, want] = split(p, "\t")
  call cursor(1, 1)
  let pos = searchpos('\V' . escape(text, '\'), 'cW')
  let got = pos[0] ? synIDattr(synID(pos[0], pos[1], 1), 'name') : 'not-found'
  " 'i' is the regex flag: look at the flag after the closing slash.
  if text ==# 'i'
    let pos = searchpos('\V/i', 'cW')
    let got = pos[0] ? synIDattr(synID(pos[0], pos[1] + 1, 1), 'name') : 'not-found'
  endif
  call add(out, text . "\t" . got)
endfor
call writefile(out, $OUT)
VIM
PROBES="$TMPDIR_TEST/probes" OUT="$TMPDIR_TEST/got" HOME="$TMPDIR_TEST" \
	vim -Es -u NONE -i NONE -N --cmd "set runtimepath^=$ed" \
	-c 'filetype on' -c 'syntax on' -c "edit $TMPDIR_TEST/probe.rules" \
	-c "source $TMPDIR_TEST/probe.vim" -c 'qa!' </dev/null >/dev/null 2>&1
rc=$?
is "$rc" 0 "vim -Es loads the syntax file and exits 0"
is "$(sed -n 1p "$TMPDIR_TEST/got" 2>/dev/null)" "filetype=postern" "ftdetect makes *.rules a postern file"
is "$(sed -n 2p "$TMPDIR_TEST/got" 2>/dev/null)" "syntax=postern" "the syntax file was loaded"
is "$(sed -n 3p "$TMPDIR_TEST/got" 2>/dev/null)" "errmsg=" "no error while loading"
sed 1,3d "$TMPDIR_TEST/got" 2>/dev/null > "$TMPDIR_TEST/got.tokens"
while IFS="$(printf '\t')" read -r text want; do
	got=$(T="$text" awk -F '\t' '$1 == ENVIRON["T"] { print $2; exit }' "$TMPDIR_TEST/got.tokens")
	# (tap.sh echoes the description: no backslashes in it)
	is "$got" "$want" "'$(printf '%s' "$text" | sed 's/\\/<bs>/g')' is $want"
done < "$TMPDIR_TEST/probes"

# A udev rules file keeps vim's own guess (udevrules or hog), not postern.
mkdir -p "$TMPDIR_TEST/udev/rules.d"
printf 'KERNEL=="sda", NAME="disk"\n' > "$TMPDIR_TEST/udev/rules.d/10-x.rules"
HOME="$TMPDIR_TEST" vim -Es -u NONE -i NONE -N --cmd "set runtimepath^=$ed" -c 'filetype on' \
	-c "edit $TMPDIR_TEST/udev/rules.d/10-x.rules" \
	-c "call writefile([&filetype], '$TMPDIR_TEST/udev.ft')" -c 'qa!' </dev/null >/dev/null 2>&1
ft=$(cat "$TMPDIR_TEST/udev.ft" 2>/dev/null)
like "$ft" '^[a-z]+$' "vim guessed a filetype for a file under udev/ ($ft)"
[ "$ft" != postern ] && ok "a file under udev/ is not taken for a postern file" ||
	not_ok "a file under udev/ is not taken for a postern file"
done_testing
