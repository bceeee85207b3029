#!/usr/bin/env python3
"""bench_auth_rspamd.py: auth-aware evaluation, postern against rspamd
(the target: postern's CPU per message <= 0.5x rspamd 3.4's with only its
spf, dkim and dmarc modules).

Everything lives in a temporary directory, removed at the end:
  - one RSA-2048 key made with openssl; 50 sender domains senderN.example,
    each a zone of its own (SPF with an include, DMARC p=reject, the key
    under sel1._domainkey), served by NSD on a free loopback port
    (rrl-ratelimit: 0, run as the current user, stopped by its pid);
  - 5,000 messages (POSTERN_BENCH_QUICK=1: 200) of about 4 KB, signed here
    (DKIM relaxed/relaxed rsa-sha256, Python's cryptography); one in ten
    comes from an IP outside the sender's SPF, one in twenty has its body
    changed after signing;
  - rspamd with the stock configuration, every module but spf, dkim and
    dmarc disabled and no Lua rules (local.d/override.d in the temporary
    directory), its resolver pointed at the NSD, one normal worker on a free
    port; fed over HTTP /checkv2 with IP, From, Rcpt and Helo headers, 8
    requests in flight. Its CPU is the utime + stime from /proc of the
    main process and its workers, from after start-up (it answers /ping)
    to the last reply.
  - postern replay over the same messages (their envelope in a leading
    X-Postern-Envelope field, which postern strips before DKIM sees the
    message) with live DNS: POSTERN_DNS_SERVER=127.0.0.1@PORT sends
    libunbound's questions to the same NSD. A policy that reads spf, dkim
    and dmarc for every message. Its CPU is the whole process's
    (getrusage of the reaped child: start-up included, which only counts
    against postern).
Both must report DKIM pass for the messages signed and untouched, and
SPF and DMARC results in the expected proportions, or the run fails.
Prints auth-rspamd-cpu, auth-postern-cpu (ms/msg), auth-cpu-vs-rspamd
(ratio). Needs nsd, rspamd, openssl, python3-cryptography; a tool that is
absent is reported and the benchmark is skipped (exit 0).
"""
import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

QUICK = os.environ.get("POSTERN_BENCH_QUICK", "0") not in ("", "0")
NMSG = 200 if QUICK else 5000
NDOM = 50
INFLIGHT = 8
TICK = os.sysconf("SC_CLK_TCK")


def fail(why):
    print("bench_auth_rspamd: " + why, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", port))      # free for NSD's UDP too
    return port


# ---- DKIM signing (RFC 6376 relaxed/relaxed) --------------------------------

def canon_header(name, value):
    v = re.sub(r"[ \t]+", " ", value.replace("\r\n", "")).strip()
    return name.lower().strip() + ":" + v


def canon_body(body):
    lines = body.split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [re.sub(r"[ \t]+", " ", ln).rstrip(" \t") for ln in lines]
    while lines and lines[-1] == "":
        lines.pop()
    return "".join(ln + "\r\n" for ln in lines)


def sign(key, domain, headers, body, when):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    bh = base64.b64encode(hashlib.sha256(canon_body(body).encode()).digest()).decode()
    names = [n for n, _ in headers]
    value = ("v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=sel1; t=%d; h=%s; bh=%s; b="
             % (domain, when, ":".join(n.lower() for n in names), bh))
    data = "".join(canon_header(n, v) + "\r\n" for n, v in headers)
    data += canon_header("DKIM-Signature", " " + value)
    sig = key.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())
    return "DKIM-Signature: " + value + base64.b64encode(sig).decode()


# ---- the corpus --------------------------------------------------------------

