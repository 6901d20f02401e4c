"""Helpers for the fleet suites: a real Debian redis-server and slapd started
on loopback in a private directory, a tiny RESP client for inspecting Redis,
"hosts" (PamEnv instances sharing one Redis and one key file), and parallel
logins.

Servers bind 127.0.0.1 on free ports, run in the foreground as children of
the test and are stopped by stop()/close() (and at interpreter exit).
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import BUILDDIR, PamEnv, cfgstr, free_port, tool, LoginResult, run  # noqa: E402

_children = []


def _die_with_parent():
    """In the child before exec: get SIGKILL when the test process dies, so a
    crashed or killed suite leaves no server behind."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _reap():
    for p in _children:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_reap)


def build_has(define):
    """Was the build configured with this feature (config.h)?"""
    try:
        with open(os.path.join(BUILDDIR, "config.h")) as f:
            return ("#define %s 1" % define) in f.read()
    except OSError:
        return False


def skip_all(reason):
    print("1..0 # SKIP %s" % reason)
    sys.exit(0)


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def write_secret(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    return path


# ---------------------------------------------------------------------------
# Redis

class RespError(Exception):
    pass


class Resp:
    """Minimal blocking RESP2 client for the test's own inspection."""

    def __init__(self, port, user=None, password=None, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")
        if password is not None:
            self.call(*(["AUTH", user, password] if user else ["AUTH", password]))

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise RespError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RespError("bad reply %r" % line)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class RedisServer:
    """redis-server with an ACL user for the module ("otp": only the commands
    the backend uses, only keys under otp:*), an admin user for the test,
    the default user with a password, and optionally a TLS port."""

    OTP_USER = "otp"
    OTP_PASSWORD = "otp-redis-pw-4711"
    ADMIN_PASSWORD = "admin-pw-0815"
    DEFAULT_PASSWORD = "default-pw-1234"
    OTP_COMMANDS = "+ping +select +watch +unwatch +get +set +multi +exec +discard +del"

    def __init__(self, workdir, certs=None):
        self.dir = os.path.join(workdir, "redis-%d" % free_port())
        os.makedirs(self.dir, mode=0o700)
        self.certs = certs
        self.port = free_port()
        self.tls_port = free_port() if certs else None
        self.proc = None
        self.log = os.path.join(self.dir, "redis.log")
        self.conf = os.path.join(self.dir, "redis.conf")
        lines = [
            "bind 127.0.0.1",
            "port %d" % self.port,
            "daemonize no",
            "save \"\"",
            "appendonly no",
            "dir %s" % self.dir,
            "logfile %s" % self.log,
            "databases 4",
            "user default on >%s ~* &* +@all" % self.DEFAULT_PASSWORD,
            "user %s on >%s resetkeys ~otp:* resetchannels -@all %s" % (self.OTP_USER, self.OTP_PASSWORD,
                                                                       self.OTP_COMMANDS),
            "user admin on >%s ~* &* +@all" % self.ADMIN_PASSWORD,
        ]
        if certs:
            lines += ["tls-port %d" % self.tls_port, "tls-cert-file %s" % certs.server_cert,
                      "tls-key-file %s" % certs.server_key, "tls-ca-cert-file %s" % certs.ca,
                      "tls-auth-clients no"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        _children.append(self.proc)
        if not wait_port(self.port, self.proc) or (self.tls_port and not wait_port(self.tls_port, self.proc)):
            raise RuntimeError("redis-server did not start: %s" % self.log_text()[-2000:])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # like a crash: no goodbye to the clients
            self.proc.wait(timeout=10)
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def admin(self):
        return Resp(self.port, "admin", self.ADMIN_PASSWORD)

    def url(self, tls=False, host="127.0.0.1", db=0):
        if tls:
            return "rediss://%s:%d/%d" % (host, self.tls_port, db)
        return "redis://%s:%d/%d" % (host, self.port, db)

    def close(self):
        self.stop()


# ---------------------------------------------------------------------------
# slapd

LDAP_SUFFIX = "dc=example,dc=test"
LDAP_READER = "cn=reader," + LDAP_SUFFIX
LDAP_READER_PW = "reader-pw-3141"


class Slapd:
    """slapd with a private slapd.conf (mdb), plain and ldaps listeners on
    loopback, StartTLS on the plain one, loaded from an LDIF with slapadd."""

    def __init__(self, workdir, ldif, certs=None, cert=None):
        self.dir = os.path.join(workdir, "slapd-%d" % free_port())
        os.makedirs(os.path.join(self.dir, "db"), mode=0o700)
        self.port = free_port()
        self.tls_port = free_port() if certs else None
        self.conf = os.path.join(self.dir, "slapd.conf")
        self.proc = None
        lines = ["include /etc/ldap/schema/%s.schema" % s for s in ("core", "cosine", "inetorgperson", "nis")]
        lines += [
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
            "pidfile %s/slapd.pid" % self.dir,
            "argsfile %s/slapd.args" % self.dir,
        ]
        if certs:
            crt, key = cert or (certs.server_cert, certs.server_key)
            lines += ["TLSCACertificateFile %s" % certs.ca, "TLSCertificateFile %s" % crt,
                      "TLSCertificateKeyFile %s" % key]
        lines += [
            "database mdb",
            "maxsize 10485760",
            "suffix \"%s\"" % LDAP_SUFFIX,
            "rootdn \"cn=admin,%s\"" % LDAP_SUFFIX,
            "directory %s/db" % self.dir,
            "access to attrs=userPassword by anonymous auth by * none",
            "access to * by * read",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        ldif_path = os.path.join(self.dir, "tree.ldif")
        with open(ldif_path, "w") as f:
            f.write(ldif)
        p = subprocess.run(["slapadd", "-f", self.conf, "-l", ldif_path], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError("slapadd failed: %s" % p.stderr[-2000:])
        self.start()

    def start(self):
        urls = "ldap://127.0.0.1:%d/" % self.port
        if self.tls_port:
            urls += " ldaps://127.0.0.1:%d/" % self.tls_port
        # -d 0: stay in the foreground (a child we can stop), log nothing.
        self.proc = subprocess.Popen(["slapd", "-f", self.conf, "-h", urls, "-d", "0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        _children.append(self.proc)
        if not wait_port(self.port, self.proc) or (self.tls_port and not wait_port(self.tls_port, self.proc)):
            raise RuntimeError("slapd did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def close(self):
        self.stop()


# ---------------------------------------------------------------------------
# Hosts and logins

class Host(PamEnv):
    """One "host" of the fleet: its own config, PAM service, state dir,
    gateway and log; the state backend given as a libconfig `state` group."""

    def __init__(self, state_group, extra="", users=None, **kw):
        if users is None:
            super().__init__(**kw)
        else:
            super().__init__(users=users, **kw)
        self.state_group = state_group or ""     # "": the default file state in self.state
        self.extra = extra
        self.reconfigure()
        self.service("otp")

    def reconfigure(self, state_group=None, extra=None):
        if state_group is not None:
            self.state_group = state_group
        if extra is not None:
            self.extra = extra
        return self.config(extra=self.state_group + "\n" + self.extra)

    def file_state(self):
        return "state: { path = %s; };" % cfgstr(self.state)

    def spawn(self, user, *answers, env=None):
        """Start a login without waiting (see finish)."""
        cmd = [tool("pamdrv"), self.pamd, "otp", user]
        cmd += [a if a != "CODE" else "@" + self.codefile for a in answers]
        e = dict(os.environ)
        for k in list(e):
            if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
                del e[k]
        e.update(self._preload_env())
        if env:
            e.update(env)
        return subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sent_codes(self):
        return [b["payload"]["code"] for b in self.gateway.received]


def finish(procs, timeout=60):
    """Wait for spawned logins; returns LoginResults."""
    out = []
    deadline = time.time() + timeout
    for p in procs:
        try:
            so, se = p.communicate(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()

        class R:
            pass
        r = R()
        r.stdout, r.stderr, r.returncode = so, se, p.returncode
        out.append(LoginResult(r))
    return out


def wrong_code(code):
    """A well-formed code that is not `code`."""
    return "".join(str((int(c) + 1) % 10) for c in code)


def status_numbers(text):
    """(wrong attempts, consecutive failures, sends last hour) from otp-smsctl status."""
    import re
    m = re.search(r"wrong attempts (\d+) of", text)
    f = re.search(r"consecutive failures: (\d+)", text)
    s = re.search(r"sends: (\d+) in the last hour", text)
    return (int(m.group(1)) if m else None, int(f.group(1)) if f else None, int(s.group(1)) if s else None)


__all__ = ["RedisServer", "Resp", "RespError", "Slapd", "Host", "finish", "wrong_code", "status_numbers",
           "build_has", "skip_all", "write_secret", "LDAP_SUFFIX", "LDAP_READER", "LDAP_READER_PW",
           "shutil", "run"]
