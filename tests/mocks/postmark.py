"""Mock of the Postmark e-mail API (POST /email and /email/withTemplate).

Checks X-Postmark-Server-Token, Accept and Content-Type application/json,
From/To, and either Subject + HtmlBody/TextBody or TemplateAlias +
TemplateModel {code}.  Success is HTTP 200 with ErrorCode 0; failures use
Postmark's shape {"ErrorCode": n, "Message": ...} (401 for a bad token,
422 for the rest, 429, 500).

Modes: ok, auth, bad-address (alias bad-number; ErrorCode 300), inactive
(406), bad-from (300 about 'From'), sender (400), throttled (HTTP 429,
ErrorCode 429), pending (412), http200-error (HTTP 200 but ErrorCode 406),
no-error-code, server-error.
"""
import json
import re

TOKEN = "b3a3b1f2-0000-4000-8000-postmarktoken"
FROM = "no-reply@example.org"
ALIAS = "otp-code"
CODE_RE = re.compile(r"code is (?:<b>)?([0-9A-Za-z]+)")

ERRORS = {
    "auth": (401, 10, "No Account or Server API tokens were supplied in the HTTP headers. Please add a header "
             "for either X-Postmark-Server-Token or X-Postmark-Account-Token."),
    "bad-address": (422, 300, "Invalid 'To' address: 'user@'."),
    "bad-number": (422, 300, "Invalid 'To' address: 'user@'."),
    "inactive": (422, 406, "You tried to send to recipient(s) that have been marked as inactive. Found "
                 "inactive addresses: user@example.com. Inactive recipients are ones that have generated a "
                 "hard bounce, a spam complaint, or a manual suppression."),
    "bad-from": (422, 300, "Invalid 'From' address: 'no-reply@example.org' is not a verified sender signature."),
    "sender": (422, 400, "The 'From' address you supplied (no-reply@example.org) is not a Sender Signature "
               "on your account."),
    "throttled": (429, 429, "Rate limit exceeded."),
    "pending": (422, 412, "Your account is pending approval."),
    "http200-error": (200, 406, "You tried to send to recipient(s) that have been marked as inactive."),
}


def _pm(status, code, message):
    return (status, {"Content-Type": "application/json"}, json.dumps({"ErrorCode": code, "Message": message}))


class Mock:
    connector = "postmark"
    channel = "email"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.errors = []
        self.token = TOKEN

    def settings(self, base_url):
        return """endpoint = "%s"; serverToken = "%s"; fromEmail = "%s";
templates = (
  { usageType = "SignIn"; subject = "Login code for {{user}}";
    content = "<p>Your login code is <b>{{code}}</b></p>"; },
  { usageType = "Generic"; templateAlias = "%s"; }
);""" % (base_url, self.token, FROM, ALIAS)

    def _reject(self, code, why):
        self.errors.append(why)
        return _pm(422, code, why)

    def handle(self, req):
        if req.method != "POST" or req.path not in ("/email", "/email/withTemplate"):
            return (404, {"Content-Type": "text/html"}, "<html>Not Found</html>")
        if req.header("X-Postmark-Server-Token") != self.token or self.mode == "auth":
            return _pm(*ERRORS["auth"])
        if req.header("Accept") != "application/json":
            return _pm(406, 0, "Accept header must be application/json")
        if (req.header("Content-Type") or "").split(";")[0] != "application/json":
            return self._reject(409, "JSON required")
        try:
            b = req.json()
        except ValueError:
            return self._reject(402, "Received invalid JSON input.")
        if not b.get("From") or not b.get("To") or "@" not in b["To"]:
            return self._reject(300, "Invalid 'To' address: ''.")
        if req.path == "/email/withTemplate":
            if set(b) - {"From", "To", "TemplateAlias", "TemplateId", "TemplateModel", "MessageStream",
                         "Tag", "ReplyTo", "Headers", "Metadata"}:
                return self._reject(402, "unknown members %s" % sorted(b))
            if not b.get("TemplateAlias") or not isinstance(b.get("TemplateModel"), dict):
                return self._reject(1101, "The Template's 'Alias' or 'TemplateId' and a TemplateModel are required.")
            code = b["TemplateModel"].get("code")
            subject = None
        else:
            if set(b) - {"From", "To", "Subject", "HtmlBody", "TextBody", "MessageStream", "Tag", "ReplyTo",
                         "Headers", "Metadata", "Cc", "Bcc", "TrackOpens"}:
                return self._reject(402, "unknown members %s" % sorted(b))
            if not b.get("HtmlBody") and not b.get("TextBody"):
                return self._reject(300, "Provide either email TextBody or HtmlBody or both.")
            subject = b.get("Subject") or ""
            if "\r" in subject or "\n" in subject:
                return self._reject(300, "line break in Subject")
            m = CODE_RE.search(b.get("HtmlBody") or b.get("TextBody"))
            code = m.group(1) if m else None
        if self.mode in ERRORS:
            return _pm(*ERRORS[self.mode])
        if self.mode == "no-error-code":
            return (200, {"Content-Type": "application/json"}, json.dumps({"Message": "OK"}))
        if self.mode == "server-error":
            return (500, {"Content-Type": "text/html"}, "<html>Internal Server Error</html>")
        self.sent.append({"to": b["To"], "code": code, "subject": subject, "path": req.path, "request": b})
        return (200, {"Content-Type": "application/json"},
                json.dumps({"To": b["To"], "SubmittedAt": "2026-01-01T12:00:00.0000000-05:00",
                            "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff%03d" % len(self.sent),
                            "ErrorCode": 0, "Message": "OK"}))
