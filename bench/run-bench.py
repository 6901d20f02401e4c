#!/usr/bin/python3
"""run-bench.py - what a pam_otp_sms login costs, next to the alternatives.

Builds a private world (fake users through nss_wrapper, a config, a contacts
file, a state directory, PAM service files for every stack, the peers'
secret files), then runs bench/otp-bench over it:

  compare   pam_otp_sms, the floor (one POST + pam_permit), pam_google_authenticator,
            pam_oath [and pam_otp_sms on Redis], interleaved in rounds, one login at a time
  fresh     the same, each login in a freshly exec'd process (as sshd and sudo do)
  fsync     pam_otp_sms with its state on a disk-backed directory and on tmpfs
  conc      1, 8 and 64 concurrent logins, distinct users and one user
  users     10, 10,000 and 100,000 user records in the state
  callgrind instructions inside pam_sm_authenticate, and where they go
  strace    system calls per login (fsync count and time)

Writes OUT/results.json (every run), OUT/summary.md (the tables with their
ratios and the targets) and OUT/performance.png (gnuplot).  Run it through
"make bench" (BENCH_FLAGS="--quick" for a one-minute pass); as root for the
peers (their secret files must belong to the user they run as).
"""
import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("OTP_SRCDIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILDDIR = os.environ.get("OTP_BUILDDIR") or SRCDIR
PAM_SECURITY_DIRS = ["/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security",
                     "/usr/lib/security", "/lib/security"]
FIRST_UID = 20000
SEC_PREFIX = "otp-bench-secret-"


def built(*rel):
    p = os.path.join(BUILDDIR, *rel)
    if not os.path.exists(p):
        sys.exit("run-bench: %s is not built (run make check or make bench)" % p)
    return p


def pam_module(name):
    for d in PAM_SECURITY_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


def log(msg):
    print("run-bench: " + msg, file=sys.stderr, flush=True)


def cfgstr(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


class World:
    """Users, config, contacts, state, PAM services and peer secrets in `base`."""

    def __init__(self, base, nusers, state_dir=None, redis_port=None):
        self.base = base
        self.nusers = nusers
        self.etc = os.path.join(base, "etc")
        self.pamd = os.path.join(base, "pam.d")
        self.tmpl = os.path.join(base, "templates")
        for d in (self.etc, self.pamd, self.tmpl, os.path.join(base, "ga")):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.state = state_dir or os.path.join(base, "state")
        self.contacts = os.path.join(self.etc, "users")
        self.conf = os.path.join(self.etc, "pam_otp_sms.conf")
        self.conf_redis = os.path.join(self.etc, "pam_otp_sms-redis.conf")
        self.steps = os.path.join(base, "totp-steps")
        self.module = built(".libs", "pam_otp_sms.so")
        self.floor = built("bench", ".libs", "pam_bench_floor.so")
        self.substs = []
        self.stacks = {}
        self.extra_dirs = []
        self.redis_port = redis_port
        self._users()
        self._config()
        self._services()

    def user(self, i):
        return "bench%04d" % i

    def _write(self, path, text, mode=0o600):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def _users(self):
        self.passwd = os.path.join(self.base, "passwd")
        self.group = os.path.join(self.base, "group")
        me = os.geteuid()
        pw = ["root:x:0:0:root:/root:/bin/sh"]
        if me != 0:
            pw.append("benchrun:x:%d:%d::/tmp:/bin/sh" % (me, os.getegid()))
        grp = ["root:x:0:", "bench:x:20000:"]
        for i in range(self.nusers):
            pw.append("%s:x:%d:20000::/home/%s:/bin/sh" % (self.user(i), FIRST_UID + i, self.user(i)))
        self._write(self.passwd, "\n".join(pw) + "\n", 0o644)
        self._write(self.group, "\n".join(grp) + "\n", 0o644)
        self._write(self.contacts, "".join("%s +8190%08d -\n" % (self.user(i), i) for i in range(self.nusers)))
        # peers: the same secret per user as the driver derives
        owner = "root" if me == 0 else "benchrun"
        oath = []
        for i in range(self.nusers):
            secret = hashlib.sha1((SEC_PREFIX + str(i)).encode()).digest()
            self._write(os.path.join(self.base, "ga", self.user(i)),
                        base64.b32encode(secret).decode() + "\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n\" WINDOW_SIZE 17\n",
                        0o400)
            oath.append("HOTP/T30/6 %s - %s\n" % (self.user(i), secret.hex()))
        os.makedirs(os.path.join(self.base, "oath"), mode=0o700, exist_ok=True)
        self._write(os.path.join(self.base, "oath", "users.oath"), "".join(oath))
        self.ga_owner = owner

    def _common(self):
        return (
            "code: { length = 6; ttl = 300; max_attempts = 3; resend_after = 0; };\n"
            "limits: { sends_per_hour = 128; sends_per_day = 128; host_sends_per_hour = 1000000;\n"
            "          lockout_after = 100; lockout_time = 1; };\n"
            "contacts: { file = %s; };\n"
            "http: { timeout = 5; connect_timeout = 2; };\n"
            "sms: { connector = \"http-sms\"; http-sms = { endpoint = \"http://127.0.0.1:@PORT@/sms\"; }; };\n"
        ) % cfgstr(self.contacts)

    def _config(self):
        self.confs = {}
        self.add_otp("otp", self.state)
        if self.redis_port:
            key = os.path.join(self.etc, "fleet.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            os.chmod(key, 0o600)
            t = os.path.join(self.tmpl, "conf-otp-redis")
            self._write(t, self._common() + ("state: { backend = \"redis\"; key_file = %s;\n"
                                             "        redis = { url = \"redis://127.0.0.1:%d/0\"; prefix = \"bench:\"; timeout = 2; }; };\n")
                        % (cfgstr(key), self.redis_port))
            self.substs.append("%s:%s" % (t, self.conf_redis))
            self.confs["otp-redis"] = self.conf_redis

    def add_otp(self, name, state_dir):
        """Another pam_otp_sms stack with its own state directory."""
        t = os.path.join(self.tmpl, "conf-" + name)
        conf = os.path.join(self.etc, name + ".conf")
        self._write(t, self._common() + "state: { path = %s; };\n" % cfgstr(state_dir))
        self.substs.append("%s:%s" % (t, conf))
        self.confs[name] = conf
        if name == "otp":
            self.conf = conf
        else:
            self._service(name, "otp", "auth required %s config=%s\n" % (self.module, conf))
        return conf

    def add_peers(self, suffix, where):
        """GA and oath stacks whose secret files live under `where` (e.g. on tmpfs)."""
        d = tempfile.mkdtemp(prefix="peers-", dir=where)
        self.extra_dirs.append(d)
        shutil.copytree(os.path.join(self.base, "ga"), os.path.join(d, "ga"))
        shutil.copytree(os.path.join(self.base, "oath"), os.path.join(d, "oath"))
        if pam_module("pam_google_authenticator.so"):
            self._service("ga" + suffix, "totp", "auth required pam_google_authenticator.so secret=%s/ga/${USER} user=%s\n"
                          % (d, self.ga_owner))
        if pam_module("pam_oath.so"):
            self._service("oath" + suffix, "totp", "auth required pam_oath.so usersfile=%s/oath/users.oath window=8 digits=6\n"
                          % d)

    def _service(self, name, kind, text):
        t = os.path.join(self.tmpl, "svc-" + name)
        self._write(t, text, 0o644)
        self.substs.append("%s:%s" % (t, os.path.join(self.pamd, name)))
        self.stacks[name] = kind

    def _services(self):
        self._write(os.path.join(self.pamd, "other"), "auth required pam_deny.so\n", 0o644)
        self._service("otp", "otp", "auth required %s config=%s\n" % (self.module, self.conf))
        self._service("floor", "floor", "auth required %s url=http://127.0.0.1:@PORT@/sms\n"
                      "auth required pam_permit.so\n" % self.floor)
        if pam_module("pam_google_authenticator.so"):
            self._service("ga", "totp", "auth required pam_google_authenticator.so secret=%s/ga/${USER} user=%s\n"
                          % (self.base, self.ga_owner))
        if pam_module("pam_oath.so"):
            self._service("oath", "totp", "auth required pam_oath.so usersfile=%s/oath/users.oath window=8 digits=6\n"
                          % self.base)
        if self.redis_port:
            self._service("otp-redis", "otp", "auth required %s config=%s\n" % (self.module, self.conf_redis))

    def inspect_conf(self, name):
        with open(os.path.join(self.tmpl, "conf-" + name)) as f:
            text = f.read()
        tmp = os.path.join(self.etc, name + ".inspect")
        self._write(tmp, text.replace("@PORT@", "9"))
        return tmp

    def state_ops(self, names, iters, uid):
        """p50/p90 (us) of one login's state transactions, per stack's state, interleaved."""
        out = subprocess.run([built("bench", "otp-bench-state"), "ops", str(iters), str(uid)] +
                             [self.inspect_conf(n) for n in names],
                             check=True, env=self.env(), capture_output=True, text=True).stdout
        vals = [tuple(float(x) for x in line.split()[1:]) for line in out.splitlines()]
        return dict(zip(names, vals))

    def env(self):
        e = dict(os.environ)
        # In a sanitizer run (scripts/test-sanitizers.sh) the ASan runtime
        # must come first in LD_PRELOAD.
        asan = os.environ.get("OTP_ASAN_RUNTIME", "").strip()
        e.update({"LD_PRELOAD": (asan + " " if asan else "") + "libnss_wrapper.so",
                  "NSS_WRAPPER_PASSWD": self.passwd, "NSS_WRAPPER_GROUP": self.group})
        return e

    def populate(self, count, first_uid, name="otp"):
        """count user records (uids first_uid..) through the module's own codec."""
        # the config must exist for otp-bench-state: write it with any port
        with open(os.path.join(self.tmpl, "conf-" + name)) as f:
            text = f.read().replace("@PORT@", "9")
        tmp = os.path.join(self.etc, "populate.conf")
        self._write(tmp, text)
        subprocess.run([built("bench", "otp-bench-state"), "populate", tmp, str(count), str(first_uid)],
                       check=True, env=self.env())

    def sends(self, name, uids):
        with open(os.path.join(self.tmpl, "conf-" + name)) as f:
            text = f.read()
        tmp = os.path.join(self.etc, name + ".inspect")
        self._write(tmp, text.replace("@PORT@", "9"))
        out = subprocess.run([built("bench", "otp-bench-state"), "sends", tmp] + [str(u) for u in uids],
                             check=True, env=self.env(), capture_output=True, text=True).stdout
        res = {}
        for line in out.splitlines():
            k, v = line.split()
            res[k] = int(v)
        return res

    def bench(self, stacks, logins, conc=1, rounds=1, same_user=None, users=None, exec_mode=False,
              expect_ok=False, raw=None, wrap=None, timeout=1800):
        cmd = [built("bench", "otp-bench"), "--pamdir", self.pamd, "--logins", str(logins),
               "--conc", str(conc), "--rounds", str(rounds), "--steps", self.steps]
        for s in stacks:
            cmd += ["--stack", "%s:%s" % (self.stacks[s], s)]
        for s in self.substs:
            cmd += ["--subst", s]
        if same_user is not None:
            cmd += ["--same-user", "--first", str(same_user), "--users", "1"]
        else:
            cmd += ["--users", str(users or self.nusers)]
        if exec_mode:
            cmd += ["--exec", built("bench", "otp-bench")]
        if expect_ok:
            cmd.append("--expect-ok")
        if raw:
            cmd += ["--raw", raw]
        env = self.env()
        if wrap:
            if wrap[0] == "strace" and env.get("OTP_ASAN_RUNTIME"):
                # Sanitizer run: the preloads (ASan runtime first) belong to
                # the traced driver only, not to strace itself, and
                # LeakSanitizer cannot run under ptrace (it hangs at exit).
                wrap = wrap[:1] + ["-E", "LD_PRELOAD=" + env.pop("LD_PRELOAD"),
                                   "-E", "ASAN_OPTIONS=%s:detect_leaks=0" % env.get("ASAN_OPTIONS", "")] + wrap[1:]
            cmd = wrap + cmd
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
        return p.returncode, rows, p.stderr


# ---------------------------------------------------------------- helpers

def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """A private redis-server on loopback, appendfsync always (durable like the file backend)."""

    def __init__(self, base):
        self.dir = os.path.join(base, "redis")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                import socket
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def redis_available():
    if shutil.which("redis-server") is None:
        return False
    return subprocess.run([built("bench", "otp-bench-state"), "has-backend", "redis"]).returncode == 0


def fmt(x, nd=2):
    if x is None:
        return "-"
    if isinstance(x, float):
        return ("%%.%df" % nd) % x
    return str(x)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(fmt(c) for c in r) + " |")
    return "\n".join(out) + "\n"


LABEL = {"otp": "pam_otp_sms (file state)", "otp-redis": "pam_otp_sms (Redis state)",
         "floor": "floor: 1 POST + pam_permit", "ga": "pam_google_authenticator", "oath": "pam_oath"}


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.results = {"meta": self.meta(), "runs": []}
        self.md = []
        self.cleanup = []
        self.worlds = []
        self.failures = []

    def meta(self):
        def sh(cmd):
            try:
                return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
            except OSError:
                return ""
        return {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "uname": sh("uname -srm"),
                "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
                "nproc": os.cpu_count(), "commit": sh("git -C '%s' rev-parse --short HEAD 2>/dev/null" % SRCDIR),
                "dirty": bool(sh("git -C '%s' status --porcelain -- src pam_otp_sms.c 2>/dev/null" % SRCDIR)),
                "command": " ".join(sys.argv)}

    def world(self, where, nusers=256, redis=False, tag="w"):
        base = tempfile.mkdtemp(prefix="otp-bench-%s-" % tag, dir=where)
        self.cleanup.append(base)
        r = None
        if redis:
            r = Redis(base)
            self.cleanup_redis = getattr(self, "cleanup_redis", []) + [r]
        w = World(base, nusers, redis_port=r.port if r else None)
        self.worlds.append(w)
        return w

    def run(self, w, name, stacks, logins, expect_ok=True, **kw):
        t0 = time.time()
        rc, rows, err = w.bench(stacks, logins, expect_ok=expect_ok, **kw)
        log("%-28s %-32s %5d logins  %.1f s%s" % (name, ",".join(stacks), logins, time.time() - t0,
                                                    "" if rc == 0 else "  (exit %d)" % rc))
        if rc != 0 or not rows:
            self.failures.append("%s: exit %d: %s" % (name, rc, err.strip()[-400:]))
        for r in rows:
            r["scenario"] = name
            self.results["runs"].append(r)
        return {r["stack"]: r for r in rows}

    def n(self, full):
        return max(10, full // 10) if self.args.quick else (self.args.logins * full // 1000 if self.args.logins else full)

    # ------------------------------------------------------------ scenarios

    def compare(self, disk, tmpfs):
        """Every stack, state on disk and on tmpfs, interleaved in one run."""
        use_redis = redis_available()
        w = self.world(disk, redis=use_redis, tag="cmp")
        st = tempfile.mkdtemp(prefix="otp-bench-state-", dir=tmpfs)
        w.extra_dirs.append(st)
        w.add_otp("otp-tmpfs", os.path.join(st, "state"))
        w.add_peers("-tmpfs", tmpfs)
        w.populate(10, FIRST_UID + 1000)
        w.populate(10, FIRST_UID + 1000, name="otp-tmpfs")
        base = ["otp", "floor"] + World.peers() + (["otp-redis"] if use_redis else [])
        stacks = [x for s in base for x in (s, s + "-tmpfs") if x in w.stacks]
        rounds = 5
        res = self.run(w, "compare", stacks, self.n(1000), rounds=rounds)
        d = {s: res[s] for s in base if s in res}
        t = {s: res[s + "-tmpfs"] for s in base if s + "-tmpfs" in res}
        t["floor"] = res["floor"]          # the floor keeps no state
        fl, ga, gat = d.get("floor"), d.get("ga"), t.get("ga")
        rows = []
        for s in base:
            r, rt = d.get(s), t.get(s)
            if r is None:
                continue
            v = r["kind"] != "floor"
            rows.append([LABEL[s], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["p50_ms"] / fl["p50_ms"],
                         r["verify_p50_ms"] if v else None,
                         r["verify_p50_ms"] / ga["verify_p50_ms"] if ga and v else None,
                         r["cpu_ms"], r["maxrss_kb"] / 1024.0,
                         rt["p50_ms"] if rt and s != "floor" else None,
                         rt["p50_ms"] / fl["p50_ms"] if rt and s != "floor" else None,
                         rt["verify_p50_ms"] if rt and v else None,
                         rt["verify_p50_ms"] / gat["verify_p50_ms"] if rt and gat and v else None])
        self.md.append("### One login at a time (%d logins per stack, %d interleaved rounds)\n\n" %
                       (self.n(1000), rounds))
        self.md.append("Each stack's files (state directory, secrets) on a disk-backed file system (%s) and, "
                       "in the *tmpfs* columns, the same stack with them on tmpfs (%s); all stacks interleaved in "
                       "one run through one gateway.  Latencies in ms for a whole PAM transaction "
                       "(pam_start .. pam_end); *verify* is from the answer leaving the conversation to "
                       "pam_authenticate returning; CPU is user+sys per login; RSS is the worker's peak "
                       "(MiB).  Redis runs with appendfsync always.\n\n" % (disk, tmpfs))
        self.md.append(table(["stack", "p50", "p90", "p99", "p50 / floor", "verify p50", "verify / GA",
                              "CPU ms", "RSS MiB", "tmpfs p50", "tmpfs / floor", "tmpfs verify p50",
                              "tmpfs verify / GA"], rows))
        self.cmp = (d, t)
        self.plot_compare = [(LABEL[s], d[s]["p50_ms"], d[s]["p90_ms"], t[s]["p50_ms"] if s in t else None,
                              t[s]["p90_ms"] if s in t else None) for s in base if s in d]

    def fresh(self, tmpfs):
        stacks = ["otp", "floor"] + [s for s in ("ga", "oath") if s in World.peers()]
        w = self.world(tmpfs, tag="exec")
        d = self.run(w, "fresh-process", stacks, self.n(300), rounds=3, exec_mode=True)
        fl = d.get("floor")
        rows = [[LABEL[s], d[s]["p50_ms"], d[s]["p90_ms"], d[s]["p50_ms"] / fl["p50_ms"] if fl else None,
                 d[s]["cpu_ms"], d[s]["maxrss_kb"] // 1024] for s in stacks if s in d]
        self.md.append("### Each login in a fresh process (as sshd and sudo run it), state on tmpfs\n\n"
                       "fork + exec of the driver + loading libpam and the stack + the login; CPU and RSS of the "
                       "login process.\n\n")
        self.md.append(table(["stack", "p50", "p90", "p50 / floor", "CPU ms", "RSS MiB"], rows))

    def concurrency(self, disk):
        use_redis = redis_available()
        rows, plot = [], []
        for conc in (1, 8, 64):
            w = self.world(disk, redis=use_redis, tag="conc%d" % conc)
            stacks = ["otp", "floor"] + (["otp-redis"] if use_redis else [])
            d = self.run(w, "conc-%d" % conc, stacks, self.n(1024) if conc > 1 else self.n(512), conc=conc)
            sends = w.sends("otp", [FIRST_UID + i for i in range(w.nusers)])
            user_total = sum(v for k, v in sends.items() if k != "host")
            o = d["otp"]
            lost = (o["gw_requests"] - sends["host"]) + (o["gw_requests"] - user_total)
            rows.append(["distinct users", conc, o["ok"], o["logins"], o["p50_ms"], o["p99_ms"], o["logins_per_s"],
                         d["floor"]["p50_ms"], d["floor"]["logins_per_s"], o["gw_requests"], sends["host"],
                         user_total, o["replays"], "none" if lost == 0 else "%d LOST" % lost])
            if lost != 0:
                self.failures.append("conc %d: lost updates: gateway %d, host %d, users %d" %
                                     (conc, o["gw_requests"], sends["host"], user_total))
            plot.append((conc, o["logins_per_s"], d["floor"]["logins_per_s"], o["p50_ms"], d["floor"]["p50_ms"],
                         d.get("otp-redis", {}).get("logins_per_s", 0)))
            if "otp-redis" in d:
                r = d["otp-redis"]
                rows.append(["distinct users, Redis", conc, r["ok"], r["logins"], r["p50_ms"], r["p99_ms"],
                             r["logins_per_s"], None, None, r["gw_requests"], None, None, r["replays"], "-"])
            # one user, many logins at once: every send and attempt must be on record
            ws = self.world(disk, tag="same%d" % conc)
            d = self.run(ws, "same-user-%d" % conc, ["otp"], min(120, self.n(120) if conc > 1 else self.n(60)),
                         conc=conc, same_user=0, expect_ok=False)
            s = ws.sends("otp", [FIRST_UID])
            o = d["otp"]
            lost = (o["gw_requests"] - s["host"]) + (o["gw_requests"] - s[str(FIRST_UID)])
            rows.append(["one user", conc, o["ok"], o["logins"], o["p50_ms"], o["p99_ms"], o["logins_per_s"],
                         None, None, o["gw_requests"], s["host"], s[str(FIRST_UID)], o["replays"],
                         "none" if lost == 0 else "%d LOST" % lost])
            if lost != 0 or o["replays"] != 0:
                self.failures.append("same user conc %d: lost %d replays %d" % (conc, lost, o["replays"]))
        self.md.append("### Concurrent logins (state on disk)\n\n"
                       "*sent* is what the gateway received; *host* and *user* are the sends the state has on "
                       "record afterwards (the host's hourly counter and the sum of the users' records): any "
                       "difference is a lost update.  *replays*: two logins accepted with the same sent code.  "
                       "With one user, logins that overlap replace each other's code (one outstanding code per "
                       "user), so many are refused by design; what matters there is that nothing is lost and "
                       "nothing is accepted twice.\n\n")
        self.md.append(table(["users", "concurrent", "ok", "logins", "p50", "p99", "logins/s", "floor p50",
                              "floor logins/s", "sent", "host", "user", "replays", "lost updates"], rows))
        self.plot_conc = plot

    def users(self, disk, tmpfs):
        """The same login against states holding 10, 10,000 and 100,000 user records,
        on disk and on tmpfs, all interleaved in one run."""
        counts = (10, 10000, 20000 if self.args.quick else 100000)
        w = self.world(disk, tag="users")
        st = tempfile.mkdtemp(prefix="otp-bench-users-", dir=tmpfs)
        w.extra_dirs.append(st)
        fills, stacks = {}, []
        for where, root in (("disk", w.base), ("tmpfs", st)):
            for c in counts:
                name = "otp-%s-u%d" % (where, c)
                w.add_otp(name, os.path.join(root, "state-%d" % c))
                t0 = time.time()
                w.populate(c, FIRST_UID + 1000, name=name)
                fills[name] = time.time() - t0
                stacks.append(name)
        res = self.run(w, "users", stacks, self.n(600), rounds=6)
        # the state transactions alone, many times, interleaved: the steadiest measure
        iters = 300 if self.args.quick else 2000
        t0 = time.time()
        ops = w.state_ops(stacks, iters, FIRST_UID + 1000 + counts[0] // 2)
        log("%-28s %-32s %5d x %d states  %.1f s" % ("state-ops", "", iters, len(stacks), time.time() - t0))
        rows = []
        for where in ("disk", "tmpfs"):
            b = res["otp-%s-u%d" % (where, counts[0])]
            bo = ops["otp-%s-u%d" % (where, counts[0])]
            for c in counts:
                name = "otp-%s-u%d" % (where, c)
                o, op = res[name], ops[name]
                rows.append([where, c, fills[name], op[0], op[0] / bo[0], op[1], o["p50_ms"], o["p50_ms"] / b["p50_ms"],
                             o["verify_p50_ms"], o["verify_p50_ms"] / b["verify_p50_ms"], o["send_p50_ms"],
                             o["send_p50_ms"] / b["send_p50_ms"]])
                self.plot_users = getattr(self, "plot_users", []) + [(where, c, o["p50_ms"], o["verify_p50_ms"],
                                                                      op[0] / 1e3)]
        self.md.append("### Users on record (%d logins per state, %d interleaved rounds)\n\n"
                       "User records pre-created with the module's codec (*fill s*: seconds to write them, one "
                       "syncfs).  *state ops*: the five transactions of one login (issue: user + host record; "
                       "verify: count the attempt, consume) timed alone by `otp-bench-state ops`, %d times per "
                       "state, interleaved, in microseconds.  Then whole logins: *verify* is pure state work "
                       "(two locked transactions); *send phase* is everything before the prompt (config, "
                       "contacts, state issue, the POST).  Ratios are against 10 records on the same file "
                       "system.\n\n" % (self.n(600), 6, iters))
        self.md.append(table(["state on", "records", "fill s", "state ops p50 us", "ratio", "state ops p90 us",
                              "login p50 ms", "ratio", "verify p50 ms", "ratio", "send phase p50 ms", "ratio"],
                             rows))

    def contacts(self, tmpfs):
        """The contacts file is read and checked whole on every login: cost per line, and its size limit."""
        w = self.world(tmpfs, tag="contacts")
        with open(w.contacts) as f:
            mine = f.read()
        sizes = (1000, 10000, 30000, 100000)
        for n in sizes:
            path = os.path.join(w.etc, "contacts-%d" % n)
            w._write(path, mine + "".join("filler%06d +8191%08d -\n" % (i, i) for i in range(n - w.nusers)))
            t = os.path.join(w.tmpl, "conf-otp-c%d" % n)
            w._write(t, w._common().replace(cfgstr(w.contacts), cfgstr(path)) +
                     "state: { path = %s; };\n" % cfgstr(os.path.join(w.base, "state-c%d" % n)))
            conf = os.path.join(w.etc, "otp-c%d.conf" % n)
            w.substs.append("%s:%s" % (t, conf))
            w._service("otp-c%d" % n, "otp", "auth required %s config=%s\n" % (w.module, conf))
        res = self.run(w, "contacts", ["otp-c%d" % n for n in sizes[:-1]], self.n(300), rounds=3)
        big = self.run(w, "contacts-too-big", ["otp-c%d" % sizes[-1]], 3, expect_ok=False)
        rows = []
        b = res["otp-c%d" % sizes[0]]
        for n in sizes[:-1]:
            o = res["otp-c%d" % n]
            rows.append([n, os.path.getsize(os.path.join(w.etc, "contacts-%d" % n)) // 1024, o["p50_ms"],
                         o["send_p50_ms"], (o["send_p50_ms"] - b["send_p50_ms"]) * 1e3 / (n - sizes[0]) if n > sizes[0] else None,
                         o["cpu_ms"]])
        o = big["otp-c%d" % sizes[-1]]
        rows.append([sizes[-1], os.path.getsize(os.path.join(w.etc, "contacts-%d" % sizes[-1])) // 1024,
                     "refused: %s" % ", ".join("%s x%d" % kv for kv in o["rc"].items()), None, None, None])
        self.md.append("### Contacts file size (state on tmpfs)\n\n"
                       "The file is read, checked line by line and searched on every login (a bad line anywhere "
                       "fails every login, by contract).  *us per line*: extra send-phase time per extra line. "
                       "Files above 1 MiB are refused (config error).\n\n")
        self.md.append(table(["lines", "KiB", "p50", "send phase p50", "us per line", "CPU ms"], rows))

    def callgrind(self, tmpfs):
        if shutil.which("valgrind") is None:
            self.md.append("(valgrind not installed: no instruction counts)\n\n")
            return
        rows = []
        w = self.world(tmpfs, tag="cg")
        # Two runs, n0 and n1 logins: the difference over n1 - n0 is the
        # steady per-login cost; what is left of the short run is one-time
        # set-up in a process (libcrypto's DRBG and providers, NSS, libpam).
        n0, n1 = 2, (8 if self.args.quick else 22)
        breakdown = None
        stacks = ["otp", "floor"] + World.peers()
        # the state's key and the peers' files exist before anything is counted
        self.run(w, "callgrind-warm-up", stacks, len(stacks))
        for s in stacks:
            res = {}
            for toggle in ("pam_sm_authenticate", "one_login"):
                files = {}
                for n in (n0, n1):
                    outdir = os.path.join(self.out, "callgrind", "%s-%s-%d" % (s, toggle, n))
                    shutil.rmtree(outdir, ignore_errors=True)
                    os.makedirs(outdir)
                    wrap = ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s/cg.%%p" % outdir,
                            "--toggle-collect=" + toggle]
                    self.run(w, "callgrind-" + s, [s], n, wrap=wrap, timeout=3600)
                    fl = sorted(os.listdir(outdir), key=lambda f: -os.path.getsize(os.path.join(outdir, f)))
                    files[n] = os.path.join(outdir, fl[0]) if fl else None
                if files[n0] and files[n1]:
                    i0, i1 = self.ir(files[n0]), self.ir(files[n1])
                    per = (i1 - i0) / (n1 - n0)
                    res[toggle] = (per, i0 - n0 * per)
                    if s == "otp" and toggle == "pam_sm_authenticate":
                        breakdown = self.inclusive(files[n0], files[n1], n1 - n0)
            def cell(t, k):
                return res[t][k] / 1e6 if t in res else None
            rows.append([LABEL[s], cell("pam_sm_authenticate", 0), cell("one_login", 0),
                         cell("pam_sm_authenticate", 1), cell("one_login", 1)])
        self.md.append("### Instructions per login (valgrind --tool=callgrind, state on tmpfs)\n\n"
                       "*module*: inclusive cost of the stack's pam_sm_authenticate; *transaction*: "
                       "pam_start .. pam_end (loading the module and its libraries included).  Per login: "
                       "(Ir of %d logins - Ir of %d logins) / %d; *first time*: what a process pays once "
                       "on top (a fresh sshd or sudo process pays it on every login).\n\n" % (n1, n0, n1 - n0))
        self.md.append(table(["stack", "module Minstr", "transaction Minstr", "module first time Minstr",
                              "transaction first time Minstr"], rows))
        if breakdown:
            self.md.append("\nWhere pam_otp_sms's own instructions go (inclusive, per login, steady state):\n\n")
            self.md.append(table(["function", "Kinstr / login", "share"], breakdown))

    @staticmethod
    def ir(path):
        with open(path) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        return 0

    WANT = ["pam_sm_authenticate", "otp_config_load", "config_read_string", "otp_contacts_lookup",
            "getpwnam_r", "otp_state_open", "issue_code", "otp_code_generate", "otp_state_begin_user",
            "otp_state_commit_user", "otp_state_commit_host", "otp_state_commit_issue",
            "otp_flow_deliver", "otp_http_perform", "curl_global_init", "curl_easy_init", "curl_easy_perform",
            "curl_easy_cleanup", "curl_global_cleanup", "json_object_to_json_string_ext", "verify",
            "otp_hmac_sha256", "otp_log_event", "otp_config_free", "otp_state_close", "RAND_bytes"]

    @staticmethod
    def functions(path):
        out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                             capture_output=True, text=True, errors="replace").stdout
        got = {}
        for line in out.splitlines():
            m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
            if not m:
                continue
            fn = m.group(2).split(":")[-1]
            v = int(m.group(1).replace(",", ""))
            if v > got.get(fn, 0):
                got[fn] = v
        return got

    def inclusive(self, f0, f1, dn):
        a, b = self.functions(f0), self.functions(f1)
        per = {f: (b.get(f, 0) - a.get(f, 0)) / dn for f in self.WANT if f in b}
        total = per.get("pam_sm_authenticate") or 1
        return [[f, per[f] / 1e3, "%.0f%%" % (100.0 * per[f] / total)] for f in self.WANT if f in per]

    def strace(self, disk, tmpfs):
        if shutil.which("strace") is None:
            return
        rows = []
        for where, label in ((disk, "disk"), (tmpfs, "tmpfs")):
            w = self.world(where, tag="strace")
            n = 20 if self.args.quick else 100
            for s in ("otp", "floor"):
                tr = os.path.join(self.out, "strace-%s-%s.txt" % (s, label))
                self.run(w, "strace-%s" % label, [s], n,
                         wrap=["strace", "-f", "-qq", "-T", "-o", tr, "-e",
                               "trace=!wait4,poll,ppoll,pselect6,select,nanosleep,clock_nanosleep"])
                calls, fs, ren = 0, [], 0
                with open(tr) as f:
                    for line in f:
                        m = re.match(r"\d+\s+(\w+)\(.*<([\d.]+)>$", line.strip())
                        if not m:
                            continue
                        calls += 1
                        if m.group(1) in ("fsync", "fdatasync"):
                            fs.append(float(m.group(2)) * 1e3)
                        elif m.group(1).startswith("rename"):
                            ren += 1
                fs.sort()
                rows.append([s, label, calls / n, len(fs) / n, ren / n,
                             fs[len(fs) // 2] if fs else None, fs[int(len(fs) * 0.9)] if fs else None,
                             sum(fs) / n if fs else None])
        self.md.append("### System calls per login (strace -f -T, %d logins)\n\n"
                       "fsync times are as strace sees them (strace slows every call, so use them for the "
                       "disk/tmpfs contrast, not as absolute numbers).\n\n" % (20 if self.args.quick else 100))
        self.md.append(table(["stack", "state on", "syscalls", "fsync", "rename", "fsync p50 ms", "fsync p90 ms",
                              "fsync ms / login"], rows))

    # ------------------------------------------------------------ output

    def targets(self):
        d, t = self.cmp
        rows = []
        o, fl = d["otp"], d["floor"]
        rows.append(["full login within 1.2x the floor (disk)", "%.2fx" % (o["p50_ms"] / fl["p50_ms"]),
                     "yes" if o["p50_ms"] <= 1.2 * fl["p50_ms"] else "no"])
        if "otp" in t and "floor" in t:
            rows.append(["full login within 1.2x the floor (tmpfs)", "%.2fx" % (t["otp"]["p50_ms"] / t["floor"]["p50_ms"]),
                         "yes" if t["otp"]["p50_ms"] <= 1.2 * t["floor"]["p50_ms"] else "no"])
        if "ga" in d:
            rows.append(["verify no slower than pam_google_authenticator (disk)",
                         "%.2fx" % (o["verify_p50_ms"] / d["ga"]["verify_p50_ms"]),
                         "yes" if o["verify_p50_ms"] <= d["ga"]["verify_p50_ms"] else "no"])
        if "ga" in t:
            rows.append(["verify no slower than pam_google_authenticator (tmpfs)",
                         "%.2fx" % (t["otp"]["verify_p50_ms"] / t["ga"]["verify_p50_ms"]),
                         "yes" if t["otp"]["verify_p50_ms"] <= t["ga"]["verify_p50_ms"] else "no"])
        for where in ("disk", "tmpfs"):
            u = [x for x in getattr(self, "plot_users", []) if x[0] == where]
            if not u:
                continue
            dev = [x[4] / u[0][4] - 1 for x in u]
            worst = max(dev, key=abs)
            rows.append(["state operations flat within 10%% (%d .. %d records, state ops p50, %s)" %
                         (u[0][1], u[-1][1], where), "%+.0f%% worst" % (100 * worst),
                         "yes" if abs(worst) <= 0.10 else "no"])
        lost = [f for f in self.failures if "lost" in f]
        rows.append(["no lost update at 64-way concurrency", "none" if not lost else "; ".join(lost),
                     "yes" if not lost else "no"])
        return table(["target", "measured", "met"], rows)

    def plot(self):
        if shutil.which("gnuplot") is None:
            log("gnuplot not installed: no plot")
            return
        with open(os.path.join(self.out, "compare.dat"), "w") as f:
            for label, p50, p90, tp50, tp90 in self.plot_compare:
                f.write('"%s" %.3f %.3f %s %s\n' % (label.replace(": ", ":\\n"), p50, p90,
                                                   "-" if tp50 is None else "%.3f" % tp50,
                                                   "-" if tp90 is None else "%.3f" % tp90))
        with open(os.path.join(self.out, "conc.dat"), "w") as f:
            for row in getattr(self, "plot_conc", []):
                f.write("%d %.2f %.2f %.3f %.3f %.2f\n" % row)
        for where in ("disk", "tmpfs"):
            with open(os.path.join(self.out, "users-%s.dat" % where), "w") as f:
                for row in getattr(self, "plot_users", []):
                    if row[0] == where:
                        f.write("%d %.3f %.3f %.3f\n" % row[1:])
        subprocess.run(["gnuplot", "-e", "outdir='%s'" % self.out, os.path.join(SRCDIR, "bench", "plot.gp")],
                       check=False)

    def write(self):
        with open(os.path.join(self.out, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        m = self.results["meta"]
        head = ("## Results\n\nMeasured %s on %s (%s, %d CPUs), source %s%s.\n"
                "Command: `%s`\n\n" % (m["date"], m["uname"], m["cpu"], m["nproc"], m["commit"],
                                       " plus uncommitted changes" if m["dirty"] else "",
                                       "make bench" + (" BENCH_FLAGS=\"%s\"" % " ".join(sys.argv[3:])
                                                       if len(sys.argv) > 3 else "")))
        text = head + "### Targets\n\n" + self.targets() + "\n" + "\n".join(self.md)
        if self.failures:
            text += "\n### Problems during the run\n\n" + "".join("- %s\n" % f for f in self.failures)
        with open(os.path.join(self.out, "summary.md"), "w") as f:
            f.write(text)
        print(text)

    def close(self):
        for r in getattr(self, "cleanup_redis", []):
            r.close()
        if not self.args.keep:
            for d in self.cleanup + [x for w in self.worlds for x in w.extra_dirs]:
                shutil.rmtree(d, ignore_errors=True)


def peers():
    return [s for s, m in (("ga", "pam_google_authenticator.so"), ("oath", "pam_oath.so")) if pam_module(m)]


World.peers = staticmethod(peers)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--quick", action="store_true", help="a tenth of the logins (about a minute)")
    ap.add_argument("--logins", type=int, default=0, help="scale: logins per stack in the main comparison")
    ap.add_argument("--disk", default="/var/tmp", help="a disk-backed directory for state")
    ap.add_argument("--tmpfs", default="/dev/shm", help="a tmpfs directory for state")
    ap.add_argument("--only", default="", help="comma list of: compare,fresh,conc,users,contacts,callgrind,strace")
    ap.add_argument("--keep", action="store_true", help="keep the worlds (state dirs, configs)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else {"compare", "fresh", "conc", "users", "contacts", "callgrind", "strace"}
    only.add("compare")
    b = Bench(args)
    try:
        if os.geteuid() != 0:
            log("not root: the peers' secret files belong to the caller (user=benchrun)")
        b.compare(args.disk, args.tmpfs)
        if "fresh" in only:
            b.fresh(args.tmpfs)
        if "conc" in only:
            b.concurrency(args.disk)
        if "users" in only:
            b.users(args.disk, args.tmpfs)
        if "contacts" in only:
            b.contacts(args.tmpfs)
        if "callgrind" in only:
            b.callgrind(args.tmpfs)
        if "strace" in only:
            b.strace(args.disk, args.tmpfs)
        b.plot()
        b.write()
    finally:
        b.close()
    return 1 if b.failures else 0


if __name__ == "__main__":
    sys.exit(main())
