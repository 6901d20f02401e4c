"""Mock SMTP relay for the `smtp` connector: a real SMTP server (Debian's
python3-aiosmtpd) on loopback with STARTTLS (or implicit TLS), AUTH
PLAIN/LOGIN, and a record of every command of every session.

Unlike the HTTP mocks this one is not driven through MockServer: `handle`
is not used.  Use

    mock = Mock()
    base_url = mock.start(certs)        # smtp://127.0.0.1:PORT (STARTTLS)
    conf = mock.settings(base_url)      # needs http = { ca_file = certs.ca; }
    ...
    mock.stop()

`certs` is an otptest.Certs (or None for a plain loopback relay without
TLS).  Modes (self.mode, read at each command, so it can change between
sends):
  "ok"            accept
  "auth"          535 5.7.8 to AUTH                 -> class auth, provider 535
  "bad-address"   550 5.1.1 to RCPT (alias "bad-number") -> destination, 550
  "throttled"     451 4.7.1 to MAIL FROM            -> rate-limit, 451
  "server-error"  451 4.3.0 to the message          -> rate-limit, 451 (SMTP's
                  "try again later" is its 4xx class, the analogue of HTTP 5xx)
  "rejected"      554 5.7.1 to the message          -> provider, 554
  "no-starttls"   STARTTLS is not offered            -> tls (TLS is required)
  "greeting-421"  421 at connect                     -> rate-limit, 421
Every accepted message is parsed with Python's email package and appended
to self.sent as {to, code, from, subject, body, content_type, raw, headers}.
"""
import email
import email.policy
import logging
import os
import re
import socket
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import cfgstr, free_port  # noqa: E402

USER = "otp-relay@example.jp"
PASSWORD = "relay-pass-\u00e9-0123"   # non-ASCII on purpose: SASL carries UTF-8
FROM = "noreply@example.jp"
CODE_RE = re.compile(r"\b(\d{4,10})\b")

logging.getLogger("mail.log").setLevel(logging.CRITICAL)
# AUTH over implicit TLS is not "AUTH without TLS", whatever aiosmtpd thinks.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


class _Recording(dict):
    """The SMTP command table; unknown commands are recorded too."""

    def __init__(self, table, record):
        super().__init__(table)
        self._record = record

    def get(self, key, default=None):
        if key not in self:
            self._record(key, None)
        return super().get(key, default)


