"""Mock Alibaba Cloud DirectMail (SingleSendMail, API 2015-11-23) for the
`aliyun-dm` connector.

The same RPC gateway checks as the Aliyun SMS mock, with its own Python
signature v1.0 (hmac/hashlib/urllib): POST form to "/", common parameters,
HMAC-SHA1 over the sorted RFC 3986 canonical query, Timestamp within 15
minutes, SignatureNonce never reused; then SingleSendMail's own fields.
Success is HTTP 200 {EnvId, RequestId}; failures are 4xx/5xx with
{RequestId, HostId, Code, Message, Recommend}.

Modes: "ok", "auth" (404 InvalidAccessKeyId.NotFound), "throttled"
(400 Throttling.User), "bad-address" (400 InvalidToAddress), "server-error"
(500 InternalError), "account" (400 InvalidMailAddress.NotFound: the
sender), "no-envid" (200 without EnvId).
"""
import base64
import datetime
import hashlib
import hmac
import html
import json
import re
import urllib.parse
import uuid

ACCESS_KEY_ID = "LTAI5tMockDirectMail01"
ACCESS_KEY_SECRET = "mock-dm-secret-abcdef0123456789"
ACCOUNT_NAME = "noreply@mail.example.com"
FROM_ALIAS = "Login"
REGION = "cn-hangzhou"
MAX_SKEW = 15 * 60
TEMPLATES = {
    "SignIn": ("Sign-in code for {{user}}",
               "<p>Hello {{user}},</p><p>your sign-in code is <b>{{code}}</b>.</p>"),
    "Generic": ("Your verification code",
                "<p>Your verification code is <b>{{code}}</b>.</p>"),
}
CODE_RE = re.compile(r"<b>([^<]*)</b>")


