"""Mock of the Vonage (Nexmo) SMS API for `vonage-sms`.

Checks what the real API checks: POST /sms/json, HTTP Basic
api_key:api_secret, a form body with from, to (digits only, 7-15, no '+'),
text and type; and what the real API would silently get wrong: non-GSM
text must carry type=unicode (Vonage would otherwise send GSM-7 and the
phone would show garbage).  Like the real API it answers HTTP 200 for
accepted and refused messages alike, with one messages[] element per SMS
part; status "0" means accepted.

Modes: ok, auth (status 4), throttled (1), bad-number (3, "Invalid to
address"), barred (7), non-whitelisted (29), deactivated (33),
internal (5), no-credit (9), invalid-message (6), partial (part 1
accepted, part 2 throttled), count-mismatch, no-status, garbage (200 that
is not JSON), server-error (HTTP 500), http-401 (problem+json).
"""
import base64
import json
import re
import secrets

API_KEY = "a1b2c3d4"
API_SECRET = "VonageSecret123"
BRAND = "ACME OTP"
CODE = re.compile(r"code is (\S+)")
FIELDS = {"from", "to", "text", "type"}

# GSM 03.38 default alphabet and extension table (independent of the C code).
GSM_BASIC = set("@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
                "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
                " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
                "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
                "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0")
GSM_EXT = set("\f^{}\\[~]|\u20ac")


def gsm_parts(text):
    """(is_gsm, parts) by the GSM-7 / UCS-2 rules."""
    if all(c in GSM_BASIC or c in GSM_EXT for c in text):
        costs, single, part = [2 if c in GSM_EXT else 1 for c in text], 160, 153
        gsm = True
    else:
        costs, single, part = [len(c.encode("utf-16-le")) // 2 for c in text], 70, 67
        gsm = False
    if sum(costs) <= single:
        return gsm, 1
    parts, used = 1, 0
    for c in costs:
        if used + c > part:
            parts, used = parts + 1, 0
        used += c
    return gsm, parts


def _q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _answer(elements, count=None):
    body = {"message-count": str(len(elements) if count is None else count), "messages": elements}
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


class Mock:
    connector = "vonage-sms"
    channel = "sms"

    def __init__(self, mode="ok", brand=BRAND):
        self.mode = mode
        self.brand = brand
        self.sent = []

    def settings(self, base_url):
        return ("endpoint = %s; apiKey = %s; apiSecret = %s; brandName = %s;\n"
                "templates = ( { usageType = \"SignIn\"; content = \"Your login code is {{code}}\"; },\n"
                "              { usageType = \"Generic\"; content = \"Your code is {{code}}\"; } );"
                % (_q(base_url), _q(API_KEY), _q(API_SECRET), _q(self.brand)))

    def handle(self, req):
        if self.mode == "server-error":
            return 500, {"Content-Type": "text/html"}, "<html><body>Internal Server Error</body></html>"
        if self.mode == "http-401":
            return 401, {"Content-Type": "application/problem+json"}, json.dumps(
                {"type": "https://developer.nexmo.com/api-errors#unauthorized", "title": "Unauthorized",
                 "detail": "You did not provide correct credentials.", "instance": secrets.token_hex(8)})
        if req.method != "POST" or req.path != "/sms/json":
            raise ValueError("want POST /sms/json, got %s %s" % (req.method, req.path))
        want = "Basic " + base64.b64encode(("%s:%s" % (API_KEY, API_SECRET)).encode()).decode()
        if req.header("Authorization") != want or self.mode == "auth":
            return _answer([{"status": "4", "error-text": "Bad Credentials"}])
        ctype = (req.header("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            raise ValueError("Content-Type %r, want a form" % ctype)
        form = req.form()
        extra = set(form) - FIELDS
        if extra:
            raise ValueError("unexpected form fields %s (credentials belong in Basic auth)" % sorted(extra))
        for k in ("from", "to", "text"):
            if not form.get(k):
                return _answer([{"status": "2", "error-text": "Missing %s param" % k}])
        if form["from"] != self.brand:
            raise ValueError("from %r is not the configured brandName" % form["from"])
        to = form["to"]
        if not re.match(r"^[1-9][0-9]{6,14}$", to) or self.mode == "bad-number":
            return _answer([{"status": "3", "error-text": "Invalid to address"}])
        text = form["text"]
        kind = form.get("type", "text")
        if kind not in ("text", "unicode"):
            raise ValueError("type %r" % kind)
        gsm, parts = gsm_parts(text)
        if not gsm and kind != "unicode":
            raise ValueError("non-GSM text without type=unicode would arrive mangled")
        if gsm and kind == "unicode":
            raise ValueError("GSM-7 text sent as unicode: twice the parts for nothing")
        status_modes = {
            "throttled": ("1", "Throttled"),
            "internal": ("5", "Internal Error"),
            "invalid-message": ("6", "Invalid Message"),
            "barred": ("7", "Number barred."),
            "no-credit": ("9", "Partner quota exceeded"),
            "non-whitelisted": ("29", "Non White-listed Destination - rejected"),
            "deactivated": ("33", "Number De-activated"),
        }
        if self.mode in status_modes:
            st, txt = status_modes[self.mode]
            return _answer([{"status": st, "error-text": txt}])
        if self.mode == "garbage":
            return 200, {"Content-Type": "text/plain"}, "OK"
        ok = {"to": to, "status": "0", "remaining-balance": "3.14159265", "message-price": "0.03330000",
              "network": "44010"}
        if self.mode == "count-mismatch":
            return _answer([dict(ok, **{"message-id": secrets.token_hex(8)})], count=2)
        if self.mode == "no-status":
            return _answer([{"to": to, "message-id": secrets.token_hex(8)}])
        if self.mode == "partial":
            return _answer([dict(ok, **{"message-id": secrets.token_hex(8)}),
                            {"to": to, "status": "1", "error-text": "Throttled"}])
        if self.mode != "ok":
            raise ValueError("unknown mock mode %r" % self.mode)
        found = CODE.search(text)
        self.sent.append({"to": "+" + to, "code": found.group(1) if found else None, "text": text,
                          "from": form["from"], "type": kind, "parts": parts})
        return _answer([dict(ok, **{"message-id": secrets.token_hex(8)}) for _ in range(parts)])
