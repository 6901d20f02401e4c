#!/usr/bin/python3
"""End to end through a real OpenSSH sshd: key first, then a code by SMS.

A private sshd on a loopback port runs the shipped sshd_config drop-in
example and the shipped /etc/pam.d/sshd-otp.example stack, with the BUILT
module (absolute path) and a test config whose http-sms connector posts to
a loopback mock gateway.  A real SSH client (paramiko) authenticates with a
key, gets the keyboard-interactive prompt together with "code sent to ...",
answers with the code the gateway received and runs `id -un`.  Wrong and
replayed codes are denied; without the key no message is sent at all.

sshd names its PAM service after its own program name (OpenSSH's
SSHD_PAM_SERVICE is __progname; Debian 12's sshd has no PAMServiceName), so
the test runs sshd through a symlink with a unique name and installs
/etc/pam.d/<that name>; /etc/pam.d/sshd is never touched.

Needs root and OTP_SYSTEM_TESTS=1 (else TAP skip).  Everything created
(user, PAM service, sshd, files) is removed in finally blocks.
"""
import os
import pwd
import re
import shutil
import signal
import socket
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

from otptest import TAP, MockServer, SRCDIR, cfgstr, free_port, tool, workdir  # noqa: E402

t = TAP()
try:
    import paramiko  # Debian: python3-paramiko (scripts/deps/system.txt)
except ImportError as e:
    t.ok(False, "python3-paramiko is installed (scripts/install-deps.sh)", e)
    t.done()
SSHD = "/usr/sbin/sshd"
if not os.path.exists(SSHD):
    t.ok(False, "openssh-server is installed (scripts/install-deps.sh)")
    t.done()

PHONE = "+819012345678"
tag = "%d" % os.getpid()
USER = "otpssh" + tag
SERVICE = "otpsshd-" + tag        # = the PAM service name (sshd's argv[0])
PAMFILE = "/etc/pam.d/" + SERVICE

try:
    MODULE = os.path.abspath(tool("pam_otp_sms.so"))
except FileNotFoundError:
    t.ok(False, "the module is built (.libs/pam_otp_sms.so)")
    t.done()


class Gateway:
    """http-sms receiver: Logto's {to, type, payload: {code}} body."""

    def __init__(self):
        self.sent = []

    def handle(self, req):
        if req.method != "POST" or req.path != "/sms":
            return (404, {}, "no")
        if req.header("Authorization") != "Bearer gw-token":
            return (401, {}, "bad auth")
        body = req.json()
        self.sent.append({"to": body["to"], "type": body.get("type"),
                          "code": body["payload"]["code"]})
        return (204, {}, b"")


def stack_from_example(name, module_line_args):
    """The shipped PAM example with pam_otp_sms.so replaced by the built module."""
    with open(os.path.join(SRCDIR, "etc", "pam.d", name)) as f:
        text = f.read()
    lines = []
    for line in text.splitlines():
        if not line.lstrip().startswith("#"):
            line = re.sub(r"(?<![/\w])pam_otp_sms\.so\b", MODULE + " " + module_line_args, line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def drop_in_directives():
    """Active lines of the shipped sshd_config.d example."""
    with open(os.path.join(SRCDIR, "etc", "sshd_config.d", "pam_otp_sms.conf.example")) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]


