-- At RCPT: an envelope rule of a tenant refuses its recipient at once with
-- the rule's reply; the next recipient (no tenant) is kept, and the end of
-- the message decides for it alone.
dofile(dir .. "/lib.lua")
local conn = open_txn("203.0.113.5", "<alice@example.org>", {})
must(mt.rcptto(conn, "<bob@agency.example>"), "rcptto bob")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "rcpt reject: bob@agency.example answered with a reply code")
must(mt.rcptto(conn, "<carol@other.example>"), "rcptto carol")
check(mt.getreply(conn) == SMFIR_CONTINUE, "rcpt reject: carol@other.example kept")
send_message(conn, { { "From", "alice@example.org" }, { "Subject", "rcpt one" } }, "One.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "rcpt reject: the message accepted for the kept recipient")
mt.disconnect(conn)
finish()
