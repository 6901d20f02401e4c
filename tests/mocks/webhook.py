"""Mocks of the generic webhook connectors: Logto's `http-sms` and
`http-email` (POST JSON {to, type, payload: {code}, ip?}, verbatim
Authorization header, any 2xx is success) and the Auth0-style `sms-gateway`
(JSON {recipient, body, sender, req?}, HS256 JWT bearer verified here with
Python's hmac, only 200 is success).  Modes: ok, auth (401), server-error
(500), throttled (429), bad-number (400); sms-gateway also "created" (201: Auth0 treats anything
but 200 as failure)."""
import base64
import hashlib
import hmac
import json
import re
import time

TOKEN = "Bearer webhook-test-token-8c1d"
SECRET = "gateway-shared-secret-0123456789abcdef"


def _b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _failure(mode):
    if mode == "auth":
        return 401, {"Content-Type": "application/json"}, '{"error":"unauthorized"}'
    if mode == "throttled":
        return 429, {"Retry-After": "60"}, '{"error":"slow down"}'
    if mode == "server-error":
        return 500, {}, '{"error":"boom"}'
    if mode == "bad-number":
        return 400, {"Content-Type": "application/json"}, '{"error":"invalid recipient"}'
    return None


class Mock:
    """Logto http-sms."""
    connector = "http-sms"
    channel = "sms"

    def __init__(self, mode="ok"):
        self.mode = mode
        self.sent = []

    def settings(self, base_url):
        return 'endpoint = "%s/hook"; authorization = "%s";' % (base_url, TOKEN)

    def handle(self, req):
        if req.method != "POST" or req.path != "/hook":
            return 404, {}, "not found"
        if req.header("Authorization") != TOKEN or req.header("Content-Type") != "application/json":
            return 401, {}, "bad auth or content type"
        fail = _failure(self.mode)
        if fail:
            return fail
        body = req.json()
        allowed = {"to", "type", "payload", "ip"}
        if not set(body) <= allowed or set(body["payload"]) != {"code"}:
            return 400, {}, "unexpected keys"
        self.sent.append({"to": body["to"], "code": body["payload"]["code"], "type": body["type"]})
        return 204, {}, ""


class EmailMock(Mock):
    """Logto http-email: the same protocol, an email address in `to`."""
    connector = "http-email"
    channel = "email"


class GatewayMock:
    """Auth0-style custom SMS gateway with a JWT bearer."""
    connector = "sms-gateway"
    channel = "sms"

    def __init__(self, mode="ok"):
        self.mode = mode
        self.sent = []
        self.jtis = set()

    def settings(self, base_url):
        return ('gateway_url = "%s/sms"; from = "OTP"; template = "Your code is @@password@@";\n'
                'forward_req_info = true;\n'
                'gateway_authentication = { method = "bearer"; subject = "urn:pam"; audience = "urn:gw";\n'
                '  secret = "%s"; secret_base64_encoded = false; };' % (base_url, SECRET))

    def _check_jwt(self, auth):
        if not auth or not auth.startswith("Bearer "):
            raise ValueError("no bearer")
        h, p, s = auth[7:].split(".")
        want = hmac.new(SECRET.encode(), (h + "." + p).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, _b64d(s)):
            raise ValueError("bad signature")
        if json.loads(_b64d(h)) != {"alg": "HS256", "typ": "JWT"}:
            raise ValueError("bad header")
        claims = json.loads(_b64d(p))
        if claims.get("aud") != "urn:gw" or claims.get("sub") != "urn:pam":
            raise ValueError("bad aud/sub")
        if not (claims["iat"] - 60 <= time.time() <= claims["exp"]):
            raise ValueError("expired or not yet valid")
        if claims["jti"] in self.jtis:
            raise ValueError("replayed jti")
        self.jtis.add(claims["jti"])

    def handle(self, req):
        if req.method != "POST" or req.path != "/sms":
            return 404, {}, "not found"
        try:
            self._check_jwt(req.header("Authorization"))
        except (ValueError, KeyError) as e:
            return 401, {}, "jwt: %s" % e
        fail = _failure(self.mode)
        if fail:
            return fail
        body = req.json()
        if set(body) != {"recipient", "body", "sender", "req"} or set(body["req"]) != {"ip", "user-agent"}:
            return 400, {}, "unexpected keys"
        m = re.search(r"code is (\d+)", body["body"])
        if not m:
            return 400, {}, "no code in body"
        self.sent.append({"to": body["recipient"], "code": m.group(1)})
        return (201 if self.mode == "created" else 200), {}, "ok"
