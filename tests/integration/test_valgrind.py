#!/usr/bin/python3
"""Representative logins under valgrind memcheck: a real PAM transaction
(tests/pamdrv with the module, nss_wrapper users, the loopback gateway)
for a success, a wrong code, a delivery failure and the decoy of an unknown
user.  Each must end with the expected PAM result, zero memcheck errors and
zero definitely lost blocks; tests/valgrind.supp names the only
third-party reports allowed (each entry says why).  SKIPs when valgrind is
missing or the build is instrumented with ASan (the two cannot be
combined)."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, PamEnv, tool, SRCDIR, ASAN_RUNTIME  # noqa: E402

valgrind = shutil.which("valgrind")
if valgrind is None:
    print("1..0 # SKIP valgrind is not installed")
    sys.exit(0)


def instrumented(path):
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out or "libubsan" in out


if ASAN_RUNTIME or instrumented(tool("pamdrv")):
    print("1..0 # SKIP sanitizer build: valgrind cannot run ASan-instrumented code")
    sys.exit(0)

t = TAP()
env = PamEnv()
env.config()
env.service("otp")
logdir = os.path.join(env.dir, "vg")
os.makedirs(logdir)
supp = os.path.join(SRCDIR, "tests", "valgrind.supp")


def memcheck(name, user, *answers, want):
    log = os.path.join(logdir, name + ".log")
    wrapper = [valgrind, "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
               "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
               "--suppressions=" + supp, "--num-callers=30", "--log-file=" + log]
    r = env.login(user, *answers, wrapper=wrapper, timeout=240)
    text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
    t.eq(r.rc, want, "%s: %s under memcheck" % (name, want))
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    t.ok(m is not None and m.group(1) == "0" and r.returncode != 99,
         "%s: no memcheck error (ERROR SUMMARY: %s)" % (name, m.group(1) if m else "missing"),
         "\n".join(text.splitlines()[-60:]))
    leak = re.search(r"definitely lost: ([\d,]+) bytes", text)
    t.ok(leak is None or leak.group(1) == "0", "%s: nothing definitely lost (%s bytes)"
         % (name, leak.group(1) if leak else "0"), text[-3000:])
    return r


# Success: the code the gateway received.
memcheck("success", "alice", "CODE", want="PAM_SUCCESS")
# Wrong code: a code is sent, the answer does not match.
r = memcheck("wrong-code", "dave", "000000", want="PAM_AUTH_ERR")
t.eq(len(env.gateway.received), 2, "a code was sent for the wrong-code login too")
# Delivery failure: the gateway answers 500 (fail closed under failmode secure).
env.gateway.mode = 500
memcheck("delivery-failure", "grace", "123456", want="PAM_AUTHINFO_UNAVAIL")
env.gateway.mode = "ok"
# Decoy: an unknown user is asked for a code like anyone else, nothing is sent.
before = len(env.gateway.received)
r = memcheck("decoy", "nosuchuser", "123456", want="PAM_AUTH_ERR")
t.eq(len(env.gateway.received), before, "decoy: nothing sent")
t.eq(len(r.prompts), 1, "decoy: prompted once, like a real user")
env.close()
t.done()
