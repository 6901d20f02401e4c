#!/usr/bin/python3
"""Smoke test for the bench (bench/otp-bench, bench/run-bench.py): a handful
of logins through every stack, so that "make bench" cannot rot.  The
measurements themselves are "make bench"; this only checks that the driver
runs real logins, judges them, and counts what the state recorded.
Takes a few seconds."""
import importlib.util
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import SRCDIR, TAP  # noqa: E402

spec = importlib.util.spec_from_file_location("run_bench", os.path.join(SRCDIR, "bench", "run-bench.py"))
rb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rb)

t = TAP()
base = tempfile.mkdtemp(prefix="otp-bench-smoke-")
w = rb.World(base, 8)
try:
    peers = rb.peers() if os.geteuid() == 0 else []
    stacks = ["otp", "floor"] + peers
    # pam_oath refuses concurrent logins (its usersfile lock does not wait):
    # every stack one login at a time here, two at once below
    rc, rows, err = w.bench(stacks, 6, conc=1, rounds=2, expect_ok=True)
    t.ok(rc == 0, "driver exit status with every stack (%s)" % ", ".join(stacks), err)
    got = {r["stack"]: r for r in rows}
    t.eq(sorted(got), sorted(stacks), "one result per stack")
    for s in stacks:
        r = got.get(s, {})
        t.eq((r.get("logins"), r.get("ok")), (6, 6), "%s: 6 logins, all verified" % s)
        t.ok(r.get("p50_ms", 0) > 0 and r.get("p99_ms", 0) >= r.get("p50_ms", 0) and r.get("cpu_ms", 0) > 0
             and r.get("maxrss_kb", 0) > 0, "%s: latency, CPU and memory reported" % s, r)
    t.eq(got.get("otp", {}).get("gw_requests"), 6, "otp: the gateway got one code per login")
    t.eq(got.get("floor", {}).get("gw_requests"), 6, "floor: the gateway got one POST per login")
    t.ok(got.get("otp", {}).get("verify_p50_ms", 0) > 0, "otp: the verify phase is timed")

    rc, rows, err = w.bench(["otp", "floor"], 8, conc=2, rounds=2, expect_ok=True)
    got = {r["stack"]: r for r in rows}
    t.ok(rc == 0 and got.get("otp", {}).get("ok") == 8 and got.get("floor", {}).get("ok") == 8,
         "two workers at once: 8 + 8 logins verified", err)
    sends = w.sends("otp", [rb.FIRST_UID + i for i in range(8)])
    t.eq(sends["host"], 14, "the host counter holds every send")
    t.eq(sum(v for k, v in sends.items() if k != "host"), 14, "the user records hold every send")

    # The judge can fail: a user the contacts file does not know gets the
    # decoy prompt and PAM_AUTH_ERR, and nothing reaches the gateway.
    with open(w.contacts, "w") as f:
        f.write("bench0000 +819000000000 -\n")
    rc, rows, err = w.bench(["otp"], 2, users=2, expect_ok=True)
    r = rows[0] if rows else {}
    t.eq(rc, 1, "driver exit status when a login fails")
    t.eq((r.get("ok"), r.get("rc")), (1, {"Success": 1, "Authentication failure": 1}),
         "one login verified, the unknown one refused")

    # One user, concurrent logins: the driver checks that no sent code is
    # accepted twice and reports what was refused.
    rc, rows, err = w.bench(["otp"], 4, conc=2, same_user=0)
    r = rows[0] if rows else {}
    t.ok((rc, r.get("replays")) == (0, 0), "same user, 2 at once: no code accepted twice", err)
    t.ok(r.get("ok", 0) >= 1, "same user, 2 at once: at least one login verified", r)

    # The durable writes of one login, counted: issue (user record + host
    # counter: two temp-file fsyncs, one directory fsync for both renames),
    # the write-ahead attempt and the consume (temp + directory fsync each).
    # Fewer would break the durability contract, more costs every login.
    import shutil as _sh
    if _sh.which("strace"):
        trace = os.path.join(base, "strace.txt")
        with open(w.contacts, "w") as f:
            f.write("".join("%s +8190%08d -\n" % (w.user(i), i) for i in range(8)))
        rc, rows, err = w.bench(["otp"], 3, expect_ok=True,
                                wrap=["strace", "-f", "-qq", "-o", trace, "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"])
        calls = {}
        with open(trace) as f:
            for line in f:
                m = line.split(None, 1)[1].split("(", 1)[0] if " " in line else ""
                calls[m] = calls.get(m, 0) + 1
        t.eq((rc, calls.get("fsync", 0), calls.get("fdatasync", 0),
              sum(v for k, v in calls.items() if k.startswith("rename"))), (0, 3 * 7, 0, 3 * 4),
             "3 logins: 7 fsyncs and 4 renames each")
    else:
        t.ok(True, "# SKIP strace not installed")

    # The state fill helper writes records the module reads.
    w.populate(50, rb.FIRST_UID + 100)
    t.ok(os.path.exists(os.path.join(w.state, str(rb.FIRST_UID + 149))), "populate wrote 50 records")
    t.eq(w.sends("otp", [rb.FIRST_UID + 100])[str(rb.FIRST_UID + 100)], 1,
         "a populated record decodes (one send an hour ago)")
finally:
    import shutil
    shutil.rmtree(base, ignore_errors=True)
t.done()
