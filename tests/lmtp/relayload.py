#!/usr/bin/env python3
"""relayload.py: many messages into postern lmtp over parallel sessions,
recording every per-recipient reply (tests/lmtp/dovecot.sh, the kill run).

usage: relayload.py PORT SESSIONS MESSAGES OUT RCPT...

MESSAGES messages in all, shared among SESSIONS sessions, each to every
RCPT, each with a unique "X-Seq: N" header. OUT gets one line per
recipient and message, "N RCPT CODE ENHANCED" (CODE ERR when the session
broke before a reply came). The session is reopened after a break.
"""
import sys
import threading

import loadlib  # the session, counter and threads shared with storeload.py

port, nsess, nmsg, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rcpts = sys.argv[5:]
lock = threading.Lock()
results = []
next_seq = loadlib.Counter(nmsg, lock).next


def message(seq):
    body = "".join("line %d of message %d, padding padding padding\r\n" % (i, seq) for i in range(40))
    return ("From: Load <load@example.net>\r\nTo: undisclosed-recipients:;\r\n"
            "Subject: load %d\r\nX-Seq: %d\r\n\r\n%s.\r\n" % (seq, seq, body)).encode()


def worker():
    sess = None
    for seq in iter(next_seq, None):
        got = []
        try:
            if sess is None:
                sess = loadlib.Session(port, 30)
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
        sess.quit()


loadlib.run_threads(nsess, worker)
with open(out, "w") as f:
    f.write("\n".join(results) + "\n")
