"""smtpreplies.py: an SMTP client that records the reply to each message
(tests/milter/postfix.sh, the milter killed under load), and the check of
those replies against a Maildir tree.

  smtpreplies.py send PORT COUNT THREADS OUT [FIRST [UNTIL]]
      COUNT messages to bob@example.org over THREADS parallel sessions
      (one message per session, as most senders do), each with
      Message-ID <N@replies.test> (N from FIRST, 0 by default); a line "N CODE" is appended to OUT as
      each reply comes (CODE is the final reply's code, or "err" when the
      connection failed or dropped), flushed at once. With UNTIL (a file
      name), COUNT is the fewest: the sessions go on until UNTIL exists, so
      the load lasts as long as the test needs it, however fast the
      machine. Prints "sent M" (the messages started) at the end.
  smtpreplies.py check OUT MAILDIR
      prints "accepted=A tempfailed=T other=O delivered=D lost=L dup=U
      unacked=K":
      the replies by class, the Message-IDs <N@replies.test> found under
      MAILDIR, the 250s without a delivered copy, the copies delivered more
      than once, and the copies delivered without a 250 (the reply lost or
      a 4xx: a copy the sender will send again). Exit status 0 whatever
      the figures.
"""
import os
import re
import smtplib
import sys
import threading


def send_one(port, n):
    body = ("From: alice@example.org\r\nTo: bob@example.org\r\n"
            "Subject: replies %d\r\nMessage-ID: <%d@replies.test>\r\n\r\nmessage %d\r\n" % (n, n, n))
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    except (OSError, smtplib.SMTPException) as e:
        return getattr(e, "smtp_code", "err")
    try:
        s.ehlo("replies.test")
        code, _ = s.mail("alice@example.org")
        if code != 250:
            return code
        code, _ = s.rcpt("bob@example.org")
        if code not in (250, 251):
            return code
        code, _ = s.data(body.encode())
        return code
    except smtplib.SMTPResponseException as e:
        return e.smtp_code
    except (OSError, smtplib.SMTPException):
        return "err"
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()


def send(port, count, threads, out, first, until):
    lock = threading.Lock()
    nxt = [first]
    count += first
    f = open(out, "a")

    def worker():
        while True:
            with lock:
                if nxt[0] >= count and (until is None or os.path.exists(until)):
                    return
                n = nxt[0]
                nxt[0] += 1
            code = send_one(port, n)
            with lock:
                f.write("%d %s\n" % (n, code))
                f.flush()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    f.close()
    print("sent %d" % (nxt[0] - first))


def check(out, maildir):
    codes = {}
    for line in open(out):
        n, code = line.split()
        codes[int(n)] = code
    seen = {}
    for root, _, files in os.walk(maildir):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                m = re.search(rb"^Message-ID: <(\d+)@replies\.test>", fh.read(), re.M | re.I)
            if m:
                k = int(m.group(1))
                seen[k] = seen.get(k, 0) + 1
    acc = [n for n, c in codes.items() if c == "250"]
    tmp = [n for n, c in codes.items() if c.startswith("4")]
    print("accepted=%d tempfailed=%d other=%d delivered=%d lost=%d dup=%d unacked=%d" % (
        len(acc), len(tmp), len(codes) - len(acc) - len(tmp), len(seen),
        len([n for n in acc if n not in seen]), len([k for k, v in seen.items() if v > 1]),
        len([k for k in seen if codes.get(k) != "250"])))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
             int(sys.argv[6]) if len(sys.argv) > 6 else 0,
             sys.argv[7] if len(sys.argv) > 7 else None)
    else:
        check(sys.argv[2], sys.argv[3])
