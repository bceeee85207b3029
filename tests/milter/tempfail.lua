-- DNS trouble (SERVFAIL in the fixture) and a rule that tempfails on it:
-- 451 4.7.1 with the rule's text.
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.9", "<x@broken.example>", { "<bob@example.org>" })
send_message(conn, { { "From", "x@broken.example" }, { "Subject", "dns" } }, "DNS.\r\n")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "tempfail: a reply code is set")
check(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1", "DNS trouble checking broken.example; please retry"),
      "tempfail: 451 4.7.1 and the rule's text")
mt.disconnect(conn)
finish()
