-- The tenant split: the first kept recipient fixes the transaction's
-- tenant; a recipient of another tenant gets 452 4.5.3; recipients of the
-- same tenant (a subdomain too) are kept. split (defined with -D) is "on"
-- or "off" (--tenant-split off: every recipient kept).
dofile(dir .. "/lib.lua")
local on = split == "on"
local conn = open_txn("192.0.2.7", "<split-" .. split .. "@example.org>", {})
must(mt.rcptto(conn, "<a@agency.example>"), "rcptto a")
check(mt.getreply(conn) == SMFIR_CONTINUE, "split " .. split .. ": a@agency.example kept")
must(mt.rcptto(conn, "<b@corp.example>"), "rcptto b")
if on then
	check(mt.getreply(conn) == SMFIR_REPLYCODE, "split on: b@corp.example answered with a reply code")
else
	check(mt.getreply(conn) == SMFIR_CONTINUE, "split off: b@corp.example kept")
end
must(mt.rcptto(conn, "<c@other.example>"), "rcptto c")
if on then
	check(mt.getreply(conn) == SMFIR_REPLYCODE, "split on: c@other.example (no tenant) answered too")
else
	check(mt.getreply(conn) == SMFIR_CONTINUE, "split off: c@other.example kept")
end
must(mt.rcptto(conn, "<d@Mail.Agency.Example>"), "rcptto d")
check(mt.getreply(conn) == SMFIR_CONTINUE, "split " .. split .. ": d@Mail.Agency.Example (same tenant) kept")
send_message(conn, { { "From", "x@example.org" }, { "Subject", "split" } }, "Split.\r\n")
check(mt.getreply(conn) == SMFIR_ACCEPT, "split " .. split .. ": the message accepted")
mt.disconnect(conn)
finish()
