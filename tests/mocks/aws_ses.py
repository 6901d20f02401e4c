"""Mock of Amazon SES API v2 SendEmail (POST /v2/email/outbound-emails).

Checks what the real front end checks: a SigV4 Authorization header whose
signature is recomputed here independently (hashlib/hmac, not the C code),
the credential scope (key id, date, region, service "ses"), an x-amz-date
within 5 minutes of the mock's clock, a JSON body in the SendEmail shape.
Failures use the real shapes: HTTP status, `x-amzn-ErrorType` header and a
JSON body {"__type": ..., "message": ...}.

Modes: ok, auth, throttled, quota, rejected, bad-address (alias bad-number),
not-found, paused, mailfrom, server-error, unavailable, header-only
(error type only in the header), no-message-id.
"""
import calendar
import hashlib
import hmac
import json
import re
import time
import urllib.parse

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
FROM = "Login <no-reply@example.org>"
SKEW = 300
CODE_RE = re.compile(r"code is (?:<b>)?([0-9A-Za-z]+)")
CORAL = ":http://internal.amazon.com/coral/com.amazon.coral.service/"

# mode -> (HTTP status, error type, message)
ERRORS = {
    "auth": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "throttled": (429, "TooManyRequestsException", "Too Many Requests"),
    "quota": (400, "LimitExceededException", "Maximum sending rate exceeded."),
    "rejected": (400, "MessageRejected", "Email address is not verified. The following identities failed "
                 "the check in region EU-WEST-1: user@example.com"),
    "bad-address": (400, "BadRequestException", "Illegal address"),
    "bad-number": (400, "BadRequestException", "Illegal address"),
    "not-found": (404, "NotFoundException", "Configuration set <otp> does not exist."),
    "paused": (400, "SendingPausedException", "Sending is paused for this account."),
    "mailfrom": (400, "MailFromDomainNotVerifiedException", "MAIL FROM domain not verified."),
    "server-error": (500, "InternalFailure", "The request processing has failed because of an unknown error."),
    "unavailable": (503, "ServiceUnavailable", "Service Unavailable"),
}


def _error(status, etype, message, in_body=True):
    body = {"message": message}
    if in_body:
        body["__type"] = etype
    return (status, {"Content-Type": "application/json", "x-amzn-ErrorType": etype + CORAL,
                     "x-amzn-RequestId": "4c9f5d1e-0d2a-4d3f-9d2a-4d3f9d2a4d3f"}, json.dumps(body))


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def canonical_uri(path):
    """Normalised path, each segment URI-encoded again (non-S3 rule)."""
    segs = []
    for s in path.split("/"):
        if s in ("", "."):
            continue
        if s == "..":
            if segs:
                segs.pop()
            continue
        segs.append(s)
    out = "/" + "/".join(urllib.parse.quote(s, safe="-_.~") for s in segs)
    if path.endswith("/") and segs:
        out += "/"
    return out


