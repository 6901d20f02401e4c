"""Mock of the Mailgun Messages API (POST /v3/<domain>/messages).

Checks HTTP Basic api:<key>, the domain in the path, a form-urlencoded body
with from, to, subject and html/text, or template + h:X-Mailgun-Variables
(JSON carrying the code).  Failures use Mailgun's real shapes: 401 with a
bare "Forbidden", 400/403/404/429/5xx with {"message": ...}.

Modes: ok, auth, forbidden, throttled, bad-address (alias bad-number),
bad-request, not-found, server-error, no-id.
"""
import base64
import json
import re

API_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
DOMAIN = "mg.example.org"
FROM = "Login <no-reply@mg.example.org>"
CODE_RE = re.compile(r"code is (?:<b>)?([0-9A-Za-z]+)")

ERRORS = {
    "forbidden": (403, {"message": "Domain mg.example.org is not allowed to send: account disabled"}),
    "throttled": (429, {"message": "Too many requests"}),
    "bad-address": (400, {"message": "to parameter is not a valid address. please check documentation"}),
    "bad-number": (400, {"message": "to parameter is not a valid address. please check documentation"}),
    "bad-request": (400, {"message": "'html' parameter is not valid"}),
    "not-found": (404, {"message": "Domain not found: mg.example.org"}),
    "server-error": (500, {"message": "Internal Server Error"}),
}


def _json(status, obj):
    return (status, {"Content-Type": "application/json"}, json.dumps(obj))


class Mock:
    connector = "mailgun"
    channel = "email"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.errors = []
        self.api_key = API_KEY
        self.domain = DOMAIN

    def settings(self, base_url):
        return """endpoint = "%s"; domain = "%s"; apiKey = "%s"; from = "%s";
deliveries = {
  SignIn = { subject = "Login code for {{user}}"; html = "<p>Your login code is <b>{{code}}</b></p>";
             text = "Your login code is {{code}}"; replyTo = "help@example.org"; };
  Generic = { template = "otp-code"; subject = "Your code"; variables = { brand = "Example"; }; };
};""" % (base_url, self.domain, self.api_key, FROM)

    def _reject(self, why):
        self.errors.append(why)
        return _json(400, {"message": why})

    def handle(self, req):
        m = re.fullmatch(r"/v3/([^/]+)/messages", req.path)
        if req.method != "POST" or not m:
            return (404, {"Content-Type": "text/plain"}, "404 page not found")
        auth = req.header("Authorization") or ""
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") \
                else ("", "", "")
        except ValueError:
            user, pw = "", ""
        if user != "api" or pw != self.api_key or self.mode == "auth":
            self.errors.append("auth")
            return (401, {"Content-Type": "text/plain"}, "Forbidden")
        if m.group(1) != self.domain:
            return _json(404, {"message": "Domain not found: %s" % m.group(1)})
        if (req.header("Content-Type") or "").split(";")[0] != "application/x-www-form-urlencoded":
            return self._reject("expected a form body")
        try:
            f = req.form()
        except (ValueError, UnicodeDecodeError) as e:
            return self._reject("bad form: %s" % e)
        for k in f:
            if k not in ("from", "to", "subject", "html", "text", "template") and not re.match(r"[hvot]:", k):
                return self._reject("unknown parameter %s" % k)
        for k in ("from", "to"):
            if not f.get(k):
                return self._reject("'%s' parameter is missing" % k)
        if "template" not in f and not f.get("subject"):
            return self._reject("'subject' parameter is missing")
        if not any(k in f for k in ("html", "text", "template")):
            return self._reject("Need at least one of 'text', 'html' or 'template' parameters specified")
        if "\r" in f.get("subject", "") or "\n" in f.get("subject", ""):
            return self._reject("line break in subject")
        code = None
        if "template" in f:
            try:
                variables = json.loads(f.get("h:X-Mailgun-Variables", ""))
            except ValueError:
                return self._reject("h:X-Mailgun-Variables is not JSON")
            code = variables.get("code")
        else:
            mm = CODE_RE.search(f.get("html") or f.get("text") or "")
            code = mm.group(1) if mm else None
        if self.mode in ERRORS:
            return _json(*ERRORS[self.mode])
        if self.mode == "no-id":
            return _json(200, {"message": "Queued. Thank you."})
        self.sent.append({"to": f["to"], "code": code, "subject": f.get("subject"), "form": f})
        return _json(200, {"id": "<20260101120000.%d.1234@%s>" % (len(self.sent), self.domain),
                           "message": "Queued. Thank you."})