def wait_port(port, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def login(port, key, answer, use_key=True):
    """One SSH connection.  answer(prompt_text) -> reply.  Returns a dict."""
    r = {"partial": None, "rounds": [], "auth": False, "out": None, "err": None}
    tr = paramiko.Transport(socket.create_connection(("127.0.0.1", port), timeout=10))
    tr.banner_timeout = 15
    tr.auth_timeout = 60
    try:
        tr.start_client(timeout=15)
        if use_key:
            r["partial"] = tr.auth_publickey(USER, key)

        def handler(title, instructions, prompts):
            r["rounds"].append((title, instructions, list(prompts)))
            return [answer(p) for p, _echo in prompts]

        try:
            tr.auth_interactive(USER, handler)
        except paramiko.AuthenticationException as e:
            r["err"] = "%s: %s" % (type(e).__name__, e)
        r["auth"] = tr.is_authenticated()
        if r["auth"]:
            ch = tr.open_session(timeout=15)
            ch.settimeout(30)
            ch.exec_command("id -un")
            out = b""
            while True:
                chunk = ch.recv(4096)
                if not chunk:
                    break
                out += chunk
            r["out"] = out.decode()
            r["status"] = ch.recv_exit_status()
    except (paramiko.SSHException, OSError) as e:
        r["err"] = "%s: %s" % (type(e).__name__, e)
    finally:
        tr.close()
    return r


def prompts_of(r):
    return [p for _t, _i, ps in r["rounds"] for p, _e in ps]


gw = Gateway()
mock = MockServer(gw.handle)
wd = workdir("otp-sshd-")
sshd = None
made_run_sshd = False
user_made = False
log_path = os.path.join(wd, "sshd.log")
try:
    # --- the test user, with a key --------------------------------------
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-c", "pam_otp_sms sshd test", USER],
                   check=True, capture_output=True)
    user_made = True
    subprocess.run(["usermod", "-p", "*", USER], check=True, capture_output=True)
    pw = pwd.getpwnam(USER)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(wd, "client")],
                   check=True, capture_output=True)
    key = paramiko.Ed25519Key.from_private_key_file(os.path.join(wd, "client"))
    sshdir = os.path.join(pw.pw_dir, ".ssh")
    os.makedirs(sshdir, mode=0o700, exist_ok=True)
    shutil.copy(os.path.join(wd, "client.pub"), os.path.join(sshdir, "authorized_keys"))
    os.chmod(os.path.join(sshdir, "authorized_keys"), 0o600)
    for p in (sshdir, os.path.join(sshdir, "authorized_keys")):
        os.chown(p, pw.pw_uid, pw.pw_gid)

    # --- module config, contacts, state (all root, private) ---------------
    os.mkdir(os.path.join(wd, "state"), 0o700)
    with open(os.path.join(wd, "users"), "w") as f:
        f.write("# test contacts\n%s %s -\n" % (USER, PHONE))
    conf = os.path.join(wd, "otp.conf")
    with open(conf, "w") as f:
        f.write("""code: { length = 6; ttl = 300; max_attempts = 3; resend_after = 60; allow_resend = false; };
limits: { sends_per_hour = 10; sends_per_day = 20; host_sends_per_hour = 100; lockout_after = 10; lockout_time = 900; };
state: { path = %s; };
contacts: { sources = [ "file" ]; file = %s; };
channels = [ "sms" ];
pam: { failmode = "secure"; usage = { %s = "SignIn"; }; };
sms: { connector = "http-sms"; http-sms = { endpoint = %s; authorization = "Bearer gw-token"; }; };
""" % (cfgstr(os.path.join(wd, "state")), cfgstr(os.path.join(wd, "users")), SERVICE,
            cfgstr(mock.url + "/sms")))
    for p in (conf, os.path.join(wd, "users")):
        os.chmod(p, 0o600)

    # --- PAM service and sshd ---------------------------------------------
    stack = stack_from_example("sshd-otp.example", "config=" + conf)
    t.ok(MODULE in stack and "@include common-account" in stack,
         "the shipped sshd-otp.example stack is used with the built module", stack)
    with open(PAMFILE, "w") as f:
        f.write(stack)
    os.chmod(PAMFILE, 0o644)
    if not os.path.isdir("/run/sshd"):
        os.mkdir("/run/sshd", 0o755)
        made_run_sshd = True
    port = free_port()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(wd, "hostkey")],
                   check=True, capture_output=True)
    directives = drop_in_directives()
    t.ok("AuthenticationMethods publickey,keyboard-interactive" in directives
         and "KbdInteractiveAuthentication yes" in directives and "UsePAM yes" in directives,
         "the shipped sshd_config.d example enables PAM, kbdint and key+kbdint", directives)
    cfg = os.path.join(wd, "sshd_config")
    with open(cfg, "w") as f:
        f.write("\n".join(directives + [
            "Port %d" % port, "ListenAddress 127.0.0.1",
            "HostKey %s" % os.path.join(wd, "hostkey"),
            "PidFile %s" % os.path.join(wd, "sshd.pid"),
            "PubkeyAuthentication yes", "AuthorizedKeysFile .ssh/authorized_keys",
            "AllowUsers %s" % USER, "PermitRootLogin no", "UseDNS no", "PrintMotd no",
            "LogLevel VERBOSE", ""]))
    link = os.path.join(wd, SERVICE)
    os.symlink(SSHD, link)
    chk = subprocess.run([link, "-t", "-f", cfg], capture_output=True, text=True)
    t.ok(chk.returncode == 0, "sshd -t accepts the test config", chk.stderr)
    logf = open(log_path, "w")
    sshd = subprocess.Popen([link, "-D", "-e", "-f", cfg], stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    t.ok(wait_port(port, sshd), "private sshd listens on 127.0.0.1:%d" % port,
         open(log_path).read())

    def current_code():
        return gw.sent[-1]["code"] if gw.sent else "000000"

    # 1. No key: keyboard-interactive is refused and nothing is sent.
    r = login(port, key, lambda p: current_code(), use_key=False)
    t.ok(not r["auth"] and not r["rounds"], "without the key, keyboard-interactive is not offered", r)
    t.eq(len(gw.sent), 0, "without the key, no message is sent")

    # 1b. A password attempt (PasswordAuthentication no in the drop-in) is
    #     refused by sshd itself: PAM never runs, nothing is sent.
    tr = paramiko.Transport(socket.create_connection(("127.0.0.1", port), timeout=10))
    try:
        tr.start_client(timeout=15)
        try:
            tr.auth_password(USER, "not-a-code")
            pw_refused = False
        except paramiko.BadAuthenticationType:
            pw_refused = True
        except paramiko.AuthenticationException:
            pw_refused = True
        t.ok(pw_refused and not tr.is_authenticated(), "password authentication is refused")
    finally:
        tr.close()
    t.eq(len(gw.sent), 0, "a password attempt sends no message")

    # 2. Key, then the code from the gateway.
    r = login(port, key, lambda p: current_code())
    t.eq(r["partial"], ["keyboard-interactive"], "the key is a partial success; kbdint must follow")
    t.eq(len(gw.sent), 1, "one message sent after the key was accepted")
    if gw.sent:
        t.eq((gw.sent[0]["to"], gw.sent[0]["type"]), (PHONE, "SignIn"),
             "the message goes to the user's phone with the service's usage type")
    ps = prompts_of(r)
    t.eq(len(ps), 1, "exactly one keyboard-interactive prompt", )
    first = ps[0] if ps else ""
    print("# prompt: %r" % first)
    t.ok("sent to" in first and "Verification code:" in first,
         "'code sent to ...' arrives TOGETHER with the prompt", r["rounds"])
    t.ok("5678" in first and PHONE not in first and "9012345678" not in first,
         "the prompt shows the number masked (last digits only)", first)
    t.ok(all(not echo for _t, _i, pl in r["rounds"] for _p, echo in pl),
         "the code prompt does not echo", r["rounds"])
    t.eq((r["auth"], r.get("out", "") or ""), (True, USER + "\n"),
         "correct code: logged in, `id -un` runs as the user")
    used = current_code()

    # 3. Replay of the used code on a new connection: denied.
    r = login(port, key, lambda p: used)
    t.eq(len(gw.sent), 2, "a new login sends a new code")
    replay_meaningful = gw.sent[-1]["code"] != used
    t.ok(not r["auth"] and r["out"] is None, "replayed code is denied", r)
    if not replay_meaningful:
        print("# note: the new code happened to equal the old one (1 in 10^6)")

    # 4. Wrong code: denied, no new message inside resend_after.
    outstanding = current_code()
    wrong = "%06d" % ((int(outstanding) + 1) % 1000000)
    r = login(port, key, lambda p: wrong)
    t.ok(not r["auth"] and r["out"] is None, "wrong code is denied", r)
    t.eq(len(gw.sent), 2, "the outstanding code is not sent again within resend_after")
    t.ok(bool(prompts_of(r)) and "Verification code:" in prompts_of(r)[0],
         "the prompt is still shown when no new message was sent", r["rounds"])

    # 5. The outstanding code still works (2 wrong answers < max_attempts).
    r = login(port, key, lambda p: outstanding)
    t.eq((r["auth"], r.get("out", "") or ""), (True, USER + "\n"),
         "the outstanding code still logs in after fewer than max_attempts wrong answers")
    r = login(port, key, lambda p: outstanding)
    t.ok(not r["auth"], "and it cannot be used a second time", r)

    log = open(log_path).read()
    t.ok(re.search(r"Partial publickey for %s " % USER, log) is not None
         and "Accepted keyboard-interactive/pam for %s" % USER in log,
         "sshd log: publickey partial, then keyboard-interactive/pam accepted", log[-3000:])
    t.not_contains(log, outstanding, "sshd log does not contain the code")
finally:
    if sshd is not None:
        sshd.send_signal(signal.SIGTERM)
        try:
            sshd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sshd.kill()
            sshd.wait()
    if os.path.exists(PAMFILE):
        os.unlink(PAMFILE)
    if user_made:
        subprocess.run(["userdel", "-r", "-f", USER], capture_output=True)
    if made_run_sshd:
        try:
            os.rmdir("/run/sshd")
        except OSError:
            pass
    mock.close()
    shutil.rmtree(wd, ignore_errors=True)
t.done()
