#!/usr/bin/env python3
"""crashclient.py: an LMTP client for tests/lmtp/crash.sh that keeps its
own record of every 250 it received, by message identity.

usage: crashclient.py PORT ACKFILE PREFIX [THREADS [COUNT [DEADLINE]]]

THREADS sessions (default 4) each deliver COUNT messages (default 60). A
message is identified by Message-ID <PREFIX.T.SEQ.ATTEMPT@crash.test>; its
body is a function of that id (crashcheck.py rebuilds it). Every fifth
message has a second recipient. For each 250 after DATA the line
"ID RCPT" is appended to ACKFILE (and flushed) as soon as it is read, so
the file is the client-side truth of what the server acknowledged. When the
connection breaks (the server was killed) the session reconnects every
50 ms and sends the message again under the next attempt number, as an MTA
would retry; a 4xx is retried the same way. Exits 0 when every message had
a 250 for every recipient before DEADLINE seconds (default 90), else 1.
Prints "acked=N retries=M tempfails=K".
"""
import socket
import sys
import threading
import time

RCPTS = ["rcpt@example.org", "second@example.org"]


def body_for(mid):
    """The body for a message id: 20 to 79 lines of 76 octets, CRLF."""
    n = 20 + sum(mid.encode()) % 60
    return b"".join(("%s line %04d " % (mid, i)).ljust(76, "x").encode() + b"\r\n"
                    for i in range(n))


def message_for(mid, rcpts):
    b = body_for(mid)
    head = ("From: <crash@example.net>\r\nTo: <%s>\r\nSubject: crash %s\r\n"
            "Message-ID: <%s@crash.test>\r\nX-Body-Len: %d\r\n\r\n"
            % (", ".join(rcpts), mid, mid, len(b))).encode()
    return head + b


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("eof")
            self.buf += data
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def reply(self):
        """One (possibly multi-line) reply: its code."""
        while True:
            l = self.line()
            if len(l) < 4 or l[3] != "-":
                return int(l[:3])

    def cmd(self, s):
        self.sock.sendall(s.encode() + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def worker(port, prefix, t, count, deadline, acks, lock, stats):
    sess = None
    seq, attempt = 0, 0
    while seq < count and time.time() < deadline:
        try:
            if sess is None:
                sess = Session(port)
                if sess.reply() != 220 or sess.cmd("LHLO crash.test") != 250:
                    raise ConnectionError("greeting")
            rcpts = RCPTS[:2] if seq % 5 == 4 else RCPTS[:1]
            mid = "%s.%d.%d.%d" % (prefix, t, seq, attempt)
            if sess.cmd("MAIL FROM:<crash@example.net>") != 250:
                raise ConnectionError("MAIL")
            for r in rcpts:
                if sess.cmd("RCPT TO:<%s>" % r) != 250:
                    raise ConnectionError("RCPT")
            if sess.cmd("DATA") != 354:
                raise ConnectionError("DATA")
            sess.sock.sendall(message_for(mid, rcpts) + b".\r\n")
            good = 0
            for r in rcpts:
                code = sess.reply()
                if code == 250:
                    with lock:
                        acks.write("%s %s\n" % (mid, r))
                        acks.flush()
                        stats["acked"] += 1
                    good += 1
                else:
                    with lock:
                        stats["tempfails"] += 1
            if good == len(rcpts):
                seq, attempt = seq + 1, 0
            else:
                attempt += 1
        except (OSError, ConnectionError, ValueError):
            if sess is not None:
                sess.close()
                sess = None
                with lock:
                    stats["retries"] += 1
                attempt += 1
            time.sleep(0.05)
    if sess is not None:
        try:
            sess.cmd("QUIT")
        except (OSError, ConnectionError, ValueError):
            pass
        sess.close()
    with lock:
        stats["done"] += seq == count


def main():
    port, ackfile, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 60
    deadline = time.time() + (float(sys.argv[6]) if len(sys.argv) > 6 else 90)
    stats = {"acked": 0, "retries": 0, "tempfails": 0, "done": 0}
    lock = threading.Lock()
    with open(ackfile, "a") as acks:
        ts = [threading.Thread(target=worker,
                               args=(port, prefix, t, count, deadline, acks, lock, stats))
              for t in range(threads)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
    print("acked=%d retries=%d tempfails=%d" % (stats["acked"], stats["retries"],
                                                stats["tempfails"]))
    sys.exit(0 if stats["done"] == threads else 1)


if __name__ == "__main__":
    main()
