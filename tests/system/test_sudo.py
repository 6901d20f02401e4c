#!/usr/bin/python3
"""End to end through Debian's sudo: password, then a code by SMS.

A test user gets a sudoers.d drop-in that selects a private PAM service
(`Defaults:<user> pam_service=...`, checked with visudo before it is put in
place) built from the shipped etc/pam.d/sudo-otp.example with the BUILT
module and a test config (http-sms to a loopback mock gateway).  sudo runs
on a pty as the user: the password is typed, then the code the gateway
received; `id -u` must print 0.  Wrong password -> no message; wrong and
replayed codes -> denied.  `sudo -n` in a loop never sends more messages
than limits.sends_per_hour, with and without sudo's noninteractive_auth.

Needs root and OTP_SYSTEM_TESTS=1 (else TAP skip).  The sudoers drop-in is
removed first in the finally block, then PAM services, user and files.
"""
import os
import pty
import pwd
import re
import secrets
import select
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

if os.geteuid() != 0:
    print("1..0 # SKIP system tests need root")
    sys.exit(0)
if os.environ.get("OTP_SYSTEM_TESTS") != "1":
    print("1..0 # SKIP set OTP_SYSTEM_TESTS=1 to run the system tests")
    sys.exit(0)

# The system tests change shared system state (PAM stacks, users, sudoers,
# packages): run one at a time even under make -j.
import fcntl  # noqa: E402
_lock = open(os.path.join("/run/lock" if os.path.isdir("/run/lock") else "/tmp",
                          "pam_otp_sms-system-tests.lock"), "w")
fcntl.flock(_lock, fcntl.LOCK_EX)

from otptest import TAP, MockServer, SRCDIR, cfgstr, tool, workdir  # noqa: E402

t = TAP()
SUDO = "/usr/bin/sudo"
if not os.path.exists(SUDO) or not os.path.exists("/usr/sbin/visudo"):
    t.ok(False, "sudo is installed (scripts/install-deps.sh)")
    t.done()
try:
    MODULE = os.path.abspath(tool("pam_otp_sms.so"))
except FileNotFoundError:
    t.ok(False, "the module is built (.libs/pam_otp_sms.so)")
    t.done()

PHONE = "+819012345678"
tag = "%d" % os.getpid()
USER = "otpsudo" + tag
PASSWORD = "Pw-" + secrets.token_hex(8)
SVC = "otp-sudo-" + tag            # password + code (the shipped example)
SVC_N = "otp-sudon-" + tag         # code only, for the sudo -n cap test
SUDOERS = "/etc/sudoers.d/otp_test_" + tag     # no '.' or '~': sudo would skip it
PAMFILES = ["/etc/pam.d/" + SVC, "/etc/pam.d/" + SVC_N]
CAP = 3


class Gateway:
    def __init__(self):
        self.sent = []

    def handle(self, req):
        body = req.json()
        self.sent.append({"to": body["to"], "type": body.get("type"),
                          "code": body["payload"]["code"]})
        return (200, {"Content-Type": "application/json"}, "{}")


def write_conf(path, state, endpoint, resend_after, per_hour):
    with open(path, "w") as f:
        f.write("""code: { length = 6; ttl = 300; max_attempts = 3; resend_after = %d; allow_resend = false; };
limits: { sends_per_hour = %d; sends_per_day = 20; host_sends_per_hour = 100; lockout_after = 10; lockout_time = 900; };
state: { path = %s; };
contacts: { sources = [ "file" ]; file = %s; };
channels = [ "sms" ];
sms: { connector = "http-sms"; http-sms = { endpoint = %s; }; };
""" % (resend_after, per_hour, cfgstr(state), cfgstr(os.path.join(wd, "users")), cfgstr(endpoint)))
    os.chmod(path, 0o600)


