-- An accepted message: SPF and DMARC pass from the fixture; the answer is
-- accept with Authentication-Results inserted at index 0, and a forged
-- Authentication-Results bearing our authserv-id deleted.
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.7", "<alice@example.net>", { "<bob@example.org>" })
send_message(conn, {
	{ "Authentication-Results", "mx.test; dmarc=pass header.from=example.net" },
	{ "From", "Alice <alice@example.net>" },
	{ "To", "bob@example.org" },
	{ "Subject", "hello" },
}, "Hello Bob.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "accept: the answer is accept")
check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"), "accept: Authentication-Results inserted")
local ar = mt.getheader(conn, "Authentication-Results", 0)
mt.echo("AR: " .. tostring(ar))
check(ar ~= nil and mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results", ar, 0),
      "accept: ... at index 0")
check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"), "accept: the forged one deleted")
mt.disconnect(conn)
finish()