def make_corpus(tmp, key):
    corpus = os.path.join(tmp, "corpus")
    os.mkdir(corpus)
    msgs = []
    when = int(time.time()) - 3600
    filler = ("The quarterly figures are attached below; please check them before "
              "the meeting on Friday and tell me what you think.\r\n")
    for k in range(NMSG):
        d = k % NDOM
        dom = "sender%d.example" % d
        spf_ok = k % 10 != 7
        dkim_ok = k % 20 != 13
        ip = "198.18.%d.%d" % (d, 10 + k % 200) if spf_ok else "203.0.113.%d" % (1 + k % 250)
        env = {"ip": ip, "helo": "mx.%s" % dom, "from": "bounce@%s" % dom,
               "rcpt": "user%d@example.net" % (k % 100)}
        headers = [
            ("From", " News <news@%s>" % dom),
            ("To", " <%s>" % env["rcpt"]),
            ("Subject", " Report number %d for %s" % (k, dom)),
            ("Date", " Tue, 14 Nov 2023 22:13:20 +0000"),
            ("Message-ID", " <%d.%d@%s>" % (k, when, dom)),
        ]
        body = "Hello,\r\n\r\n" + filler * 25 + "-- \r\nThe %s team\r\n" % dom
        sig = sign(key, dom, headers, body, when)
        if not dkim_ok:
            body = body.replace("Friday", "Monday", 1)
        extra = ("Received: from mx.%s (mx.%s [%s]) by mx.example.net with ESMTPS id %08x"
                 " for <%s>; Tue, 14 Nov 2023 22:13:21 +0000\r\n"
                 "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                 % (dom, dom, ip, k, env["rcpt"]))
        msg = (sig + "\r\n" + extra + "".join("%s:%s\r\n" % h for h in headers) + "\r\n" + body)
        envfield = ("X-Postern-Envelope: client-ip=%s; helo=%s; mail-from=%s; rcpt=%s\r\n"
                    % (env["ip"], env["helo"], env["from"], env["rcpt"]))
        with open(os.path.join(corpus, "m%05d.eml" % k), "w", newline="") as f:
            f.write(envfield + msg)
        msgs.append((env, msg.encode(), spf_ok, dkim_ok))
    return corpus, msgs


# ---- NSD ---------------------------------------------------------------------

def start_nsd(tmp, pubkey_b64, procs):
    d = os.path.join(tmp, "nsd")
    os.mkdir(d)
    port = free_port()
    chunks = [pubkey_b64[i:i + 200] for i in range(0, len(pubkey_b64), 200)]
    keyrec = " ".join('"%s"' % c for c in ["v=DKIM1; k=rsa; p=" + chunks[0]] + chunks[1:])
    conf = ["server:", "  ip-address: 127.0.0.1", "  port: %d" % port,
            '  username: ""', '  chroot: ""', "  zonesdir: %s" % d,
            '  database: ""', "  zonelistfile: %s/zone.list" % d, "  xfrdir: %s" % d,
            "  xfrdfile: %s/xfrd.state" % d, "  pidfile: %s/nsd.pid" % d,
            "  logfile: %s/nsd.log" % d, "  server-count: 1", "  rrl-ratelimit: 0",
            "  verbosity: 0", "remote-control:", "  control-enable: no"]
    for i in range(NDOM):
        dom = "sender%d.example" % i
        with open(os.path.join(d, dom + ".zone"), "w") as f:
            f.write("$ORIGIN %s.\n$TTL 3600\n"
                    "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n"
                    "@ IN NS ns\nns IN A 127.0.0.1\n"
                    '@ IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.%s -all"\n'
                    '_spf IN TXT "v=spf1 ip4:198.18.%d.0/24 -all"\n'
                    "mx IN A 198.18.%d.25\n"
                    '_dmarc IN TXT "v=DMARC1; p=reject"\n'
                    "sel1._domainkey IN TXT %s\n" % (dom, dom, dom, dom, i, i, keyrec))
        conf += ["zone:", "  name: %s" % dom, "  zonefile: %s.zone" % dom]
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write("\n".join(conf) + "\n")
    proc = subprocess.Popen(["nsd", "-d", "-c", os.path.join(d, "nsd.conf")],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "err"), "w"))
    procs.append(proc)
    # Ready when it answers a question for one of its zones.
    q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" +
         b"".join(bytes([len(p)]) + p.encode() for p in "sender0.example".split(".")) +
         b"\x00\x00\x10\x00\x01")
    for _ in range(100):
        if proc.poll() is not None:
            fail("nsd exited: " + open(os.path.join(d, "err")).read())
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.1)
                s.sendto(q, ("127.0.0.1", port))
                r = s.recv(4096)
                if len(r) > 12 and r[3] & 0x0f == 0:
                    return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    fail("nsd did not answer on port %d" % port)


# ---- rspamd ------------------------------------------------------------------

