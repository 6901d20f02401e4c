#!/usr/bin/python3
"""The built module inside real libpam: the login flow end to end against a
loopback http-sms gateway, covering every return code of DESIGN §6."""
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, PamEnv, cfgstr  # noqa: E402

t = TAP()
env = PamEnv()
gw = env.gateway
env.config()
env.service("otp")
ROOT = os.geteuid() == 0


def reset(user):
    p = env.ctl("reset", user)
    assert p.returncode == 0, p.stderr


# --- success, wrong, replay ---------------------------------------------------
r = env.login("alice", "CODE")
t.eq(r.rc, "PAM_SUCCESS", "correct code -> PAM_SUCCESS")
t.eq(len(gw.received), 1, "exactly one message sent")
t.eq(gw.received[-1]["to"], "+819012345678", "sent to the contacts-file number")
t.eq(gw.received[-1]["type"], "Generic", "usage type defaults to Generic")
t.ok(re.fullmatch(r"[0-9]{6}", gw.received[-1]["payload"]["code"]) is not None, "six-digit code")
t.eq(r.infos, ["Code sent to +81 \u2022\u2022\u2022 \u2022\u2022\u2022 5678."],
     "info text carries the masked destination")
t.eq(r.prompts, ["Verification code: "], "one echo-off prompt")
t.eq(r.authtok, ["(unset)"], "PAM_AUTHTOK is never set")
code = gw.received[-1]["payload"]["code"]

r = env.login("alice", code)
t.ok(r.rc == "PAM_AUTH_ERR" and len(gw.received) == 2, "replayed code after success -> PAM_AUTH_ERR", r)
t.ok(len(r.delays) == 1 and r.delays[0] >= 1000000, "failure delay requested via pam_fail_delay", r.delays)

reset("alice")
r = env.login("alice", "000000" if code != "000000" else "111111")
t.eq(r.rc, "PAM_AUTH_ERR", "wrong code -> PAM_AUTH_ERR")
r = env.login("alice", "CODE")
t.eq(r.rc, "PAM_SUCCESS", "the outstanding code still works after one wrong answer")
t.eq(len(gw.received), 3, "no second message inside the resend cooldown")
t.eq(r.infos[0], "Code sent to +81 \u2022\u2022\u2022 \u2022\u2022\u2022 5678.",
     "reused code: prompt looks the same")

# --- malformed answers -------------------------------------------------------
reset("alice")
r = env.login("alice", "CODE")
t.eq(r.rc, "PAM_SUCCESS", "fresh code after reset")
reset("alice")
sent = len(gw.received)
for ans, name in (("12345", "5 digits"), ("1234567", "7 digits"), ("\uff11\uff12\uff13\uff14\uff15\uff16", "full-width digits")):
    reset("alice")
    r = env.login("alice", ans)
    t.eq(r.rc, "PAM_AUTH_ERR", "malformed answer (%s) -> PAM_AUTH_ERR" % name)
reset("alice")
r = env.login("alice", "!big")
t.ok(r.rc in ("PAM_CONV_ERR", "PAM_AUTH_ERR"), "1 MiB answer refused", r)
reset("alice")
with open(env.codefile + ".pad", "w") as f:
    pass
r = env.login("alice", "!null")
t.eq(r.rc, "PAM_CONV_ERR", "NULL reply -> PAM_CONV_ERR")
r = env.login("alice", "!fail")
t.eq(r.rc, "PAM_CONV_ERR", "conversation failure (^C) -> PAM_CONV_ERR")
r = env.login("alice", "  " + gw.received[-1]["payload"]["code"] + " \t")
t.eq(r.rc, "PAM_SUCCESS", "after a failed conversation the code stays valid; ASCII spaces trimmed")

