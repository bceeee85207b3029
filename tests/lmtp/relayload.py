#!/usr/bin/env python3
"""relayload.py: many messages into postern lmtp over parallel sessions,
recording every per-recipient reply (tests/lmtp/dovecot.sh, the kill run).

usage: relayload.py PORT SESSIONS MESSAGES OUT RCPT...

MESSAGES messages in all, shared among SESSIONS sessions, each to every
RCPT, each with a unique "X-Seq: N" header. OUT gets one line per
recipient and message, "N RCPT CODE ENHANCED" (CODE ERR when the session
broke before a reply came). The session is reopened after a break.
"""
import socket
import sys
import threading

port, nsess, nmsg, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rcpts = sys.argv[5:]
lock = threading.Lock()
counter = [0]
results = []


class Session:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.reply()                     # greeting
        self.s.sendall(b"LHLO load.test\r\n")
        self.reply()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def reply(self):
        while True:
            l = self.line()
            if l[3:4] != "-":
                return l


def next_seq():
    with lock:
        if counter[0] >= nmsg:
            return None
        counter[0] += 1
        return counter[0]


def message(seq):
    body = "".join("line %d of message %d, padding padding padding\r\n" % (i, seq) for i in range(40))
    return ("From: Load <load@example.net>\r\nTo: undisclosed-recipients:;\r\n"
            "Subject: load %d\r\nX-Seq: %d\r\n\r\n%s.\r\n" % (seq, seq, body)).encode()


def worker():
    sess = None
    while True:
        seq = next_seq()
        if seq is None:
            break
        got = []
        try:
            if sess is None:
                sess = Session()
            cmds = "MAIL FROM:<load@example.net>\r\n" + "".join("RCPT TO:<%s>\r\n" % r for r in rcpts) + "DATA\r\n"
            sess.s.sendall(cmds.encode())
            ok = sess.reply().startswith("250")
            for _ in rcpts:
                sess.reply()
            if not ok or not sess.reply().startswith("354"):
                raise EOFError
            sess.s.sendall(message(seq))
            for _ in rcpts:
                got.append(sess.reply())
        except (EOFError, OSError):
            sess = None
        with lock:
            for i, r in enumerate(rcpts):
                if i < len(got):
                    code, rest = got[i][:3], got[i][4:]
                    results.append("%d %s %s %s" % (seq, r, code, rest.split(" ", 1)[0]))
                else:
                    results.append("%d %s ERR -" % (seq, r))
    if sess is not None:
        try:
            sess.s.sendall(b"QUIT\r\n")
            sess.reply()
        except (EOFError, OSError):
            pass


threads = [threading.Thread(target=worker) for _ in range(nsess)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    f.write("\n".join(results) + "\n")
