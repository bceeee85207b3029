"""loadlib.py: what the LMTP test clients and servers share, imported by
tests/lmtp/storeload.py and tests/lmtp/relayload.py (load clients) and
tests/lmtp/faultd.py (a scripted server). Each script's own folder is
first on sys.path when it runs, so "import loadlib" finds this file.

Lines(s): CRLF lines read from the socket s (line(); EOFError when the
peer closed). Session(port, timeout): an LMTP session to 127.0.0.1:port
that has read the greeting and the LHLO reply; reply() reads one whole
reply (its last line), quit() ends the session, ignoring a broken one.
Counter(total, lock): next() gives 1, 2, ... total, then None, to any
number of threads. run_threads(n, target): n threads of target, joined.
"""
import socket
import threading


class Lines:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")


class Session(Lines):
    def __init__(self, port, timeout):
        super().__init__(socket.create_connection(("127.0.0.1", port), timeout=timeout))
        self.reply()                     # greeting
        self.s.sendall(b"LHLO load.test\r\n")
        self.reply()

    def reply(self):
        while True:
            l = self.line()
            if l[3:4] != "-":
                return l

    def quit(self):
        try:
            self.s.sendall(b"QUIT\r\n")
            self.reply()
        except (EOFError, OSError):
            pass


class Counter:
    def __init__(self, total, lock):
        self.total, self.lock, self.n = total, lock, 0

    def next(self):
        with self.lock:
            if self.n >= self.total:
                return None
            self.n += 1
            return self.n


def run_threads(n, target):
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
