"""Mock of the SMS Aero API v2 for `smsaero`.

Checks what the real API checks: POST /v2/sms/send, HTTP Basic
email:api_key, a JSON body {"number": <digits>, "sign": <approved sender>,
"text": ...}.  Answers with the v2 envelope {success, data, message}; the
HTTP status is not the signal (failures also come as HTTP 200), which is
the point of most modes.  The vendor's docs page could not be read, so the
failure texts are illustrative; the envelope shapes are the official
SDKs'.

Modes: ok, auth (401 + success:false), rejected (200 + success:false,
message quoting the number), bad-number (400 + success:false with field
errors), throttled (429), server-error (500 HTML), no-credits (legacy
{"result": "no credits"}), reject (legacy {"result": "reject", "reason"}),
plain-200 (200 that is not JSON), success-string (200 {"success": "true"}),
success-500 (HTTP 500 whose body says success:true).
"""
import base64
import json
import re
import secrets
import time

EMAIL = "ops@example.ru"
API_KEY = "smsaero-test-api-key-d41d8cd98f"
SIGN = "SMS Aero"
CODE = re.compile(r"code is (\S+)")


def _q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _env(status, success, data=None, message=None):
    return status, {"Content-Type": "application/json"}, json.dumps(
        {"success": success, "data": data, "message": message}, ensure_ascii=False)


class Mock:
    connector = "smsaero"
    channel = "sms"

    def __init__(self, mode="ok", sign=SIGN):
        self.mode = mode
        self.sign = sign
        self.sent = []

    def settings(self, base_url):
        return ("endpoint = %s; email = %s; apiKey = %s; senderName = %s;\n"
                "templates = ( { usageType = \"SignIn\"; content = \"Your login code is {{code}}\"; },\n"
                "              { usageType = \"Generic\"; content = \"Your code is {{code}}\"; } );"
                % (_q(base_url), _q(EMAIL), _q(API_KEY), _q(self.sign)))

    def handle(self, req):
        if req.method != "POST" or req.path != "/v2/sms/send":
            raise ValueError("want POST /v2/sms/send, got %s %s" % (req.method, req.path))
        want = "Basic " + base64.b64encode(("%s:%s" % (EMAIL, API_KEY)).encode()).decode()
        if req.header("Authorization") != want or self.mode == "auth":
            return _env(401, False, None, "Unauthorized: wrong email or API key")
        ctype = (req.header("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            raise ValueError("Content-Type %r, want application/json" % ctype)
        body = req.json()          # strict: duplicate keys raise
        if not isinstance(body, dict) or set(body) != {"number", "sign", "text"}:
            raise ValueError("want exactly number, sign, text; got %r" % body)
        number = body["number"]
        if isinstance(number, bool) or not isinstance(number, (int, str)) or \
                not re.match(r"^[1-9][0-9]{6,14}$", str(number)):
            return _env(400, False, {"number": ["Invalid phone number"]}, "Validation error.")
        if body["sign"] != self.sign:
            raise ValueError("sign %r is not the configured senderName" % body["sign"])
        text = body["text"]
        if not isinstance(text, str) or not text:
            return _env(400, False, {"text": ["Text cannot be blank."]}, "Validation error.")
        if self.mode == "rejected":
            return _env(200, False, None, "Number %s is in the stop list" % number)
        if self.mode == "bad-number":
            return _env(400, False, {"number": ["Invalid phone number"]}, "Validation error.")
        if self.mode == "throttled":
            return _env(429, False, None, "Too many requests")
        if self.mode == "server-error":
            return 500, {"Content-Type": "text/html"}, "<html><body>502 Bad Gateway</body></html>"
        if self.mode == "no-credits":
            return 200, {"Content-Type": "application/json"}, json.dumps({"result": "no credits"})
        if self.mode == "reject":
            return 200, {"Content-Type": "application/json"}, json.dumps(
                {"result": "reject", "reason": "sign is not approved"})
        if self.mode == "plain-200":
            return 200, {"Content-Type": "text/plain"}, "accepted"
        if self.mode == "success-string":
            return 200, {"Content-Type": "application/json"}, json.dumps({"success": "true", "data": {}})
        if self.mode == "success-500":
            return _env(500, True, {}, None)
        if self.mode != "ok":
            raise ValueError("unknown mock mode %r" % self.mode)
        found = CODE.search(text)
        self.sent.append({"to": "+" + str(number), "code": found.group(1) if found else None,
                          "text": text, "sign": body["sign"], "number": number})
        now = int(time.time())
        return _env(200, True, {"id": secrets.randbelow(10 ** 9), "from": body["sign"], "number": str(number),
                                "text": text, "status": 8, "extendStatus": "moderation",
                                "channel": "FREE SIGN", "cost": 5.49, "dateCreate": now, "dateSend": now})