# --- max attempts, expiry ----------------------------------------------------
reset("alice")
r1 = env.login("alice", "999999")
code = gw.received[-1]["payload"]["code"]
wrong = "999998" if code != "999998" else "999997"
r2 = env.login("alice", wrong)
r3 = env.login("alice", wrong)
t.eq([r1.rc, r2.rc, r3.rc], ["PAM_AUTH_ERR", "PAM_AUTH_ERR", "PAM_MAXTRIES"] if code != "999999" else [r1.rc, r2.rc, r3.rc],
     "third wrong answer -> PAM_MAXTRIES (max_attempts = 3)")
r = env.login("alice", code)
t.ok(r.rc != "PAM_SUCCESS", "the code is void after max attempts (new code sent after cooldown)", r)

env.config(extra="code: { resend_after = 600; };")
reset("alice")
r = env.login("alice", "!fail")
code = gw.received[-1]["payload"]["code"]
r = env.login("alice", code, env={"OTP_TEST_CLOCK_OFFSET": "301"})
t.eq(r.rc, "PAM_AUTH_ERR", "code used after ttl (clock seam +301 s) -> PAM_AUTH_ERR")
t.ok(gw.received[-1]["payload"]["code"] != code, "an expired code is replaced by a new one")
reset("alice")
r = env.login("alice", "!fail")
code = gw.received[-1]["payload"]["code"]
r = env.login("alice", code, env={"OTP_TEST_CLOCK_OFFSET": "290"})
t.eq(r.rc, "PAM_SUCCESS", "code used inside ttl (+290 s) -> PAM_SUCCESS")
env.config()

# --- resend ------------------------------------------------------------------
reset("alice")
n0 = len(gw.received)
r = env.login("alice", "", "CODE")
t.ok(r.rc == "PAM_SUCCESS" and len(gw.received) == n0 + 1 and len(r.prompts) == 2,
     "empty answer inside the cooldown sends nothing new and asks again", r)
t.ok("already sent" in r.infos[1], "second prompt says a code was already sent", r.infos)
reset("alice")
r = env.login("alice", "!fail")
n0 = len(gw.received)
r = env.login("alice", "", "CODE", env={"OTP_TEST_CLOCK_OFFSET": "61"})
t.ok(r.rc == "PAM_SUCCESS" and len(gw.received) == n0 + 1, "after resend_after an empty answer sends a new code", r)

# --- send caps and lockout ---------------------------------------------------
env.config(extra="code: { resend_after = 0; }; limits: { sends_per_hour = 3; lockout_after = 4; lockout_time = 600; };")
reset("alice")
n0 = len(gw.received)
rcs = [env.login("alice", "!fail").rc for _ in range(5)]
t.eq(rcs, ["PAM_CONV_ERR"] * 3 + ["PAM_MAXTRIES"] * 2, "sends_per_hour = 3: the fourth send -> PAM_MAXTRIES")
t.eq(len(gw.received) - n0, 3, "the gateway received exactly the cap")
p = env.ctl("status", "alice")
t.ok(p.returncode == 0 and "3 in the last hour" in p.stdout, "otp-smsctl status shows the sends", p.stdout + p.stderr)
env.config(extra="limits: { lockout_after = 4; lockout_time = 600; };")
reset("alice")
for i in range(4):
    r = env.login("alice", "000001" if i % 2 else "000002")
t.eq(r.rc, "PAM_MAXTRIES", "lockout_after = 4 consecutive failures -> PAM_MAXTRIES")
r = env.login("alice", "CODE")
t.ok(r.rc == "PAM_MAXTRIES", "locked: even a fresh attempt is refused", r)
p = env.ctl("status", "alice")
t.ok("locked: yes" in p.stdout, "status shows the lockout", p.stdout)
r = env.login("alice", "CODE", env={"OTP_TEST_CLOCK_OFFSET": "601"})
t.eq(r.rc, "PAM_SUCCESS", "lockout ends after lockout_time")
shutil.rmtree(env.state)
env.config(extra="limits: { host_sends_per_hour = 2; }; code: { resend_after = 0; };")
rcs = [env.login(u, "!fail").rc for u in ("alice", "dave", "grace")]
t.eq(rcs, ["PAM_CONV_ERR", "PAM_CONV_ERR", "PAM_MAXTRIES"], "host_sends_per_hour = 2 caps all users together")
env.config()
shutil.rmtree(env.state)

