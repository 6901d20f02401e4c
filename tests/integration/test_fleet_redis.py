#!/usr/bin/python3
"""The Redis state backend against a real Debian redis-server: two module
instances with separate configs and state dirs stand for two hosts of a
fleet (same Redis, same key file) and share a user's code, caps and
lockout; host B runs on another machine's boot clock (OTP_TEST_BOOT_OFFSET)
and with a skewed wall clock.  Redis down before or during a login, a
hanging or non-Redis server, bad credentials, ACL refusals, a host with
another key and TLS problems all fail closed (PAM_AUTHINFO_UNAVAIL) and
never fall back to local files.  Also: TLS (rediss://) with the test CA,
key layout and expiry, SELECT, otp-smsctl check/status/reset."""
import os
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fleet"))
from fleetlib import (RedisServer, Host, finish, wrong_code, status_numbers, build_has,  # noqa: E402
                      skip_all, write_secret)
from otptest import TAP, Certs, cfgstr, workdir  # noqa: E402

if not build_has("HAVE_HIREDIS"):
    skip_all("the build has no Redis backend (hiredis missing)")
if shutil.which("redis-server") is None:
    skip_all("redis-server is not installed (scripts/deps/fleet.txt)")

t = TAP()
top = workdir("otp-fleet-redis-")
certs = Certs(top)
redis = RedisServer(top, certs)
key_file = write_secret(os.path.join(top, "fleet.key"), os.urandom(32))
pw_file = write_secret(os.path.join(top, "redis.pw"), RedisServer.OTP_PASSWORD + "\n")
hosts_file = os.path.join(top, "hosts")
with open(hosts_file, "w") as f:
    f.write("127.0.0.1 redis.test\n")
BOOT_B = {"OTP_TEST_BOOT_OFFSET": "500000"}   # host B booted at another time: another boot clock


def rstate(prefix="otp:", url=None, user="otp", password_file=None, key=None, timeout=2, ca_file=None):
    parts = ["url = %s;" % cfgstr(url or redis.url()), "prefix = %s;" % cfgstr(prefix),
             "timeout = %d;" % timeout]
    if user:
        parts.append("user = %s;" % cfgstr(user))
    pf = pw_file if password_file is None else password_file
    if pf:
        parts.append("password_file = %s;" % cfgstr(pf))
    if ca_file:
        parts.append("ca_file = %s;" % cfgstr(ca_file))
    return "state: { backend = \"redis\"; key_file = %s; redis = { %s }; };" % (
        cfgstr(key or key_file), " ".join(parts))


def policy(resend=300, per_hour=5, attempts=10, lockout_after=50):
    return ("code: { ttl = 300; max_attempts = %d; resend_after = %d; };\n"
            "limits: { sends_per_hour = %d; sends_per_day = 20; lockout_after = %d; lockout_time = 900; };"
            % (attempts, resend, per_hour, lockout_after))


A = Host(rstate(), policy())
B = Host(rstate(), policy())
hosts = [A, B]
serial = [0]


def both(prefix=None, **kw):
    """Point both hosts at a fresh prefix with the given policy."""
    serial[0] += 1
    p = prefix or "otp:f%d:" % serial[0]
    for h in (A, B):
        h.reconfigure(rstate(prefix=p), policy(**kw))
        h.gateway.received.clear()
    return p


def loginB(*a, env=None, **kw):
    e = dict(BOOT_B)
    e.update(env or {})
    return B.login(*a, env=e, **kw)


