"""Helpers for the hardening suites (test_races, test_crash, test_fs_attacks,
test_hostile): concurrent logins behind a pipe barrier, logins under strace
fault injection, an independent decoder of the state files (STATEFORMAT)
and canary files that must never change.
"""
import hashlib
import hmac
import os
import struct
import subprocess
import time

from otptest import LoginResult, tool

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def login_env(env, extra=None):
    """The environment PamEnv.login() gives pamdrv (caller proxies removed)."""
    e = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
    e.update(env._preload_env())
    if extra:
        e.update(extra)
    return e


class _Done:
    def __init__(self, stdout, stderr, returncode):
        self.stdout, self.stderr, self.returncode = stdout, stderr, returncode


def _blocked_on(pid, fd):
    """Is pid sitting in read(fd) (the barrier)?  /proc/PID/syscall: nr args...
    None when the kernel does not let us look."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            sc = f.read().split()
        return len(sc) > 1 and sc[0] == "0" and int(sc[1], 16) == fd
    except PermissionError:
        return None
    except (OSError, ValueError):
        return False


def race(env, n, answers, user="alice", service="otp", extra_env=None, timeout=120):
    """Start n logins that all wait on one pipe (after pam_start, with the
    module loaded), release them together, return (results, seconds)."""
    r, w = os.pipe()
    e = login_env(env, extra_env)
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen(
                [tool("pamdrv"), env.pamd, service, user, "--wait-fd", str(r)] + list(answers),
                env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(r,), text=True))
        deadline = time.time() + 30
        for p in procs:
            while p.poll() is None and time.time() < deadline:
                seen = _blocked_on(p.pid, r)
                if seen is None:        # cannot look: give them all a moment
                    time.sleep(2)
                    deadline = 0
                if seen:
                    break
                time.sleep(0.002)
    finally:
        os.close(r)
        t0 = time.time()
        os.close(w)
    out = []
    for p in procs:
        try:
            so, se = p.communicate(timeout=max(1, timeout - (time.time() - t0)))
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
        out.append(LoginResult(_Done(so, se, p.returncode)))
    return out, time.time() - t0


def state_paths(env, uid=2001):
    """-P arguments: every name of the update path of uid's record and the host record."""
    args = []
    for n in ("", "/%d" % uid, "/.%d.tmp" % uid, "/host", "/.host.tmp", "/.key"):
        args += ["-P", env.state + n]
    return args


def strace_env(env, extra_env=None):
    """(environment for strace, its -E arguments): the preloads go to the
    traced login only, and LeakSanitizer, which cannot run under ptrace, is
    off in it (sanitizer runs)."""
    e = login_env(env, extra_env)
    args = []
    if e.get("LD_PRELOAD"):
        args += ["-E", "LD_PRELOAD=" + e.pop("LD_PRELOAD")]
    if e.get("ASAN_OPTIONS"):
        args += ["-E", "ASAN_OPTIONS=" + e["ASAN_OPTIONS"] + ":detect_leaks=0"]
    return e, args


def strace_login(env, inject, user="alice", answers=(), trace="all", uid=2001, extra_env=None,
                 timeout=60, popen=False, log=None):
    """pamdrv under strace; inject is an -e inject= spec counted over the
    state-file syscalls only (-P).  Returns (LoginResult, strace output)."""
    out = log or os.path.join(env.dir, "strace.out")
    e, eargs = strace_env(env, extra_env)
    cmd = ["strace", "-f", "-qq", "-y", "-o", out, "-e", "trace=" + trace] + eargs
    if inject:
        cmd += ["-e", "inject=" + inject]
    cmd += state_paths(env, uid)
    cmd += [tool("pamdrv"), env.pamd, "otp", user] + [
        a if a != "CODE" else "@" + env.codefile for a in answers]
    if popen:
        return subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
    try:
        with open(out) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    return LoginResult(p), text


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


# ---------------------------------------------------------------------------
# An independent reader of STATEFORMAT version 1.

REC_SIZE = 1237
HOST_SIZE = 776


def read_key(statedir):
    with open(os.path.join(statedir, ".key"), "rb") as f:
        return f.read()


def decode_record(statedir, uid):
    """None if there is no file; else a dict with 'status' in
    {'empty', 'ok', 'partial', 'torn'} and the decoded fields."""
    path = os.path.join(statedir, str(uid))
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        return None
    if len(b) == 0:
        return {"status": "empty"}
    if len(b) != REC_SIZE or b[:4] != b"OTPS" or struct.unpack_from("<HH", b, 4) != (1, REC_SIZE):
        return {"status": "torn", "size": len(b)}
    key = read_key(statedir)
    u = struct.pack("<I", uid)
    mac_l = hmac.new(key, b"L" + u + b[:52], hashlib.sha256).digest()
    if not hmac.compare_digest(mac_l, b[52:84]):
        return {"status": "torn", "size": len(b)}
    d = {"status": "ok"}
    d["consecutive_failures"], d["lockout_until"] = struct.unpack_from("<Iq", b, 8)
    mac_m = hmac.new(key, b"M" + u + b[:1205], hashlib.sha256).digest()
    if not hmac.compare_digest(mac_m, b[1205:1237]):
        d["status"] = "partial"
        return d
    d["code_active"] = b[84] == 1
    d["code_issued"], d["code_expires"], d["code_attempts"], d["nsends"] = struct.unpack_from("<qqII", b, 117)
    return d


def decode_host(statedir):
    path = os.path.join(statedir, "host")
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        return None
    if len(b) == 0:
        return {"status": "empty"}
    if len(b) != HOST_SIZE:
        return {"status": "torn"}
    key = read_key(statedir)
    m = hmac.new(key, b"H" + struct.pack("<I", 0) + b[:744], hashlib.sha256).digest()
    if not hmac.compare_digest(m, b[744:776]):
        return {"status": "torn"}
    total = sum(struct.unpack_from("<qI", b, 24 + 12 * i)[1] for i in range(60))
    return {"status": "ok", "sends": total}


def leftovers(statedir):
    """Names in the state dir other than records, host and .key."""
    return sorted(n for n in os.listdir(statedir)
                  if not (n.isdigit() or n in ("host", ".key")))


class Canary:
    """A file outside the state directory whose bytes, mode, owner and
    mtime must survive every attack."""

    def __init__(self, path, data=b"canary: must never change\n", mode=0o640):
        self.path = path
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        self.snap = self._snap()

    def _snap(self):
        st = os.lstat(self.path)
        with open(self.path, "rb") as f:
            return (f.read(), st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)

    def intact(self):
        return self._snap() == self.snap
