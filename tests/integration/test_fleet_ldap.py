#!/usr/bin/python3
"""The LDAP contacts source against a real Debian slapd (private slapd.conf,
mdb, loopback ports, a small tree): lookup, separators in phone numbers,
a missing attribute, several values, two matching entries (fail closed),
RFC 4515 escaping against injection (`*`, `)(`, `\\`), bind DN with a
password file, server down or hanging (fail closed, bounded), ldaps:// and
StartTLS with the test CA (required off loopback, host name checked), and
LDAP* environment variables that must change nothing."""
import os
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fleet"))
from fleetlib import (Slapd, Host, build_has, skip_all, write_secret, LDAP_SUFFIX,  # noqa: E402
                      LDAP_READER, LDAP_READER_PW)
from otptest import TAP, Certs, cfgstr, workdir  # noqa: E402

if not build_has("HAVE_LDAP"):
    skip_all("the build has no LDAP contacts source (libldap missing)")
if shutil.which("slapd") is None or shutil.which("slapadd") is None:
    skip_all("slapd/slapadd are not installed (scripts/deps/fleet.txt)")

TREE = """dn: {s}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{s}
objectClass: organizationalUnit
ou: people

dn: ou=staff,{s}
objectClass: organizationalUnit
ou: staff

dn: {reader}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: {pw}

dn: uid=alice,ou=people,{s}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
mobile: +81 90-1234-5678
mail: alice@example.jp

dn: uid=bob,ou=people,{s}
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
mail: bob@example.com

dn: uid=carol,ou=people,{s}
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C

dn: uid=multi,ou=people,{s}
objectClass: inetOrgPerson
uid: multi
cn: Multi
sn: M
mobile: +15551230001
mobile: +15551230002

dn: uid=o(dd)*name,ou=people,{s}
objectClass: inetOrgPerson
uid: o(dd)*name
cn: Odd
sn: O
mobile: +15557770000

dn: uid=twin,ou=people,{s}
objectClass: inetOrgPerson
uid: twin
cn: Twin
sn: One
mobile: +15550000001

dn: uid=twin,ou=staff,{s}
objectClass: inetOrgPerson
uid: twin
cn: Twin
sn: Two
mobile: +15550000002
""".format(s=LDAP_SUFFIX, reader=LDAP_READER, pw=LDAP_READER_PW)

NAMES = ["alice", "bob", "carol", "multi", "o(dd)*name", "twin", "filefb", "*", "al*", "alice)(uid=*",
         "*)(|(uid=*", "\\", "nobody"]
USERS = [(n, 3000 + i, 3000 + i, [], "X", "+15559990000" if n == "filefb" else None, None)
         for i, n in enumerate(NAMES)]

t = TAP()
top = workdir("otp-fleet-ldap-")
certs = Certs(top)
ldap_cert = certs.leaf("ldap", "ldap.test", "DNS:ldap.test,DNS:localhost,IP:127.0.0.1")
slapd = Slapd(top, TREE, certs, cert=ldap_cert)
pw_file = write_secret(os.path.join(top, "bind.pw"), LDAP_READER_PW + "\n")
hosts_file = os.path.join(top, "hosts")
with open(hosts_file, "w") as f:
    f.write("127.0.0.1 ldap.test\n127.0.0.1 evil.test\n")
HOSTS = {"NSS_WRAPPER_HOSTS": hosts_file}

h = Host(None, users=USERS)


def ldap_group(uri=None, bind=True, ca_file=None, sources='[ "ldap" ]', timeout=2, password_file=None):
    parts = ["uri = %s;" % cfgstr(uri or "ldap://127.0.0.1:%d" % slapd.port), "base = %s;" % cfgstr(LDAP_SUFFIX),
             "timeout = %d;" % timeout]
    if bind:
        parts += ["bind_dn = %s;" % cfgstr(LDAP_READER),
                  "bind_password_file = %s;" % cfgstr(password_file or pw_file)]
    if ca_file:
        parts.append("ca_file = %s;" % cfgstr(ca_file))
    return "contacts: { file = %s; sources = %s; ldap = { %s }; };" % (cfgstr(h.contacts), sources, " ".join(parts))


def use(**kw):
    h.reconfigure(extra=ldap_group(**kw))


def lookup(user, env=None):
    p = h.ctl("lookup", user, env=env)
    return p.returncode, p.stdout + p.stderr


