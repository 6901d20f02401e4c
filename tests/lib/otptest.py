"""Shared helpers for the pam_otp_sms test suites (TAP output, loopback mock
servers with optional TLS, test certificates, running the built tools).

Every test script emits TAP, which automake's tap-driver counts test by test.
Mock servers bind to 127.0.0.1 on ephemeral ports and stop with the script.
"""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SRCDIR = os.environ.get("OTP_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("OTP_BUILDDIR") or SRCDIR


def tool(name):
    """Path of a built program or libtool module (.libs/ for modules)."""
    for cand in (os.path.join(BUILDDIR, name), os.path.join(BUILDDIR, "tests", name),
                 os.path.join(BUILDDIR, ".libs", name), os.path.join(BUILDDIR, "tests", ".libs", name)):
        if os.path.exists(cand):
            return cand
    raise FileNotFoundError(name)


class TAP:
    """Minimal TAP producer: ok()/eq()/contains(), plan printed at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:40]:
                    print("# " + line)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def contains(self, hay, needle, name):
        return self.ok(needle in hay, name, "%r not in %r" % (needle, hay[:2000] if hay else hay))

    def not_contains(self, hay, needle, name):
        return self.ok(needle not in hay, name, "%r found in output" % (needle,))

    def done(self):
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


class Request:
    def __init__(self, method, path, headers, body):
        self.method = method
        parsed = urllib.parse.urlsplit(path)
        self.path = parsed.path
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.headers = headers          # email.message.Message: case-insensitive get()
        self.body = body
        self.time = time.time()

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        def no_dupes(pairs):
            keys = [k for k, _ in pairs]
            if len(keys) != len(set(keys)):
                raise ValueError("duplicate key in JSON object")
            return dict(pairs)
        return json.loads(self.body.decode("utf-8"), object_pairs_hook=no_dupes)

    def form(self):
        """Form body as a dict of single values (raises on repeated keys)."""
        pairs = urllib.parse.parse_qsl(self.body.decode("ascii"), keep_blank_values=True,
                                       strict_parsing=True)
        out = {}
        for k, v in pairs:
            if k in out:
                raise ValueError("repeated form field " + k)
            out[k] = v
        return out


class MockServer:
    """Loopback HTTP(S) server.

    handler(req) returns (status, headers_dict, body_bytes_or_str) or None for
    200 {}.  A handler may also return a callable taking the raw
    BaseHTTPRequestHandler to misbehave (slow, huge, close early).
    Every request is kept in .requests.
    """

    def __init__(self, handler, tls_cert=None, tls_key=None, host="127.0.0.1"):
        self.handler = handler
        self.requests = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, self.path, self.headers, body)
                outer.requests.append(req)
                try:
                    r = outer.handler(req)
                except Exception as e:  # a checking mock reports a bad request as 400
                    r = (400, {"Content-Type": "text/plain"}, "mock rejected request: %s" % e)
                if callable(r):
                    r(self)
                    return
                if r is None:
                    r = (200, {"Content-Type": "application/json"}, "{}")
                status, headers, payload = r
                if isinstance(payload, str):
                    payload = payload.encode("utf-8")
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _any
            do_GET = _any
            do_PUT = _any

        self.httpd = ThreadingHTTPServer((host, 0), H)
        self.httpd.daemon_threads = True
        self.tls = tls_cert is not None
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return ("https://localhost:%d" if self.tls else "http://127.0.0.1:%d") % self.port

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Certs:
    """A private CA and leaf certificates made with the openssl CLI."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "certs")
        os.makedirs(self.dir, exist_ok=True)
        self.ca_key = self._p("ca.key")
        self.ca = self._p("ca.pem")
        self._run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.ca_key,
                   "-out", self.ca, "-days", "2", "-subj", "/CN=pam_otp_sms test CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self.server_cert, self.server_key = self.leaf("server", "localhost",
                                                      "DNS:localhost,IP:127.0.0.1")
        self.wronghost_cert, self.wronghost_key = self.leaf("wronghost", "wrong.example",
                                                            "DNS:wrong.example")
        self.selfsigned_key = self._p("self.key")
        self.selfsigned_cert = self._p("self.pem")
        self._run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                   self.selfsigned_key, "-out", self.selfsigned_cert, "-days", "2",
                   "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])

    def _p(self, name):
        return os.path.join(self.dir, name)

    def _run(self, args):
        subprocess.run(["openssl"] + args, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def leaf(self, name, cn, san):
        key, csr, crt, ext = (self._p(name + ".key"), self._p(name + ".csr"),
                              self._p(name + ".pem"), self._p(name + ".ext"))
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
        self._run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                   "-subj", "/CN=" + cn])
        self._run(["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                   "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
        return crt, key


def workdir(prefix="otp-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o700)
    return d


# Sanitizer runs (scripts/test-sanitizers.sh) set OTP_ASAN_RUNTIME to the
# ASan runtime library (optionally followed by libraries to keep mapped):
# it must come first in LD_PRELOAD, ahead of nss_wrapper and the
# instrumented shims, or ASan refuses to start.
ASAN_RUNTIME = os.environ.get("OTP_ASAN_RUNTIME", "").strip()


def preload(*libs):
    """An LD_PRELOAD value for libs (the ASan runtime first in sanitizer runs)."""
    return " ".join(([ASAN_RUNTIME] if ASAN_RUNTIME else []) + [l for l in libs if l])


def run(cmd, env=None, timeout=60, input=None):
    """Run a command; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    # The suite must behave the same whatever proxies the caller has set.
    for k in list(e):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del e[k]
    if env:
        e.update(env)
    if ASAN_RUNTIME and e.get("LD_PRELOAD") and e["LD_PRELOAD"].split()[0] != ASAN_RUNTIME.split()[0]:
        e["LD_PRELOAD"] = preload(e["LD_PRELOAD"])
    return subprocess.run(cmd, env=e, timeout=timeout, input=input, capture_output=True,
                          text=True)


def conntest(conf_text, dest, code, usage="SignIn", env=None, timeout=60):
    """Configure one connector from conf_text and send; returns (rc, line)."""
    d = workdir("otp-conn-")
    try:
        path = os.path.join(d, "conn.conf")
        with open(path, "w") as f:
            f.write(conf_text)
        p = run([tool("conntest"), path, dest, code, usage], env=env, timeout=timeout)
        return p.returncode, (p.stdout.strip() + (("\n" + p.stderr.strip()) if p.stderr.strip() else ""))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cfgstr(s):
    """A libconfig string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------
# Full PAM logins: the built module inside real libpam (pam_start_confdir),
# fake users through nss_wrapper, a loopback gateway, a scripted conversation.

PAM = {0: "PAM_SUCCESS", 3: "PAM_SERVICE_ERR", 4: "PAM_SYSTEM_ERR", 5: "PAM_BUF_ERR",
       6: "PAM_PERM_DENIED", 7: "PAM_AUTH_ERR", 9: "PAM_AUTHINFO_UNAVAIL", 10: "PAM_USER_UNKNOWN",
       11: "PAM_MAXTRIES", 19: "PAM_CONV_ERR", 24: "PAM_TRY_AGAIN", 25: "PAM_IGNORE",
       26: "PAM_ABORT", 31: "PAM_INCOMPLETE"}

DEFAULT_USERS = [
    # name, uid, gid, groups, gecos, phone, email
    ("alice", 2001, 2001, [], "Alice", "+819012345678", "alice@example.jp"),
    ("bob", 2002, 2002, [], "Bob", None, "bob@example.com"),
    ("carol", 2003, 2003, [], "Carol", None, None),
    ("dave", 2004, 2004, ["breakglass"], "Dave", "+819011112222", None),
    ("erin", 2005, 2005, ["breakglassers"], "Erin", "+819033334444", None),
    ("frank", 2006, 2006, [], "Frank,,+1 555 010 9999,,", "+0123", None),
    ("grace", 2007, 2007, [], "Grace", "+15551234567", None),
]


class LoginResult:
    def __init__(self, proc):
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.returncode = proc.returncode
        self.events = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
        rcs = [e["rc"] for e in self.events if "rc" in e]
        self.rcs = [PAM.get(r, str(r)) for r in rcs]
        self.rc = self.rcs[-1] if self.rcs else "NO-RESULT"
        self.infos = [e["info"] for e in self.events if "info" in e]
        self.prompts = [e["prompt"] for e in self.events if "prompt" in e]
        self.delays = [e["fail_delay"] for e in self.events if "fail_delay" in e]
        self.authtok = [e["authtok"] for e in self.events if "authtok" in e]

    def __repr__(self):
        return "rc=%s infos=%r prompts=%r stderr=%r" % (self.rc, self.infos, self.prompts, self.stderr[-500:])


class Gateway:
    """An http-sms (Logto webhook) gateway on loopback that records codes.

    mode: "ok" | status code int | "slow" | "redirect"; the last code received
    is written to codefile for pamdrv's "@FILE" answers."""

    def __init__(self, codefile):
        self.codefile = codefile
        self.mode = "ok"
        self.received = []
        self.server = MockServer(self.handle)
        self.url = self.server.url + "/sms"

    def handle(self, req):
        if req.path != "/sms" or req.method != "POST":
            return (404, {}, "no such path")
        body = req.json()
        if self.mode == "slow":
            return lambda h: time.sleep(5)
        if self.mode == "redirect":
            return (302, {"Location": "https://evil.example/"}, "")
        if isinstance(self.mode, int):
            return (self.mode, {"Content-Type": "application/json"}, '{"error":"nope"}')
        self.received.append(body)
        with open(self.codefile, "w") as f:
            f.write(body["payload"]["code"])
        return (200, {"Content-Type": "application/json"}, "{}")

    def close(self):
        self.server.close()


class PamEnv:
    """A private world for one test script: config, contacts, state dir,
    PAM service files and fake users, all in a temp directory owned by the
    euid (which the module accepts as 'root' under a test harness)."""

    def __init__(self, users=DEFAULT_USERS, module="testing"):
        self.dir = workdir("otp-pam-")
        self.etc = os.path.join(self.dir, "etc")
        self.pamd = os.path.join(self.dir, "pam.d")
        os.makedirs(self.etc, mode=0o700)
        os.makedirs(self.pamd, mode=0o700)
        self.state = os.path.join(self.dir, "state")
        self.codefile = os.path.join(self.dir, "code")
        self.conf = os.path.join(self.etc, "pam_otp_sms.conf")
        self.contacts = os.path.join(self.etc, "users")
        self.module = tool("tests/.libs/pam_otp_sms_testing.so" if module == "testing" else ".libs/pam_otp_sms.so")
        self.users = users
        self._write_nss()
        self._write(os.path.join(self.pamd, "other"), "auth required pam_deny.so\n", 0o644)
        self._write(self.contacts, "".join("%s %s %s\n" % (u[0], u[5] or "-", u[6] or "-")
                                           for u in users if u[5] or u[6]))
        self.gateway = Gateway(self.codefile)
        self.syslog = os.path.join(self.dir, "syslog")

    def log_text(self):
        """Everything the module has logged so far (via the capture shim)."""
        try:
            with open(self.syslog, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _preload_env(self):
        return {"LD_PRELOAD": preload("libnss_wrapper.so", tool("tests/.libs/syslog_capture.so")),
                "NSS_WRAPPER_PASSWD": self.passwd, "NSS_WRAPPER_GROUP": self.group,
                "OTP_SYSLOG_CAPTURE": self.syslog}

    def _write(self, path, text, mode=0o600):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def _write_nss(self):
        self.passwd = os.path.join(self.dir, "passwd")
        self.group = os.path.join(self.dir, "group")
        pw = ["root:x:0:0:root:/root:/bin/sh"]
        groups = {"root": (0, [])}
        for name, uid, gid, extra, gecos, _, _ in self.users:
            pw.append("%s:x:%d:%d:%s:/home/%s:/bin/sh" % (name, uid, gid, gecos, name))
            groups[name] = (gid, [])
            for g in extra:
                groups.setdefault(g, (3000 + len(groups), []))[1].append(name)
        self._write(self.passwd, "\n".join(pw) + "\n", 0o644)
        self._write(self.group, "".join("%s:x:%d:%s\n" % (g, gid, ",".join(m))
                                        for g, (gid, m) in groups.items()), 0o644)

    def config(self, extra="", connector=None, sms=True, http="http: { timeout = 3; connect_timeout = 2; };"):
        """Write the config: defaults plus `extra` top-level text."""
        if connector is None:
            connector = 'sms: { connector = "http-sms"; http-sms = { endpoint = %s; }; };' % cfgstr(self.gateway.url)
        # A group given in `extra` replaces the default one.
        parts = []
        for name, default in (("state", "state: { path = %s; };" % cfgstr(self.state)),
                              ("contacts", "contacts: { file = %s; };" % cfgstr(self.contacts)),
                              ("http", http)):
            if not re.search(r"(^|[\s;])%s\s*:" % name, extra):
                parts.append(default)
        text = "\n".join(parts + [connector if sms else "", extra]) + "\n"
        self._write(self.conf, text)
        return text

    def service(self, name="otp", args="", lines=None):
        if lines is None:
            lines = "auth required %s config=%s %s\n" % (self.module, self.conf, args)
        self._write(os.path.join(self.pamd, name), lines, 0o644)
        return name

    def ignore_probe_service(self, name="otp-ignore", args=""):
        """A stack where this module's PAM_IGNORE shows up as PAM_TRY_AGAIN."""
        return self.service(name, lines=(
            "auth [success=done ignore=ignore default=die] %s config=%s %s\n"
            "auth requisite pam_debug.so auth=try_again\n" % (self.module, self.conf, args)))

    def login(self, user, *answers, service="otp", rhost=None, authtok=None, silent=False,
              times=1, env=None, timeout=60, wrapper=()):
        # The code file keeps the last code the gateway received: a login that
        # reuses an outstanding code answers with it too.  wrapper: a command
        # prefix (e.g. valgrind and its options).
        cmd = list(wrapper) + [tool("pamdrv"), self.pamd, service, user]
        if rhost is not None:
            cmd += ["--rhost", rhost]
        if authtok is not None:
            cmd += ["--authtok", authtok]
        if silent:
            cmd.append("--silent")
        if times != 1:
            cmd += ["--times", str(times)]
        cmd += [a if a != "CODE" else "@" + self.codefile for a in answers]
        e = self._preload_env()
        if env:
            e.update(env)
        return LoginResult(run(cmd, env=e, timeout=timeout))

    def ctl(self, *args, env=None):
        e = {"LD_PRELOAD": preload("libnss_wrapper.so"), "NSS_WRAPPER_PASSWD": self.passwd,
             "NSS_WRAPPER_GROUP": self.group}
        if env:
            e.update(env)
        return run([tool("otp-smsctl"), "-c", self.conf] + list(args), env=e)

    def close(self):
        self.gateway.close()
        shutil.rmtree(self.dir, ignore_errors=True)