try:
    # --- a code sent by A verifies on B; a code used on A is refused on B ----------
    both()
    r = A.login("alice", "!fail")
    t.ok(r.rc == "PAM_CONV_ERR" and len(A.gateway.received) == 1, "host A sends a code", r)
    code = A.sent_codes()[-1]
    r = loginB("alice", code)
    t.eq(r.rc, "PAM_SUCCESS", "host B (another boot clock) verifies the code host A sent")
    t.eq(len(B.gateway.received), 0, "host B sent nothing: it reused A's outstanding code")
    t.contains(B.log_text(), "event=verified", "host B logged the verification")
    r = A.login("alice", code)
    t.ok(r.rc == "PAM_AUTH_ERR" and len(A.gateway.received) == 2,
         "the code consumed on B is refused on A (A sends a new one)", r)
    code2 = A.sent_codes()[-1]
    r = A.login("alice", code2)
    t.eq(r.rc, "PAM_SUCCESS", "host A verifies its new code")
    r = loginB("alice", code2)
    t.ok(r.rc == "PAM_AUTH_ERR" and len(B.gateway.received) == 1 and B.sent_codes()[-1] != code2,
         "a code used on A is refused on B", r)

    # --- clock skew between hosts ---------------------------------------------------------
    both()
    A.login("alice", "!fail")
    code = A.sent_codes()[-1]
    r = loginB("alice", code, env={"OTP_TEST_CLOCK_OFFSET": "-7"})
    t.eq(r.rc, "PAM_SUCCESS", "host B with its wall clock 7 s behind A still verifies A's code")

    # --- shared caps and lockout --------------------------------------------------------------
    both(resend=0, per_hour=2)
    rs = [A.login("grace", "!fail").rc, loginB("grace", "!fail").rc, A.login("grace", "!fail").rc]
    t.ok(rs[2] == "PAM_MAXTRIES" and len(A.gateway.received) + len(B.gateway.received) == 2,
         "sends_per_hour = 2 is shared: one send on A, one on B, the third refused", rs)
    _, _, s = status_numbers(B.ctl("status", "grace").stdout)
    t.eq(s, 2, "otp-smsctl status on B counts the sends of both hosts")
    both(lockout_after=2)
    A.login("alice", "!fail")
    code = A.sent_codes()[-1]
    rs = [A.login("alice", wrong_code(code)).rc, loginB("alice", wrong_code(code)).rc]
    t.eq(rs, ["PAM_AUTH_ERR", "PAM_MAXTRIES"], "failures on A and B add up to a lockout")
    r = A.login("alice", code)
    t.ok(r.rc == "PAM_MAXTRIES" and len(A.gateway.received) == 1, "locked on A by B's failure, nothing sent", r)
    st = A.ctl("status", "alice")
    t.ok("locked: yes" in st.stdout, "status on A shows the lockout", st.stdout + st.stderr)
    p = B.ctl("reset", "alice")
    st = A.ctl("status", "alice")
    t.ok(p.returncode == 0 and "locked: no" in st.stdout, "reset on B clears it for A", st.stdout + p.stderr)

    # --- concurrent logins on both hosts ----------------------------------------------------------
    both()
    procs = [h.spawn("alice", "!fail", env=BOOT_B if h is B else None) for h in (A, B) * 4]
    finish(procs)
    t.eq(len(A.gateway.received) + len(B.gateway.received), 1,
         "8 parallel logins on two hosts send exactly one code")
    code = (A.sent_codes() + B.sent_codes())[-1]
    procs = [h.spawn("alice", wrong_code(code), env=BOOT_B if h is B else None) for h in (A, B) * 4]
    rs = finish(procs)
    a, f, s = status_numbers(A.ctl("status", "alice").stdout)
    t.ok(all(x.rc == "PAM_AUTH_ERR" for x in rs) and (a, f, s) == (8, 8, 1),
         "8 parallel wrong answers on two hosts: exactly 8 attempts counted, 1 send", ([x.rc for x in rs], a, f, s))

    # --- what is stored -------------------------------------------------------------------------------
    prefix = both()
    A.login("alice", "CODE")
    code = A.sent_codes()[-1]
    adm = redis.admin()
    keys = sorted(k.decode() for k in adm.call("KEYS", prefix + "*"))
    t.eq(keys, [prefix + "host", prefix + "u:2001"], "keys: prefix + u:<uid> and prefix + host")
    ttl = adm.call("PTTL", prefix + "u:2001")
    t.ok(86400 * 1000 < ttl <= 2 * 86400 * 1000, "records expire on their own (PTTL %d ms, 2 days)" % ttl)
    val = adm.call("GET", prefix + "u:2001")
    t.ok(len(val) == 1237 and code.encode() not in val, "the record is the MAC'd binary record, no code in it")
    B.reconfigure(rstate(prefix=prefix), policy().replace("lockout_time = 900", "lockout_time = 864000"))
    B.login("alice", "!fail")
    ttl = adm.call("PTTL", prefix + "u:2001")
    t.ok(ttl > 10 * 86400 * 1000, "a long lockout_time keeps records longer (PTTL %d ms)" % ttl)
    # SELECT from the URL path
    A.reconfigure(rstate(prefix="otp:db:", url=redis.url(db=2)), policy())
    r = A.login("alice", "CODE")
    adm.call("SELECT", "2")
    t.ok(r.rc == "PAM_SUCCESS" and adm.call("EXISTS", "otp:db:u:2001") == 1,
         "redis://host:port/2 stores in database 2", r)
    adm.call("SELECT", "0")
    t.eq(adm.call("EXISTS", "otp:db:u:2001"), 0, "and not in database 0")
    adm.close()

    # --- otp-smsctl check ----------------------------------------------------------------------------
    both()
    p = A.ctl("check")
    t.ok(p.returncode == 0 and "ok: state backend redis" in p.stdout, "check: connects, authenticates, PINGs",
         p.stdout + p.stderr)
    t.not_contains(p.stdout + p.stderr, RedisServer.OTP_PASSWORD, "check prints no password")

    # --- Redis down before the login: fail closed, no local fallback --------------------------------
    redis.stop()
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and len(A.gateway.received) == 0,
         "Redis down: PAM_AUTHINFO_UNAVAIL and nothing sent", r)
    t.contains(A.log_text(), "cannot connect", "logged as a state error (cannot connect)")
    t.ok(not os.path.exists(A.state), "no fallback: the local state dir was never created")
    p = A.ctl("check")
    t.ok(p.returncode == 1 and "error: state: redis 127.0.0.1:%d: cannot connect" % redis.port in p.stdout,
         "check reports the unreachable Redis", p.stdout)
    p = A.ctl("status", "alice")
    t.ok(p.returncode == 1 and "cannot connect" in p.stderr, "status fails on an unreachable Redis", p.stderr)
    redis.start()

    # --- Redis stops in the middle of a login -------------------------------------------------------
    both()
    orig = A.gateway.server.handler

    def kill_then_answer(req):
        redis.stop()
        return orig(req)
    A.gateway.server.handler = kill_then_answer
    r = A.login("alice", "CODE")
    A.gateway.server.handler = orig
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and len(A.gateway.received) == 1,
         "Redis killed while the code is out: the answer is refused with PAM_AUTHINFO_UNAVAIL", r)
    t.contains(A.log_text(), "connection closed by the server", "logged: the connection was lost")
    redis.start()
    r = A.login("alice", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "Redis back (empty): logins work again")

    # --- servers that are not Redis, or hang --------------------------------------------------------
    stop = threading.Event()

    def fake_server(reply):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.settimeout(0.2)
        held = []

        def loop():
            while not stop.is_set():
                try:
                    c, _ = s.accept()
                except OSError:
                    continue
                held.append(c)
                if reply:
                    try:
                        c.recv(65536)
                        c.sendall(reply)
                    except OSError:
                        pass
            s.close()
        threading.Thread(target=loop, daemon=True).start()
        return s.getsockname()[1]

    hang = fake_server(None)
    A.reconfigure(rstate(url="redis://127.0.0.1:%d/0" % hang, timeout=1), policy())
    t0 = time.time()
    r = A.login("alice", "CODE")
    took = time.time() - t0
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and took < 5, "a server that never answers: fails closed in %.1f s "
         "(timeout = 1)" % took, r)
    t.contains(A.log_text(), "timed out", "logged as a timeout")
    junk = fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    A.reconfigure(rstate(url="redis://127.0.0.1:%d/0" % junk), policy())
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "protocol error" in A.log_text(),
         "a server speaking something else: protocol error, fails closed", r)
    big = fake_server(b"$999999999\r\n" + b"x" * 300000)
    A.reconfigure(rstate(url="redis://127.0.0.1:%d/0" % big), policy())
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "reply larger than" in A.log_text(),
         "an endless reply is cut off (bounded), fails closed", r)
    stop.set()

    # --- credentials, ACL, key -------------------------------------------------------------------------
    bad_pw = write_secret(os.path.join(top, "bad.pw"), "not-the-password\n")
    A.reconfigure(rstate(password_file=bad_pw), policy())
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "AUTH refused" in A.log_text(), "wrong password: fails closed", r)
    A.reconfigure(rstate(user=None, password_file=""), policy())
    p = A.ctl("check")
    t.ok(p.returncode == 1 and "requires authentication" in p.stdout, "no password: check explains", p.stdout)
    def_pw = write_secret(os.path.join(top, "default.pw"), RedisServer.DEFAULT_PASSWORD)
    A.reconfigure(rstate(user=None, password_file=def_pw), policy())
    r = A.login("alice", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "AUTH with a password alone (requirepass style, no newline in the file)")
    os.chmod(pw_file, 0o640)
    A.reconfigure(rstate(), policy())
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "mode 0600" in A.log_text(),
         "a password file readable by the group is refused", r)
    os.chmod(pw_file, 0o600)
    A.reconfigure(rstate(prefix="other:"), policy())
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "NOPERM" in A.log_text(),
         "a prefix outside the ACL user's keys: refused by Redis, fails closed", r)
    short_key = write_secret(os.path.join(top, "short.key"), os.urandom(31))
    A.reconfigure(rstate(key=short_key), policy())
    p = A.ctl("check")
    t.ok(p.returncode == 1 and "exactly 32 bytes" in p.stdout, "a key file of 31 bytes is refused", p.stdout)
    os.chmod(key_file, 0o644)
    A.reconfigure(rstate(), policy())
    p = A.ctl("check")
    t.ok(p.returncode == 1 and "key_file" in p.stdout, "a world-readable key file is refused", p.stdout)
    os.chmod(key_file, 0o600)
    prefix = both()
    A.login("alice", "!fail")
    other_key = write_secret(os.path.join(top, "other.key"), os.urandom(32))
    B.reconfigure(rstate(prefix=prefix, key=other_key), policy())
    r = loginB("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and len(B.gateway.received) == 0 and "corrupt" in B.log_text(),
         "a host with another key cannot read the records: fails closed, never resets them", r)

    # --- TLS ----------------------------------------------------------------------------------------------
    both()
    A.reconfigure(rstate(url=redis.url(tls=True, host="localhost"), ca_file=certs.ca), policy())
    r = A.login("alice", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "rediss://localhost with the test CA as ca_file")
    A.reconfigure(rstate(url=redis.url(tls=True, host="127.0.0.1"), ca_file=certs.ca), policy())
    r = A.login("alice", "CODE")
    t.eq(r.rc, "PAM_SUCCESS", "rediss://127.0.0.1: the IP address SAN is checked")
    A.reconfigure(rstate(url=redis.url(tls=True, host="localhost")), policy())
    r = A.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "certificate verification failed" in A.log_text(),
         "rediss:// with a CA the system does not trust: fails closed", r)
    A.reconfigure(rstate(url="rediss://redis.test:%d/0" % redis.tls_port, ca_file=certs.ca), policy())
    r = A.login("alice", "CODE", env={"NSS_WRAPPER_HOSTS": hosts_file})
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and "hostname mismatch" in A.log_text(),
         "rediss://redis.test (certificate for localhost): host name mismatch, fails closed", r)
    A.reconfigure(rstate(url=redis.url(tls=True, host="localhost")), policy())
    r = A.login("alice", "CODE", env={"SSL_CERT_FILE": certs.ca, "SSL_CERT_DIR": os.path.dirname(certs.ca)})
    t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "SSL_CERT_FILE/SSL_CERT_DIR in the environment do not add trust")
    A.reconfigure(rstate(url="redis://192.0.2.1:6379/0"), policy())
    p = A.ctl("check")
    t.ok(p.returncode == 1 and "loopback" in p.stdout, "plain redis:// off loopback is a config error", p.stdout)
finally:
    for h in hosts:
        h.close()
    redis.close()
    shutil.rmtree(top, ignore_errors=True)
t.done()