def canonical_query(query):
    pairs = []
    for k, vs in query.items():
        for v in vs:
            pairs.append((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~")))
    return "&".join("%s=%s" % p for p in sorted(pairs))


def verify_sigv4(req, access_key, secret, region, service, now, skew=SKEW):
    """Returns None if the request is signed right, else (status, type, message)."""
    auth = req.header("Authorization") or ""
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/, ]+)/(\d{8})/([^/, ]+)/([^/, ]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth)
    if not m:
        return (403, "IncompleteSignatureException", "Authorization header requires 'Credential', "
                "'SignedHeaders' and 'Signature' parameters.")
    key_id, date, reg, svc, signed, sig = m.groups()
    if key_id != access_key:
        return ERRORS["auth"]
    amz_date = req.header("X-Amz-Date") or ""
    try:
        t = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return (403, "IncompleteSignatureException", "Date must be in ISO-8601 'basic format'.")
    if abs(now - t) > skew:
        return (403, "InvalidSignatureException", "Signature expired: %s is now earlier than the "
                "allowed window." % amz_date)
    if date != amz_date[:8] or reg != region or svc != service:
        return (403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region/service/date.")
    names = signed.split(";")
    if names != sorted(names) or "host" not in names or "x-amz-date" not in names:
        return (403, "SignatureDoesNotMatch", "SignedHeaders must be sorted and include host and x-amz-date.")
    lines = []
    for n in names:
        vals = req.headers.get_all(n) or []
        if not vals:
            return (403, "SignatureDoesNotMatch", "Signed header %s is missing." % n)
        lines.append("%s:%s\n" % (n, ",".join(" ".join(v.split()) for v in vals)))
    creq = "\n".join([req.method, canonical_uri(req.path), canonical_query(req.query), "".join(lines),
                      signed, hashlib.sha256(req.body).hexdigest()])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, "%s/%s/%s/aws4_request" % (date, reg, svc),
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    want = hmac.new(signing_key(secret, date, reg, svc), sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                "signature you provided. Check your AWS Secret Access Key and signing method.")
    return None


class Mock:
    connector = "aws-ses"
    channel = "email"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.errors = []
        self.clock_offset = 0       # seconds added to the mock's clock (stale-date tests)
        self.access_key = ACCESS_KEY
        self.secret = SECRET_KEY
        self.region = REGION

    def settings(self, base_url):
        return """accessKeyId = "%s"; accessKeySecret = "%s"; region = "%s";
emailAddress = "%s"; configurationSetName = "otp";
endpoint = "%s";
templates = (
  { usageType = "SignIn"; subject = "Login code for {{user}}";
    content = "<p>Your login code is <b>{{code}}</b></p>"; },
  { usageType = "Generic"; subject = "Your code";
    content = "Your code is {{code}}"; contentType = "text/plain"; }
);""" % (self.access_key, self.secret, self.region, FROM, base_url)

    def _reject(self, why):
        self.errors.append(why)
        return _error(400, "BadRequestException", why)

    def handle(self, req):
        if req.method != "POST" or req.path != "/v2/email/outbound-emails":
            return (404, {"Content-Type": "application/json", "x-amzn-ErrorType": "UnknownOperationException"},
                    '{"message": null}')
        bad = verify_sigv4(req, self.access_key, self.secret, self.region, "ses", time.time() + self.clock_offset)
        if bad is not None:
            self.errors.append(bad[1])
            return _error(*bad)
        if (req.header("Content-Type") or "") != "application/json":
            return self._reject("Content-Type must be application/json")
        try:
            body = req.json()
        except ValueError as e:
            return (400, {"Content-Type": "application/json", "x-amzn-ErrorType": "SerializationException"},
                    json.dumps({"__type": "SerializationException", "message": str(e)}))
        allowed = {"FromEmailAddress", "FromEmailAddressIdentityArn", "Destination", "ReplyToAddresses",
                   "FeedbackForwardingEmailAddress", "FeedbackForwardingEmailAddressIdentityArn", "Content",
                   "EmailTags", "ConfigurationSetName", "ListManagementOptions"}
        if set(body) - allowed:
            return self._reject("unknown members %s" % sorted(set(body) - allowed))
        to = body.get("Destination", {}).get("ToAddresses")
        if not isinstance(to, list) or len(to) != 1 or not isinstance(to[0], str):
            return self._reject("Destination.ToAddresses must hold one address")
        simple = body.get("Content", {}).get("Simple")
        if not isinstance(simple, dict) or set(body["Content"]) != {"Simple"}:
            return self._reject("Content must hold exactly Simple")
        subj = simple.get("Subject", {})
        parts = simple.get("Body", {})
        if subj.get("Charset") != "UTF-8" or not isinstance(subj.get("Data"), str) or len(parts) != 1:
            return self._reject("Subject {Data, Charset} and one Body part required")
        kind, part = next(iter(parts.items()))
        if kind not in ("Html", "Text") or part.get("Charset") != "UTF-8" or not isinstance(part.get("Data"), str):
            return self._reject("Body must be Html or Text {Data, Charset}")
        if "\r" in subj["Data"] or "\n" in subj["Data"]:
            return self._reject("line break in Subject")
        if body.get("FromEmailAddress") is None:
            return self._reject("FromEmailAddress missing")
        if self.mode in ERRORS:
            return _error(*ERRORS[self.mode])
        if self.mode == "header-only":
            return _error(400, "MessageRejected", "Email address is not verified.", in_body=False)
        if self.mode == "no-message-id":
            return (200, {"Content-Type": "application/json"}, "{}")
        m = CODE_RE.search(part["Data"])
        self.sent.append({"to": to[0], "code": m.group(1) if m else None, "subject": subj["Data"],
                          "body": part["Data"], "kind": kind, "request": body})
        return (200, {"Content-Type": "application/json", "x-amzn-RequestId": "a1b2c3"},
                json.dumps({"MessageId": "0100018f-%08d-example-000000" % len(self.sent)}))
