#!/bin/sh
# Issue 16: "postern replay" over the tree "postern lmtp --deliver
# maildir:DIR" writes (DIR/DOMAIN/LOCALPART/{cur,new} and Maildir++
# sub-folders such as .Quarantine): mail delivered through a real postern
# lmtp is replayed from the Maildir root, and the counts match what was
# delivered, decision by decision. A copy without Delivered-To is decided
# for the Maildir's owner; a folder without messages exits 66 and says what
# was looked for; links out of the tree, hidden folders and too deep trees
# are not followed.
. "$top_srcdir/tests/cli/tap.sh"
. "$top_srcdir/tests/lmtp/lib.sh"
T=$TMPDIR_TEST
cat > "$T/q.rules" <<'EOF'
rule spam { when subject contains "spam" then quarantine; }
rule junk { when subject contains "junk" then quarantine "Junk"; }
EOF
start_lmtp --rules "$T/q.rules"

send() {   # send SUBJECT RCPT...: one message to every RCPT
	subject=$1; shift
	{
		printf '%s\n' 'LHLO client.test' 'MAIL FROM:<jane@sender.example>'
		for r in "$@"; do printf 'RCPT TO:<%s>\n' "$r"; done
		printf '%s\n' 'DATA' '<<354' \
			"From: jane@sender.example\r\nTo: $1\r\nSubject: $subject\r\nMessage-ID: <$subject.$#@sender.example>\r\n\r\nbody" \
			'.' 'QUIT'
	} | lmtpc "$PORT"
}
send hello1 alice@example.org >/dev/null
send hello2 alice@example.org bob@example.org carol@example.net >/dev/null
send "some spam" alice@example.org >/dev/null
send "junk mail" bob@example.org >/dev/null
send hello3 carol@example.net >/dev/null
stop_lmtp
is "$STOP_RC" 0 "postern lmtp stopped cleanly"

copies=$(find "$MD" -type f -path '*/new/*' | wc -l | tr -d ' ')
is "$copies" 7 "postern lmtp delivered 7 copies (one message to three recipients)"
is "$(msgs_in "$MD/example.org/alice/.Quarantine")+$(msgs_in "$MD/example.org/bob/.Junk")" "1+1" \
   "two of them into Maildir++ sub-folders (.Quarantine, .Junk)"

R() { "$POSTERN" replay --dns "$T/empty.zone" "$@"; }
out=$(R --rules "$T/q.rules" --json "$MD" 2>"$T/err"); rc=$?
is "$rc:$(cat "$T/err")" "0:" "replay of the Maildir root exits 0, nothing on stderr"
is "$(q "$out" '[.messages, .recipients, .errors]')" "[$copies,$copies,0]" \
   "replay finds every delivered copy: messages and recipients match, no errors"
is "$(q "$out" '.decisions | [.accept, .quarantine]')" "[5,2]" \
   "the decisions match the delivery: 5 accepted, 2 quarantined"
is "$(q "$out" '.rules | [.spam, .junk]')" "[1,1]" "each quarantine rule decided once"
out=$(R --rules "$T/q.rules" --json "$MD/example.org/alice")
is "$(q "$out" '.messages')" 3 "one user's Maildir: its own copies and its .Quarantine"
out=$(R --rules "$T/q.rules" --json "$MD/example.org")
is "$(q "$out" '.messages')" 5 "one domain's folder"

# The recipient: Delivered-To when the copy has it, else the Maildir's owner.
printf 'tenant "example.org" { rule own { when true then reject; } }\n' > "$T/own.rules"
printf 'rule none { when size > 1G then accept; }\n' > "$T/accept.rules"
one=$(find "$MD/example.org/bob/new" -type f | head -1)
mkdir -p "$T/tree/example.org/dave/new" "$T/tree/localhost/erin/new"
grep -v '^Delivered-To:' "$one" > "$T/tree/example.org/dave/new/1"
grep -v '^Delivered-To:' "$one" > "$T/tree/localhost/erin/new/1"
sed 's/^Delivered-To: .*/Delivered-To: carol@example.net\r/' "$one" > "$T/tree/example.org/dave/new/2"
out=$(R --rules "$T/own.rules" --baseline "$T/accept.rules" --json "$T/tree")
is "$(q "$out" '[.changed[] | [(.message | sub(".*/tree/"; "")), .recipient, .to]]')" \
   '[["example.org/dave/new/1","dave@example.org","reject"]]' \
   "no Delivered-To: the owner dave@example.org decides; Delivered-To wins over the owner; localhost is no domain"
is "$(q "$out" '.messages')" 3 "(all three copies replayed)"

# Nothing to replay: exit 66 and say what was looked for.
mkdir -p "$T/none/sub" "$T/none/.hidden/new"
cp "$one" "$T/none/.hidden/new/1"
cp "$one" "$T/none/sub/message.txt"
R --rules "$T/q.rules" "$T/none" >/dev/null 2>"$T/err"; rc=$?
is "$rc" 66 "a folder without messages (hidden folders and non-.eml files skipped): exit 66"
like "$(cat "$T/err")" "$T/none holds no messages" "stderr names the path"
like "$(cat "$T/err")" 'Maildir \(cur/ and new/, with Maildir\+\+ \.NAME/ sub-folders\), a maildir:DIR tree \(DOMAIN/LOCALPART/ Maildirs\) and \.eml files' \
     "and the layouts looked for"
mkdir -p "$T/emptymd/cur" "$T/emptymd/new"
R --rules "$T/q.rules" "$T/emptymd" >/dev/null 2>&1; is "$?" 66 "an empty Maildir: exit 66"
mkfifo "$T/fifo"
timeout 20 "$POSTERN" replay --dns "$T/empty.zone" --rules "$T/q.rules" "$T/fifo" >/dev/null 2>"$T/err"; rc=$?
is "$rc" 66 "a FIFO is refused, not opened: exit 66"
like "$(cat "$T/err")" 'neither a regular file nor a folder' "and says why"

# Bounded walks: links out of the tree are not followed, nor links to
# folders; too deep a tree is an error.
mkdir -p "$T/outside/x/y/new"
cp "$one" "$T/outside/x/y/new/1"
cp "$one" "$T/outside/lone"
ln -s "$T/outside/x" "$MD/example.org/evil"
ln -s "$T/outside/lone" "$MD/example.org/alice/new/lone"
ln -s "$one" "$MD/example.org/alice/new/inside"
out=$(R --rules "$T/q.rules" --json "$MD")
is "$(q "$out" '.messages')" $((copies + 1)) \
   "a link to a folder and a link to a file outside are skipped; a link to a file inside is read"
d="$T/deep"
i=0; while [ $i -lt 34 ]; do d="$d/d"; i=$((i + 1)); done
mkdir -p "$d"
cp "$one" "$d/m.eml"
R --rules "$T/q.rules" "$T/deep" >/dev/null 2>"$T/err"; rc=$?
is "$rc" 66 "a tree deeper than the limit: exit 66"
like "$(cat "$T/err")" 'folders nested deeper than 32' "and the limit is named"
done_testing
