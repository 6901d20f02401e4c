"""Mock of Twilio Programmable Messaging (API 2010-04-01) for `twilio-sms`.

Checks what the real API checks: POST to
/2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic
AccountSid:AuthToken, an application/x-www-form-urlencoded body with To
(E.164), exactly one sender (MessagingServiceSid MG... or From), Body, and
RiskCheck enable|disable.  Success is "201 Created" with a Message resource;
failures use Twilio's error body {code, message, more_info, status}.

Modes: ok, auth (401/20003), throttled (429/20429), bad-number (400/21211),
not-mobile (400/21614), unsubscribed (400/21610), region (400/21408),
bad-from (400/21606), server-error (500/20500), wrong-account (404/20404),
ok-200 (a 200 instead of 201), no-sid (201 without a Message sid), redirect
(302 whose body carries a throttling code: must stay a redirect).
"""
import base64
import json
import re
import secrets

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token-5f3a9c"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
CODE = re.compile(r"code is (\S+)")
FIELDS = {"To", "From", "MessagingServiceSid", "Body", "RiskCheck"}


def _q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error(status, code, message):
    body = {"code": code, "message": message,
            "more_info": "https://www.twilio.com/docs/errors/%d" % code, "status": status}
    return status, {"Content-Type": "application/json"}, json.dumps(body)


class Mock:
    connector = "twilio-sms"
    channel = "sms"

    def __init__(self, mode="ok", sender=SERVICE_SID):
        self.mode = mode
        self.sender = sender          # what settings() configures as fromMessagingServiceSID
        self.sent = []

    def settings(self, base_url):
        return ("endpoint = %s; accountSID = %s; authToken = %s; fromMessagingServiceSID = %s;\n"
                "templates = ( { usageType = \"SignIn\"; content = \"Your login code is {{code}}\"; },\n"
                "              { usageType = \"Generic\"; content = \"Your code is {{code}}\"; } );"
                % (_q(base_url), _q(ACCOUNT_SID), _q(AUTH_TOKEN), _q(self.sender)))

    def _authorised(self, req):
        want = "Basic " + base64.b64encode(("%s:%s" % (ACCOUNT_SID, AUTH_TOKEN)).encode()).decode()
        return req.header("Authorization") == want

    def handle(self, req):
        if req.method != "POST":
            return _error(405, 20004, "Method not allowed")
        m = re.match(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$", req.path)
        if not m:
            return _error(404, 20404, "The requested resource %s was not found" % req.path)
        if not self._authorised(req) or self.mode == "auth":
            return _error(401, 20003, "Authenticate")
        if m.group(1) != ACCOUNT_SID or self.mode == "wrong-account":
            return _error(404, 20404, "The requested resource was not found")
        ctype = (req.header("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            raise ValueError("Content-Type %r, want application/x-www-form-urlencoded" % ctype)
        if req.query:
            raise ValueError("unexpected query string %r" % req.query)
        form = req.form()   # raises on a repeated field
        extra = set(form) - FIELDS
        if extra:
            raise ValueError("unexpected form fields %s" % sorted(extra))
        to = form.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to) or self.mode == "bad-number":
            return _error(400, 21211, "Invalid 'To' Phone Number: %s" % to)
        if ("From" in form) == ("MessagingServiceSid" in form):
            raise ValueError("send exactly one of From / MessagingServiceSid")
        if "MessagingServiceSid" in form and not re.match(r"^MG[0-9a-fA-F]{32}$", form["MessagingServiceSid"]):
            return _error(400, 21701, "The Messaging Service Sid is invalid")
        if "From" in form and not E164.match(form["From"]):
            return _error(400, 21212, "Invalid From Number")
        body = form.get("Body", "")
        if not body:
            return _error(400, 21619 if "MessagingServiceSid" in form else 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if form.get("RiskCheck", "enable") not in ("enable", "disable"):
            raise ValueError("RiskCheck must be enable or disable")
        mode_errors = {
            "throttled": (429, 20429, "Too Many Requests"),
            "not-mobile": (400, 21614, "'To' number %s is not a valid mobile number" % to),
            "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
            "region": (400, 21408, "Permission to send an SMS has not been enabled for the region "
                                   "indicated by the 'To' number: %s." % to),
            "bad-from": (400, 21606, "The From phone number is not a valid, SMS-capable inbound "
                                     "phone number or short code for your account."),
            "server-error": (500, 20500, "An internal server error has occurred"),
        }
        if self.mode in mode_errors:
            return _error(*mode_errors[self.mode])
        if self.mode == "redirect":
            st, hdr, body = _error(429, 20429, "Too Many Requests")
            return 302, dict(hdr, Location="https://api.twilio.example/"), body
        if self.mode not in ("ok", "ok-200", "no-sid"):
            raise ValueError("unknown mock mode %r" % self.mode)
        if self.mode == "ok":   # the misshapen answers below are not an acceptance
            found = CODE.search(body)
            self.sent.append({"to": to, "code": found.group(1) if found else None, "text": body,
                              "from": form.get("From"), "service": form.get("MessagingServiceSid"),
                              "risk_check": form.get("RiskCheck")})
        if self.mode == "no-sid":
            return 201, {"Content-Type": "application/json"}, "{}"
        sid = "SM" + secrets.token_hex(16)
        msg = {"sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": form.get("From"),
               "messaging_service_sid": form.get("MessagingServiceSid"), "body": body,
               "status": "accepted" if "MessagingServiceSid" in form else "queued",
               "num_segments": "1", "error_code": None, "error_message": None, "price": None,
               "api_version": "2010-04-01",
               "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (ACCOUNT_SID, sid)}
        return (200 if self.mode == "ok-200" else 201), {"Content-Type": "application/json"}, json.dumps(msg)
