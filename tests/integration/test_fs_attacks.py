#!/usr/bin/python3
"""Filesystem attacks on the state cache, the config and the contacts file
(security.md tests 29, 31, 32): symlinks, hard links, FIFOs, sockets,
directories and huge files in place of a record, its temp file, the key or
the host counter; a state dir, config or contacts file with the wrong owner
or mode, as a symlink, or in a group/world-writable parent.  Every case
checks the return code, the log line, that nothing was sent, that it did
not hang, and that files outside the state dir (canaries) are untouched.
Cases where ownership matters run only as root (SKIP otherwise).

test_pam_core.py already covers: record as symlink/hardlink/FIFO, record
0644, state dir 0755, config 0620, config owned by another uid, contacts 0666.
"""
import os
import re
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, PamEnv, cfgstr  # noqa: E402
from hardening import Canary, leftovers  # noqa: E402

t = TAP()
ROOT = os.geteuid() == 0
OTHER = 1234  # a uid that is neither root nor us
env = PamEnv()
gw = env.gateway
env.config()
env.service("otp")
UID = 2001
REC = os.path.join(env.state, str(UID))
TMP = os.path.join(env.state, ".%d.tmp" % UID)
KEY = os.path.join(env.state, ".key")
HOST = os.path.join(env.state, "host")
canary = Canary(os.path.join(env.dir, "canary"))
# Looks like a state file (regular, 0600, ours): only the link checks stop it.
shadow = Canary(os.path.join(env.dir, "shadow"), b"root:$6$secret:19000:0:99999:7:::\n", 0o600)
socks = []


def reset():
    p = env.ctl("reset", "alice")
    assert p.returncode == 0, p.stderr


def remove(path):
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def make_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    socks.append(s)


def case(name, want_rc, log_re, answers=("CODE",), sent=False, user="alice"):
    """One login; every expectation folded into one TAP line."""
    mark, n0, start = len(env.log_text()), len(gw.received), time.time()
    r = env.login(user, *answers, timeout=30)
    took = time.time() - start
    log = env.log_text()[mark:]
    problems = []
    if r.rc != want_rc:
        problems.append("rc %s, want %s" % (r.rc, want_rc))
    if log_re and not re.search(log_re, log):
        problems.append("log lacks /%s/: %r" % (log_re, log[-400:]))
    if not sent and len(gw.received) != n0:
        problems.append("%d message(s) sent" % (len(gw.received) - n0))
    if took > 10:
        problems.append("took %.1f s" % took)
    if not canary.intact() or not shadow.intact():
        problems.append("a file outside the state dir changed")
    t.ok(not problems, "%s -> %s" % (name, want_rc), "\n".join(problems))
    return r


STATE_ERR = r"event=state-error "
CONF_ERR = r"event=config-error "

r = env.login("alice", "CODE")
assert r.rc == "PAM_SUCCESS", r

# --- the record --------------------------------------------------------------------
os.unlink(REC)
os.mkdir(REC, 0o700)
case("directory in place of the record", "PAM_AUTHINFO_UNAVAIL", STATE_ERR + ".*2001")
t.ok(os.path.isdir(REC), "... and the planted directory is left alone (not emptied or replaced)")
os.rmdir(REC)
make_socket(REC)
case("unix socket in place of the record", "PAM_AUTHINFO_UNAVAIL", STATE_ERR + ".*2001")
os.unlink(REC)
os.symlink(shadow.path, REC)
case("symlink from the record to a file outside", "PAM_AUTHINFO_UNAVAIL", r"symbolic link")
os.unlink(REC)
os.link(shadow.path, REC)
case("hard link from the record to a 0600 file outside", "PAM_AUTHINFO_UNAVAIL", r"hard links")
os.unlink(REC)
with open(REC, "wb") as f:
    f.truncate(2 << 30)
os.chmod(REC, 0o600)
case("2 GiB sparse record", "PAM_AUTHINFO_UNAVAIL", r"too large")
os.unlink(REC)
if ROOT:
    reset()
    env.login("alice", "!fail")
    os.chown(REC, OTHER, 0)
    case("record owned by another uid", "PAM_AUTHINFO_UNAVAIL", r"owned by uid %d" % OTHER)
    os.unlink(REC)
else:
    t.ok(True, "# SKIP record owned by another uid: needs root")

# --- the temp file: removed without being followed; the login goes on --------------------
for what, plant in (("symlink to a file outside", lambda: os.symlink(shadow.path, TMP)),
                    ("hard link to a 0600 file outside", lambda: os.link(shadow.path, TMP)),
                    ("FIFO", lambda: os.mkfifo(TMP, 0o600)),
                    ("unix socket", lambda: make_socket(TMP))):
    reset()
    plant()
    case("planted temp file (%s)" % what, "PAM_SUCCESS", r"event=verified ", sent=True)
    t.ok(not os.path.lexists(TMP) and os.stat(shadow.path).st_nlink == 1,
         "... the planted temp is gone, the outside file kept (link count 1)")
