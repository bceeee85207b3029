"""nr.py PORT PROTOCOL: talk the milter protocol to postern milter on
127.0.0.1:PORT as an MTA offering the protocol flags PROTOCOL (hex) and
print what it saw, one fact a line, for tests/milter/milter.sh:
  nr=NAMES         the SMFIP_NR_* bits the milter asked for ("-" none)
  macros=LISTS     the macro lists it asked for, STAGE:LIST ("-" none)
  small=REPLIES    a small message: the replies before the end of the
                   message (STAGE:COMMAND), then "| eom:" its final reply
  big=REPLIES      the same for a message over --max-size (30,000 bytes
                   of body in 3,000-byte chunks)
  (a reply other than continue ends the message there: "| stopped")
A stage whose reply is off must send nothing: the probe waits 0.3 s for
a reply after each command where the milter asked for none."""
import socket
import struct
import sys

NR = {0x1000: "CONN", 0x2000: "HELO", 0x4000: "MAIL", 0x8000: "RCPT", 0x10000: "DATA",
      0x20000: "UNKN", 0x80: "HDR", 0x40000: "EOH", 0x80000: "BODY"}
BIT = {v: k for k, v in NR.items()}

port, offered = int(sys.argv[1]), int(sys.argv[2], 16)
sock = socket.create_connection(("127.0.0.1", port), timeout=5)


def send(cmd, data=b""):
    sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def recvn(n):
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise EOFError("connection closed")
        buf += part
    return buf


def reply(timeout=5.0):
    """One reply (command, data), or None when nothing came in time."""
    sock.settimeout(timeout)
    try:
        head = sock.recv(4, socket.MSG_PEEK)
    except socket.timeout:
        return None
    if not head:
        return ("EOF", b"")
    sock.settimeout(5)
    n = struct.unpack(">I", recvn(4))[0]
    body = recvn(n)
    return body[:1].decode(), body[1:]


send(b"O", struct.pack(">III", 6, 0x1FF, offered))
cmd, data = reply()
_, _, asked = struct.unpack(">III", data[:12])
print("nr=" + (",".join(name for bit, name in sorted(NR.items()) if asked & bit) or "-"))
lists, rest = [], data[12:]
while len(rest) >= 5:
    stage = struct.unpack(">I", rest[:4])[0]
    end = rest.index(b"\0", 4)
    lists.append("%d:%s" % (stage, rest[4:end].decode()))
    rest = rest[end + 1:]
print("macros=" + (" ".join(lists) or "-"))


def stage(name, cmd, data=b""):
    """Send one command; the replies it got (none expected where NR)."""
    send(cmd, data)
    noreply = name in BIT and asked & BIT[name]
    got = []
    r = reply(0.3 if noreply else 5.0)
    if r is not None:
        got.append("%s:%s" % (name, r[0]))
    return got


def message(sender, body, chunk):
    """The replies of one message; a stage answered other than continue
    ends it there ("| stopped"), as an MTA would."""
    steps = [("MAIL", b"M", b"<" + sender + b">\0"), ("RCPT", b"R", b"<bob@example.org>\0")]
    steps += [("HDR", b"L", n + b"\0" + v + b"\0")
              for n, v in ((b"From", b"alice@example.net"), (b"Subject", b"nr"))]
    steps += [("EOH", b"N", b"")]
    steps += [("BODY", b"B", body[i:i + chunk]) for i in range(0, len(body), chunk)]
    seen = []
    for name, cmd, data in steps:
        got = stage(name, cmd, data)
        seen += got
        if got and not got[0].endswith(":c"):
            send(b"A")
            return " ".join(seen) + " | stopped"
    send(b"E")
    final = reply()
    while final is not None and final[0] in "+-hicmq":     # edits before the answer
        final = reply()
    text = final[1].rstrip(b"\0").decode() if final and final[0] == "y" else ""
    return " ".join(seen) + " | eom:" + (final[0] if final else "none") + (" " + text if text else "")


seen = stage("CONN", b"C", b"mail.example.net\0" + b"4" + struct.pack(">H", 25) + b"192.0.2.7\0")
seen += stage("HELO", b"H", b"mail.example.net\0")
print("envelope=" + (" ".join(seen) or "-"))
print("small=" + message(b"alice@example.net", b"Hello.\r\n", 3000))
print("big=" + message(b"big@example.net", b"x" * 998 + b"\r\n" + (b"y" * 998 + b"\r\n") * 29, 3000))
send(b"Q")
sock.close()
