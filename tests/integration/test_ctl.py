#!/usr/bin/python3
"""otp-smsctl (DESIGN §7) and config validation: every command, exit codes,
error messages that name file:line:key, and no secret in any output."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, PamEnv, cfgstr, tool, run  # noqa: E402

t = TAP()
env = PamEnv()
gw = env.gateway
SECRET = "Bearer super-secret-token-77"
base = 'sms: { connector = "http-sms"; http-sms = { endpoint = %s; authorization = "%s"; }; };' % (
    cfgstr(gw.url), SECRET)
env.config(connector=base)
env.service("otp")

p = env.ctl("check")
t.eq(p.returncode, 0, "check: valid config exits 0")
t.ok(SECRET not in p.stdout + p.stderr, "check prints no secret")
os.chmod(env.conf, 0o644)
p = env.ctl("check")
t.ok(p.returncode == 0 and "readable by group/others" in p.stdout, "check warns about a world-readable config", p.stdout)
os.chmod(env.conf, 0o600)

p = env.ctl("lookup", "alice")
t.ok(p.returncode == 0 and "+81******5678" in p.stdout and "source=file" in p.stdout and "9012345678" not in p.stdout,
     "lookup: masked destination and its source", p.stdout + p.stderr)
p = env.ctl("lookup", "carol")
t.ok(p.returncode == 1 and "no contact" in p.stderr, "lookup: user without contact exits 1", p.stderr)
p = env.ctl("lookup", "frank")
t.ok("INVALID" in p.stdout, "lookup flags an invalid destination", p.stdout)
p = env.ctl("lookup", "nosuchuser")
t.ok(p.returncode == 1 and p.stderr.count("\n") == 1, "lookup: unknown user, one-line reason", p.stderr)

p = env.ctl("send-test", "--to", "+819099998888")
t.ok(p.returncode == 0 and len(gw.received) == 1 and gw.received[0]["to"] == "+819099998888",
     "send-test delivers a code through the connector", p.stdout + p.stderr)
t.ok(gw.received and gw.received[0]["payload"]["code"] not in p.stdout + p.stderr, "send-test does not print the code")
p = env.ctl("send-test", "--to", "bob@example.com")
t.ok(p.returncode == 1 and "no email connector" in p.stderr, "send-test to an email without an email connector", p.stderr)
p = env.ctl("send-test", "--to", "12345")
t.eq(p.returncode, 1, "send-test refuses a non-E.164 destination")
gw.mode = 500
p = env.ctl("send-test", "--to", "+819099998888")
t.ok(p.returncode == 1 and "class=http-5xx" in p.stderr and "http=500" in p.stderr, "send-test reports the failure class", p.stderr)
gw.mode = "ok"

r = env.login("alice", "!fail")
p = env.ctl("status", "alice")
t.ok(p.returncode == 0 and "pending code: yes" in p.stdout and "1 in the last hour" in p.stdout,
     "status: pending code and sends", p.stdout)
code = gw.received[-1]["payload"]["code"]
t.ok(code not in p.stdout, "status never shows the code")
p = env.ctl("reset", "alice")
t.eq(p.returncode, 0, "reset exits 0")
p = env.ctl("status", "alice")
t.ok("pending code: none" in p.stdout and "0 in the last hour" in p.stdout, "reset cleared the record", p.stdout)

for args, name in (([], "no command"), (["frobnicate"], "unknown command"), (["lookup"], "missing user"),
                   (["send-test"], "send-test without --to"), (["status", "a", "b"], "extra argument")):
    p = env.ctl(*args)
    t.eq(p.returncode, 2, "usage error (%s) exits 2" % name)

logto = os.path.join(env.dir, "logto.json")
with open(logto, "w") as f:
    json.dump({"endpoint": "https://sms.example.com/send", "authorization": "Bearer x"}, f)
p = run([tool("otp-smsctl"), "import-logto", "http-sms", logto])
t.ok(p.returncode == 0 and 'connector = "http-sms";' in p.stdout and 'endpoint = "https://sms.example.com/send";' in p.stdout,
     "import-logto prints a config block", p.stdout + p.stderr)
with open(logto, "w") as f:
    json.dump({"endpoint": "https://sms.example.com/send", "bogus": 1}, f)
p = run([tool("otp-smsctl"), "import-logto", "http-sms", logto])
t.ok(p.returncode == 1 and "bogus" in p.stderr, "import-logto refuses unknown keys", p.stderr)
p = run([tool("otp-smsctl"), "import-logto", "nope", logto])
t.eq(p.returncode, 1, "import-logto: unknown connector")

# --- config validation: each mistake named with file:line:key --------------------
BAD = [
    ("code: { length = 3; };", "code.length", "out of range"),
    ("code: { ttl = \"300\"; };", "code.ttl", "integer"),
    ("code: { max_attempts = 0; };", "code.max_attempts", "out of range"),
    ("code: { lenght = 6; };", "code.lenght", "unknown"),
    ("limits: { lockout_after = 1000; };", "limits.lockout_after", "out of range"),
    ("limits: { allowed_country_codes = [ \"+81\" ]; };", "allowed_country_codes", "country code"),
    ("limits: { allowed_country_codes = [ \"8\" ]; };", "allowed_country_codes", "whole"),
    ("pam: { failmode = \"open\"; };", "pam.failmode", "one of"),
    ("pam: { trusted_networks = [ \"intranet.example\" ]; };", "trusted_networks", "CIDR"),
    ("contacts: { sources = [ \"gecos\" ]; };", "contacts.sources", "trust_gecos"),
    ("contacts: { sources = [ \"ldap\" ]; };", "contacts.", "ldap"),
    ("state: { path = \"relative/dir\"; };", "state.path", "absolute"),
    ("state: { backend = \"memcached\"; };", "state.backend", "one of"),
    ("http: { timeout = 0; };", "http.timeout", "out of range"),
    ("channels = [ \"fax\" ];", "channels", "unknown channel"),
    ("bogus = 1;", "bogus", "unknown"),
    ("@include \"/etc/passwd\"", "", "@include"),
    ("code: { length = 6; }; code: { ttl = 60; };", "", "duplicate"),
    ("code: { length = 6 ", "", "syntax"),
]
for extra, key, what in BAD:
    text = env.config(connector=base, extra=extra)
    p = env.ctl("check")
    out = p.stdout + p.stderr
    ok = p.returncode == 1 and (key in out) and (what.lower() in out.lower()) and env.conf in out
    t.ok(ok, "invalid config (%s) is reported with file, line and key" % extra.strip()[:40], out)
    r = env.login("alice", "1")
    t.eq(r.rc, "PAM_SERVICE_ERR", "invalid config (%s) -> PAM_SERVICE_ERR" % extra.strip()[:40])

CONN_BAD = [
    ('sms: { connector = "twilio"; };', "unknown connector"),
    ('sms: { connector = "http-email"; http-email = { endpoint = "https://x.example/"; }; };', "not an sms connector"),
    ('sms: { connector = "http-sms"; };', "no settings block"),
    ('sms: { connector = "http-sms"; http-sms = { endpoint = "http://gw.example.com/"; }; };', "https"),
    ('sms: { connector = "http-sms"; http-sms = { }; };', "endpoint"),
    ('sms: { connector = "sms-gateway"; sms-gateway = { gateway_url = "https://gw.example.com/"; template = "hi"; }; };', "{{code}}"),
]
for block, what in CONN_BAD:
    env.config(connector=block)
    p = env.ctl("check")
    t.ok(p.returncode == 1 and what in p.stdout + p.stderr, "bad connector config reported: %s" % what, p.stdout + p.stderr)
env.config(connector="", sms=False)
p = env.ctl("check")
t.ok(p.returncode == 1 and "no channel" in p.stdout, "a config without any channel is invalid", p.stdout)

# --- SMS segment warnings (check renders the templates) --------------------------
gwconf = 'sms: { connector = "sms-gateway"; sms-gateway = { gateway_url = %s; template = %s; }; };'
env.config(connector=gwconf % (cfgstr(gw.url), cfgstr("Your code is {{code}}")))
p = env.ctl("check")
t.ok(p.returncode == 0 and "fits one SMS" in p.stdout and "GSM-7" in p.stdout, "check: a short ASCII template fits one SMS", p.stdout)
jp = "\u8a8d\u8a3c\u30b3\u30fc\u30c9\u306f {{code}} \u3067\u3059\u3002" + "\u3042" * 60
env.config(connector=gwconf % (cfgstr(gw.url), cfgstr(jp)))
p = env.ctl("check")
t.ok(p.returncode == 0 and "warning:" in p.stdout and "2 SMS segments" in p.stdout and "UCS-2" in p.stdout,
     "check: a long Japanese template warns (UCS-2, 70 per SMS)", p.stdout)
env.config(connector=base)

# --- GECOS source ---------------------------------------------------------------
env.config(connector=base, extra='contacts: { file = %s; sources = [ "file", "gecos" ]; trust_gecos = true; };'
           % cfgstr(env.contacts))
p = env.ctl("lookup", "frank")
t.ok("INVALID" in p.stdout, "contacts file wins over GECOS when it has an entry", p.stdout)
with open(env.contacts, "w") as f:
    f.write("alice +819012345678 -\n")
p = env.ctl("lookup", "frank")
t.ok(p.returncode == 0 and "+1******9999" in p.stdout and "source=gecos" in p.stdout,
     "GECOS work phone used when trust_gecos is on", p.stdout + p.stderr)
p = env.ctl("check")
t.ok("chfn" in p.stdout, "check warns that GECOS is user-editable", p.stdout)
r = env.login("frank", "CODE")
t.ok(r.rc == "PAM_SUCCESS" and gw.received[-1]["to"] == "+15550109999", "login with a GECOS phone", r)

# --- contacts file problems ------------------------------------------------------
env.config(connector=base)
for text, what in (("alice +819012345678\n", "3 fields"), ("alice +819012345678 - extra\n", "too many"),
                   ("alice +819012345678 -\nalice +819011112222 -\n", "duplicate")):
    with open(env.contacts, "w") as f:
        f.write(text)
    p = env.ctl("lookup", "alice")
    t.ok(p.returncode == 1 and what in p.stderr and ":%d:" % (2 if what == "duplicate" else 1) in p.stderr,
         "contacts problem reported with its line: %s" % what, p.stderr)
    r = env.login("alice", "1")
    t.eq(r.rc, "PAM_SERVICE_ERR", "broken contacts file -> PAM_SERVICE_ERR (%s)" % what)
with open(env.contacts, "w") as f:
    f.write("# comment\n\n  alice\t+819012345678   alice@example.jp  # trailing comment\nbob - bob@example.com\n")
p = env.ctl("lookup", "alice")
t.ok(p.returncode == 0 and "sms" in p.stdout and "email" in p.stdout, "comments, blank lines and tabs are fine", p.stdout + p.stderr)
env.close()
t.done()
