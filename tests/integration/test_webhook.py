#!/usr/bin/python3
"""Connector-level tests for http-sms, http-email and sms-gateway over real
libcurl against loopback mocks: wire format, JWT, failure classes, TLS,
redirects, proxies from the environment, oversized and slow answers."""
import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from otptest import TAP, MockServer, Certs, conntest, cfgstr, workdir  # noqa: E402

t = TAP()
wd = workdir()
certs = Certs(wd)

SECRET = "s3cret-gateway-key-0123456789abcdef"


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_jwt(token, key):
    """Independent HS256 verification (Python hmac, not our C code)."""
    h, p, s = token.split(".")
    want = hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(want, b64url_dec(s)):
        raise ValueError("bad JWT signature")
    return json.loads(b64url_dec(h)), json.loads(b64url_dec(p))


# --- http-sms: Logto webhook shape -------------------------------------------
m = MockServer(lambda r: (204, {}, b""))
conf = """connector = "http-sms";
settings = { endpoint = %s; authorization = "Bearer tok-123"; };""" % cfgstr(m.url + "/hook")
rc, out = conntest(conf, "+819012345678", "004211", "SignIn")
t.eq((rc, out), (0, "ok"), "http-sms: 204 is success")
r = m.requests[-1]
t.eq(r.path, "/hook", "http-sms: posts to the endpoint path")
t.eq(r.header("Content-Type"), "application/json", "http-sms: JSON content type")
t.eq(r.header("Authorization"), "Bearer tok-123", "http-sms: authorization sent verbatim")
t.eq(r.json(), {"to": "+819012345678", "type": "SignIn", "payload": {"code": "004211"},
                "ip": "192.0.2.10"}, "http-sms: exact Logto body {to,type,payload:{code},ip}")
t.ok(r.header("User-Agent", "").startswith("pam_otp_sms/"), "http-sms: user agent names the module")
m.close()

for status, cls in ((500, "http-5xx"), (503, "http-5xx"), (429, "rate-limit"), (401, "auth"),
                    (403, "auth"), (404, "http-4xx"), (302, "redirect"), (301, "redirect")):
    m = MockServer(lambda r, s=status: (s, {"Location": "https://evil.example/"}, "nope"))
    rc, out = conntest('connector = "http-email"; settings = { endpoint = %s; };' % cfgstr(m.url),
                       "alice@example.jp", "123456")
    t.ok(rc == 1 and ("class=%s " % cls) in out and ("http=%d" % status) in out,
         "http-email: HTTP %d -> class %s" % (status, cls), out)
    t.eq(len(m.requests), 1, "http-email: HTTP %d: exactly one request, redirect not followed" % status)
    m.close()

# --- sms-gateway: Auth0 shape + JWT ------------------------------------------
m = MockServer(lambda r: (200, {}, "ok"))
conf = """connector = "sms-gateway";
settings = {
  gateway_url = %s; from = "+15550001111"; template = "Your code is @@password@@";
  forward_req_info = true;
  gateway_authentication = { method = "bearer"; subject = "urn:pam_otp_sms";
    audience = "urn:gw"; secret = %s; secret_base64_encoded = false; };
};""" % (cfgstr(m.url + "/sms"), cfgstr(SECRET))
rc, out = conntest(conf, "+15551234567", "987654")
t.eq((rc, out), (0, "ok"), "sms-gateway: 200 is success")
r = m.requests[-1]
body = r.json()
t.eq(sorted(body), ["body", "recipient", "req", "sender"], "sms-gateway: exact key set")
t.eq(body["recipient"], "+15551234567", "sms-gateway: recipient")
t.eq(body["body"], "Your code is 987654", "sms-gateway: @@password@@ rendered")
t.eq(body["sender"], "+15550001111", "sms-gateway: sender from `from`")
t.eq(body["req"]["ip"], "192.0.2.10", "sms-gateway: req.ip forwarded")
t.ok(body["req"]["user-agent"].startswith("pam_otp_sms/"), "sms-gateway: req.user-agent")
auth = r.header("Authorization", "")
t.ok(auth.startswith("Bearer "), "sms-gateway: bearer token sent")
try:
    hdr, claims = verify_jwt(auth[7:], SECRET.encode())
    t.eq(hdr, {"alg": "HS256", "typ": "JWT"}, "JWT header pinned to HS256")
    t.eq((claims["sub"], claims["aud"]), ("urn:pam_otp_sms", "urn:gw"), "JWT sub/aud from config")
    now = time.time()
    t.ok(abs(claims["iat"] - now) < 60 and 0 < claims["exp"] - claims["iat"] <= 300,
         "JWT iat is now, exp within 300 s")
    t.ok(len(claims.get("jti", "")) == 32, "JWT carries a random 128-bit jti")
except Exception as e:  # noqa: BLE001
    t.ok(False, "JWT verifies with an independent HMAC", e)
rc2, _ = conntest(conf, "+15551234567", "987654")
t.ok(rc2 == 0 and verify_jwt(m.requests[-1].header("Authorization")[7:], SECRET.encode())[1]["jti"]
     != claims.get("jti"), "JWT jti differs between sends")
m.close()

m = MockServer(lambda r: (201, {}, "created"))
conf201 = 'connector = "sms-gateway"; settings = { gateway_url = %s; template = "c {{code}}"; };' % cfgstr(m.url)
rc, out = conntest(conf201, "+15551234567", "111111")
t.ok(rc == 1 and "class=provider" in out, "sms-gateway: only 200 counts (201 fails)", out)
t.eq(m.requests[-1].header("Authorization"), None, "sms-gateway: no bearer without gateway_authentication")
t.ok("req" not in m.requests[-1].json(), "sms-gateway: no req without forward_req_info")
m.close()

