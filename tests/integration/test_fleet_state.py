#!/usr/bin/python3
"""One state suite, two backends: every scenario runs against the file
backend and against a real redis-server with exactly the same assertions
(issue, verify, replay, attempts, caps, host cap, lockout, expiry, status
and reset, and concurrent logins without lost updates).  The Redis half
is skipped (not failed) when the build has no hiredis or redis-server is
missing."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fleet"))
from fleetlib import (RedisServer, Host, finish, wrong_code, status_numbers, build_has,  # noqa: E402
                      write_secret)
from otptest import TAP, cfgstr, workdir  # noqa: E402

USERS = [("u%d" % i, 2100 + i, 2100 + i, [], "U%d" % i, "+8190123450%02d" % i, None) for i in range(1, 9)]
N_PARALLEL = 8

t = TAP()
backends = ["file"]
skip_redis = None
if not build_has("HAVE_HIREDIS"):
    skip_redis = "the build has no Redis backend (hiredis missing)"
elif shutil.which("redis-server") is None:
    skip_redis = "redis-server is not installed (scripts/deps/fleet.txt)"
else:
    backends.append("redis")

top = workdir("otp-fleet-state-")
redis = RedisServer(top) if "redis" in backends else None
key_file = write_secret(os.path.join(top, "fleet.key"), os.urandom(32))
pw_file = write_secret(os.path.join(top, "redis.pw"), RedisServer.OTP_PASSWORD + "\n")
serial = [0]


def state_group(backend, host):
    """A fresh, empty state for one scenario."""
    serial[0] += 1
    if backend == "file":
        return "state: { path = %s; };" % cfgstr(host.state + "-%d" % serial[0])
    return ("state: { backend = \"redis\"; key_file = %s; redis = { url = %s; user = \"otp\"; "
            "password_file = %s; prefix = \"otp:s%d:\"; timeout = 3; }; };"
            % (cfgstr(key_file), cfgstr(redis.url()), cfgstr(pw_file), serial[0]))


def policy(ttl=300, attempts=10, resend=300, per_hour=5, host_hour=200, lockout_after=50):
    return ("code: { ttl = %d; max_attempts = %d; resend_after = %d; };\n"
            "limits: { sends_per_hour = %d; sends_per_day = 20; host_sends_per_hour = %d; "
            "lockout_after = %d; lockout_time = 900; };" % (ttl, attempts, resend, per_hour, host_hour, lockout_after))


def run_suite(b, h):
    def fresh(**kw):
        h.reconfigure(state_group(b, h), policy(**kw))
        h.gateway.received.clear()

    def sent():
        return len(h.gateway.received)

    # --- issue and verify, replay -------------------------------------------------
    fresh()
    r = h.login("u1", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "[%s] the code sent verifies" % b)
    code = h.sent_codes()[-1]
    st = h.ctl("status", "u1")
    t.ok(st.returncode == 0 and "pending code: none" in st.stdout and "1 in the last hour" in st.stdout,
         "[%s] status: code consumed, one send counted" % b, st.stdout + st.stderr)
    r = h.login("u1", code)
    t.ok(r.rc == "PAM_AUTH_ERR" and sent() == 2, "[%s] a used code is refused (a new one was sent)" % b, r)

    # --- a wrong answer, then the same code ----------------------------------------
    fresh()
    r = h.login("u2", "!fail")
    code = h.sent_codes()[-1]
    r = h.login("u2", wrong_code(code))
    t.eq(r.rc, "PAM_AUTH_ERR", "[%s] a wrong code is refused" % b)
    r = h.login("u2", code)
    t.ok(r.rc == "PAM_SUCCESS" and sent() == 1, "[%s] the outstanding code is reused and verifies" % b, r)
    a, f, _ = status_numbers(h.ctl("status", "u2").stdout)
    t.eq(f, 0, "[%s] success clears the consecutive failures" % b)

    # --- max attempts per code -------------------------------------------------------
    fresh(attempts=2)
    r = h.login("u3", "!fail")
    code = h.sent_codes()[-1]
    rs = [h.login("u3", wrong_code(code)).rc for _ in range(2)]
    t.eq(rs, ["PAM_AUTH_ERR", "PAM_MAXTRIES"], "[%s] the second wrong answer uses the code up" % b)
    r = h.login("u3", code)
    t.ok(r.rc == "PAM_AUTH_ERR" and sent() == 2, "[%s] a used-up code never verifies afterwards" % b, r)

    # --- per-user cap ----------------------------------------------------------------
    fresh(resend=0, per_hour=2)
    rs = [h.login("u4", "!fail").rc for _ in range(3)]
    t.ok(rs[2] == "PAM_MAXTRIES" and sent() == 2, "[%s] sends_per_hour = 2: the third send is refused" % b, rs)
    t.contains(h.log_text(), "limit=sends_per_hour", "[%s] logged as rate-limited sends_per_hour" % b)

    # --- host cap --------------------------------------------------------------------
    fresh(resend=0, host_hour=2)
    rs = [h.login(u, "!fail").rc for u in ("u1", "u2", "u3")]
    t.ok(rs[2] == "PAM_MAXTRIES" and sent() == 2, "[%s] host_sends_per_hour = 2: the third user is refused" % b, rs)
    t.contains(h.log_text(), "limit=host_sends_per_hour", "[%s] logged as rate-limited host_sends_per_hour" % b)

    # --- lockout, status, reset --------------------------------------------------------
    fresh(lockout_after=2)
    r = h.login("u5", "!fail")
    code = h.sent_codes()[-1]
    rs = [h.login("u5", wrong_code(code)).rc for _ in range(2)]
    t.eq(rs[1], "PAM_MAXTRIES", "[%s] lockout_after = 2 locks the user" % b)
    st = h.ctl("status", "u5")
    t.ok("locked: yes" in st.stdout, "[%s] status shows the lockout" % b, st.stdout + st.stderr)
    r = h.login("u5", code)
    t.ok(r.rc == "PAM_MAXTRIES" and sent() == 1, "[%s] locked: even the right code is refused, nothing sent" % b, r)
    p = h.ctl("reset", "u5")
    t.eq(p.returncode, 0, "[%s] reset exits 0" % b)
    st = h.ctl("status", "u5")
    t.ok("locked: no" in st.stdout and "pending code: none" in st.stdout and "0 in the last hour" in st.stdout,
         "[%s] reset cleared lockout, code and sends" % b, st.stdout)
    r = h.login("u5", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "[%s] after reset the user logs in" % b)

    # --- expiry --------------------------------------------------------------------------
    fresh(ttl=60)
    r = h.login("u6", "!fail")
    code = h.sent_codes()[-1]
    r = h.login("u6", code, env={"OTP_TEST_CLOCK_OFFSET": "120"})
    t.ok(r.rc == "PAM_AUTH_ERR" and sent() == 2, "[%s] an expired code is refused, a fresh one sent" % b, r)

    # --- concurrency: one code for many parallel logins, then no lost attempt --------------
    fresh(attempts=10, lockout_after=50)
    procs = [h.spawn("u7", "!fail") for _ in range(N_PARALLEL)]
    rs = finish(procs)
    t.ok(all(x.rc == "PAM_CONV_ERR" for x in rs), "[%s] %d parallel logins all reach the prompt" % (b, N_PARALLEL),
         [x.rc for x in rs])
    t.eq(sent(), 1, "[%s] %d parallel logins send exactly one code" % (b, N_PARALLEL))
    _, _, s = status_numbers(h.ctl("status", "u7").stdout)
    t.eq(s, 1, "[%s] and count exactly one send" % b)
    code = h.sent_codes()[-1]
    procs = [h.spawn("u7", wrong_code(code)) for _ in range(N_PARALLEL)]
    rs = finish(procs)
    t.ok(all(x.rc == "PAM_AUTH_ERR" for x in rs), "[%s] %d parallel wrong answers are all refused" % (b, N_PARALLEL),
         [x.rc for x in rs])
    a, f, _ = status_numbers(h.ctl("status", "u7").stdout)
    t.eq((a, f), (N_PARALLEL, N_PARALLEL), "[%s] no lost update: attempts and failures are exactly %d" % (b, N_PARALLEL))
    r = h.login("u7", "CODE")
    t.ok(r.rc == "PAM_SUCCESS" and sent() == 1, "[%s] the code still verifies after the storm" % b, r)
    log = h.log_text()
    t.ok("too many concurrent updates" not in log, "[%s] no login gave up on contention" % b)


try:
    for b in backends:
        h = Host(None, users=USERS)
        try:
            run_suite(b, h)
        finally:
            h.close()
    if skip_redis:
        t.ok(True, "# SKIP redis backend: %s" % skip_redis)
finally:
    if redis:
        redis.close()
    shutil.rmtree(top, ignore_errors=True)
t.done()
