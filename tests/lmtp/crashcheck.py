#!/usr/bin/env python3
"""crashcheck.py: the assertions of tests/lmtp/crash.sh over a Maildir tree.

usage: crashcheck.py MAILDIR ACKFILE LOG...

Checks, and prints one "name: detail" line per failure (exit 1), then a
summary line "files=N acked=N logged250=N tmp=N crashclient=N smtpsource=N":
- every file in a new/ is whole: it has a header end, its size is the S=
  its name promises, and its body is exactly what was sent (a crashclient
  message is rebuilt from its Message-ID; a smtp-source body is its
  digits-and-X lines ending in CRLF, the same octets in every copy);
- every "ID RCPT" in ACKFILE (the client's record of 250s) is a file with
  that Message-ID in RCPT's new/, and no id is in a mailbox twice;
- every 250 in the JSON logs is a file in that recipient's new/ whose
  Received names its queue id;
- no name in a tmp/ is also in the new/ beside it.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crashclient import body_for  # noqa: E402

fails = []


def fail(what, detail):
    if len(fails) < 40:
        print("%s: %s" % (what, detail))
    fails.append(what)


def mailbox_of(rcpt):
    local, domain = rcpt.lower().split("@", 1)
    return os.path.join(domain, local)


def main():
    md, ackfile, logs = sys.argv[1], sys.argv[2], sys.argv[3:]
    by_id = {}       # (mailbox, message id) -> file
    by_qid = {}      # (mailbox, queue id) -> file
    ref_body = None
    n_files = n_cc = n_ss = n_tmp = 0
    for dom in sorted(os.listdir(md)):
        for local in sorted(os.listdir(os.path.join(md, dom))):
            box = os.path.join(dom, local)
            new = os.path.join(md, box, "new")
            tmp = os.path.join(md, box, "tmp")
            names = set(os.listdir(new))
            for t in os.listdir(tmp):
                n_tmp += 1
                if t in names:
                    fail("tmp file also in new", os.path.join(box, t))
            for name in sorted(names):
                n_files += 1
                path = os.path.join(new, name)
                data = open(path, "rb").read()
                m = re.search(r",S=(\d+)", name)
                if not m or int(m.group(1)) != len(data):
                    fail("size is not S=", "%s: %d octets" % (path, len(data)))
                if b"\r\n\r\n" not in data:
                    fail("no header end", path)
                    continue
                head, body = data.split(b"\r\n\r\n", 1)
                q = re.search(rb"\bid ([0-9A-F]+)\b", head)
                if q:
                    by_qid[(box, q.group(1).decode())] = path
                mid = re.search(rb"(?im)^Message-ID: <([^@>]+)@crash\.test>", head)
                if mid:
                    n_cc += 1
                    key = (box, mid.group(1).decode())
                    if key in by_id:
                        fail("message in a mailbox twice", key[1])
                    by_id[key] = path
                    if body != body_for(key[1]):
                        fail("body differs from what was sent", "%s: %d octets" % (path, len(body)))
                    continue
                n_ss += 1
                whole = body.endswith(b"\r\n") and re.fullmatch(rb"[0-9X\r\n]*", body)
                if not whole:
                    fail("smtp-source body torn", "%s: %d octets" % (path, len(body)))
                elif ref_body is None:
                    ref_body = body
                elif body != ref_body:
                    fail("smtp-source bodies differ", "%s: %d octets, first %d" %
                         (path, len(body), len(ref_body)))
    acked = 0
    for l in open(ackfile):
        mid, rcpt = l.split()
        acked += 1
        if (mailbox_of(rcpt), mid) not in by_id:
            fail("acknowledged message not in new/", "%s for %s" % (mid, rcpt))
    logged = 0
    for lf in logs:
        for l in open(lf, errors="replace"):
            try:
                j = json.loads(l)
            except ValueError:
                continue   # the last line before a kill may be cut short
            if (j.get("reply") or {}).get("code") != 250:
                continue
            logged += 1
            if (mailbox_of(j["rcpt"]), j["queue_id"]) not in by_qid:
                fail("logged 250 not in new/", "%s for %s" % (j["queue_id"], j["rcpt"]))
    print("files=%d acked=%d logged250=%d tmp=%d crashclient=%d smtpsource=%d"
          % (n_files, acked, logged, n_tmp, n_cc, n_ss))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
