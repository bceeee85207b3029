-- Abrupt input: a connection closed in the middle of the body, one
-- aborted then reused, a message over --max-size (no reply to the body,
-- which the milter asked for none of: 452 4.3.4 at the end of the
-- message), and a header with an empty value; the milter goes on serving.
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.7", "<alice@example.net>", { "<bob@example.org>" })
must(mt.header(conn, "From", "alice@example.net"), "header")
must(mt.eoh(conn), "eoh")
must(mt.bodystring(conn, "half a bo"), "body")
mt.disconnect(conn, false)

conn = open_txn("192.0.2.7", "<alice@example.net>", { "<bob@example.org>" })
must(mt.header(conn, "From", "alice@example.net"), "header")
must(mt.abort(conn), "abort")
must(mt.mailfrom(conn, "<alice@example.net>"), "mailfrom after abort")
must(mt.rcptto(conn, "<bob@example.org>"), "rcpt after abort")
send_message(conn, { { "From", "alice@example.net" }, { "X-Empty", "" } }, "After abort.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "abort: the next message on the connection is decided")
mt.disconnect(conn)

conn = open_txn("192.0.2.7", "<big@example.net>", { "<bob@example.org>" })
check(mt.test_option(conn, SMFIP_NR_BODY), "over --max-size: no reply to body chunks negotiated")
must(mt.header(conn, "From", "alice@example.net"), "header")
must(mt.eoh(conn), "eoh")
mt.bodyrandom(conn, 30000)
check(mt.getreply(conn) == SMFIR_CONTINUE, "over --max-size: no reply before the end of the message")
must(mt.eom(conn), "eom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "over --max-size: a reply code at the end of the message")
check(mt.eom_check(conn, MT_SMTPREPLY, "452", "4.3.4", "Error: message too big for the policy check"),
      "over --max-size: 452 4.3.4 at the end of the message")
mt.disconnect(conn)

conn = open_txn("192.0.2.7", "<alice@example.net>", { "<bob@example.org>" })
send_message(conn, { { "From", "alice@example.net" } }, "Still here.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "after all that the milter still answers")
mt.disconnect(conn)
finish()
