#!/usr/bin/python3
"""Connector tests for `smtp` (libcurl SMTP against a real aiosmtpd relay on
loopback: STARTTLS, implicit TLS, AUTH PLAIN/LOGIN, the exact command
sequence, the received message decoded by Python's email package, every
failure class, envelope/header injection) and `sendmail` (fork+execve of
a fake root-owned sendmail that records argv, environment, descriptors and
stdin; exit statuses; timeout with kill and reap)."""
import ctypes
import email
import email.policy
import email.utils
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "mocks"))
from otptest import TAP, Certs, conntest, cfgstr, workdir, free_port, tool  # noqa: E402
import smtp as smtpmock  # noqa: E402

t = TAP()
wd = workdir()
certs = Certs(wd)
CA = "http = { ca_file = %s; timeout = 10; connect_timeout = 5; };" % cfgstr(certs.ca)
TO = "alice@example.com"
STARTTLS_SEQ = ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"]


def conf_for(settings, http=CA):
    return 'connector = "smtp";\nsettings = { %s };\n%s' % (settings, http)


def field(out, name):
    m = re.search(r"\b%s=(\S*)" % name, out)
    return m.group(1) if m else None


def bare_line_break(raw):
    return re.search(rb"(?<!\r)\n|\r(?!\n)", raw) is not None


def longest_line(raw):
    return max(len(x) for x in raw.split(b"\r\n"))


# --- STARTTLS + AUTH: success, exact commands, the message ------------------
m = smtpmock.Mock()
url = m.start(certs)
rc, out = conntest(conf_for(m.settings(url)), TO, "004211")
t.eq((rc, out), (0, "ok"), "smtp: STARTTLS + AUTH delivery succeeds")
t.eq(m.commands(), STARTTLS_SEQ, "smtp: exact command sequence EHLO/STARTTLS/EHLO/AUTH/MAIL/RCPT/DATA/QUIT")
sess = [s for s in m.sessions if s][-1]
args = dict(sess)
t.eq(args["EHLO"], "pam-test.example", "smtp: EHLO name from `name`")
t.ok(args["AUTH"].split()[0] in ("PLAIN", "LOGIN"), "smtp: AUTH PLAIN or LOGIN", args["AUTH"])
t.ok(re.fullmatch(r"FROM:<noreply@example\.jp>( SIZE=\d+)?", args["MAIL"]) is not None,
     "smtp: MAIL FROM is the plain fromEmail address", args["MAIL"])
t.eq(args["RCPT"], "TO:<alice@example.com>", "smtp: RCPT TO is the destination, once")
t.eq(len(m.sent), 1, "smtp: one message accepted")
s = m.sent[-1] if m.sent else {}
t.ok(s.get("tls") and s.get("authenticated"), "smtp: message arrived over TLS, authenticated")
t.eq(s.get("code"), "004211", "smtp: received body carries the code (leading zeros kept)")
t.eq(s.get("subject"), "Your verification code", "smtp: subject")
t.eq(s.get("body"), "Your verification code is 004211.\nIt expires in 5 minutes.\n", "smtp: body decodes exactly")
if s:
    h = s["headers"]
    t.eq(str(h["From"]), "Login Service <noreply@example.jp>", "smtp: From header with display name")
    t.eq(str(h["To"]), TO, "smtp: To header")
    t.eq(str(h["Reply-To"]), "help@example.jp", "smtp: Reply-To header")
    t.eq(str(h["X-Mailer"]), "pam_otp_sms", "smtp: custom header")
    t.eq(str(h["MIME-Version"]), "1.0", "smtp: MIME-Version")
    t.eq(h.get_content_type(), "text/plain", "smtp: text/plain")
    t.eq(h.get_content_charset(), "utf-8", "smtp: charset UTF-8")
    t.ok(re.fullmatch(r"<[0-9a-f]{32}@example\.jp>", str(h["Message-ID"])) is not None,
         "smtp: Message-ID <hex@from-domain>", h["Message-ID"])
    d = email.utils.parsedate_to_datetime(str(h["Date"]))
    t.ok(abs(d.timestamp() - time.time()) < 120 and str(h["Date"]).endswith("+0000"),
         "smtp: Date is now, RFC 5322, UTC", h["Date"])
    t.ok(not bare_line_break(s["raw"]), "smtp: message on the wire has CRLF line endings only")
    t.ok(longest_line(s["raw"]) <= 78, "smtp: no line over 78 characters")
    t.eq([k for k in h.keys() if k.lower() in ("bcc", "cc")], [], "smtp: no Cc/Bcc")
