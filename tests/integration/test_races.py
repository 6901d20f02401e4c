#!/usr/bin/python3
"""Races on one user's state, with real logins (tests/pamdrv) released
together by a pipe barrier: double spend of one code, lost updates of the
attempt and failure counters (with and without a state file), lock holders
that are stopped or killed, and write-ahead counting of an attempt whose
process is killed before its verdict (security.md tests 10, 12, 13, 14).

OTP_RACE_ROUNDS sets the double-spend rounds (default 12; `make
check-hardening-long` runs 500).
"""
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, PamEnv  # noqa: E402
from hardening import children, decode_record, leftovers, race, strace_login  # noqa: E402

t = TAP()
if shutil.which("strace") is None:
    print("1..0 # SKIP strace is not installed")
    sys.exit(0)
ROUNDS = int(os.environ.get("OTP_RACE_ROUNDS", "12"))
N_SPEND = 32
N_GUESS = 50
env = PamEnv()
gw = env.gateway
env.service("otp")
UID = 2001
# The races are about locking, not disk speed: keep the state on tmpfs when
# there is one, so fsync latency cannot push a waiter past the lock timeout.
shm = None
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    shm = tempfile.mkdtemp(prefix="otp-races-", dir="/dev/shm")
    env.state = os.path.join(shm, "state")


def reset():
    p = env.ctl("reset", "alice")
    assert p.returncode == 0, p.stderr


def new_log(mark):
    return env.log_text()[mark:]


def fresh_code():
    """Leave a pending code for alice (the conversation fails after the send)."""
    r = env.login("alice", "!fail")
    assert r.rc == "PAM_CONV_ERR", r
    return gw.received[-1]["payload"]["code"]


# --- 12: double spend -----------------------------------------------------------
# No host cap in the way of many rounds; everything else as shipped.
env.config(extra="limits: { host_sends_per_hour = 1000000; };")
bad, slowest, started = [], 0.0, time.time()
for rnd in range(ROUNDS):
    reset()
    code = fresh_code()
    mark = len(env.log_text())
    res, secs = race(env, N_SPEND, [code])
    slowest = max(slowest, secs)
    rcs = [r.rc for r in res]
    log = new_log(mark)
    if (rcs.count("PAM_SUCCESS") != 1 or not set(rcs) <= {"PAM_SUCCESS", "PAM_AUTH_ERR", "PAM_MAXTRIES"}
            or log.count("event=verified ") != 1):
        bad.append((rnd, sorted(rcs), log.count("event=verified ")))
t.eq(bad, [], "%d processes x %d rounds submit one valid code together: exactly one PAM_SUCCESS per round, "
     "the rest PAM_AUTH_ERR/PAM_MAXTRIES" % (N_SPEND, ROUNDS))
print("# double spend: %d rounds in %.1f s, slowest round %.2f s" % (ROUNDS, time.time() - started, slowest))
t.not_contains(env.log_text(), "event=state-error", "no state error under contention")
t.not_contains(env.log_text(), "event=lock-timeout", "no lock timeout under contention")
rec = decode_record(env.state, UID)
t.ok(rec is not None and rec["status"] == "ok", "the record decodes after the races", rec)
t.eq(leftovers(env.state), [], "no temp file left in the state dir")

# --- 13: lost updates of the counters --------------------------------------------
# max_attempts 10 voids a code after 10 wrong answers; a later login then
# issues (and sends) the next one.  lockout_after 100 keeps all 50 counted
# wrong answers in consecutive_failures.
env.config(extra="code: { max_attempts = 10; resend_after = 3600; }; "
           "limits: { lockout_after = 100; sends_per_hour = 128; sends_per_day = 128; "
           "host_sends_per_hour = 1000000; };")


def guesses(case, pre_sent):
    """Race N_GUESS wrong answers; check counters against what was logged
    and sent.  pre_sent: codes already pending before the race (0 or 1)."""
    mark = len(env.log_text())
    n0 = len(gw.received)
    res, secs = race(env, N_GUESS, ["000000"])
    rcs = [r.rc for r in res]
    log = new_log(mark)
    sent = len(gw.received) - n0
    counted = [int(m) for m in re.findall(r'event=failed .*reason="wrong code" attempts=(\d+)', log)]
    nocode = len(re.findall(r"event=failed .*no valid code", log))
    t.ok(set(rcs) <= {"PAM_AUTH_ERR", "PAM_MAXTRIES"} and len(rcs) == N_GUESS,
         "%s: %d concurrent wrong answers -> only PAM_AUTH_ERR/PAM_MAXTRIES" % (case, N_GUESS), sorted(set(rcs)))
    t.eq(len(counted) + nocode, N_GUESS, "%s: every login logged one verdict (%d counted, %d found no live code)"
         % (case, len(counted), nocode))
    rec = decode_record(env.state, UID)
    t.ok(rec is not None and rec["status"] == "ok", "%s: the record decodes (MACs verify)" % case, rec)
    if rec is None or rec["status"] != "ok":
        return
    t.eq(rec["consecutive_failures"], len(counted),
         "%s: consecutive_failures equals the counted wrong answers (%d)" % (case, len(counted)))
    codes = pre_sent + sent
    last = rec["code_attempts"] if rec["code_active"] else 10
    want = sorted(list(range(1, 11)) * (codes - 1) + list(range(1, last + 1)))
    t.eq(sorted(counted), want, "%s: per-code attempt numbers 1..10 each logged once per code (%d codes, "
         "no lost or doubled update)" % (case, codes))
    t.eq(rec["nsends"], codes, "%s: the record counts every send the gateway received (%d)" % (case, codes))
    p = env.ctl("status", "alice")
    t.ok(p.returncode == 0 and ("consecutive failures: %d " % len(counted)) in p.stdout,
         "%s: otp-smsctl status agrees" % case, p.stdout + p.stderr)
    print("# %s: %d counted, %d sends, %.2f s" % (case, len(counted), sent, secs))


