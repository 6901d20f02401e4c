"""Mock Alibaba Cloud SMS (Dysmsapi SendSms, API 2017-05-25) for the
`aliyun-sms` connector.

Checks what the real RPC gateway checks, with its own Python implementation
of signature v1.0 (hmac/hashlib/urllib, not the module's C code): POST form
to "/", every common and API parameter, the HMAC-SHA1 signature over the
sorted RFC 3986 canonical query, a Timestamp within 15 minutes of the mock's
clock, and a SignatureNonce never seen before.  Gateway errors answer as
Aliyun does (4xx + {RequestId, HostId, Code, Message, Recommend}); business
errors as HTTP 200 with Code != "OK".

Modes: "ok", "auth" (404 InvalidAccessKeyId.NotFound), "throttled"
(200 isv.BUSINESS_LIMIT_CONTROL), "bad-number" (200 isv.MOBILE_NUMBER_ILLEGAL),
"server-error" (500 InternalError), "system-error" (200 isp.SYSTEM_ERROR),
"no-balance" (200 isv.AMOUNT_NOT_ENOUGH), "http200-bad-json" (200, not JSON),
"ok-without-code" (200 JSON without Code).
"""
import base64
import datetime
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

ACCESS_KEY_ID = "LTAI5tMockAccessKey01"
ACCESS_KEY_SECRET = "mock-aliyun-secret-0123456789"
SIGN_NAME = "阿里云短信测试"
TEMPLATES = {
    # usageType -> (china templateCode, overseas templateCode)
    "SignIn": ("SMS_100001", "SMS_900001"),
    "Generic": ("SMS_100002", "SMS_900002"),
}
MAX_SKEW = 15 * 60


def pct(s):
    """RFC 3986 percent-encoding of UTF-8 text: only A-Z a-z 0-9 - _ . ~ stay."""
    return urllib.parse.quote(s.encode("utf-8"), safe="-_.~")