m.mode = "ok"

# --- Japanese/Korean subjects, HTML, hostile values, dot-stuffing ------------
JA = "\u8a8d\u8a3c\u30b3\u30fc\u30c9"            # 認証コード
KO = "\uc778\uc99d \ucf54\ub4dc"                 # 인증 코드
tpl = """
  endpoint = %s; requireTLS = true; name = "pam-test.example";
  auth = { user = %s; pass = %s; };
  fromEmail = %s;
  templates = (
    { usageType = "SignIn"; contentType = "text/plain"; subject = %s;
      content = %s; },
    { usageType = "Register"; contentType = "text/html"; subject = %s;
      content = %s; },
    { usageType = "Generic"; subject = %s; content = "Code {{code}}\\n.\\n.hidden\\n..double\\n. dot\\nend"; }
  );""" % (cfgstr(url), cfgstr(smtpmock.USER), cfgstr(smtpmock.PASSWORD),
           cfgstr("\u8a8d\u8a3c\u30b5\u30fc\u30d3\u30b9 <noreply@example.jp>"),
           cfgstr(JA + " {{code}} " + JA * 12), cfgstr(JA + "\u306f {{code}} \u3067\u3059\u3002"),
           cfgstr(KO + ": {{code}}"), cfgstr("<p>" + KO + " <b>{{code}}</b> {{user}}@{{host}}</p>"),
           cfgstr("dots"))
rc, out = conntest(conf_for(tpl), TO, "731904", "SignIn")
s = m.sent[-1] if rc == 0 else {}
t.eq((rc, out), (0, "ok"), "smtp: Japanese template sent")
t.eq(s.get("subject"), JA + " 731904 " + JA * 12, "smtp: long Japanese subject decodes (RFC 2047)")
raw_subject = re.search(rb"^Subject:.*?\r\n(?! )", s.get("raw", b""), re.S | re.M)
t.ok(raw_subject and all(len(x) <= 78 for x in raw_subject.group(0).split(b"\r\n"))
     and raw_subject.group(0).count(b"=?UTF-8?B?") > 1
     and all(len(w) <= 75 for w in re.findall(rb"=\?UTF-8\?B\?[^?]*\?=", raw_subject.group(0))),
     "smtp: subject folded, encoded-words <= 75, lines <= 78", raw_subject)
t.eq(str(s["headers"]["From"]) if s else None, "\u8a8d\u8a3c\u30b5\u30fc\u30d3\u30b9 <noreply@example.jp>",
     "smtp: Japanese display name in From decodes")
t.eq(s.get("body"), JA + "\u306f 731904 \u3067\u3059\u3002\n", "smtp: Japanese body decodes")
t.eq(s.get("code"), "731904", "smtp: code extracted from Japanese body")
t.ok(not bare_line_break(s.get("raw", b"")) and longest_line(s.get("raw", b"x")) <= 78,
     "smtp: Japanese message CRLF only, lines <= 78")

rc, out = conntest(conf_for(tpl), TO, "5150", "Register")
s = m.sent[-1] if rc == 0 else {}
t.eq(s.get("subject"), KO + ": 5150", "smtp: Korean subject round trip")
t.eq(s.get("content_type"), "text/html", "smtp: contentType text/html")
t.eq(s.get("body"), "<p>" + KO + " <b>5150</b> alice@testhost</p>\n", "smtp: Korean HTML body")

