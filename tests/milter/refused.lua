-- A message the library refuses (more header fields than it takes, 1000)
-- would be refused again on every retry: 554 5.6.0, as postern lmtp
-- answers it, not a tempfail. The next message on the connection is
-- decided as usual.
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.7", "<alice@example.net>", { "<bob@example.org>" })
local fields = { { "From", "alice@example.net" }, { "Subject", "many fields" } }
for i = 1, 1000 do
	fields[#fields + 1] = { "X-F", tostring(i) }   -- 10 KB: under --max-size
end
send_message(conn, fields, "Body.\r\n")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "too many fields: a reply code is set")
check(mt.eom_check(conn, MT_SMTPREPLY, "554", "5.6.0", "Error: message cannot be processed"),
      "too many fields: 554 5.6.0, not a tempfail")

must(mt.mailfrom(conn, "<alice@example.net>"), "mailfrom 2")
must(mt.rcptto(conn, "<bob@example.org>"), "rcpt 2")
send_message(conn, { { "From", "alice@example.net" }, { "Subject", "fine" } }, "Body.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT or mt.getreply(conn) == SMFIR_CONTINUE,
      "the next message on the connection is accepted")
mt.disconnect(conn)
finish()
