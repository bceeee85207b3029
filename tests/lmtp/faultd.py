#!/usr/bin/env python3
"""faultd.py: a scripted downstream LMTP server that misbehaves on purpose,
for the relay fault tests (tests/lmtp/relay_faults.sh). Dovecot cannot be
told to fail at a given step; this can.

usage: faultd.py PORTFILE MODEFILE RECORD

Listens on a free loopback port and writes it to PORTFILE. At each new
connection it reads MODEFILE (one word) and behaves so for that connection:

  ok          a correct LMTP server for one transaction: 250 to every RCPT,
              one 250 per recipient after DATA, then it closes the
              connection (so a pooled connection is dead at the next RSET)
  greet421    "421 4.3.2" instead of the greeting, then close
  mail421     "421 4.4.5" to MAIL FROM, then close
  rcpt421     250 to the first RCPT, "421 4.4.5" to the next, then close
  dataclose   354 to DATA, then close after the first chunk of the message
  partial     the message in full, 250 for the first recipient only, close
  stallgreet  accept and say nothing for 30 s
  stalldata   the message in full, then say nothing for 30 s
  mail354     "354 3.0.0" (a 3xx, not final) to MAIL FROM
  rcpt354     "354 3.0.0" to every RCPT
  data355     "355 3.0.0" instead of 354 to DATA
  after354    the message in full, "354 3.0.0" instead of each final reply

For every message received in full it appends "MODE STORED RCPT" to RECORD
for each recipient it answered 250 after DATA (the ones really "stored"),
and "MODE CONNECT" for each connection: the test checks that postern
answered 250 only for stored recipients.
"""
import socket
import sys
import threading
import time

import loadlib  # Lines: the CRLF line reader shared with the load clients

portfile, modefile, record = sys.argv[1:4]
lock = threading.Lock()


def note(line):
    with lock:
        with open(record, "a") as f:
            f.write(line + "\n")


class Conn(loadlib.Lines):
    def send(self, text):
        self.s.sendall(text.encode() + b"\r\n")

    def data(self, mode):
        """Read the message up to the final dot; dataclose stops early."""
        if mode == "dataclose":
            if not self.buf:
                self.s.recv(4096)
            raise EOFError
        while b"\r\n.\r\n" not in b"\r\n" + self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        i = (b"\r\n" + self.buf).index(b"\r\n.\r\n")
        self.buf = self.buf[i + 3:]


def serve(s):
    try:
        mode = open(modefile).read().split()[0]
    except (OSError, IndexError):
        mode = "ok"
    note(mode + " CONNECT")
    c = Conn(s)
    try:
        if mode == "stallgreet":
            time.sleep(30)
            return
        if mode == "greet421":
            c.send("421 4.3.2 faultd: not now")
            return
        c.send("220 faultd LMTP ready")
        rcpts, nrcpt = [], 0
        while True:
            l = c.line()
            verb = l.split(" ", 1)[0].upper().split(":", 1)[0]
            if verb == "LHLO":
                c.send("250-faultd")
                c.send("250-PIPELINING")
                c.send("250 ENHANCEDSTATUSCODES")
            elif verb in ("RSET", "NOOP"):
                c.send("250 2.0.0 OK")
            elif verb == "QUIT":
                c.send("221 2.0.0 Bye")
                return
            elif verb == "MAIL":
                if mode == "mail421":
                    c.send("421 4.4.5 faultd: shutting down")
                    return
                rcpts, nrcpt = [], 0
                if mode == "mail354":
                    c.send("354 3.0.0 faultd: go on")
                    continue
                c.send("250 2.1.0 OK")
            elif verb == "RCPT":
                nrcpt += 1
                if mode == "rcpt421" and nrcpt > 1:
                    c.send("421 4.4.5 faultd: shutting down")
                    return
                if mode == "rcpt354":
                    c.send("354 3.0.0 faultd: go on")
                    continue
                rcpts.append(l.split("<", 1)[1].split(">", 1)[0])
                c.send("250 2.1.5 OK")
            elif verb == "DATA":
                if not rcpts:
                    c.send("503 5.5.1 No valid recipients")
                    continue
                if mode == "data355":
                    c.send("355 3.0.0 faultd: hm")
                    continue
                c.send("354 go ahead")
                c.data(mode)
                if mode == "stalldata":
                    time.sleep(30)
                    return
                for i, r in enumerate(rcpts):
                    if mode == "partial" and i > 0:
                        return
                    if mode == "after354":
                        c.send("354 3.0.0 faultd: more")
                        continue
                    note(mode + " STORED " + r)
                    c.send("250 2.0.0 <%s> stored" % r)
                if mode == "ok":
                    return
            else:
                c.send("500 5.5.1 faultd: unknown command")
    except (EOFError, OSError):
        pass
    finally:
        s.close()


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


main()