n_sess = len([x for x in m.sessions if x])
rc, out = conntest(conf_for(tpl), TO, "0042", "Generic")
s = m.sent[-1] if rc == 0 else {}
t.eq((rc, s.get("body")), (0, "Code 0042\n.\n.hidden\n..double\n. dot\nend\n"),
     "smtp: leading dots arrive exactly (libcurl stuffs once, we do not stuff again)")
t.eq(m.commands(), STARTTLS_SEQ, "smtp: lone '.' line in the body did not end DATA early")

hostile = 'Q"\'<&>\u8a8d\\ {x} 0042\r\n.\r\nRCPT TO:<evil@example.com>\r\nQUIT'
rc, out = conntest(conf_for(tpl), TO, hostile, "Register")
s = m.sent[-1] if rc == 0 else {}
t.ok(rc == 0, "smtp: hostile template value still sends", out)
t.eq(m.commands(), STARTTLS_SEQ, "smtp: CR/LF in a template value cannot inject SMTP commands")
t.eq(s.get("rcpt_tos"), [TO], "smtp: still exactly one recipient")
t.ok("&lt;&amp;&gt;" in s.get("body", "") and "<b>Q&quot;&#39;" in s.get("body", ""),
     "smtp: HTML special characters in values are escaped in the HTML body", s.get("body"))
t.ok(s.get("subject", "").startswith(KO + ': Q"\'<&>\u8a8d\\ {x} 0042') and "\r" not in s.get("subject", "")
     and "\n" not in s.get("subject", ""),
     "smtp: quotes, backslash, braces and non-ASCII arrive intact in the subject; CR/LF flattened",
     s.get("subject"))
t.eq([k for k in s["headers"].keys() if k.lower() in ("bcc", "cc", "rcpt to")] if s else None, [],
     "smtp: no header injected")
m.stop()

# --- envelope injection: refused before anything reaches the wire -------------
m = smtpmock.Mock()
url = m.start(certs)
conf = conf_for(m.settings(url))
for dest in ("a@x.com\r\nRCPT TO:<b@y.com>", "a@x.com%0d%0aDATA", "a@x.com>\r\nBcc: c@z.com",
             "a@x.com\nDATA", "a@x.com\r", "-oQ/tmp/evil@x.com", "a" * 290 + "@x.com",
             '"a\r\nb"@x.com', "Alice <a@x.com>", "a@x.com,b@y.com", "\u00e4@x.com"):
    rc, out = conntest(conf, dest, "123456")
    t.ok(rc == 1 and field(out, "class") == "destination",
         "smtp: bad destination %r -> class destination" % dest[:40], out)
t.eq(m.all_commands(), [], "smtp: no injected destination ever opened an SMTP session")
t.eq(m.sent, [], "smtp: nothing delivered for bad destinations")
m.stop()

# --- failure classes -----------------------------------------------------------
for mode, cls, code, not_sent in (("auth", "auth", "535", "MAIL"),
                                  ("bad-address", "destination", "550", "DATA"),
                                  ("bad-number", "destination", "550", "DATA"),
                                  ("throttled", "rate-limit", "451", "RCPT"),
                                  ("server-error", "rate-limit", "451", None),
                                  ("rejected", "provider", "554", None),
                                  ("greeting-421", "rate-limit", "421", "EHLO")):
    m = smtpmock.Mock(mode=mode)
    url = m.start(certs)
    rc, out = conntest(conf_for(m.settings(url)), TO, "123456")
    t.ok(rc == 1 and field(out, "class") == cls and field(out, "provider") == code,
         "smtp: mode %s -> class %s provider %s" % (mode, cls, code), out)
    if not_sent:
        t.ok(not_sent not in m.all_commands(), "smtp: mode %s: no %s after the failure" % (mode, not_sent),
             m.all_commands())
    t.eq(m.sent, [], "smtp: mode %s: nothing delivered" % mode)
    t.ok("alice" not in out and "example.com" not in out, "smtp: mode %s: detail names no address" % mode, out)
    m.stop()

# wrong password (a real credential check, not the mode switch)
m = smtpmock.Mock()
url = m.start(certs)
rc, out = conntest(conf_for(m.settings(url).replace(cfgstr(smtpmock.PASSWORD), cfgstr("wrong-password"))),
                   TO, "123456")