def cfg(s):
    """A libconfig string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def pct(s):
    return urllib.parse.quote(s.encode("utf-8"), safe="-_.~")


def rpc_signature(method, params, secret):
    canonical = "&".join(pct(k) + "=" + pct(v) for k, v in sorted(params.items()))
    to_sign = method + "&" + pct("/") + "&" + pct(canonical)
    mac = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def gateway_error(status, code, message):
    return (status, {"Content-Type": "application/json;charset=utf-8"}, json.dumps({
        "RequestId": str(uuid.uuid4()).upper(), "HostId": "dm.aliyuncs.com", "Code": code,
        "Message": message, "Recommend": "https://api.aliyun.com/troubleshoot?q=%s" % code}))


class Mock:
    connector = "aliyun-dm"
    channel = "email"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.nonces = set()
        self.clock_offset = 0
        self.access_key_id = ACCESS_KEY_ID
        self.secret = ACCESS_KEY_SECRET
        self.account_name = ACCOUNT_NAME
        self.from_alias = FROM_ALIAS
        self.region = REGION
        self.templates = dict(TEMPLATES)
        self.last_params = None

    def settings(self, base_url):
        tpl = ",\n    ".join('{ usageType = %s; subject = %s; content = %s; }'
                             % (cfg(u), cfg(s), cfg(c)) for u, (s, c) in self.templates.items())
        alias = ("\n  fromAlias = %s;" % cfg(self.from_alias)) if self.from_alias is not None else ""
        return ('endpoint = "%s";\n  regionId = "%s";\n  accessKeyId = "%s";\n  accessKeySecret = "%s";\n'
                '  accountName = %s;%s\n  templates = (\n    %s\n  );'
                % (base_url, self.region, self.access_key_id, self.secret, cfg(self.account_name),
                   alias, tpl))

    def handle(self, req):
        if req.method != "POST" or req.path != "/" or req.query:
            raise ValueError("want POST / with a form body, got %s %s" % (req.method, req.path))
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise ValueError("content type %r" % req.header("Content-Type"))
        p = req.form()
        self.last_params = p
        for k in ("AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce",
                  "SignatureVersion", "Timestamp", "Version", "Signature", "AccountName",
                  "AddressType", "ReplyToAddress", "ToAddress", "Subject"):
            if not p.get(k):
                return gateway_error(400, "MissingParameter", "The input parameter \"%s\" is not supplied." % k)
        if p["Action"] != "SingleSendMail" or p["Version"] != "2015-11-23":
            return gateway_error(404, "InvalidAction.NotFound", "Specified api is not found")
        if p["Format"].lower() != "json" or p["SignatureMethod"] != "HMAC-SHA1" or p["SignatureVersion"] != "1.0":
            raise ValueError("Format/SignatureMethod/SignatureVersion")
        if p["AccessKeyId"] != self.access_key_id:
            return gateway_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        unsigned = {k: v for k, v in p.items() if k != "Signature"}
        if not hmac.compare_digest(rpc_signature("POST", unsigned, self.secret).encode(),
                                   p["Signature"].encode()):
            return gateway_error(400, "SignatureDoesNotMatch",
                                 "Specified signature is not matched with our calculation.")
        try:
            ts = datetime.datetime.strptime(p["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            return gateway_error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(req.time + self.clock_offset - ts) > MAX_SKEW:
            return gateway_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if uuid.UUID(p["SignatureNonce"]).version != 4:
            raise ValueError("SignatureNonce is not a UUID v4")
        if p["SignatureNonce"] in self.nonces:
            return gateway_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(p["SignatureNonce"])
        allowed = {"AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce",
                   "SignatureVersion", "Timestamp", "Version", "Signature", "RegionId", "AccountName",
                   "AddressType", "ReplyToAddress", "ToAddress", "Subject", "HtmlBody", "FromAlias"}
        if set(p) - allowed:
            raise ValueError("unexpected parameters %s" % sorted(set(p) - allowed))
        if p.get("RegionId") != self.region:
            raise ValueError("RegionId %r" % p.get("RegionId"))
        if self.mode == "auth":
            return gateway_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if self.mode == "throttled":
            return gateway_error(400, "Throttling.User", "Request was denied due to user flow control.")
        if self.mode == "server-error":
            return gateway_error(500, "InternalError", "The request processing has failed due to some unknown error.")
        if p["AccountName"] != self.account_name or self.mode == "account":
            return gateway_error(400, "InvalidMailAddress.NotFound", "The specified mail address is not found.")
        if p["AddressType"] != "1" or p["ReplyToAddress"] != "false":
            raise ValueError("AddressType %r ReplyToAddress %r" % (p["AddressType"], p["ReplyToAddress"]))
        if self.from_alias is not None and p.get("FromAlias") != self.from_alias:
            raise ValueError("FromAlias %r" % p.get("FromAlias"))
        if self.from_alias is None and "FromAlias" in p:
            raise ValueError("FromAlias sent although not configured")
        if not p.get("HtmlBody"):
            return gateway_error(400, "InvalidBody", "HtmlBody or TextBody is required.")
        to = p["ToAddress"]
        if self.mode in ("bad-address", "bad-number") or not re.match(r"^[^@\s,]+@[^@\s,]+$", to):
            return gateway_error(400, "InvalidToAddress", "The ToAddress is invalid.")
        if "\r" in p["Subject"] or "\n" in p["Subject"]:
            raise ValueError("line break in Subject")
        if self.mode == "no-envid":
            return (200, {"Content-Type": "application/json"}, json.dumps({"RequestId": str(uuid.uuid4())}))
        m = CODE_RE.search(p["HtmlBody"])
        if m is None:
            raise ValueError("no code in HtmlBody")
        self.sent.append({"to": to, "code": html.unescape(m.group(1)), "subject": p["Subject"],
                          "html": p["HtmlBody"], "from_alias": p.get("FromAlias")})
        return (200, {"Content-Type": "application/json;charset=utf-8"}, json.dumps({
            "EnvId": "60001%08d" % len(self.sent), "RequestId": str(uuid.uuid4()).upper()}))
