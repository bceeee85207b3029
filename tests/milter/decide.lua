-- One message from alice@example.net to the recipient the shell test
-- names (-D rcpt=...), then "decision=accept", "decision=reject" (the
-- flip rule's 550 5.7.1 "flipped" of reload.sh) or "decision=tempfail"
-- (another reply code) on a line of its own.
-- With -D pause=N it sleeps N seconds between the body and the end of the
-- message (reload.sh: a SIGHUP lands while the message is in flight).
dofile(dir .. "/lib.lua")
local conn = open_txn("192.0.2.7", "<alice@example.net>", { "<" .. rcpt .. ">" })
must(mt.header(conn, "From", "Alice <alice@example.net>"), "header From")
must(mt.header(conn, "Subject", "reload"), "header Subject")
must(mt.eoh(conn), "eoh")
must(mt.bodystring(conn, "Hello.\r\n"), "body")
if pause ~= nil then
	mt.sleep(tonumber(pause))
end
must(mt.eom(conn), "eom")
local r = mt.getreply(conn)
if r == SMFIR_ACCEPT then
	mt.echo("decision=accept")
elseif r == SMFIR_REPLYCODE and mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", "flipped") then
	mt.echo("decision=reject")
elseif r == SMFIR_REPLYCODE or r == SMFIR_TEMPFAIL then
	mt.echo("decision=tempfail")
else
	mt.echo("decision=other")
end
mt.disconnect(conn)
