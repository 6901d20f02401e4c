"""Mock of Twilio SendGrid v3 Mail Send (POST /v3/mail/send).

Checks Authorization: Bearer <key>, a JSON body with personalizations[].to[],
from {email, name?}, subject and content [{type, value}].  Success is 202
with an empty body and X-Message-Id; failures use SendGrid's shape
{"errors": [{"message", "field", "help"}]}.

Modes: ok, auth, forbidden, throttled, bad-address (alias bad-number),
bad-request (two errors), sandbox (200, nothing sent), too-large,
residency (451), server-error.
"""
import json
import re

API_KEY = "SG.test-key.0123456789abcdefghijklmnopqrstuvwxyz"
FROM_EMAIL = "no-reply@example.org"
CODE_RE = re.compile(r"code is (?:<b>)?([0-9A-Za-z]+)")
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"


def _err(*errs):
    return {"errors": [{"message": m, "field": f, "help": h} for m, f, h in errs]}


ERRORS = {
    "auth": (401, _err(("The provided authorization grant is invalid, expired, or revoked", None, None))),
    "forbidden": (403, _err(("The from address does not match a verified Sender Identity. Mail cannot be "
                             "sent until this error is resolved.", "from", None))),
    "throttled": (429, _err(("too many requests", None, None))),
    "bad-address": (400, _err(("Does not contain a valid address.", "personalizations.0.to.0.email",
                               HELP + "#message.personalizations.to"))),
    "bad-number": (400, _err(("Does not contain a valid address.", "personalizations.0.to.0.email",
                              HELP + "#message.personalizations.to"))),
    "bad-request": (400, _err(("The subject is required. You can get around this requirement if you use a "
                               "template with a subject defined.", "subject", HELP + "#message.subject"),
                              ("Invalid type. Expected: string, given: null.", "content.0.value", None))),
    "too-large": (413, _err(("Payload Too Large", None, None))),
    "residency": (451, _err(("Regional data residency restriction", None, None))),
    "server-error": (500, _err(("internal error", None, None))),
}


class Mock:
    connector = "sendgrid-email"
    channel = "email"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.errors = []
        self.api_key = API_KEY

    def settings(self, base_url):
        return """endpoint = "%s"; apiKey = "%s"; fromEmail = "%s"; fromName = "Example Login";
templates = (
  { usageType = "SignIn"; type = "text/html"; subject = "Login code for {{user}}";
    content = "<p>Your login code is <b>{{code}}</b></p>"; },
  { usageType = "Generic"; type = "text/plain"; subject = "Your code"; content = "Your code is {{code}}"; }
);""" % (base_url, self.api_key, FROM_EMAIL)

    def _reject(self, why, field=None):
        self.errors.append(why)
        return (400, {"Content-Type": "application/json"}, json.dumps(_err((why, field, None))))

    def handle(self, req):
        if req.method != "POST" or req.path != "/v3/mail/send":
            return (404, {"Content-Type": "application/json"}, json.dumps(_err(("not found", None, None))))
        if req.header("Authorization") != "Bearer " + self.api_key or self.mode == "auth":
            status, body = ERRORS["auth"]
            return (status, {"Content-Type": "application/json"}, json.dumps(body))
        if (req.header("Content-Type") or "").split(";")[0] != "application/json":
            return self._reject("Content-Type should be application/json.")
        try:
            b = req.json()
        except ValueError:
            return self._reject("The request body must be valid JSON.")
        if set(b) - {"personalizations", "from", "subject", "content", "reply_to", "headers", "categories",
                     "custom_args", "send_at", "asm", "ip_pool_name", "mail_settings", "tracking_settings",
                     "template_id"}:
            return self._reject("unknown members %s" % sorted(b))
        pers = b.get("personalizations")
        if not isinstance(pers, list) or len(pers) != 1 or set(pers[0]) != {"to"}:
            return self._reject("The personalizations field is required.", "personalizations")
        to = pers[0]["to"]
        if not isinstance(to, list) or len(to) != 1 or set(to[0]) - {"email", "name"} or "@" not in to[0]["email"]:
            return self._reject("Does not contain a valid address.", "personalizations.0.to.0.email")
        frm = b.get("from")
        if not isinstance(frm, dict) or set(frm) - {"email", "name"} or not frm.get("email"):
            return self._reject("The from object must be provided for every email send.", "from")
        subj = b.get("subject")
        if not isinstance(subj, str) or not subj or "\r" in subj or "\n" in subj:
            return self._reject("The subject is required.", "subject")
        content = b.get("content")
        if (not isinstance(content, list) or len(content) != 1 or set(content[0]) != {"type", "value"}
                or content[0]["type"] not in ("text/plain", "text/html") or not content[0]["value"]):
            return self._reject("The content value must be a string at least one character in length.",
                                "content.0.value")
        if self.mode in ERRORS:
            status, body = ERRORS[self.mode]
            return (status, {"Content-Type": "application/json"}, json.dumps(body))
        if self.mode == "sandbox":
            return (200, {}, b"")
        m = CODE_RE.search(content[0]["value"])
        self.sent.append({"to": to[0]["email"], "code": m.group(1) if m else None, "subject": subj,
                          "request": b})
        return (202, {"X-Message-Id": "W8e2Dx5vQ1y0%d" % len(self.sent)}, b"")