reset()
os.mkdir(TMP, 0o700)
with open(os.path.join(TMP, "inside"), "w") as f:
    f.write("x")
case("planted temp file (a directory)", "PAM_AUTHINFO_UNAVAIL", r"cannot remove stale temp file")
t.ok(os.path.exists(os.path.join(TMP, "inside")), "... the directory and its contents are left alone")
shutil.rmtree(TMP)

# --- the key ------------------------------------------------------------------------------
reset()
os.rename(KEY, KEY + ".real")


def key_case(what, plant, log_re, root_only=False):
    if root_only and not ROOT:
        t.ok(True, "# SKIP .key %s: needs root" % what)
        return
    plant()
    planted = os.lstat(KEY)
    case(".key %s" % what, "PAM_AUTHINFO_UNAVAIL", log_re)
    after = os.lstat(KEY) if os.path.lexists(KEY) else None
    t.ok(after is not None and (after.st_ino, after.st_mode, after.st_size) == (planted.st_ino, planted.st_mode, planted.st_size),
         "... the planted .key is left as it was (not replaced by a fresh key)")
    remove(KEY)


def copy_key(mode=0o600, size=32, owner=None):
    def f():
        with open(KEY + ".real", "rb") as src:
            data = src.read()
        with open(KEY, "wb") as dst:
            dst.write((data * 2)[:size])
        os.chmod(KEY, mode)
        if owner is not None:
            os.chown(KEY, owner, 0)
    return f


key_case("symlink to a file outside", lambda: os.symlink(shadow.path, KEY), r"\.key: is a symbolic link")
key_case("hard link (second name outside)", lambda: (copy_key()(), os.link(KEY, os.path.join(env.dir, "keycopy"))),
         r"\.key: has 2 hard links")
os.unlink(os.path.join(env.dir, "keycopy"))
key_case("mode 0644", copy_key(mode=0o644), r"\.key: mode 0644")
key_case("31 bytes", copy_key(size=31), r"\.key: must be exactly 32 bytes")
key_case("a directory", lambda: os.mkdir(KEY, 0o700), r"\.key: (not a regular file|cannot open)")
key_case("FIFO", lambda: os.mkfifo(KEY, 0o600), r"\.key: not a regular file")
key_case("owned by another uid", copy_key(owner=OTHER), r"\.key: owned by uid", root_only=True)
os.rename(KEY + ".real", KEY)
case("the real .key back in place", "PAM_SUCCESS", r"event=verified ", sent=True)

# --- the host counter ------------------------------------------------------------------------
reset()
remove(HOST)
os.symlink(shadow.path, HOST)
case("host counter as a symlink to a file outside", "PAM_AUTHINFO_UNAVAIL", r"host: is a symbolic link")
os.unlink(HOST)

# --- the state directory -----------------------------------------------------------------------
real = env.state + ".real"
os.rename(env.state, real)
os.symlink(real, env.state)
case("state dir is a symlink (to a good dir)", "PAM_AUTHINFO_UNAVAIL", r"symbolic link or not a directory")
os.unlink(env.state)
os.rename(real, env.state)
for mode in (0o1777, 0o0701, 0o0770):
    os.chmod(env.state, mode)
    case("state dir mode %04o" % mode, "PAM_AUTHINFO_UNAVAIL", r"must be 0700")
os.chmod(env.state, 0o700)
if ROOT:
    os.chown(env.state, OTHER, 0)
    case("state dir owned by another uid", "PAM_AUTHINFO_UNAVAIL", r"owned by uid %d" % OTHER)
    os.chown(env.state, 0, 0)
else:
    t.ok(True, "# SKIP state dir owned by another uid: needs root")
os.rename(env.state, real)
with open(env.state, "w") as f:
    f.write("not a dir")
case("state path is a regular file", "PAM_AUTHINFO_UNAVAIL", r"not a directory")
os.unlink(env.state)
os.mkfifo(env.state, 0o600)
case("state path is a FIFO", "PAM_AUTHINFO_UNAVAIL", r"not a directory")
os.unlink(env.state)
os.rename(real, env.state)
case("state dir restored", "PAM_SUCCESS", r"event=verified ", sent=True)

