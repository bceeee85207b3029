#!/usr/bin/env python3
"""lmtpc.py: a raw LMTP client for the interop tests.

usage: lmtpc.py PORT|unix:PATH [--hold SECONDS] < SCRIPT

Each script line is sent with CRLF after Python byte-escape decoding
(so \\x00 is a NUL and \\r a bare CR). Lines are pipelined: everything is
sent at once, except that a line "<<354" waits for the 354 reply before
sending what follows, and "<<N" (a number) waits for N more reply lines.
"@@big N" sends N bytes of message body in 1,000-octet lines. Every reply
line the server sends is printed until it closes the connection.
"""
import codecs
import socket
import sys
import time


def connect(target):
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target[5:])
        return s
    return socket.create_connection(("127.0.0.1", int(target)), timeout=30)


class Replies:
    def __init__(self, sock):
        self.sock, self.buf, self.lines, self.eof = sock, b"", [], False

    def pump(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            data = b""
        if not data:
            self.eof = True
            return
        self.buf += data
        while b"\r\n" in self.buf:
            line, self.buf = self.buf.split(b"\r\n", 1)
            self.lines.append(line.decode("utf-8", "replace"))

    def wait_for(self, pred):
        while not pred() and not self.eof:
            self.pump()


def main():
    target = sys.argv[1]
    hold = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--hold" else 0
    sock = connect(target)
    r = Replies(sock)
    out = b""
    for raw in sys.stdin.read().split("\n"):
        if raw == "":
            continue
        if raw.startswith("<<"):
            sock.sendall(out)
            out = b""
            if raw == "<<354":
                seen = len(r.lines)
                r.wait_for(lambda: any(l.startswith("354") for l in r.lines[seen:]))
            else:
                want = len(r.lines) + int(raw[2:])
                r.wait_for(lambda: len(r.lines) >= want)
            continue
        if raw.startswith("@@big "):
            n = int(raw.split()[1])
            line = b"x" * 998 + b"\r\n"
            out += line * (n // 1000)
            continue
        out += codecs.escape_decode(raw.replace("\\n", "\n").encode())[0] + b"\r\n"
    try:
        sock.sendall(out)
    except BrokenPipeError:
        pass
    if hold:
        time.sleep(hold)
    r.wait_for(lambda: False)
    for l in r.lines:
        print(l)


main()