t.ok(rc == 1 and field(out, "class") == "auth" and field(out, "provider") == "535",
     "smtp: wrong password -> auth, 535", out)
t.ok("MAIL" not in m.all_commands(), "smtp: no MAIL after failed AUTH")
t.not_contains(out, "wrong-password", "smtp: password not in the failure line")
m.stop()

# STARTTLS missing while required -> tls, and credentials never sent in clear
m = smtpmock.Mock(mode="no-starttls")
url = m.start(certs)
rc, out = conntest(conf_for(m.settings(url)), TO, "123456")
t.ok(rc == 1 and field(out, "class") == "tls", "smtp: server without STARTTLS, requireTLS -> tls", out)
t.ok("AUTH" not in m.all_commands() and "MAIL" not in m.all_commands(),
     "smtp: no AUTH or MAIL without TLS", m.all_commands())
m.stop()


def non_loopback_ipv4():
    try:
        outp = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for a in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", outp):
        if not a.startswith("127."):
            return a
    return None


ip = non_loopback_ipv4()
if ip:
    m = smtpmock.Mock(mode="no-starttls")
    url = m.start(certs, host=ip)
    for extra in ("", "requireTLS = false;"):
        st = m.settings(url).replace("requireTLS = true;", extra)
        rc, out = conntest(conf_for(st), TO, "123456")
        t.ok(rc == 1 and field(out, "class") == "tls",
             "smtp: non-loopback host (%s), %s -> STARTTLS mandatory -> tls" % (ip, extra or "requireTLS unset"),
             out)
    t.ok("AUTH" not in m.all_commands() and "MAIL" not in m.all_commands(),
         "smtp: non-loopback: nothing sent in clear", m.all_commands())
    rc, out = conntest(conf_for(m.settings(url).replace("requireTLS = true;", "ignoreTLS = true;")), TO, "1")
    t.ok(rc == 2 and "ignoreTLS" in out, "smtp: ignoreTLS refused for a non-loopback host", out)
    m.stop()
else:
    t.ok(True, "# SKIP no non-loopback IPv4 address for the mandatory-STARTTLS test")

# unknown CA / wrong host name -> tls
m = smtpmock.Mock()
url = m.start(certs)
rc, out = conntest(conf_for(m.settings(url), http="http = { timeout = 10; };"), TO, "123456")
t.ok(rc == 1 and field(out, "class") == "tls", "smtp: STARTTLS with an unknown CA -> tls", out)
t.ok("AUTH" not in m.all_commands(), "smtp: no AUTH after a failed certificate check")
rc, out = conntest(conf_for(m.settings(url).replace("127.0.0.1", "localhost")), TO, "123456")
t.eq((rc, out), (0, "ok"), "smtp: host name localhost verifies against the certificate")
m.stop()

# implicit TLS (smtps, `secure`)
m = smtpmock.Mock(implicit_tls=True)
url = m.start(certs)
rc, out = conntest(conf_for(m.settings(url) + " secure = true;"), TO, "246810")
t.eq((rc, out), (0, "ok"), "smtp: smtps:// implicit TLS delivery")
t.eq(m.commands(), ["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"], "smtp: smtps: no STARTTLS needed")
t.ok(m.sent and m.sent[-1]["code"] == "246810", "smtp: smtps: code received")
m.stop()

