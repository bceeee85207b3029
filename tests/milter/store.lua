-- One message for the report store test (store.sh): the client IP, the
-- envelope sender, the header From, the recipient and the MTA's queue id
-- ({i}) come from miltertest -D ip=... from=... hfrom=... rcpt=... qid=...
-- Prints "reply=accept", "reply=550" (the DMARC rule's reject), "reply=451"
-- (the later rule's tempfail) or "reply=other".
dofile(dir .. "/lib.lua")
local conn = mt.connect(sock, 40, 0.25)
if conn == nil then
	error("cannot connect to " .. sock)
end
must(mt.conninfo(conn, "mta.test", ip), "conninfo")
must(mt.helo(conn, "mta.test"), "helo")
mt.macro(conn, SMFIC_MAIL, "i", qid)
must(mt.mailfrom(conn, "<" .. from .. ">"), "mailfrom")
must(mt.rcptto(conn, "<" .. rcpt .. ">"), "rcptto")
send_message(conn, {
	{ "From", hfrom },
	{ "To", rcpt },
	{ "Subject", "store " .. qid },
	{ "Message-ID", "<" .. qid .. "@test>" },
}, "hello\r\n")
local r = mt.getreply(conn)
if r == SMFIR_ACCEPT then
	mt.echo("reply=accept")
elseif r == SMFIR_REPLYCODE then
	if mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "DMARC says reject") then
		mt.echo("reply=550")
	elseif mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1", "later") then
		mt.echo("reply=451")
	else
		mt.echo("reply=other")
	end
else
	mt.echo("reply=other")
end
mt.disconnect(conn)