try:
    use()
    rc, out = lookup("alice")
    t.ok(rc == 0 and "alice sms +81******5678 source=ldap" in out, "lookup: mobile from LDAP, separators dropped", out)
    t.ok("alice email a***@example.jp source=ldap" in out, "lookup: mail from the same entry", out)
    r = h.login("alice", "CODE")
    t.ok(r.rc == "PAM_SUCCESS" and h.gateway.received[-1]["to"] == "+819012345678",
         "a full login sends to the number from the directory", r)
    rc, out = lookup("bob")
    t.ok(rc == 0 and "bob email" in out and "bob sms" not in out, "missing mobile: only the email channel", out)
    rc, out = lookup("carol")
    t.ok(rc == 1 and "no contact" in out, "neither attribute: no contact", out)
    rc, out = lookup("multi")
    t.ok(rc == 0 and "source=ldap (first of several values)" in out and "0001" in out,
         "several values: the first is used and the source says so", out)
    rc, out = lookup("twin")
    t.ok(rc == 1 and "ambiguous" in out, "two entries match: refused as ambiguous", out)
    n = len(h.gateway.received)
    r = h.login("twin", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and len(h.gateway.received) == n,
         "a login for an ambiguous user fails closed, nothing sent", r)
    t.contains(h.log_text(), "directory ambiguous", "logged: directory ambiguous")

    # --- injection: the name is escaped per RFC 4515 ------------------------------------------
    rc, out = lookup("o(dd)*name")
    t.ok(rc == 0 and "source=ldap" in out, "a uid with ( ) * matches exactly its own entry once escaped", out)
    for name in ("*", "al*", "alice)(uid=*", "*)(|(uid=*", "\\"):
        rc, out = lookup(name)
        t.ok(rc == 1 and "no contact" in out and "ambiguous" not in out and "alice" not in out.replace(name, ""),
             "user %r finds nothing (no wildcard, no filter syntax)" % name, out)
    r = h.login("al*", "CODE")
    t.ok(r.rc != "PAM_SUCCESS" and all(m["to"] != "+819012345678" for m in h.gateway.received[n:]),
         "a login as 'al*' never reaches alice's phone", r)

    # --- source order: ldap has nothing, the file has it ---------------------------------------
    use(sources='[ "ldap", "file" ]')
    rc, out = lookup("filefb")
    t.ok(rc == 0 and "source=file" in out, "not in the directory: the next source (file) answers", out)
    rc, out = lookup("twin")
    t.ok(rc == 1 and "ambiguous" in out, "an ambiguous directory answer does not fall through to the file", out)

    # --- binding ---------------------------------------------------------------------------------------
    use(bind=False)
    rc, out = lookup("alice")
    t.ok(rc == 0 and "source=ldap" in out, "anonymous bind works where the directory allows it", out)
    bad = write_secret(os.path.join(top, "bad.pw"), "wrong\n")
    use(password_file=bad)
    rc, out = lookup("alice")
    t.ok(rc == 1 and "Invalid credentials" in out, "a wrong bind password fails closed", out)
    os.chmod(pw_file, 0o644)
    use()
    rc, out = lookup("alice")
    t.ok(rc == 1 and "readable by group/others" in out, "a world-readable bind password file is refused", out)
    os.chmod(pw_file, 0o600)
    empty = write_secret(os.path.join(top, "empty.pw"), "\n")
    use(password_file=empty)
    rc, out = lookup("alice")
    t.ok(rc == 1 and "non-empty" in out, "an empty bind password (an unauthenticated bind) is refused", out)
    use()
    p = h.ctl("check")
    t.ok(p.returncode == 0 and "ok: ldap ldap://127.0.0.1:%d: bound as %s" % (slapd.port, LDAP_READER) in p.stdout,
         "check binds to the directory", p.stdout)
    t.not_contains(p.stdout + p.stderr, LDAP_READER_PW, "check prints no password")

    # --- directory down, or hanging -------------------------------------------------------------------
    slapd.stop()
    rc, out = lookup("alice")
    t.ok(rc == 1 and "Can't contact LDAP server" in out, "directory down: lookup fails", out)
    n = len(h.gateway.received)
    r = h.login("alice", "CODE")
    t.ok(r.rc == "PAM_AUTHINFO_UNAVAIL" and len(h.gateway.received) == n,
         "directory down: the login fails closed, nothing sent", r)
    p = h.ctl("check")
    t.ok(p.returncode == 1 and "error: ldap:" in p.stdout, "check reports the directory down", p.stdout)
    slapd.start()
    rc, out = lookup("alice")
    t.eq(rc, 0, "directory back: lookups work again")

    stop = threading.Event()
    held = []
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)
    hang.settimeout(0.2)

    def hold():
        while not stop.is_set():
            try:
                held.append(hang.accept()[0])
            except OSError:
                pass
    threading.Thread(target=hold, daemon=True).start()
    for scheme in ("ldap", "ldaps"):
        use(uri="%s://127.0.0.1:%d" % (scheme, hang.getsockname()[1]), timeout=1, ca_file=certs.ca)
        t0 = time.time()
        rc, out = lookup("alice")
        took = time.time() - t0
        t.ok(rc == 1 and took < 6, "%s:// server that never answers: fails in %.1f s (timeout = 1)" % (scheme, took), out)
    stop.set()

    # --- TLS ---------------------------------------------------------------------------------------------
    # (libldap checks ldaps://localhost against the machine's own host name: use the address.)
    use(uri="ldaps://127.0.0.1:%d" % slapd.tls_port, ca_file=certs.ca)
    rc, out = lookup("alice")
    t.ok(rc == 0 and "source=ldap" in out, "ldaps:// with the test CA as ca_file", out)
    use(uri="ldaps://127.0.0.1:%d" % slapd.tls_port)
    rc, out = lookup("alice")
    t.ok(rc == 1 and "Can't contact LDAP server" in out, "ldaps:// with a CA the system does not trust: refused", out)
    use(uri="ldaps://evil.test:%d" % slapd.tls_port, ca_file=certs.ca)
    rc, out = lookup("alice", env=HOSTS)
    t.ok(rc == 1, "ldaps://evil.test (not in the certificate): host name mismatch, refused", out)
    use(uri="ldap://ldap.test:%d" % slapd.port, ca_file=certs.ca)
    p = h.ctl("check", env=HOSTS)
    t.ok(p.returncode == 0, "ldap:// off loopback is a valid config (StartTLS is then required)", p.stdout)
    rc, out = lookup("alice", env=HOSTS)
    t.ok(rc == 0 and "source=ldap" in out, "ldap://ldap.test: StartTLS with the test CA", out)
    r = h.login("alice", "CODE", env=HOSTS)
    t.eq(r.rc, "PAM_SUCCESS", "a full login over StartTLS")
    use(uri="ldap://ldap.test:%d" % slapd.port)
    rc, out = lookup("alice", env=HOSTS)
    t.ok(rc == 1 and "StartTLS" in out, "ldap://ldap.test with an untrusted certificate: StartTLS fails, no "
         "plain fallback", out)
    use(uri="ldap://evil.test:%d" % slapd.port, ca_file=certs.ca)
    rc, out = lookup("alice", env=HOSTS)
    t.ok(rc == 1 and "StartTLS" in out, "ldap://evil.test: StartTLS checks the host name", out)

    # --- the environment changes nothing ----------------------------------------------------------------
    rc_file = os.path.join(top, "ldaprc")
    with open(rc_file, "w") as f:
        f.write("TLS_REQCERT never\nTLS_CACERT %s\nURI ldap://127.0.0.1:1\nBASE dc=evil\nREFERRALS on\n"
                "DEREF always\nSIZELIMIT 0\nTIMEOUT 600\nNETWORK_TIMEOUT 600\nTLS_REQSAN never\n" % certs.ca)
    poison = dict(HOSTS, LDAPCONF=rc_file, LDAPRC=rc_file, LDAPTLS_REQCERT="never", LDAPTLS_CACERT=certs.ca,
                  LDAPURI="ldap://127.0.0.1:1", LDAPBASE="dc=evil", LDAPSIZELIMIT="0")
    use(uri="ldaps://evil.test:%d" % slapd.tls_port, ca_file=certs.ca)
    rc, out = lookup("alice", env=poison)
    t.ok(rc == 1, "LDAPCONF/LDAPRC/LDAPTLS_REQCERT=never do not disable the host name check", out)
    use(uri="ldaps://127.0.0.1:%d" % slapd.tls_port)
    rc, out = lookup("alice", env=poison)
    t.ok(rc == 1, "LDAPTLS_CACERT/TLS_CACERT from the environment add no trust", out)
    use()
    rc, out = lookup("alice", env=poison)
    t.ok(rc == 0 and "source=ldap" in out, "with the poisoned environment the configured URI and base still count",
         out)
    rc, out = lookup("twin", env=poison)
    t.ok(rc == 1 and "ambiguous" in out, "and the size limit of 2 still detects ambiguity", out)
    use()
    rc, out = lookup("alice", env={"LDAPNOINIT": "1"})
    t.eq(rc, 0, "LDAPNOINIT (no config files read at all) changes nothing either")
finally:
    h.close()
    slapd.close()
    shutil.rmtree(top, ignore_errors=True)
t.done()
