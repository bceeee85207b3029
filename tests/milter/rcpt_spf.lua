-- SPF at RCPT: example.net's record (milter.zone) fails 203.0.113.5, and
-- the envelope rule on spf refuses the recipient before DATA; from a
-- permitted address the recipient is kept.
dofile(dir .. "/lib.lua")
local conn = open_txn("203.0.113.5", "<eve@example.net>", {})
must(mt.rcptto(conn, "<frank@other.example>"), "rcptto frank")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "spf fail: frank@other.example refused at RCPT")
mt.disconnect(conn)
conn = open_txn("192.0.2.9", "<eve@example.net>", {})
must(mt.rcptto(conn, "<frank@other.example>"), "rcptto frank 2")
check(mt.getreply(conn) == SMFIR_CONTINUE, "spf pass: frank@other.example kept")
send_message(conn, { { "From", "eve@example.net" }, { "Subject", "spf" } }, "Pass.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "spf pass: accepted at the end of the message")
mt.disconnect(conn)
finish()