def sudo_pty(argv, replies, timeout=60):
    """Run sudo as USER on a fresh pty.  replies: list of (regex, callable->str)
    answered in order as their prompt appears.  Returns (status, transcript)."""
    pw = pwd.getpwnam(USER)
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.initgroups(USER, pw.pw_gid)
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            os.chdir("/")
            os.execve(SUDO, [SUDO] + argv, {"PATH": "/usr/bin:/bin", "LANG": "C",
                                            "HOME": pw.pw_dir, "USER": USER, "TERM": "dumb"})
        finally:
            os._exit(127)
    out = b""
    pending = list(replies)
    seen = 0
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        text = out.decode(errors="replace")
        if pending and re.search(pending[0][0], text[seen:]):
            m = re.search(pending[0][0], text[seen:])
            seen += m.end()
            reply = pending.pop(0)[1]()
            os.write(fd, reply.encode() + b"\n")
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def sudo_n(n):
    """`sudo -n true` n times as USER without a terminal; exit codes."""
    pw = pwd.getpwnam(USER)
    codes = []
    for _ in range(n):
        p = subprocess.run([SUDO, "-n", "true"], user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           start_new_session=True, timeout=60, cwd="/",
                           env={"PATH": "/usr/bin:/bin", "LANG": "C"})
        codes.append(p.returncode)
    return codes


def install_sudoers(lines):
    tmp = os.path.join(wd, "sudoers")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o440)
    chk = subprocess.run(["visudo", "-c", "-q", "-f", tmp], capture_output=True, text=True)
    if chk.returncode != 0:
        return chk.stdout + chk.stderr
    shutil.copy(tmp, SUDOERS + ".new")    # a name with '.' is ignored by sudo
    os.chmod(SUDOERS + ".new", 0o440)
    os.rename(SUDOERS + ".new", SUDOERS)
    return None


