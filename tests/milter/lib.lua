-- lib.lua: shared by the miltertest scripts of tests/milter/milter.sh.
-- The shell test defines sock (libmilter's socket syntax) and dir (this
-- folder) with miltertest -D. check() prints one TAP-like line the shell
-- test turns into a test; finish() fails the script when one failed.
failed = 0

function check(cond, what)
	if cond then
		mt.echo("ok - " .. what)
	else
		mt.echo("not ok - " .. what)
		failed = failed + 1
	end
end

function must(err, what)
	if err ~= nil then
		error(what .. ": " .. err)
	end
end

-- A connection with its client, HELO, sender and recipients sent.
function open_txn(ip, from, rcpts)
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then
		error("cannot connect to " .. sock)
	end
	must(mt.conninfo(conn, "mail.example.net", ip), "conninfo")
	must(mt.helo(conn, "mail.example.net"), "helo")
	must(mt.mailfrom(conn, from), "mailfrom")
	for _, r in ipairs(rcpts) do
		must(mt.rcptto(conn, r), "rcptto " .. r)
	end
	return conn
end

-- Header fields (a list of {name, value}), end of header, a body, EOM.
function send_message(conn, fields, body)
	for _, f in ipairs(fields) do
		must(mt.header(conn, f[1], f[2]), "header " .. f[1])
	end
	must(mt.eoh(conn), "eoh")
	must(mt.bodystring(conn, body), "body")
	must(mt.eom(conn), "eom")
end

function finish()
	if failed > 0 then
		error(failed .. " check(s) failed")
	end
end
