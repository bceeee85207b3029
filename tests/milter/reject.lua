-- A rule's reject: 550 with its enhanced code and text (a '%' in it
-- doubled for libmilter), and the strictest decision when the recipients
-- differ (tempfail for one, accept for the other: tempfail).
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.7", "<bad@example.net>", { "<bob@example.org>", "<carol@example.org>" })
send_message(conn, { { "From", "bad@example.net" }, { "Subject", "buy" } }, "Offer.\r\n")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "reject: a reply code is set")
check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "sender bad@example.net refused, 100%% sure"),
      "reject: 550 5.7.1 and the rule's text")
check(not mt.eom_check(conn, MT_HDRINSERT), "reject: no header edit")

-- the same connection, a second message: one recipient tempfails
must(mt.mailfrom(conn, "<alice@example.net>"), "mailfrom 2")
must(mt.rcptto(conn, "<bob@example.org>"), "rcpt 2a")
must(mt.rcptto(conn, "<later@example.org>"), "rcpt 2b")
send_message(conn, { { "From", "alice@example.net" }, { "Subject", "two" } }, "Two.\r\n")
check(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1", "later@example.org: try later"),
      "mixed recipients: the strictest (tempfail) with its reply")
mt.disconnect(conn)
finish()