gw = Gateway()
mock = MockServer(gw.handle)
wd = workdir("otp-sudo-")
user_made = False
try:
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-c", "pam_otp_sms sudo test", USER],
                   check=True, capture_output=True)
    user_made = True
    subprocess.run(["chpasswd"], input="%s:%s\n" % (USER, PASSWORD), text=True, check=True,
                   capture_output=True)
    with open(os.path.join(wd, "users"), "w") as f:
        f.write("%s %s -\n" % (USER, PHONE))
    os.chmod(os.path.join(wd, "users"), 0o600)
    for d in ("state", "state-n"):
        os.mkdir(os.path.join(wd, d), 0o700)
    conf = os.path.join(wd, "otp.conf")
    conf_n = os.path.join(wd, "otp-n.conf")
    write_conf(conf, os.path.join(wd, "state"), mock.url + "/sms", 60, 10)
    write_conf(conf_n, os.path.join(wd, "state-n"), mock.url + "/sms", 0, CAP)

    # The shipped example, module replaced by the built one.
    with open(os.path.join(SRCDIR, "etc", "pam.d", "sudo-otp.example")) as f:
        example = f.read()
    stack = "\n".join(
        ln if ln.lstrip().startswith("#") else
        re.sub(r"(?<![/\w])pam_otp_sms\.so\b", "%s config=%s" % (MODULE, conf), ln)
        for ln in example.splitlines()) + "\n"
    t.ok(re.search(r"^@include common-auth\nauth\s+\[success=ok default=die\]\s+/\S+pam_otp_sms\.so",
                   stack, re.M) is not None,
         "sudo-otp.example: the strict module line right after common-auth", stack)
    with open(PAMFILES[0], "w") as f:
        f.write(stack)
    with open(PAMFILES[1], "w") as f:
        f.write("auth [success=done default=die] %s config=%s\nauth requisite pam_deny.so\n"
                "account required pam_permit.so\nsession required pam_permit.so\n" % (MODULE, conf_n))
    for p in PAMFILES:
        os.chmod(p, 0o644)

    base = ["Defaults:%s pam_service=%s" % (USER, SVC),
            "Defaults:%s timestamp_timeout=0" % USER,
            "Defaults:%s passwd_tries=1" % USER,
            "Defaults:%s lecture=never" % USER,
            "Defaults:%s !mail_badpass" % USER,
            "%s ALL=(root) ALL" % USER]
    err = install_sudoers(base)
    t.ok(err is None, "visudo accepts the test drop-in (pam_service, timestamp_timeout=0)", err)

    def code():
        return gw.sent[-1]["code"] if gw.sent else "000000"

    PW_RE = r"\[sudo\] password for %s: " % USER
    CODE_RE = r"Verification code: "

    # 1. Wrong password: common-auth stops, no message.
    st, tr = sudo_pty(["id", "-u"], [(PW_RE, lambda: "wrong-" + PASSWORD)])
    t.ok(st != 0 and "Verification code" not in tr, "wrong password: denied before the code", tr)
    t.eq(len(gw.sent), 0, "wrong password: no message sent")

    # 2. Password, then the code from the gateway: root.
    st, tr = sudo_pty(["id", "-u"], [(PW_RE, lambda: PASSWORD), (CODE_RE, code)])
    t.eq(len(gw.sent), 1, "correct password: one message sent")
    # sudo calls pam_authenticate() with PAM_SILENT (checked on Debian 12's
    # sudo 1.9.13): the module then puts the masked destination into the
    # prompt itself, and the full number never appears.
    t.ok("9012345678" not in tr and re.search(r"Code sent to \+81 \S+ \S+ 5678\. Verification code: ", tr) is not None,
         "the code prompt names the masked destination and the full number never appears", tr)
    t.ok(st == 0 and re.search(r"^0\r?$", tr, re.M) is not None,
         "password + correct code: `id -u` runs as root", tr)
    used = code()

    # 3. timestamp_timeout=0: the next sudo asks again (new message); replay denied.
    st, tr = sudo_pty(["id", "-u"], [(PW_RE, lambda: PASSWORD), (CODE_RE, lambda: used)])
    t.eq(len(gw.sent), 2, "timestamp_timeout=0: sudo runs PAM again and a new code is sent")
    t.ok(st != 0 and re.search(r"^0\r?$", tr, re.M) is None, "replayed code is denied", tr)

    # 4. Wrong code: denied, and the outstanding code is not sent again.
    outstanding = code()
    wrong = "%06d" % ((int(outstanding) + 1) % 1000000)
    st, tr = sudo_pty(["id", "-u"], [(PW_RE, lambda: PASSWORD), (CODE_RE, lambda: wrong)])
    t.ok(st != 0 and re.search(r"^0\r?$", tr, re.M) is None, "wrong code is denied", tr)
    t.eq(len(gw.sent), 2, "within resend_after no new message is sent")

    # 5. The outstanding code still works.
    st, tr = sudo_pty(["id", "-u"], [(PW_RE, lambda: PASSWORD), (CODE_RE, lambda: outstanding)])
    t.ok(st == 0 and re.search(r"^0\r?$", tr, re.M) is not None,
         "the outstanding code works after fewer than max_attempts wrong answers", tr)

    # 6. sudo -n without noninteractive_auth: sudo never calls PAM.
    before = len(gw.sent)
    codes = sudo_n(6)
    t.ok(all(c != 0 for c in codes), "sudo -n true fails without a terminal (x6)", codes)
    t.eq(len(gw.sent), before, "sudo -n: no message sent (sudo skips PAM)")

    # 7. sudo -n with noninteractive_auth on a code-only stack, resend_after = 0:
    #    every call sends until limits.sends_per_hour, then nothing more.
    err = install_sudoers(["Defaults:%s pam_service=%s" % (USER, SVC_N),
                           "Defaults:%s noninteractive_auth" % USER] + base[1:])
    t.ok(err is None, "visudo accepts noninteractive_auth", err)
    before = len(gw.sent)
    codes = sudo_n(3 * CAP)
    t.ok(all(c != 0 for c in codes), "sudo -n true is denied every time (x%d)" % (3 * CAP), codes)
    t.eq(len(gw.sent) - before, CAP,
         "sudo -n x%d sends exactly limits.sends_per_hour = %d messages" % (3 * CAP, CAP))
finally:
    for p in [SUDOERS, SUDOERS + ".new"] + PAMFILES:
        if os.path.exists(p):
            os.unlink(p)
    if user_made:
        subprocess.run(["userdel", "-r", "-f", USER], capture_output=True)
    subprocess.run(["rm", "-rf", "/run/sudo/ts/" + USER], capture_output=True)
    mock.close()
    shutil.rmtree(wd, ignore_errors=True)
t.done()
