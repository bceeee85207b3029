#!/usr/bin/env python3
"""storeload.py: DMARC-evaluated load for postern lmtp --report-store
(tests/lmtp/store_load.sh, tests/bench/bench_store.sh).

usage: storeload.py PORT SESSIONS MESSAGES OUT [FROM_DOMAIN...]

MESSAGES messages in all, shared among SESSIONS sessions that stay
connected (reopened after a break), each to rcpt@example.org, from the
client address 192.0.2.N (XFORWARD), the header From cycling over the
FROM_DOMAINs (default example.com), each with the unique Message-ID
<N.load@storeload.test>. A session starts with a MAIL FROM only after
the previous message's reply, so the time from MAIL FROM to the reply
after the final dot is the message's latency.

OUT gets one line per message, "N CODE LATENCY_MS" (CODE ERR when the
session broke before the reply). stdout gets one line:
"WALL_S COUNT_250 COUNT_OTHER P50_MS P99_MS".
"""
import functools
import sys
import threading
import time

import loadlib  # the session, counter and threads shared with relayload.py

port, nsess, nmsg, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
domains = sys.argv[5:] or ["example.com"]
lock = threading.Lock()
results = []
Session = functools.partial(loadlib.Session, port, 60)
next_seq = loadlib.Counter(nmsg, lock).next


def message(seq):
    dom = domains[seq % len(domains)]
    body = "".join("line %d of message %d, padding padding padding padding padding\r\n" % (i, seq)
                   for i in range(50))
    return ("From: Sender <user%d@%s>\r\nTo: <rcpt@example.org>\r\nSubject: load %d\r\n"
            "Message-ID: <%d.load@storeload.test>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
            "\r\n%s.\r\n" % (seq % 97, dom, seq, seq, body)).encode(), dom


def worker():
    sess = None
    while True:
        seq = next_seq()
        if seq is None:
            break
        data, dom = message(seq)
        code = "ERR"
        t0 = time.monotonic()
        try:
            if sess is None:
                sess = Session()
            t0 = time.monotonic()
            cmds = ("XFORWARD ADDR=192.0.2.%d HELO=mta%d.test\r\n" % (seq % 200 + 1, seq % 7)
                    + "MAIL FROM:<bounce@%s>\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\n" % dom)
            sess.s.sendall(cmds.encode())
            ok = sess.reply().startswith("250")          # XFORWARD
            ok = sess.reply().startswith("250") and ok   # MAIL
            ok = sess.reply().startswith("250") and ok   # RCPT
            if not sess.reply().startswith("354"):
                raise EOFError
            sess.s.sendall(data)
            code = sess.reply()[:3]
            if not ok and code == "250":
                code = "BAD"
        except (EOFError, OSError):
            sess = None
        lat = (time.monotonic() - t0) * 1000.0
        with lock:
            results.append((seq, code, lat))
    if sess is not None:
        sess.quit()


t0 = time.monotonic()
loadlib.run_threads(nsess, worker)
wall = time.monotonic() - t0
with open(out, "w") as f:
    for seq, code, lat in sorted(results):
        f.write("%d %s %.3f\n" % (seq, code, lat))
lats = sorted(lat for _, code, lat in results if code == "250")
n250 = len(lats)


def pct(p):
    return lats[min(len(lats) - 1, int(p * len(lats)))] if lats else 0.0


print("%.6f %d %d %.3f %.3f" % (wall, n250, len(results) - n250, pct(0.50), pct(0.99)))
