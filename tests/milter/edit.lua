-- Header edits: an added field (inserted at the top), a Subject changed in
-- place, a field removed; then discard and quarantine.
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.7", "<alice@example.net>", { "<tag@example.org>" })
send_message(conn, {
	{ "From", "alice@example.net" },
	{ "Subject", "hi" },
	{ "X-Internal-Route", "secret" },
}, "Tagged.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "edit: accepted")
check(mt.eom_check(conn, MT_HDRINSERT, "X-Tag", "yes", 0), "edit: X-Tag inserted at index 0")
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"), "edit: Authentication-Results too")
check(mt.eom_check(conn, MT_HDRCHANGE, "Subject", "[EXT] hi"), "edit: Subject changed in place")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Internal-Route"), "edit: X-Internal-Route deleted")
mt.disconnect(conn)

conn = open_txn("192.0.2.7", "<alice@example.net>", { "<spam@example.org>" })
send_message(conn, { { "From", "alice@example.net" }, { "Subject", "d" } }, "Drop.\r\n")
check(mt.getreply(conn) == SMFIR_DISCARD, "discard: the answer is discard")
mt.disconnect(conn)

conn = open_txn("192.0.2.7", "<alice@example.net>", { "<hold@example.org>" })
send_message(conn, { { "From", "alice@example.net" }, { "Subject", "q" } }, "Hold.\r\n")
check(mt.eom_check(conn, MT_QUARANTINE, "postern rule=hold"), "quarantine: smfi_quarantine with the rule")
check(mt.getreply(conn) == SMFIR_ACCEPT, "quarantine: then accepted (held by the MTA)")
mt.disconnect(conn)
finish()