def rpc_signature(method, params, secret):
    canonical = "&".join(pct(k) + "=" + pct(v) for k, v in sorted(params.items()))
    to_sign = method + "&" + pct("/") + "&" + pct(canonical)
    mac = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def cfg(s):
    """A libconfig string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gateway_error(status, code, message, host="dysmsapi.aliyuncs.com"):
    return (status, {"Content-Type": "application/json;charset=utf-8"}, json.dumps({
        "RequestId": str(uuid.uuid4()).upper(), "HostId": host, "Code": code, "Message": message,
        "Recommend": "https://api.aliyun.com/troubleshoot?q=%s" % code}))


def business(code, message):
    return (200, {"Content-Type": "application/json;charset=utf-8"},
            json.dumps({"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}))


class Mock:
    connector = "aliyun-sms"
    channel = "sms"

    def __init__(self):
        self.sent = []
        self.mode = "ok"
        self.nonces = set()
        self.clock_offset = 0          # seconds added to the mock's clock (skew tests)
        self.last_params = None
        self.access_key_id = ACCESS_KEY_ID
        self.secret = ACCESS_KEY_SECRET
        self.sign_name = SIGN_NAME

    def settings(self, base_url):
        tpl = ",\n    ".join(
            '{ usageType = "%s"; type = 2; templateCode = { china = "%s"; overseas = "%s"; }; }'
            % (u, c, o) for u, (c, o) in TEMPLATES.items())
        return ('endpoint = "%s";\n  accessKeyId = "%s";\n  accessKeySecret = "%s";\n'
                '  signName = %s;\n  templates = (\n    %s\n  );'
                % (base_url, self.access_key_id, self.secret, cfg(self.sign_name), tpl))

    def check_rpc(self, req, action, version, api_required):
        """Gateway checks shared by every RPC API; returns (params, error_response)."""
        if req.method != "POST":
            raise ValueError("method %s, want POST" % req.method)
        if req.path != "/":
            raise ValueError("path %r, want /" % req.path)
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise ValueError("content type %r" % req.header("Content-Type"))
        if req.query:
            raise ValueError("parameters in the query string as well as the body")
        params = req.form()
        self.last_params = params
        common = ["AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce",
                  "SignatureVersion", "Timestamp", "Version", "Signature"]
        for k in common + api_required:
            if not params.get(k):
                return params, gateway_error(400, "MissingParameter",
                                             "The input parameter \"%s\" that is mandatory for processing "
                                             "this request is not supplied." % k)
        if params["Action"] != action or params["Version"] != version:
            return params, gateway_error(404, "InvalidAction.NotFound", "Specified api is not found")
        if params["Format"].lower() != "json":
            raise ValueError("Format %r, want json" % params["Format"])
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            raise ValueError("signature method/version %r/%r" % (params["SignatureMethod"],
                                                                 params["SignatureVersion"]))
        if params["AccessKeyId"] != self.access_key_id:
            return params, gateway_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        want = rpc_signature("POST", unsigned, self.secret)
        if not hmac.compare_digest(want.encode(), params["Signature"].encode()):
            return params, gateway_error(400, "SignatureDoesNotMatch",
                                         "Specified signature is not matched with our calculation.")
        try:
            ts = datetime.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            return params, gateway_error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(req.time + self.clock_offset - ts) > MAX_SKEW:
            return params, gateway_error(400, "InvalidTimeStamp.Expired",
                                         "Specified time stamp or date value is expired.")
        try:
            if uuid.UUID(params["SignatureNonce"]).version != 4:
                raise ValueError
        except ValueError:
            raise ValueError("SignatureNonce %r is not a UUID v4" % params["SignatureNonce"])
        if params["SignatureNonce"] in self.nonces:
            return params, gateway_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(params["SignatureNonce"])
        return params, None

    def handle(self, req):
        params, err = self.check_rpc(req, "SendSms", "2017-05-25",
                                     ["PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"])
        if err is not None:
            return err
        if self.mode == "auth":
            return gateway_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if self.mode == "server-error":
            return gateway_error(500, "InternalError", "The request processing has failed due to some unknown error.")
        if params.get("RegionId") != "cn-hangzhou":
            raise ValueError("RegionId %r" % params.get("RegionId"))
        extra = set(params) - {"AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce",
                               "SignatureVersion", "Timestamp", "Version", "Signature", "RegionId",
                               "PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"}
        if extra:
            raise ValueError("unexpected parameters %s" % sorted(extra))
        if params["SignName"] != self.sign_name:
            return business("isv.SMS_SIGNATURE_ILLEGAL", "The signature is illegal.")
        try:
            tparam = json.loads(params["TemplateParam"])
        except ValueError:
            return business("isv.INVALID_JSON_PARAM", "JSON parameter is invalid.")
        if (not isinstance(tparam, dict) or list(tparam) != ["code"]
                or not isinstance(tparam["code"], str)):
            return business("isv.INVALID_JSON_PARAM", "JSON parameter is invalid; only string values.")
        phone = params["PhoneNumbers"]
        china = {c for c, _ in TEMPLATES.values()}
        overseas = {o for _, o in TEMPLATES.values()}
        # Aliyun reads the number according to the template's kind.
        if params["TemplateCode"] in china:
            if not (len(phone) == 11 and phone.isdigit() and phone[0] == "1"):
                return business("isv.MOBILE_NUMBER_ILLEGAL", "The mobile number is illegal.")
            to = "+86" + phone
        elif params["TemplateCode"] in overseas:
            if not (phone.isdigit() and 7 <= len(phone) <= 15) or phone.startswith("86"):
                return business("isv.MOBILE_NUMBER_ILLEGAL", "The mobile number is illegal.")
            to = "+" + phone
        else:
            return business("isv.SMS_TEMPLATE_ILLEGAL", "The template is illegal.")
        if self.mode == "throttled":
            return business("isv.BUSINESS_LIMIT_CONTROL", "Business limit control: too many messages.")
        if self.mode == "bad-number":
            return business("isv.MOBILE_NUMBER_ILLEGAL", "The mobile number is illegal.")
        if self.mode == "system-error":
            return business("isp.SYSTEM_ERROR", "System error.")
        if self.mode == "no-balance":
            return business("isv.AMOUNT_NOT_ENOUGH", "The account balance is insufficient.")
        if self.mode == "http200-bad-json":
            return (200, {"Content-Type": "text/html"}, "<html>OK</html>")
        if self.mode == "ok-without-code":
            return (200, {"Content-Type": "application/json"}, json.dumps({"Message": "OK"}))
        self.sent.append({"to": to, "code": tparam["code"], "phone": phone,
                          "template": params["TemplateCode"], "sign": params["SignName"]})
        return (200, {"Content-Type": "application/json;charset=utf-8"}, json.dumps({
            "Code": "OK", "Message": "OK", "BizId": "9006197469364984%04d" % len(self.sent),
            "RequestId": str(uuid.uuid4()).upper()}))