class _Session(SMTP):
    def __init__(self, mock, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._mock = mock
        self._log = []
        mock.sessions.append(self._log)

        def record(verb, arg):
            self._log.append((verb, arg))

        def wrap(verb, fn):
            async def recorded(arg):
                record(verb, arg)
                return await fn(arg)
            return recorded

        self._smtp_methods = _Recording({v: wrap(v, f) for v, f in self._smtp_methods.items()},
                                        record)

    def connection_made(self, transport):
        if self._mock.mode == "no-starttls":
            self.tls_context = None
        super().connection_made(transport)

    async def _handle_client(self):
        if self._mock.mode == "greeting-421":
            await self.push("421 4.3.2 Service not available, closing channel")
            self.transport.close()
            return
        await super()._handle_client()


class Mock:
    connector = "smtp"
    channel = "email"

    def __init__(self, mode="ok", implicit_tls=False, require_auth=True):
        self.sent = []
        self.mode = mode
        self.sessions = []          # one list of (VERB, arg) per connection
        self.implicit_tls = implicit_tls
        self.require_auth = require_auth
        self.controller = None
        self.tls = False
        self.port = None

    # --- the interface shared with the HTTP mocks -------------------------
    def settings(self, base_url):
        """libconfig body of the connector's settings group for base_url."""
        auth = ('auth = { user = %s; pass = %s; type = "login"; };'
                % (cfgstr(USER), cfgstr(PASSWORD))) if self.require_auth else ""
        tls = "" if self.implicit_tls else ("requireTLS = %s;" % ("true" if self.tls else "false"))
        return """
  endpoint = %s; %s %s
  name = "pam-test.example";
  fromEmail = %s;
  replyTo = "help@example.jp";
  customHeaders = { X-Mailer = "pam_otp_sms"; };
  templates = (
    { usageType = "Generic"; contentType = "text/plain";
      subject = "Your verification code";
      content = "Your verification code is {{code}}.\\nIt expires in {{ttl_minutes}} minutes."; }
  );""" % (cfgstr(base_url), tls, auth, cfgstr("Login Service <%s>" % FROM))

    def handle(self, req):
        raise NotImplementedError("the SMTP mock is an SMTP server: use start()/stop(), not MockServer")

    # --- server lifecycle -------------------------------------------------
    def start(self, certs=None, host="127.0.0.1"):
        """Start the relay; returns the base URL for settings()."""
        ctx = None
        if certs is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certs.server_cert, certs.server_key)
        self.tls = ctx is not None
        self.port = free_port()
        kwargs = dict(hostname=host, port=self.port, server_hostname="mock.smtp.test",
                      authenticator=self._authenticate,
                      # implicit TLS is TLS too (aiosmtpd only counts STARTTLS)
                      auth_require_tls=self.tls and not self.implicit_tls,
                      auth_required=self.require_auth and self.tls, enable_SMTPUTF8=False)
        if self.implicit_tls:
            if ctx is None:
                raise ValueError("implicit TLS needs certs")
            kwargs["ssl_context"] = ctx
        elif ctx is not None:
            kwargs["tls_context"] = ctx
        mock = self

        class _Controller(Controller):
            def factory(self):
                return _Session(mock, self.handler, **self.SMTP_kwargs)

        self.controller = _Controller(self, **kwargs)
        self.controller.start()
        # start() makes one probe connection: forget it.
        self.sessions.clear()
        return "%s://%s:%d" % ("smtps" if self.implicit_tls else "smtp", host, self.port)

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # --- what the tests look at -------------------------------------------
    def commands(self, session=-1):
        """Verbs of one session (default: the last one that sent anything)."""
        used = [s for s in self.sessions if s]
        return [v for v, _ in used[session]] if used else []

    def all_commands(self):
        return [v for s in self.sessions for v, _ in s]

    # --- aiosmtpd hooks ---------------------------------------------------
    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if self.mode == "auth" or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = (auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode("utf-8"))
        return AuthResult(success=ok, handled=False)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "throttled":
            return "451 4.7.1 Rate limit exceeded, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode in ("bad-address", "bad-number"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "server-error":
            return "451 4.3.0 Error: queue file write error"
        if self.mode == "rejected":
            return "554 5.7.1 Message rejected as spam"
        raw = envelope.original_content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(("plain", "html")) or msg
        # Text with the wire's CRLF turned back into "\n" (raw keeps the CRLF).
        body = part.get_content().replace("\r\n", "\n")
        m = CODE_RE.search(body)
        self.sent.append({
            "to": envelope.rcpt_tos[0] if len(envelope.rcpt_tos) == 1 else list(envelope.rcpt_tos),
            "rcpt_tos": list(envelope.rcpt_tos),
            "code": m.group(1) if m else None,
            "from": envelope.mail_from,
            "subject": str(msg["Subject"]),
            "body": body,
            "content_type": part.get_content_type(),
            "headers": msg,
            "raw": raw,
            "ehlo": session.host_name,
            "tls": server._tls_protocol is not None or self.implicit_tls,
            "authenticated": bool(session.authenticated),
        })
        return "250 2.0.0 Ok: queued"


def _selftest():
    """Run the mock by itself: python3 tests/mocks/smtp.py (prints the URL)."""
    m = Mock()
    url = m.start(None)
    print(url)
    s = socket.create_connection(("127.0.0.1", m.port))
    print(s.recv(200))
    s.close()
    m.stop()


if __name__ == "__main__":
    _selftest()