rc, out = conntest(conf.replace(cfgstr(SECRET), cfgstr("short")), "+15551234567", "1")
t.ok(rc == 2 and "at least 32 bytes" in out, "sms-gateway: short HS256 secret is a config error", out)
rc, out = conntest('connector = "sms-gateway"; settings = { gateway_url = "https://x.example/"; template = "no code"; };',
                   "+1", "1")
t.ok(rc == 2 and "{{code}}" in out, "sms-gateway: template without code rejected", out)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "http://gw.example.com/"; };', "+1", "1")
t.ok(rc == 2 and "https" in out, "plain http to a non-loopback host is a config error", out)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "https://u:p@gw.example.com/"; };', "+1", "1")
t.ok(rc == 2 and "credentials" in out, "credentials in the URL are refused", out)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "https://gw.example.com/x?key=secret"; };', "+1", "1")
t.ok(rc == 2 and "query" in out and "key=secret" not in out, "a ?query in an endpoint is refused (secrets in URLs)", out)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "file:///etc/shadow"; };', "+1", "1")
t.ok(rc == 2, "file:// endpoint refused", out)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "https://a.example/"; authorisation = "x"; };', "+1", "1")
t.ok(rc == 2 and "authorisation" in out and "unknown" in out, "unknown connector key is reported by name", out)

# --- TLS --------------------------------------------------------------------
m = MockServer(lambda r: (200, {}, "{}"), tls_cert=certs.server_cert, tls_key=certs.server_key)
base = 'connector = "http-sms"; settings = { endpoint = %s; };' % cfgstr(m.url)
rc, out = conntest(base + ' http = { ca_file = %s; };' % cfgstr(certs.ca), "+15551234567", "1")
t.eq((rc, out), (0, "ok"), "TLS: private CA from http.ca_file is trusted")
rc, out = conntest(base, "+15551234567", "1")
t.ok(rc == 1 and "class=tls" in out, "TLS: unknown CA -> class tls", out)
rc, out = conntest(base, "+15551234567", "1", env={"SSL_CERT_FILE": certs.ca, "CURL_CA_BUNDLE": certs.ca,
                                                    "SSL_CERT_DIR": certs.dir})
t.ok(rc == 1 and "class=tls" in out, "TLS: SSL_CERT_FILE/CURL_CA_BUNDLE from the environment are ignored", out)
m.close()
m = MockServer(lambda r: (200, {}, "{}"), tls_cert=certs.wronghost_cert, tls_key=certs.wronghost_key)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = %s; }; http = { ca_file = %s; };'
                   % (cfgstr(m.url), cfgstr(certs.ca)), "+15551234567", "1")
t.ok(rc == 1 and "class=tls" in out, "TLS: wrong host name -> class tls", out)
m.close()
m = MockServer(lambda r: (200, {}, "{}"), tls_cert=certs.selfsigned_cert, tls_key=certs.selfsigned_key)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = %s; }; http = { ca_file = %s; };'
                   % (cfgstr(m.url), cfgstr(certs.ca)), "+15551234567", "1")
t.ok(rc == 1 and "class=tls" in out, "TLS: self-signed -> class tls", out)
m.close()

# --- hostile network ----------------------------------------------------------
m = MockServer(lambda r: (200, {}, "{}"))
proxy_hits = []
ps = socket.socket()
ps.bind(("127.0.0.1", 0))
ps.listen(5)


def proxy_accept():
    while True:
        try:
            c, _ = ps.accept()
        except OSError:
            return
        proxy_hits.append(1)
        c.close()


threading.Thread(target=proxy_accept, daemon=True).start()
purl = "http://127.0.0.1:%d" % ps.getsockname()[1]
rc, out = conntest('connector = "http-sms"; settings = { endpoint = %s; };' % cfgstr(m.url),
                   "+15551234567", "1", env={"http_proxy": purl, "HTTPS_PROXY": purl, "ALL_PROXY": purl,
                                             "NO_PROXY": ""})
t.ok(rc == 0 and not proxy_hits, "environment proxies are ignored (proxy saw no connection)", out)
m.close()

m = MockServer(lambda r: (200, {"Content-Type": "text/plain"}, "x" * (1024 * 1024)))
rc, out = conntest('connector = "http-sms"; settings = { endpoint = %s; };' % cfgstr(m.url), "+1555", "1")
t.ok(rc == 1 and "class=protocol" in out, "a 1 MiB answer is cut off at the cap -> protocol", out)
m.close()


def slow(h):
    time.sleep(4)


m = MockServer(lambda r: slow)
start = time.time()
rc, out = conntest('connector = "http-sms"; settings = { endpoint = %s; }; http = { timeout = 2; };'
                   % cfgstr(m.url), "+1555", "1")
el = time.time() - start
t.ok(rc == 1 and "class=timeout" in out and el < 3.5, "total timeout bounds a silent gateway (%.1fs)" % el, out)
m.close()

port_closed = socket.socket()
port_closed.bind(("127.0.0.1", 0))
dead = port_closed.getsockname()[1]
port_closed.close()
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "http://127.0.0.1:%d/"; };' % dead, "+1", "1")
t.ok(rc == 1 and "class=connect" in out, "connection refused -> class connect", out)
rc, out = conntest('connector = "http-sms"; settings = { endpoint = "https://gw.invalid/"; };', "+1", "1")
t.ok(rc == 1 and "class=dns" in out, "unresolvable host -> class dns", out)
ps.close()
t.done()