# The state dir inside a parent that others can write: whoever can write
# the parent can swap the whole dir (for an empty one: no lockout).
pub = os.path.join(env.dir, "pub")
os.mkdir(pub)
for mode, existing, want, why in ((0o777, False, "PAM_AUTHINFO_UNAVAIL", r"not root-owned and private"),
                                  (0o770, False, "PAM_AUTHINFO_UNAVAIL", r"not root-owned and private"),
                                  (0o777, True, "PAM_AUTHINFO_UNAVAIL", r"parent directory is not root-owned"),
                                  (0o775, True, "PAM_AUTHINFO_UNAVAIL", r"parent directory is not root-owned"),
                                  (0o1777, True, "PAM_SUCCESS", r"event=verified "),
                                  (0o755, False, "PAM_SUCCESS", r"event=verified ")):
    sd = os.path.join(pub, "state")
    shutil.rmtree(sd, ignore_errors=True)
    if existing:
        os.mkdir(sd, 0o700)
    os.chmod(pub, mode)
    env.config(extra="state: { path = %s; };" % cfgstr(sd))
    case("state dir %s in a parent with mode %04o" % ("existing" if existing else "missing", mode), want, why,
         sent=want == "PAM_SUCCESS")
    if not existing:
        t.ok(os.path.isdir(sd) == (want == "PAM_SUCCESS") and (not os.path.isdir(sd) or os.stat(sd).st_mode & 0o7777 == 0o700),
             "... %s" % ("created 0700" if want == "PAM_SUCCESS" else "not created"))
os.chmod(pub, 0o700)
env.config()

# --- config and contacts ----------------------------------------------------------------------------
conf_real = env.conf + ".real"
env.config()
os.rename(env.conf, conf_real)
os.symlink(conf_real, env.conf)
case("config is a symlink", "PAM_SERVICE_ERR", CONF_ERR + ".*symbolic link")
os.unlink(env.conf)
os.mkfifo(env.conf, 0o600)
case("config is a FIFO", "PAM_SERVICE_ERR", CONF_ERR + ".*not a regular file")
os.unlink(env.conf)
os.mkdir(env.conf, 0o700)
case("config is a directory", "PAM_SERVICE_ERR", CONF_ERR)
os.rmdir(env.conf)
os.rename(conf_real, env.conf)
for mode in (0o770, 0o777):
    os.chmod(env.etc, mode)
    case("config in a directory with mode %04o" % mode, "PAM_SERVICE_ERR", CONF_ERR + ".*group/world-writable")
os.chmod(env.etc, 0o700)
os.chmod(env.conf, 0o602)
case("config world-writable (0602)", "PAM_SERVICE_ERR", CONF_ERR + ".*group/world-writable")
os.chmod(env.conf, 0o600)

# The contacts file: its own directory, so the config's can stay private.
cdir = os.path.join(env.dir, "contacts.d")
os.mkdir(cdir, 0o700)
cfile = os.path.join(cdir, "users")
shutil.copy(env.contacts, cfile)
os.chmod(cfile, 0o600)
env.config(extra="contacts: { file = %s; };" % cfgstr(cfile))
case("contacts in a private directory", "PAM_SUCCESS", r"event=verified ", sent=True)
os.rename(cfile, cfile + ".real")
os.symlink(cfile + ".real", cfile)
case("contacts file is a symlink", "PAM_SERVICE_ERR", CONF_ERR + ".*symbolic link")
os.unlink(cfile)
os.mkfifo(cfile, 0o600)
case("contacts file is a FIFO", "PAM_SERVICE_ERR", CONF_ERR + ".*not a regular file")
os.unlink(cfile)
os.rename(cfile + ".real", cfile)
for mode in (0o770, 0o1777):
    os.chmod(cdir, mode)
    want = "PAM_SUCCESS" if mode & 0o1000 else "PAM_SERVICE_ERR"
    case("contacts in a directory with mode %04o" % mode, want,
         r"event=verified " if want == "PAM_SUCCESS" else CONF_ERR + ".*group/world-writable",
         sent=want == "PAM_SUCCESS")
os.chmod(cdir, 0o700)
if ROOT:
    os.chown(cfile, OTHER, 0)
    case("contacts file owned by another uid", "PAM_SERVICE_ERR", CONF_ERR + ".*owned by uid %d" % OTHER)
    os.chown(cfile, 0, 0)
    os.chown(cdir, OTHER, 0)
    case("contacts in a directory owned by another uid", "PAM_SERVICE_ERR", CONF_ERR + ".*not root-owned")
    os.chown(cdir, 0, 0)
else:
    t.ok(True, "# SKIP contacts owned by another uid: needs root")
    t.ok(True, "# SKIP contacts dir owned by another uid: needs root")
env.config()

# --- afterwards ---------------------------------------------------------------------------------------
t.eq(leftovers(env.state), [], "nothing left in the state dir but records, host and .key")
t.ok(canary.intact() and shadow.intact(), "files outside the state dir are byte-, mode- and owner-identical")
for s in socks:
    s.close()
env.close()
t.done()