# --- exemptions, nullok, unknown users ---------------------------------------
env.config(extra='pam: { exempt_groups = [ "breakglass" ]; trusted_networks = [ "10.0.0.0/8", "2001:db8::/32" ]; };')
env.ignore_probe_service("probe")
n0 = len(gw.received)
r = env.login("dave", service="probe")
t.ok(r.rc == "PAM_TRY_AGAIN" and not r.prompts, "exempt group -> PAM_IGNORE (seen as the next module's result)", r)
r = env.login("erin", "!fail", service="probe")
t.eq(r.rc, "PAM_CONV_ERR", "group 'breakglassers' is not 'breakglass' (no prefix match)")
r = env.login("alice", service="probe", rhost="10.1.2.3")
t.ok(r.rc == "PAM_TRY_AGAIN" and not r.prompts, "trusted network -> PAM_IGNORE", r)
r = env.login("alice", service="probe", rhost="::ffff:10.1.2.3")
t.eq(r.rc, "PAM_TRY_AGAIN", "IPv4-mapped IPv6 in a trusted block -> PAM_IGNORE")
r = env.login("alice", "!fail", service="probe", rhost="10.evil.example")
t.eq(r.rc, "PAM_CONV_ERR", "a host name in PAM_RHOST is never trusted")
r = env.login("alice", "!fail", service="probe", rhost="11.1.2.3")
t.eq(r.rc, "PAM_CONV_ERR", "an address outside the blocks is not trusted")
env.config()
reset("alice")
n0 = len(gw.received)
r_unknown = env.login("nosuchuser", "123456")
t.eq(r_unknown.rc, "PAM_AUTH_ERR", "unknown user -> PAM_AUTH_ERR after a decoy prompt")
r_carol = env.login("carol", "123456")
t.eq(r_carol.rc, "PAM_AUTH_ERR", "user without contact -> PAM_AUTH_ERR")
t.eq(len(gw.received), n0, "decoys send nothing")
t.eq(len(r_unknown.prompts), 1, "decoy asks exactly like a real login")
t.ok(re.fullmatch(r"Code sent to \+\d+ \u2022\u2022\u2022 \u2022\u2022\u2022 \d{4}\.", r_unknown.infos[0]) is not None,
     "decoy info has the real shape", r_unknown.infos)
t.eq(env.login("nosuchuser", "1").infos, r_unknown.infos, "decoy destination is stable for a name")
r = env.login("alice\nevent=verified", "1")
t.eq(r.rc, "PAM_AUTH_ERR", "user name with a newline -> decoy")
r = env.login("../../etc/shadow", "1")
t.eq(r.rc, "PAM_AUTH_ERR", "path-like user name -> decoy")
t.ok(not os.path.exists(os.path.join(env.dir, "etc", "shadow")) and
     all(re.fullmatch(r"\d+|host|\.key", n) for n in os.listdir(env.state)),
     "no file outside uid-named records in the state dir", os.listdir(env.state))
env.service("after-sshd", lines="auth optional /usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so\n"
            "auth required %s config=%s\n" % (env.module, env.conf))
r = env.login("alice", "1", service="after-sshd", env={"PAM_AUTHTOK": "\b\n\r\177INCORRECT"})
t.ok(r.rc == "PAM_AUTH_ERR" and len(gw.received) == n0, "OpenSSH invalid-user dummy password: decoy, no send", r)
env.ignore_probe_service("probe-nullok", "nullok")
r = env.login("carol", service="probe-nullok")
t.ok(r.rc == "PAM_TRY_AGAIN" and not r.prompts, "nullok + known user without contact -> PAM_IGNORE", r)
r = env.login("nosuchuser", "1", service="probe-nullok")
t.eq(r.rc, "PAM_AUTH_ERR", "nullok does not help an unknown user")