# plain loopback relay, no TLS, no AUTH: exactly EHLO/MAIL/RCPT/DATA/QUIT
m = smtpmock.Mock(require_auth=False)
url = m.start(None)
rc, out = conntest(conf_for(m.settings(url)), TO, "112233")
t.eq((rc, out), (0, "ok"), "smtp: loopback relay without TLS (requireTLS = false)")
t.eq(m.commands(), ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"], "smtp: loopback relay: EHLO/MAIL/RCPT/DATA/QUIT")
rc, out = conntest(conf_for(m.settings(url).replace("requireTLS = false;", "")), TO, "112233")
t.eq((rc, out), (0, "ok"), "smtp: loopback relay, requireTLS unset: STARTTLS only if offered")
rc, out = conntest(conf_for(m.settings(url).replace("requireTLS = false;", "requireTLS = true;")), TO, "1")
t.ok(rc == 1 and field(out, "class") == "tls", "smtp: loopback relay without STARTTLS, requireTLS = true -> tls", out)
m.stop()

# the host/port form (Logto's), no endpoint
m = smtpmock.Mock()
url = m.start(certs)
st = m.settings(url).replace("endpoint = %s;" % cfgstr(url), 'host = "localhost"; port = %d;' % m.port)
rc, out = conntest(conf_for(st), TO, "998877")
t.eq((rc, out), (0, "ok"), "smtp: host + port settings (Logto shape)")
m.stop()

# --- timeouts and transport failures ---------------------------------------------
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(5)
held = []
threading.Thread(target=lambda: [held.append(silent.accept()) for _ in range(5)], daemon=True).start()
surl = "smtp://127.0.0.1:%d" % silent.getsockname()[1]
base = ('endpoint = %s; requireTLS = false; fromEmail = "a@example.jp"; '
        'templates = ( { usageType = "Generic"; subject = "s"; content = "{{code}}"; } );' % cfgstr(surl))
start = time.time()
rc, out = conntest(conf_for(base, http="http = { timeout = 2; };"), TO, "1")
el = time.time() - start
t.ok(rc == 1 and field(out, "class") == "timeout" and el < 3.5,
     "smtp: silent server (no greeting) -> timeout within http.timeout (%.1fs)" % el, out)
start = time.time()
rc, out = conntest(conf_for(base + " socketTimeout = 1000;", http="http = { timeout = 20; };"), TO, "1")
el = time.time() - start
t.ok(rc == 1 and field(out, "class") == "timeout" and el < 2.5,
     "smtp: Logto socketTimeout (ms) lowers the total timeout (%.1fs)" % el, out)
start = time.time()
rc, out = conntest(conf_for(base + " socketTimeout = 600000;", http="http = { timeout = 2; };"), TO, "1")
el = time.time() - start
t.ok(rc == 1 and field(out, "class") == "timeout" and el < 3.5,
     "smtp: a larger socketTimeout is capped by http.timeout (%.1fs)" % el, out)
silent.close()
dead = free_port()
rc, out = conntest(conf_for(base.replace(surl, "smtp://127.0.0.1:%d" % dead)), TO, "1")
t.ok(rc == 1 and field(out, "class") == "connect", "smtp: connection refused -> connect", out)
rc, out = conntest(conf_for(base.replace(surl, "smtp://smtp.invalid:587").replace("requireTLS = false;", "")), TO, "1")
t.ok(rc == 1 and field(out, "class") == "dns", "smtp: unresolvable host -> dns", out)

# --- bad settings -> config-error naming the key ---------------------------------
GOOD = ('host = "smtp.example.com"; fromEmail = "a@example.jp"; '
        'templates = ( { usageType = "Generic"; subject = "s"; content = "c {{code}}"; } );')
for settings, key, what in (
        ('host = "smtp.example.com"; fromEmail = "a@example.jp";', "templates", "templates missing"),
        ('host = "smtp.example.com"; templates = ( { usageType = "Generic"; subject = "s"; content = "{{code}}"; } );',
         "fromEmail", "fromEmail missing"),
        (GOOD.replace('"a@example.jp"', '"a@example.jp\\r\\nBcc: x@y.com"'), "fromEmail", "fromEmail with CRLF"),
        (GOOD.replace('"a@example.jp"', '"two@a.jp, three@b.jp"'), "fromEmail", "fromEmail list"),
        (GOOD + ' replyTo = "x\\ny@z.com";', "replyTo", "replyTo with LF"),
        (GOOD.replace("c {{code}}", "no placeholder"), "{{code}}", "content without {{code}}"),
        (GOOD.replace('subject = "s";', 'subject = "s"; contentType = "text/rtf";'), "contentType", "bad contentType"),
        (GOOD + ' customHeaders = { Bcc = "x@y.com"; };', "customHeaders", "custom Bcc header"),
        (GOOD + ' customHeaders = { X-A = "a\\r\\nBcc: x@y.com"; };', "customHeaders", "custom header with CRLF"),
        (GOOD + ' port = 70000;', "port", "port out of range"),
        (GOOD + ' name = "bad name";', "name", "EHLO name with a space"),
        (GOOD + ' auth = { user = "u"; pass = "p"; type = "oauth2"; };', "type", "OAuth2 auth"),
        (GOOD + ' auth = { user = "u"; };', "pass", "user without pass"),
        (GOOD + ' auth = { user = "u"; pass = "p"; clientId = "x"; };', "clientId", "unknown auth key"),
        (GOOD + ' tls = { rejectUnauthorized = false; };', "rejectUnauthorized", "TLS verification off"),
        (GOOD + ' ignoreTLS = true;', "ignoreTLS", "ignoreTLS to a remote host"),
        (GOOD + ' servername = "x";', "servername", "unknown key"),
        (GOOD.replace('host = "smtp.example.com";', 'endpoint = "https://smtp.example.com";'), "endpoint",
         "https:// endpoint"),
        (GOOD.replace('host = "smtp.example.com";', 'endpoint = "smtp://u:p@smtp.example.com:587";'), "endpoint",
         "credentials in endpoint"),
        (GOOD.replace('host = "smtp.example.com";', 'endpoint = "smtp://smtp.example.com:587/path";'), "endpoint",
         "path in endpoint"),
        (GOOD.replace('host = "smtp.example.com";', 'endpoint = "smtp://smtp.example.com:587"; secure = true;'),
         "secure", "secure with smtp:// endpoint"),
        (GOOD.replace('"smtp.example.com"', '"smtp.example.com\\r\\nMAIL FROM:<x@y>"'), "host", "host with CRLF"),
        (GOOD.replace('"smtp.example.com"', '"smtp.example.com/x"'), "host", "host with a slash"),
        (GOOD + ' connectionTimeout = 0;', "connectionTimeout", "zero timeout")):
    rc, out = conntest(conf_for(settings), TO, "1")
    t.ok(rc == 2 and out.startswith("config-error") and key in out,
         "smtp config: %s -> config-error naming %s" % (what, key), out)
rc, out = conntest(conf_for(GOOD + ' logger = false; debug = false; disableFileAccess = true; '
                            'disableUrlAccess = true; tls = { }; greetingTimeout = 30000; dnsTimeout = 30000;'
                            ' connectionTimeout = 120000; requireTLS = false; customHeaders = { X-A = [ "1", "2" ]; };'
                            .replace("smtp.example.com", "smtp.invalid")), TO, "1")
t.ok(rc == 1 and field(out, "class") == "dns", "smtp config: Logto's harmless keys are accepted", out)

# =============================== sendmail ======================================
sd = os.path.join(wd, "sbin")
os.makedirs(sd, mode=0o755)
rec = os.path.join(wd, "rec")
os.makedirs(rec, mode=0o700)


def fake(name, body, interp="/bin/sh"):
    p = os.path.join(sd, name)
    with open(p, "w") as f:
        f.write("#!%s\n%s" % (interp, body))
    os.chmod(p, 0o755)
    return p


# A recorder in Python (-I: isolated, ignores the environment): what the
# child got from execve, before it opens anything itself.
RECORD = """import os, stat, sys
R = @R@
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        pass
with open("/proc/self/environ", "rb") as f:
    env = f.read()
data = sys.stdin.buffer.read()
def put(name, value):
    with open(os.path.join(R, name), "wb") as f:
        f.write(value if isinstance(value, bytes) else value.encode())
put("argv", "\\n".join(sys.argv[1:]) + "\\n")
put("env", env)
put("fds", "\\n".join(k + " " + v for k, v in sorted(fds.items())) + "\\n")
put("stdin_type", "socket" if stat.S_ISSOCK(os.fstat(0).st_mode) else "other")
put("out", fds.get("1", "") + " " + fds.get("2", ""))
put("stdin", data)
sys.exit(@STATUS@)
""".replace("@R@", repr(rec))
ok_sm = fake("sendmail-ok", RECORD.replace("@STATUS@", "0"), "/usr/bin/python3 -I")
fail_sm = fake("sendmail-75", RECORD.replace("@STATUS@", "75"), "/usr/bin/python3 -I")
slow_sm = fake("sendmail-slow", "echo $$ > %s/pid\nexec /bin/sleep 30\n" % rec)
sig_sm = fake("sendmail-sig", "/bin/cat > /dev/null\nkill -9 $$\n")
noread_sm = fake("sendmail-noread", "exit 0\n")
badinterp = fake("sendmail-badinterp", "", "/nonexistent/interpreter")


def sm_conf(path, extra="", http="http = { timeout = 10; };"):
    return """connector = "sendmail";
settings = { path = %s; fromEmail = "Login <noreply@example.jp>"; %s
  templates = ( { usageType = "Generic"; subject = "%s {{code}}";
                  content = "Code {{code}}\\n.\\n.hidden\\nend"; } ); };
%s""" % (cfgstr(path), extra, JA, http)


def readrec(name, mode="r"):
    with open(os.path.join(rec, name), mode) as f:
        return f.read()


# conntest gets an inheritable descriptor (as a host process might have
# one without O_CLOEXEC); the sendmail child must not see it.
cfgp = os.path.join(wd, "sendmail.conf")
with open(cfgp, "w") as f:
    f.write(sm_conf(ok_sm))
leak_r, leak_w = os.pipe()
p = subprocess.run([tool("conntest"), cfgp, TO, "314159"], capture_output=True, text=True, timeout=30,
                   pass_fds=(leak_r, leak_w))
os.close(leak_r)
os.close(leak_w)
rc, out = p.returncode, p.stdout.strip()
t.eq((rc, out), (0, "ok"), "sendmail: exit 0 is success")
t.eq(readrec("argv").splitlines(), ["-t", "-oi", "-f", "noreply@example.jp"],
     "sendmail: arguments are -t -oi -f fromEmail (no shell, no recipient on the command line)")
t.eq(readrec("env", "rb"), b"", "sendmail: empty environment")
t.eq(readrec("stdin_type").strip(), "socket", "sendmail: message on stdin")
t.eq(readrec("out").split(), ["/dev/null", "/dev/null"], "sendmail: stdout and stderr are /dev/null")
extra = [ln for ln in readrec("fds").splitlines()
         if ln.split()[0] not in ("0", "1", "2") and "/proc/" not in ln and "sendmail-ok" not in ln]
t.eq(extra, [], "sendmail: no descriptor of the host (not even an inheritable one) leaks into the child")
raw = readrec("stdin", "rb")
t.ok(b"\r" not in raw, "sendmail: LF line endings for local submission")
msg = email.message_from_bytes(raw, policy=email.policy.default)
t.eq(str(msg["To"]), TO, "sendmail: To header (sendmail -t reads recipients from it)")
t.eq(str(msg["Subject"]), JA + " 314159", "sendmail: Japanese subject decodes")
t.eq(msg.get_content().replace("\r\n", "\n"), "Code 314159\n.\n.hidden\nend\n", "sendmail: body with lone '.' intact (-oi, no stuffing)")
t.eq([k for k in msg.keys() if k.lower() in ("bcc", "cc")], [], "sendmail: no Cc/Bcc")

os.unlink(os.path.join(rec, "argv"))
rc, out = conntest(sm_conf(ok_sm), "a@x.com\nBcc: evil@example.com", "1")
t.ok(rc == 1 and field(out, "class") == "destination", "sendmail: LF in destination -> destination", out)
t.ok(not os.path.exists(os.path.join(rec, "argv")), "sendmail: not started for a bad destination")

rc, out = conntest(sm_conf(fail_sm), TO, "1")
t.ok(rc == 1 and field(out, "class") == "provider" and field(out, "provider") == "75",
     "sendmail: exit 75 -> provider, code 75", out)
rc, out = conntest(sm_conf(sig_sm), TO, "1")
t.ok(rc == 1 and field(out, "class") == "provider" and field(out, "provider") == "signal-9",
     "sendmail: killed by a signal -> provider signal-9", out)
rc, out = conntest(sm_conf(badinterp), TO, "1")
t.ok(rc == 1 and field(out, "class") == "config", "sendmail: program cannot be executed -> config", out)

# timeout: killed and reaped, nothing left behind.  This process becomes a
# subreaper so that anything conntest leaves behind is re-parented to us.
PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
start = time.time()
rc, out = conntest(sm_conf(slow_sm, http="http = { timeout = 2; };"), TO, "1")
el = time.time() - start
t.ok(rc == 1 and field(out, "class") == "timeout" and el < 3.5,
     "sendmail: slow sendmail -> timeout within http.timeout (%.1fs)" % el, out)
try:
    pid = int(readrec("pid"))
except (OSError, ValueError):
    pid = None
time.sleep(0.2)
alive = pid is not None and os.path.exists("/proc/%d" % pid)
t.ok(pid is not None and not alive, "sendmail: the slow child was killed (pid %s gone)" % pid)
if subreaper:
    try:
        left = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        left = None
    t.eq(left, None, "sendmail: no zombie or orphan left behind (subreaper saw none)")
else:
    t.ok(True, "# SKIP cannot become a subreaper")

# SIGCHLD ignored by the host process: the status cannot be collected -> fail closed, no hang
cfgp = os.path.join(wd, "sigchld.conf")
with open(cfgp, "w") as f:
    f.write(sm_conf(ok_sm))
start = time.time()
p = subprocess.run([tool("conntest"), cfgp, TO, "1"], capture_output=True, text=True, timeout=30,
                   preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
t.ok(p.returncode == 1 and "class=internal" in p.stdout and time.time() - start < 10,
     "sendmail: SIGCHLD ignored by the host -> internal failure, no hang, never a false ok", p.stdout)

rc, out = conntest(sm_conf(noread_sm), TO, "1")
t.ok(rc in (0, 1), "sendmail: a sendmail that reads nothing does not hang or crash", out)

# path checks
for path, what in (("sendmail", "relative path"), (os.path.join(sd, "missing"), "missing file"),
                   (sd, "a directory")):
    rc, out = conntest(sm_conf(path), TO, "1")
    t.ok(rc == 2 and "path" in out, "sendmail config: %s -> config-error naming path" % what, out)
gw = fake("sendmail-gw", "exit 0\n")
os.chmod(gw, 0o775)
rc, out = conntest(sm_conf(gw), TO, "1")
t.ok(rc == 2 and "path" in out and "writable" in out, "sendmail config: group-writable program refused", out)
os.chmod(gw, 0o755)
os.chown(gw, 65534, 65534)
rc, out = conntest(sm_conf(gw), TO, "1")
t.ok(rc == 2 and "path" in out and "root" in out, "sendmail config: program not owned by root refused", out)
wwdir = os.path.join(wd, "ww")
os.makedirs(wwdir)
os.chmod(wwdir, 0o777)
shutil.copy(ok_sm, os.path.join(wwdir, "sendmail"))
rc, out = conntest(sm_conf(os.path.join(wwdir, "sendmail")), TO, "1")
t.ok(rc == 2 and "path" in out and "directory" in out, "sendmail config: world-writable directory refused", out)
link = os.path.join(sd, "sendmail-link")
os.symlink(ok_sm, link)
rc, out = conntest(sm_conf(link), TO, "27182")
t.eq((rc, out), (0, "ok"), "sendmail: a symlink to a safe program is followed")
rc, out = conntest(sm_conf(ok_sm, extra='bogus = 1;'), TO, "1")
t.ok(rc == 2 and "bogus" in out, "sendmail config: unknown key rejected", out)
rc, out = conntest(sm_conf(ok_sm).replace("Code {{code}}", "Code"), TO, "1")
t.ok(rc == 2 and "{{code}}" in out, "sendmail config: template without {{code}} rejected", out)

shutil.rmtree(wd, ignore_errors=True)
t.done()
