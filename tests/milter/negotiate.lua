-- The negotiation with an MTA of milter protocol 6 (miltertest offers every
-- step and flag): no reply asked at connect, HELO, MAIL FROM, each header,
-- the end of the header and each body chunk; RCPT still replies (its
-- decisions). A message then goes through with the stream in step: a
-- reply the milter sent where none was negotiated would be read as the
-- end-of-message answer (continue, not accept).
dofile(dir .. "/lib.lua")
local conn = mt.connect(sock, 40, 0.25)
if conn == nil then
	error("cannot connect to " .. sock)
end
must(mt.negotiate(conn, nil, nil, nil), "negotiate")
for _, o in ipairs({ { SMFIP_NR_CONN, "connect" }, { SMFIP_NR_HELO, "HELO" },
                     { SMFIP_NR_MAIL, "MAIL FROM" }, { SMFIP_NR_HDR, "header" },
                     { SMFIP_NR_EOH, "end of header" }, { SMFIP_NR_BODY, "body" } }) do
	check(mt.test_option(conn, o[1]), "negotiate: no reply asked at " .. o[2])
end
check(not mt.test_option(conn, SMFIP_NR_RCPT), "negotiate: RCPT still replies")
must(mt.conninfo(conn, "mail.example.net", "192.0.2.7"), "conninfo")
must(mt.helo(conn, "mail.example.net"), "helo")
must(mt.mailfrom(conn, "<alice@example.net>"), "mailfrom")
must(mt.rcptto(conn, "<bob@example.org>"), "rcptto")
check(mt.getreply(conn) == SMFIR_CONTINUE, "negotiate: RCPT answered continue")
send_message(conn, { { "From", "alice@example.net" }, { "To", "bob@example.org" },
                     { "Subject", "negotiated" } }, "No replies until the end.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "negotiate: the end of the message answers accept")
mt.disconnect(conn)

-- (An older MTA is tests/milter/nr.py's: miltertest's mt.negotiate
-- offers protocol 6's flags whatever steps it is given.)
finish()
