" Vim syntax file
" Language:    postern rule files (*.rules), see postern.rules(5)
" Maintainer:  the postern project
"
" Install: copy syntax/postern.vim and ftdetect/postern.vim under ~/.vim/
" (or ~/.config/nvim/), or add this folder to 'runtimepath':
"     set runtimepath+=/path/to/postern/examples/editor
"
" The word lists follow the scanner's keyword table (lang/lexer.l), the
" facts registry (lang/facts/registry.h) and the settings, list kinds and
" value words the checker knows (lang/check*.c). tests/cli/editor.sh fails
" when one of the first two has a word this file does not.

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" Words carry dashes (starts-with, authserv-id) and dots (client.ip).
syn iskeyword @,48-57,_,-,.,128-255
syn case match

" Comments: # to the end of the line.
syn keyword posternTodo         contained TODO FIXME XXX NOTE
syn match   posternComment      "#.*$" contains=posternTodo,@Spell

" Structure.
syn keyword posternStructure    rule tenant list include file mode when then
" Operators written as words, and the header forms.
syn keyword posternOperator     and or not in starts-with ends-with matches matching exists count all any
" (syn keyword takes "contains" for one of its own options)
syn match   posternOperator     "\<contains\>"
syn keyword posternHeader       header
" Actions (terminal and edits).
syn keyword posternAction       accept reject tempfail discard quarantine
syn keyword posternAction       add remove replace set prepend substitute log tag
" Values: booleans, auth results, DMARC policies, modes, list kinds.
syn keyword posternBoolean      true false
syn keyword posternResult       pass fail softfail neutral none temperror permerror policy
syn keyword posternConstant     audit enforce reject-if-spf-pass
syn keyword posternType         domains ips strings
" Settings (top of the file).
syn keyword posternSetting      authserv-id trusted-authserv-id after-queue-reject
syn keyword posternSetting      dkim-max-signatures dkim-clock-skew dns-budget regex-match-limit pct-seed

" Facts a condition can read (lang/facts/registry.h), and the edit targets.
syn keyword posternFact         client.ip client.helo client.ptr
syn keyword posternFact         envelope.from envelope.from.domain rcpt rcpt.domain
syn keyword posternFact         from.address from.domain from.display from.count
syn keyword posternFact         from.fields from.valid from.error header.malformed header.duplicate
syn keyword posternFact         sender.address sender.domain reply_to.address reply_to.domain
syn keyword posternFact         attachment.name attachment.type attachment.count mime.valid mime.error
syn keyword posternFact         subject size
syn keyword posternFact         spf spf.domain spf.aligned helo.spf
syn keyword posternFact         dkim dkim.domains dkim.aligned dkim.unsigned_header dkim.unsigned_body
syn keyword posternFact         dmarc dmarc.policy dmarc.domain
syn keyword posternFact         authres.spf authres.dkim authres.dmarc

" Numbers (with a K, M or G suffix), SMTP reply codes and enhanced status
" codes, IPv4 and IPv6 addresses and CIDR blocks. Later matches win, so the
" more specific patterns come last.
syn match   posternNumber       "\<\d\+[KMG]\=\>"
syn match   posternSmtpCode     "\<[245]\d\d\>\ze\s\+[245]\.\d\+\.\d\+\>"
syn match   posternEnhanced     "\<[245]\.\d\{1,3}\.\d\{1,3}\>"
syn match   posternAddress      "\<\d\{1,3}\%(\.\d\{1,3}\)\{3}\%(/\d\{1,2}\)\="
syn match   posternAddress      "\<\x\{0,4}:[0-9A-Fa-f:]*\%(\.\d\+\)*\%(/\d\{1,3}\)\="

" Strings, with escapes and ${fact} interpolation.
syn match   posternEscape       contained "\\[nrt"\\$]"
syn match   posternBadEscape    contained "\\[^nrt"\\$]"
syn match   posternInterp       contained "\${[^}"]*}"
syn region  posternString       start=+"+ skip=+\\\\\|\\"+ end=+"+ oneline
      \ contains=posternEscape,posternBadEscape,posternInterp

" Regex literals /re/flags (flags i, x, s). A slash right after a digit,
" a hex digit, a dot or a colon belongs to a CIDR block instead.
syn match   posternRegex        "\%([0-9A-Za-z.:]\)\@1<!/\%(\\.\|[^/\\]\)\+/[ixs]*"

hi def link posternComment      Comment
hi def link posternTodo         Todo
hi def link posternStructure    Statement
hi def link posternOperator     Operator
hi def link posternHeader       Keyword
hi def link posternAction       Keyword
hi def link posternBoolean      Boolean
hi def link posternResult       Constant
hi def link posternConstant     Constant
hi def link posternType         Type
hi def link posternSetting      PreProc
hi def link posternFact         Identifier
hi def link posternNumber       Number
hi def link posternSmtpCode     Number
hi def link posternEnhanced     Number
hi def link posternAddress      Number
hi def link posternString       String
hi def link posternEscape       SpecialChar
hi def link posternBadEscape    Error
hi def link posternInterp       Special
hi def link posternRegex        String

let b:current_syntax = "postern"

let &cpo = s:cpo_save
unlet s:cpo_save
