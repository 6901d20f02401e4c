#!/usr/bin/python3
"""Crashes and full disks in the middle of state updates (security.md tests
34, 35): a real login under strace is killed (SIGKILL) at every state-file
syscall of the update path in turn, or one of those syscalls fails with
ENOSPC, EIO, EDQUOT or EACCES.  Afterwards the record is the old one or a
complete new one (never torn), the state stays usable, temp files go away,
the login fails closed, and nothing is sent for a code that was not stored.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, LoginResult, PamEnv, tool  # noqa: E402
from hardening import decode_host, decode_record, leftovers, strace_env  # noqa: E402

t = TAP()
if shutil.which("strace") is None:
    print("1..0 # SKIP strace is not installed")
    sys.exit(0)
UID = 2001
SYSCALLS = "openat,write,fsync,renameat,unlinkat,linkat,mkdirat,flock"
env = PamEnv()
gw = env.gateway
env.config(extra="limits: { host_sends_per_hour = 1000000; sends_per_hour = 128; sends_per_day = 128; };")
env.service("otp")
RECORD = os.path.join(env.state, str(UID))
LATER = {"OTP_TEST_CLOCK_OFFSET": "61"}   # past resend_after: an unsent pending code is replaced


def traced(answers, trace, inject=None):
    """One login under strace; syscalls counted over the whole process
    (the sequence is deterministic: no threads, same libraries)."""
    out = os.path.join(env.dir, "strace.out")
    e, eargs = strace_env(env)
    cmd = ["strace", "-f", "-qq", "-y", "-o", out, "-e", "trace=" + trace] + eargs
    if inject:
        cmd += ["-e", "inject=" + inject]
    cmd += [tool("pamdrv"), env.pamd, "otp", "alice"] + [a if a != "CODE" else "@" + env.codefile for a in answers]
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=60)
    with open(out) as f:
        lines = [re.sub(r"^\d+ +", "", ln) for ln in f.read().splitlines()]
    return LoginResult(p), lines


def state_steps(answers):
    """[(syscall, n, line)]: the n-th call of syscall touches the state dir."""
    _, lines = traced(answers, SYSCALLS)
    seen, steps = {}, []
    for ln in lines:
        m = re.match(r"(\w+)\(", ln)
        if not m:
            continue
        sc = m.group(1)
        seen[sc] = seen.get(sc, 0) + 1
        if env.state in ln and sc != "flock":
            steps.append((sc, seen[sc], ln))
    return steps, lines


def reset():
    if os.path.isdir(env.state):
        p = env.ctl("reset", "alice")
        assert p.returncode == 0, p.stderr


def setup_existing():
    """A record with history and no pending code."""
    reset()
    r = env.login("alice", "CODE")
    assert r.rc == "PAM_SUCCESS", r


def setup_first_use():
    shutil.rmtree(env.state, ignore_errors=True)


def setup_pending():
    reset()
    r = env.login("alice", "!fail")
    assert r.rc == "PAM_CONV_ERR", r


def snapshot():
    try:
        with open(RECORD, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


SCENARIOS = [
    ("new code + wrong answer on an existing record", setup_existing, ["000000"]),
    ("first use: no state dir, key or record", setup_first_use, ["000000"]),
    ("correct answer consuming a pending code", setup_pending, ["CODE"]),
]

# --- the update path does what STATEFORMAT says ---------------------------------
setup_existing()
steps, lines = state_steps(["000000"])
opens = [ln for ln in lines if ln.startswith("openat(") and env.state in ln]
t.ok(opens and all("O_CLOEXEC" in ln and ("O_NOFOLLOW" in ln or "O_DIRECTORY" in ln) for ln in opens),
     "every state open is O_CLOEXEC and O_NOFOLLOW (%d opens)" % len(opens),
     [ln for ln in opens if "O_CLOEXEC" not in ln or "O_NOFOLLOW" not in ln])
seq = [re.match(r"(\w+)\(", ln).group(1) for ln in lines
       if env.state in ln and re.match(r"(write|fsync|renameat|flock)\(", ln)]
t.ok("write fsync flock renameat fsync" in " ".join(seq),
     "each rewrite is write, fsync, lock the new inode, rename, fsync the directory", seq)

# --- SIGKILL at every step -------------------------------------------------------------
total = 0
for name, setup, answers in SCENARIOS:
    setup()
    steps, _ = state_steps(answers)
    bad = []
    for sc, n, where in steps:
        setup()
        before = snapshot()
        r, tr = traced(answers, sc, inject="%s:signal=SIGKILL:when=%d" % (sc, n))
        total += 1
        killed_at = [ln for ln in tr if ln.endswith("= ?")]
        problems = []
        if r.rc != "NO-RESULT" or not killed_at or env.state not in killed_at[-1]:
            problems.append("not killed at the intended step: rc=%s %s" % (r.rc, killed_at[-1:]))
        rec = decode_record(env.state, UID)
        if rec is not None and rec["status"] not in ("ok", "empty"):
            problems.append("record %s" % rec)
        if rec is not None and rec["status"] == "ok" and not os.path.exists(os.path.join(env.state, ".key")):
            problems.append("a record without a key")
        host = decode_host(env.state) if os.path.isdir(env.state) else None
        if host is not None and host["status"] not in ("ok", "empty"):
            problems.append("host record %s" % host)
        after = snapshot()
        if after != before and (rec is None or rec["status"] != "ok") and not (before is None and rec["status"] == "empty"):
            problems.append("record changed but is not a complete new one")
        if os.path.isdir(env.state):
            p = env.ctl("status", "alice")
            if p.returncode != 0:
                problems.append("otp-smsctl status: %s" % p.stderr.strip())
        r2 = env.login("alice", "CODE", env=LATER)
        if r2.rc != "PAM_SUCCESS":
            problems.append("next login: %s" % r2.rc)
        if leftovers(env.state):
            problems.append("left behind after the next login: %s" % leftovers(env.state))
        if problems:
            bad.append("%s #%d (%s): %s" % (sc, n, where[:90], "; ".join(problems)))
    t.ok(len(steps) >= 12 and not bad, "%s: SIGKILL at each of %d state syscalls -> old or new record, "
         "never torn; the next login works and cleans up" % (name, len(steps)), "\n".join(bad))
print("# %d kill points" % total)

# --- ENOSPC, EIO, EDQUOT, EACCES ------------------------------------------------------------


def nth_step(steps, sc, path_part, k=1):
    """The call number of the k-th `sc` whose line mentions path_part."""
    hits = [n for s, n, ln in steps if s == sc and path_part in ln]
    return hits[k - 1] if len(hits) >= k else None


setup_existing()
steps, _ = state_steps(["000000"])
tmp = "/.%d.tmp>" % UID
FAULTS = [
    # (what, syscall, path in the line, k-th such call, errno)
    ("write of the new record (disk full)", "write", tmp, 1, "ENOSPC"),
    ("write of the new record (quota)", "write", tmp, 1, "EDQUOT"),
    ("fsync of the new record (I/O error)", "fsync", tmp, 1, "EIO"),
    ("rename of the new record", "renameat", ".%d.tmp" % UID, 1, "ENOSPC"),
    ("creation of the temp file", "openat", '".%d.tmp"' % UID, 1, "EACCES"),
    ("write of the host counter (disk full)", "write", "/.host.tmp>", 1, "ENOSPC"),
    ("fsync of the host counter (I/O error)", "fsync", "/.host.tmp>", 1, "EIO"),
]
for what, sc, part, k, err in FAULTS:
    n = nth_step(steps, sc, part, k)
    if n is None:
        t.ok(False, "issue path: %s not found in the trace" % what)
        continue
    setup_existing()
    before, host_before, n0 = snapshot(), decode_host(env.state), len(gw.received)
    mark = len(env.log_text())
    r, tr = traced(["000000"], sc, inject="%s:error=%s:when=%d" % (sc, err, n))
    log = env.log_text()[mark:]
    hit = [ln for ln in tr if "(INJECTED)" in ln]
    t.ok(hit and env.state in hit[0], "%s: %s injected at the intended call" % (what, err), hit or tr[-3:])
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and not r.prompts, "%s: %s -> PAM_AUTHINFO_UNAVAIL, no prompt" % (what, err), r)
    t.eq(len(gw.received), n0, "%s: %s -> nothing sent for a code that could not be stored" % (what, err))
    t.ok(snapshot() == before, "%s: %s -> the user's record is the old one, byte for byte" % (what, err))
    host = decode_host(env.state)
    t.ok(host is not None and host["status"] == "ok" and host["sends"] in (host_before["sends"], host_before["sends"] + 1),
         "%s: %s -> the host counter is intact (at most over-counts the attempted send)" % (what, err), (host_before, host))
    t.eq(leftovers(env.state), [], "%s: %s -> temp file removed" % (what, err))
    t.ok(re.search(r"event=state-error .*reason=", log) is not None, "%s: %s -> logged as event=state-error" % (what, err), log)
    r = env.login("alice", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "%s: %s -> the next login works at once" % (what, err))

# Failures while verifying: the attempt is not compared unless counted, and a
# correct code is never accepted unless its consumption is stored.
setup_pending()
steps, _ = state_steps(["CODE"])
code = gw.received[-1]["payload"]["code"]
for what, k, answer, want_rc in (("write-ahead of the attempt", 2, "CODE", "PAM_AUTHINFO_UNAVAIL"),
                                 ("consumption of a correct code", 3, "CODE", "PAM_AUTHINFO_UNAVAIL")):
    n = nth_step(steps, "write", tmp, k)
    setup_pending()
    before, n0 = decode_record(env.state, UID), len(gw.received)
    r, tr = traced([answer], "write", inject="write:error=ENOSPC:when=%d" % n)
    rec = decode_record(env.state, UID)
    t.ok(r.rc == want_rc and r.prompts, "%s fails (ENOSPC) -> %s, never PAM_SUCCESS" % (what, want_rc), r)
    want_attempts = 0 if k == 2 else 1
    t.ok(rec["status"] == "ok" and rec["code_active"] and rec["code_attempts"] == want_attempts,
         "%s fails -> the code stays pending with %d attempt(s) on disk" % (what, want_attempts), (before, rec))
    t.eq(leftovers(env.state), [], "%s fails -> temp file removed" % what)
    r = env.login("alice", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "%s fails -> the pending code still works afterwards" % what)

env.close()
t.done()