# --- destinations --------------------------------------------------------------
r = env.login("frank", "1")
t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and not r.prompts, "invalid phone in contacts -> PAM_AUTHINFO_UNAVAIL, no prompt", r)
env.config(extra='limits: { allowed_country_codes = [ "81" ]; };')
n0 = len(gw.received)
r = env.login("grace", "1")
t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and len(gw.received) == n0, "country code not allowed -> PAM_AUTHINFO_UNAVAIL, nothing sent", r)
r = env.login("alice", "CODE")
t.eq(r.rc, "PAM_SUCCESS", "allowed country code passes")
env.config(extra='contacts: { file = %s; sources = [ "file", "gecos" ]; trust_gecos = true; };' % cfgstr(env.contacts)
           .replace("contacts: { file", "contacts: { file"))
env.config()

# --- delivery failures and failmode --------------------------------------------
env.ignore_probe_service("probe")
for mode, cls in ((500, "5xx"), ("slow", "timeout")):
    reset("alice")
    gw.mode = mode
    r = env.login("alice", "1", service="probe")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and not r.prompts, "gateway %s, failmode secure -> PAM_AUTHINFO_UNAVAIL" % cls, r)
    env.config(extra='pam: { failmode = "safe"; };')
    reset("alice")
    r = env.login("alice", "1", service="probe")
    t.eq(r.rc, "PAM_TRY_AGAIN", "gateway %s, failmode safe -> PAM_IGNORE" % cls)
    env.config()
for mode, name in ((401, "401"), (403, "403"), ("redirect", "redirect"), (400, "400")):
    env.config(extra='pam: { failmode = "safe"; };')
    reset("alice")
    gw.mode = mode
    r = env.login("alice", "1", service="probe")
    t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "gateway %s fails closed even with failmode safe" % name)
gw.mode = "ok"
env.config(extra='pam: { failmode = "safe"; };')
reset("alice")
r = env.login("alice", "!fail", service="probe", env={"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
                                                      "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""})
t.eq(r.rc, "PAM_CONV_ERR", "proxy variables in the environment are ignored (no fail-open through them)")
env.config()
reset("alice")
r = env.login("alice", "CODE")
t.eq(r.rc, "PAM_SUCCESS", "after a failed delivery the next login sends a fresh code")

# --- config, contacts and state safety ----------------------------------------
env.service("badarg", args="nulok")
r = env.login("alice", "1", service="badarg")
t.eq(r.rc, "PAM_SERVICE_ERR", "unknown module argument -> PAM_SERVICE_ERR")
os.chmod(env.conf, 0o620)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_SERVICE_ERR", "group-writable config -> PAM_SERVICE_ERR")
os.chmod(env.conf, 0o600)
with open(env.conf, "a") as f:
    f.write("\ncode: { lenght = 6; };\n")
r = env.login("alice", "1")
t.eq(r.rc, "PAM_SERVICE_ERR", "config with an unknown key -> PAM_SERVICE_ERR")
p = env.ctl("check")
t.ok(p.returncode == 1 and "lenght" in p.stdout and ":" in p.stdout, "otp-smsctl check names the bad key with file:line", p.stdout)
env.config()
p = env.ctl("check")
t.ok(p.returncode == 0, "otp-smsctl check passes on a good config", p.stdout + p.stderr)
os.chmod(env.contacts, 0o666)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_SERVICE_ERR", "world-writable contacts file -> PAM_SERVICE_ERR")
os.chmod(env.contacts, 0o600)
os.chmod(env.state, 0o755)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "state dir 0755 -> PAM_AUTHINFO_UNAVAIL")
os.chmod(env.state, 0o700)
rec = os.path.join(env.state, "2001")
os.chmod(rec, 0o644)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "state file 0644 -> PAM_AUTHINFO_UNAVAIL")
os.chmod(rec, 0o600)
os.unlink(rec)
os.symlink(env.conf, rec)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "state file replaced by a symlink -> PAM_AUTHINFO_UNAVAIL")
os.unlink(rec)
os.link(env.conf, rec)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "state file hard-linked elsewhere -> PAM_AUTHINFO_UNAVAIL")
os.unlink(rec)
os.mkfifo(rec, 0o600)
start = time.time()
r = env.login("alice", "1")
t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and time.time() - start < 10, "FIFO as state file: refused without hanging", r)
os.unlink(rec)
with open(rec, "wb") as f:
    f.write(b"garbage" * 10)
