#!/usr/bin/python3
"""A full PAM login through every provider connector: the built module in
real libpam, each provider's checking mock (tests/mocks/*.py) on loopback,
the code read from what the mock accepted.  Also: a provider failure shape
fails closed with the provider's code in syslog."""
import glob
import importlib.util
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, PamEnv, MockServer, Certs, workdir, SRCDIR  # noqa: E402

t = TAP()
mocks = []
for path in sorted(glob.glob(os.path.join(SRCDIR, "tests", "mocks", "*.py"))):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location("mock_" + name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for attr in sorted(dir(mod)):
        cls = getattr(mod, attr)
        if attr.endswith("Mock") and isinstance(cls, type) and hasattr(cls, "connector"):
            mocks.append((name, cls))
t.ok(len({c.connector for _, c in mocks}) >= 15, "found a mock for every HTTP/SMTP connector (%d)" % len(mocks))
certs = None


def watcher(mock, codefile, stop):
    """Publish the last accepted code for pamdrv's @FILE answer."""
    seen = 0
    while not stop.is_set():
        if len(mock.sent) > seen:
            seen = len(mock.sent)
            with open(codefile + ".tmp", "w") as f:
                f.write(str(mock.sent[-1]["code"]))
            os.replace(codefile + ".tmp", codefile)
        time.sleep(0.01)


# The failure modes every mock implements (tests/mocks interface), what the
# login must return under failmode "safe", and the classes the log may name.
FAILURE_MODES = [
    ("auth", "PAM_AUTHINFO_UNAVAIL", ("auth",)),                       # never fails open
    # never fails open; a generic webhook can only say "HTTP 400"
    ("bad-number", "PAM_AUTHINFO_UNAVAIL", ("destination", "provider", "http-4xx")),
    ("throttled", "PAM_TRY_AGAIN", ("rate-limit",)),                   # transient: PAM_IGNORE
    ("server-error", "PAM_TRY_AGAIN", ("http-5xx", "rate-limit")),     # transient: PAM_IGNORE
]

for name, cls in mocks:
    mock = cls()
    env = PamEnv()
    if hasattr(mock, "start"):
        if certs is None:
            certs = Certs(workdir())
        base = mock.start(certs)
        server = None
    else:
        server = MockServer(mock.handle)
        base = server.url
    http = "http: { timeout = 5; connect_timeout = 3; %s };" % (
        ('ca_file = "%s";' % certs.ca) if hasattr(mock, "start") else "")
    block = '%s: { connector = "%s"; %s = { %s }; };' % (mock.channel, mock.connector, mock.connector,
                                                      mock.settings(base))
    env.config(connector=block, http=http)
    env.service("otp")
    user = "alice" if mock.channel == "sms" else "bob"
    dest = "+819012345678" if mock.channel == "sms" else "bob@example.com"
    stop = threading.Event()
    th = threading.Thread(target=watcher, args=(mock, env.codefile, stop), daemon=True)
    th.start()
    r = env.login(user, "CODE")
    t.ok(r.rc == "PAM_SUCCESS" and len(mock.sent) == 1, "%s: full PAM login with the code the provider accepted" % mock.connector, r)
    if mock.sent:
        sent_to = str(mock.sent[-1].get("to", ""))
        t.ok(sent_to.lstrip("+") == dest.lstrip("+") or sent_to.endswith(dest[-9:]),
             "%s: delivered to the user's destination" % mock.connector, sent_to)
    if mock.sent:
        r = env.login(user, str(mock.sent[0]["code"]))
        t.ok(r.rc == "PAM_AUTH_ERR", "%s: the same code is refused the second time" % mock.connector, r)
    env.ignore_probe_service("probe", "")
    with open(env.conf, "a") as f:
        f.write('\npam: { failmode = "safe"; };\n')
    for mode, want, classes in FAILURE_MODES:
        env.ctl("reset", user)
        mock.mode = mode
        n0 = len(mock.sent)
        before = env.log_text()
        r = env.login(user, "CODE", service="probe")
        line = [l for l in env.log_text()[len(before):].splitlines() if "event=delivery-failed" in l]
        t.ok(r.rc == want and len(mock.sent) == n0,
             "%s: provider '%s' failure -> %s under failmode safe" % (mock.connector, mode, want), r)
        t.ok(len(line) == 1 and any(("class=%s " % c) in line[0] + " " for c in classes),
             "%s: '%s' logged once as class %s" % (mock.connector, mode, "/".join(classes)), line)
    mock.mode = "ok"
    log = env.log_text()
    t.ok(not any(str(m["code"]) in log for m in mock.sent) and dest not in log,
         "%s: no code and no full destination in syslog" % mock.connector)
    stop.set()
    if server:
        server.close()
    else:
        mock.stop()
    env.close()
t.done()
