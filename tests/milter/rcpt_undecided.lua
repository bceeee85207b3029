-- A recipient whose tenant has a header rule first: undecided at RCPT
-- (kept), decided at the end of the message by the envelope rule after it.
dofile(dir .. "/lib.lua")
local conn = open_txn("198.51.100.9", "<ann@example.org>", {})
must(mt.rcptto(conn, "<dave@corp.example>"), "rcptto dave")
check(mt.getreply(conn) == SMFIR_CONTINUE, "undecided: dave@corp.example kept at RCPT")
send_message(conn, { { "From", "ann@example.org" }, { "Subject", "rcpt two" } }, "Two.\r\n")
check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.7.1", "corp.example refuses 198.51.100.9"),
      "undecided: rejected at the end of the message with the rule's reply")
mt.disconnect(conn)
finish()