os.chmod(rec, 0o600)
r = env.login("alice", "1")
t.eq(r.rc, "PAM_AUTHINFO_UNAVAIL", "corrupt record with unreadable lockout fails closed")
reset("alice")
r = env.login("alice", "CODE")
t.eq(r.rc, "PAM_SUCCESS", "otp-smsctl reset clears a corrupt record")
if ROOT:
    os.chown(env.conf, 1234, 0)
    r = env.login("alice", "1")
    t.eq(r.rc, "PAM_SERVICE_ERR", "config owned by another user -> PAM_SERVICE_ERR")
    os.chown(env.conf, 0, 0)
else:
    t.ok(True, "# SKIP owner test needs root")

# --- what was logged -----------------------------------------------------------
log = env.log_text()
for ev in ("sent", "verified", "failed", "rate-limited", "locked", "exempt", "delivery-failed",
           "config-error", "state-error", "bad-destination"):
    t.ok(("event=%s " % ev) in log, "syslog has event=%s" % ev)
codes = {m["payload"]["code"] for m in gw.received}
t.ok(codes and not any(c in log for c in codes), "no code ever appears in syslog (%d codes checked)" % len(codes))
t.ok("+819012345678" not in log and "9012345678" not in log, "no full phone number in syslog")
t.ok("dest=+81******5678" in log, "destinations are masked in syslog")
lines = [l for l in log.splitlines() if l.strip()]
t.ok(all(l.count("event=") == 1 for l in lines), "one event per line (a newline in a user name is escaped)",
     [l for l in lines if l.count("event=") != 1][:3])
t.ok("nosuchuser" not in log and "etc/shadow" not in log and "user=(unknown)" in log,
     "names unknown to NSS are never logged (typed passwords end up there)")
t.ok(all(len(l) < 1200 for l in lines), "log lines are bounded")

# --- production build ignores the test clock seam -------------------------------
prod = PamEnv(module="production")
prod.config()
prod.service("otp")
r = prod.login("alice", "!fail")
c = prod.gateway.received[-1]["payload"]["code"]
r = prod.login("alice", c, env={"OTP_TEST_CLOCK_OFFSET": "100000"})
t.eq(r.rc, "PAM_SUCCESS", "the production module ignores OTP_TEST_CLOCK_OFFSET")
with open(prod.module, "rb") as f:
    t.ok(b"OTP_TEST_CLOCK_OFFSET" not in f.read(), "the production module does not contain the test seam")
r = prod.login("alice", "CODE", silent=True)
t.ok(r.rc == "PAM_SUCCESS" and r.infos == [] and r.prompts, "PAM_SILENT: no info message, the prompt remains", r)
t.eq(r.prompts, ["Code sent to +81 \u2022\u2022\u2022 \u2022\u2022\u2022 5678. Verification code: "],
     "PAM_SILENT (sudo): where the code went moves into the prompt")
r = prod.login("nosuchuser", "1", silent=True)
t.ok(re.fullmatch(r"Code sent to \+\d+ \u2022\u2022\u2022 \u2022\u2022\u2022 \d{4}\. Verification code: ", r.prompts[0]) is not None,
     "PAM_SILENT decoy prompt has the same shape", r.prompts)
prod.close()

print('# log sample: ' + '\n# '.join(lines[:3]))
env.close()
t.done()
