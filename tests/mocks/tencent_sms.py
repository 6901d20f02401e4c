"""Mock Tencent Cloud SMS (SendSms, API 3.0 version 2021-01-11) for the
`tencent-sms` connector.

Checks what the API 3.0 gateway checks, recomputing TC3-HMAC-SHA256 in
Python (hmac/hashlib, not the module's C code) from the request as received:
POST "/", Content-Type application/json; charset=utf-8, the X-TC-* headers,
the Host header (must be the endpoint's host), the Authorization layout,
credential scope date == UTC date of X-TC-Timestamp, service "sms", the
signature over content-type;host and the exact body bytes, and a timestamp
within 15 minutes of the mock's clock.  Every processed request is answered
with HTTP 200, errors as {"Response": {"Error": {Code, Message}, RequestId}}
and per-number results in Response.SendStatusSet, as the real API does.
(TC3 has no nonce; Tencent does not refuse a replay inside the window, so
neither does the mock.)

Modes: "ok", "auth" (AuthFailure.SecretIdNotFound), "rate-limit"
(RequestLimitExceeded), "throttled" (per-number
LimitExceeded.PhoneNumberDailyLimit), "bad-number" (per-number
InvalidParameterValue.IncorrectPhoneNumber), "blacklist" (per-number
FailedOperation.PhoneNumberInBlacklist), "no-balance" (per-number
FailedOperation.InsufficientBalanceInSmsPackage), "template"
(Error FailedOperation.TemplateIncorrectOrUnapproved), "server-error"
(Error InternalError), "empty-set" (SendStatusSet []), "http-502" (a proxy's
502 without a Response).
"""
import datetime
import hashlib
import hmac
import json
import re
import time
import urllib.parse
import uuid

SECRET_ID = "AKIDmockTencentSecretId0123456789"
SECRET_KEY = "mockTencentSecretKey0123456789ab"
SDK_APP_ID = "1400006666"
SIGN_NAME = "腾讯云"
REGION = "ap-guangzhou"
TEMPLATES = {"SignIn": "449739", "Generic": "449740"}
MAX_SKEW = 15 * 60
CONTENT_TYPE = "application/json; charset=utf-8"