def rspamd_conf(tmp, dns_port):
    etc = os.path.join(tmp, "rspamd")
    for sub in ("local.d", "override.d", "db", "run", "log"):
        os.makedirs(os.path.join(etc, sub))
    port = free_port()
    keep = {"spf", "dkim", "dmarc"}
    names = set()
    for d, ext in (("/etc/rspamd/modules.d", ".conf"), ("/usr/share/rspamd/plugins", ".lua")):
        if os.path.isdir(d):
            names |= {f[:-len(ext)] for f in os.listdir(d) if f.endswith(ext)}
    names |= {"chartable", "fuzzy_check", "regexp"}      # the C modules
    for name in sorted(names):
        if name not in keep:
            with open(os.path.join(etc, "override.d", name + ".conf"), "w") as o:
                o.write("enabled = false;\n")
    def put(sub, name, text):
        with open(os.path.join(etc, sub, name), "w") as o:
            o.write(text)
    put("local.d", "options.inc",
        'dns { nameserver = ["127.0.0.1:%d"]; timeout = 2s; retransmits = 2; }\n'
        "local_addrs = [];\n" % dns_port)
    put("override.d", "worker-normal.inc",
        'bind_socket = "127.0.0.1:%d";\ncount = 1;\nmime = true;\n' % port)
    put("override.d", "worker-controller.inc", "enabled = false;\n")
    put("override.d", "worker-proxy.inc", "enabled = false;\n")
    put("override.d", "worker-fuzzy.inc", "enabled = false;\n")
    put("override.d", "logging.inc", 'type = "file";\nfilename = "%s/log/rspamd.log";\nlevel = "error";\n' % etc)
    put("override.d", "statistic.conf", "")
    # No Lua rules (rules/*.lua: regexp, headers, misc ...): only the modules.
    put(".", "empty.lua", "-- no rules\n")
    put(".", "rspamd.conf.local.override", 'lua = "%s/empty.lua";\n' % etc)
    return etc, port


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK   # utime, stime


def proc_name(pid):
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().split("\0")[0].replace("rspamd: ", "")
    except OSError:
        return str(pid)


def rspamd_pids(main):
    pids = [main]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == main:
                        pids.append(int(p))
            except OSError:
                pass
    return pids