reset()
fresh_code()
guesses("existing record", 1)
shutil.rmtree(env.state)
guesses("no state dir, no key, no record", 0)
t.eq(leftovers(env.state), [], "no temp or key file left after the first-use race")

# --- 14: lock holders that stop or die ------------------------------------------------
env.config()
reset()
code = fresh_code()
before = open(os.path.join(env.state, str(UID)), "rb").read()
n0 = len(gw.received)
# A real login stopped (SIGSTOP) inside its first state commit, holding the lock.
trace_out = os.path.join(env.dir, "holder.strace")
holder = strace_login(env, "fsync:signal=SIGSTOP:when=1", answers=["000000"], trace="fsync", popen=True,
                      log=trace_out)
stopped, deadline = False, time.time() + 20
while not stopped and time.time() < deadline and holder.poll() is None:
    time.sleep(0.01)
    try:
        stopped = "stopped by SIGSTOP" in open(trace_out).read()
    except OSError:
        pass
pids = children(holder.pid)
t.ok(stopped and len(pids) == 1, "a login is stopped (SIGSTOP) inside a state commit, holding the lock")
mark = len(env.log_text())
start = time.time()
r = env.login("alice", "CODE")
took = time.time() - start
t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and not r.prompts, "stopped lock holder: the next login fails closed "
     "(PAM_AUTHINFO_UNAVAIL, no prompt)", r)
t.ok(2.9 <= took < 6, "... after the bounded 3 s lock wait (%.2f s)" % took)
t.contains(new_log(mark), "event=lock-timeout ", "... logged as event=lock-timeout")
t.eq(len(gw.received), n0, "... and nothing was sent")
t.ok(open(os.path.join(env.state, str(UID)), "rb").read() == before, "the record is untouched meanwhile")
for pid in pids:
    os.kill(pid, signal.SIGKILL)
try:
    holder.communicate(timeout=20)
except Exception:
    holder.kill()
    holder.communicate()
start = time.time()
r = env.login("alice", code)
t.ok(r.rc == "PAM_SUCCESS" and time.time() - start < 2.5,
     "lock holder SIGKILLed: the kernel drops its lock, the next login proceeds at once and the code works", r)
t.eq(leftovers(env.state), [], "the killed holder's temp file was cleaned up by the next commit")

# --- 10: write-ahead attempt counting --------------------------------------------------
# With a pending code a login renames three times: reuse commit, write-ahead
# attempt, verdict.  SIGKILL on entering the third rename: the process has
# answered and compared, but never returns.
reset()
code = fresh_code()
wrong = "%06d" % ((int(code) + 1) % 1000000)
for i in range(1, 4):
    r, tr = strace_login(env, "renameat:signal=SIGKILL:when=3", answers=[wrong], trace="renameat")
    rec = decode_record(env.state, UID) or {}
    t.ok(r.rc == "NO-RESULT" and "killed by SIGKILL" in tr and tr.count("renameat(") == 3,
         "kill %d: wrong answer given, process killed before its verdict" % i, tr[-400:])
    t.ok(rec.get("status") == "ok" and rec.get("code_attempts") == i and rec.get("consecutive_failures") == i,
         "kill %d: the attempt is on disk anyway (attempts %d)" % (i, i), rec)
r = env.login("alice", code)
t.eq(r.rc, "PAM_AUTH_ERR", "after max_attempts killed guesses the code is void: no free guesses")
t.ok("wrong code" in env.log_text().splitlines()[-1], "... (a fresh code was issued; the old one is refused)",
     env.log_text().splitlines()[-1])
# A correct answer killed before its verdict: counted, not consumed, still usable.
reset()
code = fresh_code()
r, tr = strace_login(env, "renameat:signal=SIGKILL:when=3", answers=[code], trace="renameat")
rec = decode_record(env.state, UID) or {}
t.ok(rec.get("code_active") and rec.get("code_attempts") == 1, "correct answer killed before the verdict: "
     "attempt counted, code not consumed", rec)
r = env.login("alice", code)
t.eq(r.rc, "PAM_SUCCESS", "... and the code still works once")
r = env.login("alice", code)
t.eq(r.rc, "PAM_AUTH_ERR", "... and only once")

env.close()
if shm:
    shutil.rmtree(shm, ignore_errors=True)
t.done()
