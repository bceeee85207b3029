#!/usr/bin/env python3
"""lmtp-send.py [--expect-greeting NAME] HOST:PORT MESSAGE...: hand example
messages to an LMTP server the way Postfix does (LHLO, XFORWARD, MAIL,
RCPT..., DATA) and print the reply each recipient got.

With --expect-greeting NAME, the server's 220 greeting must name NAME as its
host (the word after 220, as postern lmtp --hostname NAME writes it);
otherwise nothing is sent, since another server answers on that port, and
the exit status is 69.

The envelope of each message comes from its leading X-Postern-Envelope field
(client-ip, helo, mail-from, rcpt...), which is removed before sending: the
client IP and HELO travel in XFORWARD, as Postfix's
lmtp_send_xforward_command = yes sends them. smtplib.LMTP reads only one reply
after DATA, so the socket is driven here to read one reply per recipient.
Exit status 0 when every message got through the dialogue (whatever the
per-recipient decisions were), 69 when the greeting is not the one expected,
64 on a usage error, 1 otherwise."""
import socket
import sys


def envelope_of(raw):
    """Split off leading X-Postern-Envelope fields: (envelope dict, rest)."""
    env = {"rcpt": []}
    lines = raw.split(b"\n")
    while lines and lines[0].lower().startswith(b"x-postern-envelope:"):
        value = lines.pop(0).split(b":", 1)[1].strip().rstrip(b"\r").decode()
        for part in value.split(";"):
            if "=" not in part:
                continue
            key, val = (s.strip() for s in part.split("=", 1))
            if key == "rcpt":
                env["rcpt"].append(val)
            else:
                env[key] = val
    return env, b"\n".join(lines)


def xtext(value):
    """RFC 3461 xtext, which XFORWARD values use."""
    return "".join(c if 33 <= ord(c) <= 126 and c not in "+=" else "+%02X" % ord(c)
                   for c in value)


class Session:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.file = self.sock.makefile("rb")

    def reply(self):
        """One (possibly multi-line) reply: (code, last line text)."""
        while True:
            line = self.file.readline().decode(errors="replace").rstrip("\r\n")
            if not line:
                raise ConnectionError("connection closed")
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), line

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()


def send(session, path):
    with open(path, "rb") as f:
        env, body = envelope_of(f.read())
    if not env["rcpt"]:
        print("%s: no X-Postern-Envelope rcpt=, skipped" % path)
        return True
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    stuffed = b"\r\n".join(b"." + l if l.startswith(b".") else l
                           for l in body.split(b"\r\n"))
    attrs = []
    if "client-ip" in env:
        ip = env["client-ip"]
        attrs.append("ADDR=" + xtext("IPV6:" + ip if ":" in ip else ip))
    if "helo" in env:
        attrs.append("HELO=" + xtext(env["helo"]))
    if attrs:
        session.cmd("XFORWARD " + " ".join(attrs))
    code, line = session.cmd("MAIL FROM:<%s>" % env.get("mail-from", ""))
    if code != 250:
        print("%s: MAIL FROM: %s" % (path, line))
        session.cmd("RSET")
        return False
    accepted = []
    for rcpt in env["rcpt"]:
        code, line = session.cmd("RCPT TO:<%s>" % rcpt)
        if code == 250:
            accepted.append(rcpt)
        else:
            print("  %-32s %s" % (rcpt, line))
    if not accepted:
        session.cmd("RSET")
        return True
    code, line = session.cmd("DATA")
    if code != 354:
        print("%s: DATA: %s" % (path, line))
        return False
    session.sock.sendall(stuffed + b".\r\n")
    for rcpt in accepted:
        code, line = session.reply()
        print("  %-32s %s" % (rcpt, line))
    return True


def greeted_by(line, name):
    """Does a 220 greeting line name name as its host?"""
    words = line.split()
    return len(words) >= 2 and words[0] == "220" and words[1].lower() == name.lower()


def main():
    args = sys.argv[1:]
    expect = None
    if args[:1] == ["--expect-greeting"] and len(args) >= 2:
        expect, args = args[1], args[2:]
    if len(args) < 2 or ":" not in args[0]:
        print("usage: lmtp-send.py [--expect-greeting NAME] HOST:PORT MESSAGE...", file=sys.stderr)
        return 64
    host, port = args[0].rsplit(":", 1)
    session = Session(host, int(port))
    try:
        code, line = session.reply()
    except (ConnectionError, OSError) as e:
        code, line = 0, "(no greeting: %s)" % e
    if expect is not None and not greeted_by(line, expect):
        print("lmtp-send.py: %s:%s greeted \"%s\", not %s: another server listens there; "
              "nothing sent" % (host, port, line, expect), file=sys.stderr)
        return 69
    ok = code == 220
    ok = ok and session.cmd("LHLO demo.example")[0] == 250
    for path in args[1:]:
        if not ok:
            break
        print(path)
        ok = send(session, path)
    session.cmd("QUIT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