def start_rspamd(etc, port, procs):
    user = ["-u", "root", "-g", "root", "-i"] if os.getuid() == 0 else []
    # DBDIR keeps rspamd's compiled Hyperscan databases: made cold they
    # cost about 30 s of start-up (never measured), so it lives in the build
    # tree (tests/bench/rspamd-db) and is reused by later runs.
    dbdir = etc + "/db"
    if os.environ.get("top_builddir"):
        dbdir = os.path.join(os.path.abspath(os.environ["top_builddir"]), "tests", "bench",
                             "rspamd-db")
        os.makedirs(dbdir, exist_ok=True)
    cmd = ["rspamd", "-f", "-c", "/etc/rspamd/rspamd.conf"] + user + [
        "--var=LOCAL_CONFDIR=" + etc, "--var=DBDIR=" + dbdir,
        "--var=RUNDIR=" + etc + "/run", "--var=LOGDIR=" + etc + "/log"]
    proc = subprocess.Popen(cmd, stdout=open(etc + "/log/stdout", "w"), stderr=subprocess.STDOUT)
    procs.append(proc)
    for _ in range(1200):                   # its start-up takes seconds
        if proc.poll() is not None:
            fail("rspamd exited:\n" + open(etc + "/log/stdout").read()[-3000:] +
                 open(etc + "/log/rspamd.log").read()[-3000:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/ping")
            if c.getresponse().status == 200:
                c.close()
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    fail("rspamd did not answer /ping on port %d" % port)


def rspamd_pass(port, msgs):
    """Every message once over /checkv2, INFLIGHT at a time; their symbols."""
    def worker(chunk):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out = []
        for env, raw, _, _ in chunk:
            c.request("POST", "/checkv2", body=raw,
                      headers={"IP": env["ip"], "From": env["from"], "Rcpt": env["rcpt"],
                               "Helo": env["helo"]})
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                fail("rspamd answered %d: %r" % (r.status, body[:200]))
            out.append(set(json.loads(body).get("symbols", {})))
        c.close()
        return out
    chunks = [msgs[i::INFLIGHT] for i in range(INFLIGHT)]
    with concurrent.futures.ThreadPoolExecutor(INFLIGHT) as ex:
        res = list(ex.map(worker, chunks))
    ordered = [None] * len(msgs)
    for i, r in enumerate(res):
        for j, s in enumerate(r):
            ordered[i + j * INFLIGHT] = s
    return ordered


# Every message reads spf, dkim and dmarc (DMARC needs both), and its
# decision says which passed: replay counts the deciding rules.
POLICY = """# bench_auth_rspamd: SPF, DKIM and DMARC for every message
rule dns_trouble {
  when spf == temperror or dkim == temperror or dmarc == temperror
  then tempfail "DNS trouble";
}
rule all_pass { when dmarc == pass and spf == pass and dkim == pass then accept; }
rule dkim_only { when dmarc == pass and dkim == pass then quarantine "dkim-only"; }
rule spf_only { when dmarc == pass and spf == pass then discard; }
rule dmarc_reject {
  when dmarc == fail and dmarc.policy == reject
  then reject 550 5.7.1 "DMARC policy of ${from.domain} says reject";
}
"""


def main():
    for tool in ("nsd", "rspamd", "openssl"):
        if shutil.which(tool) is None:
            print("# bench_auth_rspamd: %s not installed, skipped" % tool)
            return 0
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        print("# bench_auth_rspamd: python3-cryptography not installed, skipped")
        return 0
    postern = os.environ.get("POSTERN", "./postern")
    tmp = tempfile.mkdtemp(prefix="bench_auth.")
    procs = []
    try:
        keyfile = os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", keyfile], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(keyfile, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        pub = base64.b64encode(key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
        t0 = time.time()
        corpus, msgs = make_corpus(tmp, key)
        nsd, dns_port = start_nsd(tmp, pub, procs)
        print("# bench_auth_rspamd: %d signed messages from %d domains (%.1f s to make), "
              "NSD on 127.0.0.1@%d" % (len(msgs), NDOM, time.time() - t0, dns_port))
        want_dkim = sum(1 for m in msgs if m[3])
        want_spf = sum(1 for m in msgs if m[2])
        want_dmarc = sum(1 for m in msgs if m[2] or m[3])

        # rspamd
        etc, rport = rspamd_conf(tmp, dns_port)
        t0 = time.time()
        rspamd = start_rspamd(etc, rport, procs)
        print("# rspamd started in %.1f s" % (time.time() - t0))
        time.sleep(0.5)                     # workers settle after /ping
        pids = rspamd_pids(rspamd.pid)
        c0s = {p: proc_cpu(p) for p in pids}
        c0 = sum(c0s.values())
        w0 = time.time()
        syms = rspamd_pass(rport, msgs)
        wall_r = time.time() - w0
        c1s = {p: proc_cpu(p) for p in pids}
        cpu_r = sum(c1s.values()) - c0
        print("# rspamd CPU by process: " + ", ".join(
            "%s %.2f s" % (proc_name(p), c1s[p] - c0s[p]) for p in pids))
        got_dkim = sum(1 for s in syms if "R_DKIM_ALLOW" in s)
        got_spf = sum(1 for s in syms if "R_SPF_ALLOW" in s)
        got_dmarc = sum(1 for s in syms if "DMARC_POLICY_ALLOW" in s)
        print("# rspamd (%d processes): dkim pass %d/%d, spf pass %d/%d, dmarc pass %d/%d, "
              "%.1f s wall" % (len(pids), got_dkim, want_dkim, got_spf, want_spf, got_dmarc,
                               want_dmarc, wall_r))
        if (got_dkim, got_spf, got_dmarc) != (want_dkim, want_spf, want_dmarc):
            print("# rspamd symbols of the first message: %s" % sorted(syms[0]))
            fail("rspamd's results are not the ones the corpus was built for")

        # postern
        rules = os.path.join(tmp, "bench.rules")
        with open(rules, "w") as f:
            f.write(POLICY)
        env = dict(os.environ, POSTERN_DNS_SERVER="127.0.0.1@%d" % dns_port)
        w0 = time.time()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.Popen([postern, "replay", "--rules", rules, "--json", corpus],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = p.communicate()
        status = p.returncode
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Only postern was reaped in between (NSD and rspamd still run).
        postern_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        wall_p = time.time() - w0
        if status != 0:
            fail("postern replay exited %d: %s" % (status, err.decode()[-2000:]))
        rep = json.loads(out)
        r = rep.get("rules", {})
        both = sum(1 for m in msgs if m[2] and m[3])
        got = (r.get("all_pass", 0), r.get("dkim_only", 0), r.get("spf_only", 0))
        want = (both, want_dkim - both, want_spf - both)
        print("# postern: spf+dkim+dmarc pass %d/%d, dkim+dmarc only %d/%d, spf+dmarc only %d/%d, "
              "%.1f s wall" % (got[0], want[0], got[1], want[1], got[2], want[2], wall_p))
        if got != want or rep.get("messages") != len(msgs):
            print("# postern replay said: " + out.decode()[:2000])
            fail("postern's results are not the ones the corpus was built for")
        cpu_p = postern_cpu
        ms_r = cpu_r * 1000 / len(msgs)
        ms_p = cpu_p * 1000 / len(msgs)
        print("auth-rspamd-cpu %.3f ms/msg" % ms_r)
        print("auth-postern-cpu %.3f ms/msg" % ms_p)
        print("auth-cpu-vs-rspamd %.2f x" % (ms_p / ms_r))
        print("# auth-cpu-vs-rspamd target <= 0.5 x: %s" % ("met" if ms_p / ms_r <= 0.5 else "missed"))
        return 0
    finally:
        for pr in reversed(procs):
            if pr.poll() is None:
                pr.send_signal(signal.SIGTERM)
                try:
                    pr.wait(10)
                except subprocess.TimeoutExpired:
                    pr.kill()
                    pr.wait()
        if os.environ.get("BENCH_KEEP_TMP"):
            print("# kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
