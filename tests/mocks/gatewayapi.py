"""Mock of the GatewayAPI REST `mtsms` endpoint for `gatewayapi-sms`.

Checks what the real API checks: POST .../rest/mtsms, HTTP Basic with the
API token as user name and an EMPTY password, a JSON body {"sender",
"message", "recipients": [{"msisdn": <digits>}]} (no '+', no duplicates),
and "encoding": "UCS2" exactly when the text does not fit GSM 03.38
(GatewayAPI's default encoding; without UCS2 Japanese text would arrive
as garbage).  Success is HTTP 200 {"ids": [...], "usage": {...}}; errors
are {"code": "0x02xx", "incident_uuid", "message", "variables"}.

`prefix` is the path before /rest/mtsms (tests of endpoint handling).

Modes: ok, auth (401 0x0229), ip (403 0x0213), no-credit (403 0x0216),
blacklisted (403 0x0215), country (403 0x0217), bad-request (400 0x0222),
filtered (422 0x0312), throttled (429), server-error (500 without code),
empty-ids (200 {"ids": []}), redirect (307 whose body carries 0x0215: must
stay a redirect).
"""
import base64
import json
import re
import secrets
import uuid

TOKEN = "GoCreateAnApiToken-test-7Qz"
SENDER = "ACME"
CODE = re.compile(r"code is (\S+)")

GSM_BASIC = set("@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
                "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
                " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
                "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
                "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0")
GSM_EXT = set("\f^{}\\[~]|\u20ac")


def _q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error(status, code, message, variables=None):
    body = {"incident_uuid": str(uuid.uuid4()), "message": message}
    if code:
        body["code"] = code
    if variables:
        body["variables"] = variables
    return status, {"Content-Type": "application/json"}, json.dumps(body)


class Mock:
    connector = "gatewayapi-sms"
    channel = "sms"

    def __init__(self, mode="ok", sender=SENDER, prefix=""):
        self.mode = mode
        self.sender = sender
        self.prefix = prefix
        self.sent = []

    def settings(self, base_url):
        return ("endpoint = %s; apiToken = %s; sender = %s;\n"
                "templates = ( { usageType = \"SignIn\"; content = \"Your login code is {{code}}\"; },\n"
                "              { usageType = \"Generic\"; content = \"Your code is {{code}}\"; } );"
                % (_q(base_url + self.prefix), _q(TOKEN), _q(self.sender)))

    def handle(self, req):
        if req.method != "POST" or req.path != self.prefix + "/rest/mtsms":
            raise ValueError("want POST %s/rest/mtsms, got %s %s" % (self.prefix, req.method, req.path))
        want = "Basic " + base64.b64encode((TOKEN + ":").encode()).decode()
        if req.header("Authorization") != want or self.mode == "auth":
            return _error(401, "0x0229", "Invalid token")
        ctype = (req.header("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            raise ValueError("Content-Type %r, want application/json" % ctype)
        if req.query:
            raise ValueError("the token belongs in Basic auth, not the query %r" % req.query)
        body = req.json()
        if not isinstance(body, dict):
            raise ValueError("want one message object")
        extra = set(body) - {"sender", "message", "recipients", "encoding"}
        if extra:
            raise ValueError("unexpected keys %s" % sorted(extra))
        msg = body.get("message")
        if not isinstance(msg, str) or not msg:
            return _error(400, "0x0222", "Missing required parameter: %1", ["message"])
        recips = body.get("recipients")
        if not isinstance(recips, list) or len(recips) != 1 or not isinstance(recips[0], dict) \
                or set(recips[0]) != {"msisdn"}:
            return _error(400, "0x0222", "Missing required parameter: %1", ["recipients"])
        msisdn = recips[0]["msisdn"]
        if isinstance(msisdn, bool) or not isinstance(msisdn, (int, str)) or \
                not re.match(r"^[1-9][0-9]{6,14}$", str(msisdn)):
            return _error(400, "0x0220", "Invalid recipient %1", [str(msisdn)])
        if body.get("sender") != self.sender:
            raise ValueError("sender %r is not the configured one" % body.get("sender"))
        gsm = all(c in GSM_BASIC or c in GSM_EXT for c in msg)
        enc = body.get("encoding", "UTF8")
        if enc not in ("UTF8", "UCS2"):
            raise ValueError("encoding %r" % enc)
        if not gsm and enc != "UCS2":
            raise ValueError("non-GSM text without encoding UCS2 would arrive mangled")
        if gsm and enc == "UCS2":
            raise ValueError("GSM-7 text sent as UCS2: more parts for nothing")
        errors = {
            "ip": (403, "0x0213", "Unauthorized IP-address: %1", ["127.0.0.1"]),
            "no-credit": (403, "0x0216", "Insufficient credit", None),
            "blacklisted": (403, "0x0215", "MSISDN %1 is blacklisted", [str(msisdn)]),
            "country": (403, "0x0217", "Destination country not allowed: %1", ["JP"]),
            "bad-request": (400, "0x0222", "Missing required parameter: %1", ["sender"]),
            "filtered": (422, "0x0312", "Messages filtered on content", None),
            "server-error": (500, None, "An internal error occurred", None),
        }
        if self.mode in errors:
            return _error(*errors[self.mode])
        if self.mode == "redirect":
            st, hdr, body = _error(403, "0x0215", "MSISDN %1 is blacklisted", [str(msisdn)])
            return 307, dict(hdr, Location="https://gatewayapi.example/rest/mtsms"), body
        if self.mode == "throttled":
            return 429, {"Content-Type": "text/plain"}, "Too Many Requests"
        if self.mode == "empty-ids":
            return 200, {"Content-Type": "application/json"}, json.dumps({"ids": [], "usage": {}})
        if self.mode != "ok":
            raise ValueError("unknown mock mode %r" % self.mode)
        found = CODE.search(msg)
        self.sent.append({"to": "+" + str(msisdn), "code": found.group(1) if found else None,
                          "text": msg, "sender": body["sender"], "encoding": enc, "msisdn": msisdn})
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"ids": [secrets.randbelow(10 ** 9)],
             "usage": {"countries": {"JP": 1}, "currency": "EUR", "total_cost": 0.07}})