AUTH_RE = re.compile(r"^TC3-HMAC-SHA256 Credential=([^/,\s]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def cfg(s):
    """A libconfig string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tc3_signature(secret_key, method, headers, signed, body, timestamp, date, service):
    """Tencent's TC3 steps, written from the spec (providers.md §6)."""
    names = signed.split(";")
    canon_headers = "".join("%s:%s\n" % (n, headers[n].strip().lower()) for n in names)
    canonical = "\n".join([method, "/", "", canon_headers, signed, hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/tc3_request" % (date, service)
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode("utf-8")).hexdigest()])

    def h(key, msg):
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()
    k = h(h(h(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class Mock:
    connector = "tencent-sms"
    channel = "sms"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.clock_offset = 0
        self.secret_id = SECRET_ID
        self.secret_key = SECRET_KEY
        self.sign_name = SIGN_NAME
        self.region = REGION
        self.host = None                # the endpoint's host[:port], from settings()
        self.last_body = None

    def settings(self, base_url):
        self.host = urllib.parse.urlsplit(base_url).netloc
        tpl = ",\n    ".join('{ usageType = "%s"; templateCode = "%s"; }' % (u, t)
                             for u, t in TEMPLATES.items())
        return ('endpoint = "%s";\n  accessKeyId = "%s";\n  accessKeySecret = "%s";\n'
                '  signName = %s;\n  sdkAppId = "%s";\n  region = "%s";\n  templates = (\n    %s\n  );'
                % (base_url, self.secret_id, self.secret_key, cfg(self.sign_name), SDK_APP_ID,
                   self.region, tpl))

    @staticmethod
    def answer(inner):
        inner = dict(inner)
        inner["RequestId"] = str(uuid.uuid4())
        return (200, {"Content-Type": "application/json"}, json.dumps({"Response": inner}))

    def error(self, code, message):
        return self.answer({"Error": {"Code": code, "Message": message}})

    def status(self, to, code, message):
        return self.answer({"SendStatusSet": [{
            "SerialNo": "", "PhoneNumber": to, "Fee": 0, "SessionContext": "", "Code": code,
            "Message": message, "IsoCode": ""}]})

    def handle(self, req):
        if self.mode == "http-502":
            return (502, {"Content-Type": "text/html"}, "<html>Bad Gateway</html>")
        if req.method != "POST" or req.path != "/" or req.query:
            raise ValueError("want POST / without query, got %s %s" % (req.method, req.path))
        if req.header("Content-Type") != CONTENT_TYPE:
            raise ValueError("Content-Type %r" % req.header("Content-Type"))
        host = req.header("Host")
        if self.host is not None and host != self.host:
            raise ValueError("Host %r is not the endpoint's host %r" % (host, self.host))
        for h, want in (("X-TC-Action", "SendSms"), ("X-TC-Version", "2021-01-11")):
            if req.header(h) != want:
                return self.error("InvalidAction" if h == "X-TC-Action" else "InvalidParameter",
                                  "%s must be %s" % (h, want))
        if req.header("X-TC-Region") != self.region:
            return self.error("InvalidParameterValue", "X-TC-Region %r" % req.header("X-TC-Region"))
        ts_text = req.header("X-TC-Timestamp") or ""
        if not ts_text.isdigit():
            return self.error("MissingParameter", "X-TC-Timestamp")
        ts = int(ts_text)
        m = AUTH_RE.match(req.header("Authorization") or "")
        if m is None:
            return self.error("AuthFailure.InvalidAuthorization", "Authorization header is malformed.")
        sid, date, service, signed, sig = m.groups()
        if sid != self.secret_id:
            return self.error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        if signed != "content-type;host":
            return self.error("AuthFailure.InvalidAuthorization", "SignedHeaders %s" % signed)
        if service != "sms":
            return self.error("AuthFailure.InvalidAuthorization", "service %s" % service)
        if date != datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d"):
            return self.error("AuthFailure.InvalidAuthorization", "credential date is not the UTC date")
        if abs(req.time + self.clock_offset - ts) > MAX_SKEW:
            return self.error("AuthFailure.SignatureExpire", "Signature expired, timestamp %d." % ts)
        headers = {"content-type": req.header("Content-Type"), "host": host}
        want = tc3_signature(self.secret_key, req.method, headers, signed, req.body, ts, date, service)
        if not hmac.compare_digest(want, sig):
            return self.error("AuthFailure.SignatureFailure",
                              "The provided credentials could not be validated.")
        if self.mode == "auth":
            return self.error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        body = req.json()
        self.last_body = body
        want_keys = {"PhoneNumberSet", "SmsSdkAppId", "SignName", "TemplateId", "TemplateParamSet"}
        if set(body) != want_keys:
            raise ValueError("body keys %s" % sorted(body))
        if body["SmsSdkAppId"] != SDK_APP_ID:
            return self.error("FailedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify failed.")
        if body["SignName"] != self.sign_name:
            return self.error("FailedOperation.SignatureIncorrectOrUnapproved", "Signature incorrect.")
        if body["TemplateId"] not in TEMPLATES.values() or self.mode == "template":
            return self.error("FailedOperation.TemplateIncorrectOrUnapproved", "Template incorrect.")
        params = body["TemplateParamSet"]
        if not (isinstance(params, list) and len(params) == 1 and isinstance(params[0], str)):
            return self.error("InvalidParameterValue.TemplateParameterFormatError",
                              "TemplateParamSet must be one string.")
        phones = body["PhoneNumberSet"]
        if not (isinstance(phones, list) and len(phones) == 1 and isinstance(phones[0], str)):
            return self.error("InvalidParameter", "PhoneNumberSet must be one string.")
        to = phones[0]
        if self.mode == "rate-limit":
            return self.error("RequestLimitExceeded", "Your current request times exceed the limit.")
        if self.mode == "server-error":
            return self.error("InternalError", "An internal error has occurred.")
        if self.mode == "empty-set":
            return self.answer({"SendStatusSet": []})
        if not re.match(r"^\+[1-9][0-9]{6,14}$", to) or self.mode == "bad-number":
            return self.status(to, "InvalidParameterValue.IncorrectPhoneNumber", "The phone number is incorrect.")
        if self.mode == "throttled":
            return self.status(to, "LimitExceeded.PhoneNumberDailyLimit", "Daily limit for this number reached.")
        if self.mode == "blacklist":
            return self.status(to, "FailedOperation.PhoneNumberInBlacklist", "The number is blocklisted.")
        if self.mode == "no-balance":
            return self.status(to, "FailedOperation.InsufficientBalanceInSmsPackage", "Insufficient balance.")
        self.sent.append({"to": to, "code": params[0], "template": body["TemplateId"],
                          "sign": body["SignName"]})
        return self.answer({"SendStatusSet": [{
            "SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": to, "Fee": 1,
            "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN"}]})
