#!/usr/bin/python3
"""Connector-level tests for aliyun-sms, tencent-sms and aliyun-dm through
conntest (real libcurl) against the signature-checking mocks in tests/mocks:
wire format, signatures recomputed in Python, replay/skew rejection,
template choice, every failure shape -> class + provider code, hostile
values, and configuration errors."""
import datetime
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "mocks"))
from otptest import TAP, MockServer, Certs, conntest, cfgstr, workdir  # noqa: E402
import aliyun_sms  # noqa: E402
import aliyun_dm  # noqa: E402
import tencent_sms  # noqa: E402

t = TAP()
FAIL_RE = re.compile(r"^fail class=(\S+) http=(\d+) provider=(\S+) detail=(.*)$")


def conf(mock, url, settings=None, extra=""):
    return 'connector = "%s";\nsettings = {\n  %s\n};\n%s' % (
        mock.connector, settings if settings is not None else mock.settings(url), extra)


def send(mock, server, dest, code, usage="SignIn", settings=None, extra=""):
    return conntest(conf(mock, server.url, settings, extra), dest, code, usage)


def expect_fail(out, cls, http, provider, name):
    m = FAIL_RE.match(out.splitlines()[0] if out else "")
    got = m.groups()[:3] if m else None
    t.eq(got, (cls, str(http), provider), name)


def replay(url, body, headers):
    """POST the exact bytes again (an attacker who saw one request)."""
    r = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def recent(ts_text, fmt):
    ts = datetime.datetime.strptime(ts_text, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
    return abs(time.time() - ts) < 120


# =========================================================================== aliyun-sms
m = aliyun_sms.Mock()
srv = MockServer(m.handle)
rc, out = send(m, srv, "+8613800138000", "123456")
t.eq((rc, out), (0, "ok"), "aliyun-sms: mainland number accepted (Code OK)")
p = m.last_params or {}
t.eq(m.sent[-1]["to"] if m.sent else None, "+8613800138000", "aliyun-sms: mock recorded the destination")
t.eq(m.sent[-1]["code"] if m.sent else None, "123456", "aliyun-sms: code travels as TemplateParam.code")
t.eq(p.get("PhoneNumbers"), "13800138000", "aliyun-sms: mainland number sent without 86")
t.eq(p.get("TemplateCode"), "SMS_100001", "aliyun-sms: +86 picks the china templateCode")
t.eq(p.get("TemplateParam"), '{"code":"123456"}', "aliyun-sms: TemplateParam is exactly {\"code\":\"...\"}")
t.eq((p.get("Action"), p.get("Version"), p.get("Format"), p.get("RegionId"), p.get("SignatureMethod"),
      p.get("SignatureVersion")),
     ("SendSms", "2017-05-25", "json", "cn-hangzhou", "HMAC-SHA1", "1.0"), "aliyun-sms: fixed parameters")
t.eq(p.get("SignName"), aliyun_sms.SIGN_NAME, "aliyun-sms: UTF-8 SignName arrives intact (and signed)")
t.ok(recent(p.get("Timestamp", "1970-01-01T00:00:00Z"), "%Y-%m-%dT%H:%M:%SZ"),
     "aliyun-sms: Timestamp is current UTC", p.get("Timestamp"))
r = srv.requests[-1]
t.eq(r.header("Content-Type"), "application/x-www-form-urlencoded", "aliyun-sms: form content type")
t.ok(r.body.decode().endswith("&Signature=" + urllib.parse.quote(p.get("Signature", ""), safe="")),
     "aliyun-sms: body is the canonical query + percent-encoded Signature", r.body[-80:])
t.not_contains(r.body.decode(), "+", "aliyun-sms: no raw '+' in the form body (space/plus are %-encoded)")
first_nonce = p.get("SignatureNonce")
first_body, first_headers = r.body, {"Content-Type": r.header("Content-Type")}

rc, out = send(m, srv, "+8613800138000", "654321")
t.eq((rc, out), (0, "ok"), "aliyun-sms: second send accepted")
t.ok(m.last_params.get("SignatureNonce") != first_nonce, "aliyun-sms: fresh SignatureNonce per request")
status, ans = replay(srv.url + "/", first_body, first_headers)
t.eq((status, ans.get("Code")), (400, "SignatureNonceUsed"), "aliyun-sms mock: a replayed request is refused")
tampered = first_body.replace(b"PhoneNumbers=13800138000", b"PhoneNumbers=13900139000")
status, ans = replay(srv.url + "/", tampered, first_headers)
t.eq((status, ans.get("Code")), (400, "SignatureDoesNotMatch"), "aliyun-sms mock: a tampered number breaks the signature")
n_sent = len(m.sent)

rc, out = send(m, srv, "+819012345678", "111111")
t.eq((rc, m.last_params.get("PhoneNumbers"), m.last_params.get("TemplateCode")),
     (0, "819012345678", "SMS_900001"), "aliyun-sms: international number -> country code digits, overseas template")
rc, out = send(m, srv, "+13125550123", "222222")
t.eq((rc, m.last_params.get("PhoneNumbers"), m.last_params.get("TemplateCode")),
     (0, "13125550123", "SMS_900001"),
     "aliyun-sms: an 11-digit NANP number (+1 312...) is not taken for a mainland one")
rc, out = send(m, srv, "+8613800138000", "333333", usage="ForgotPassword")
t.eq((rc, m.last_params.get("TemplateCode")), (0, "SMS_100002"), "aliyun-sms: unknown usage falls back to Generic")

# strictPhoneRegionNumberCheck only matters for a number without '+', which
# the core never passes; conntest can, to show the flag is honoured.
rc, out = send(m, srv, "13800138000", "444444")
t.eq((rc, m.last_params.get("TemplateCode")), (0, "SMS_100001"),
     "aliyun-sms: non-strict: 11 digits without prefix count as mainland (Logto)")
rc, out = send(m, srv, "13800138000", "444444",
               settings=m.settings(srv.url) + "\n  strictPhoneRegionNumberCheck = true;")
t.eq((rc, m.last_params.get("TemplateCode")), (0, "SMS_900001"),
     "aliyun-sms: strictPhoneRegionNumberCheck: no region prefix -> overseas template")
rc, out = send(m, srv, "+8613800138000", "444444",
               settings=m.settings(srv.url) + "\n  strictPhoneRegionNumberCheck = true;")
t.eq((rc, m.last_params.get("TemplateCode")), (0, "SMS_100001"), "aliyun-sms: strict mode: +86 still mainland")

plain = m.settings(srv.url).replace('templateCode = { china = "SMS_100001"; overseas = "SMS_900001"; }',
                                    'templateCode = "SMS_100001"')
rc, out = send(m, srv, "+8613800138000", "555555", settings=plain)
t.eq((rc, m.last_params.get("TemplateCode")), (0, "SMS_100001"), "aliyun-sms: a plain string templateCode")

hostile = 'Sign "q" & a=b %2B +x {"k":[1]} \\ 阿里 \u00e9'
m.sign_name = hostile
rc, out = send(m, srv, "+8613800138000", 'c"&=+%{}\\')
t.eq((rc, m.last_params.get("SignName")), (0, hostile),
     "aliyun-sms: hostile SignName (quotes, & = % +, JSON, backslash, non-ASCII) arrives intact, signature valid")
t.eq(json.loads(m.last_params.get("TemplateParam", "{}")), {"code": 'c"&=+%{}\\'},
     "aliyun-sms: JSON specials in the code stay inside TemplateParam")
m.sign_name = aliyun_sms.SIGN_NAME

m.secret = "some-other-secret"       # the mock expects another secret than the config holds
rc, out = send(m, srv, "+8613800138000", "123456", settings=aliyun_sms.Mock().settings(srv.url))
expect_fail(out, "auth", 400, "SignatureDoesNotMatch", "aliyun-sms: wrong AccessKeySecret -> auth, SignatureDoesNotMatch")
m.secret = aliyun_sms.ACCESS_KEY_SECRET
m.clock_offset = 20 * 60
rc, out = send(m, srv, "+8613800138000", "123456")
expect_fail(out, "auth", 400, "InvalidTimeStamp.Expired", "aliyun-sms: 20 min clock skew -> auth, InvalidTimeStamp.Expired")
m.clock_offset = 10 * 60
rc, out = send(m, srv, "+8613800138000", "123456")
t.eq((rc, out), (0, "ok"), "aliyun-sms: 10 min skew is inside the window")
m.clock_offset = 0

for mode, cls, http, code in (("auth", "auth", 404, "InvalidAccessKeyId.NotFound"),
                              ("throttled", "rate-limit", 200, "isv.BUSINESS_LIMIT_CONTROL"),
                              ("bad-number", "destination", 200, "isv.MOBILE_NUMBER_ILLEGAL"),
                              ("server-error", "http-5xx", 500, "InternalError"),
                              ("system-error", "http-5xx", 200, "isp.SYSTEM_ERROR"),
                              ("no-balance", "provider", 200, "isv.AMOUNT_NOT_ENOUGH"),
                              ("http200-bad-json", "protocol", 200, "-"),
                              ("ok-without-code", "protocol", 200, "-")):
    m.mode = mode
    before = len(m.sent)
    rc, out = send(m, srv, "+8613800138000", "123456")
    expect_fail(out, cls, http, code, "aliyun-sms: mode %s -> %s, provider %s" % (mode, cls, code))
    t.eq(len(m.sent), before, "aliyun-sms: mode %s: nothing counted as sent" % mode)
m.mode = "ok"

n_req = len(srv.requests)
rc, out = send(m, srv, "+8613800138000", "1", usage="ForgotPassword",
               settings=m.settings(srv.url).replace('usageType = "Generic"', 'usageType = "Register"'))
t.ok(rc == 1 and "class=config" in out and len(srv.requests) == n_req,
     "aliyun-sms: no template for the usage and no Generic -> class config, nothing sent", out)


def cfg_error(mock, settings, key, name, extra=""):
    rc, out = conntest(conf(mock, "http://127.0.0.1:9", settings, extra), "+8613800138000", "1")
    t.ok(rc == 2 and out.startswith("config-error") and ("'%s'" % key in out or ".%s'" % key in out),
         name, out)


base = m.settings("http://127.0.0.1:9")
cfg_error(m, base + '\n  accessKeySecrte = "x";', "accessKeySecrte",
          "aliyun-sms: misspelt key reported by name")
cfg_error(m, re.sub(r'accessKeySecret = "[^"]*";', '', base), "accessKeySecret",
          "aliyun-sms: missing accessKeySecret")
cfg_error(m, re.sub(r'signName = "[^"]*";', '', base), "signName", "aliyun-sms: missing signName")
cfg_error(m, base.replace('overseas = "SMS_900001";', '', 1), "overseas",
          "aliyun-sms: templateCode group without overseas")
cfg_error(m, base.replace('type = 2;', 'type = 3;', 1), "type", "aliyun-sms: template type 3 is not a Logto type")
cfg_error(m, base.replace('type = 2;', 'kind = 2;', 1), "kind", "aliyun-sms: unknown template key")
cfg_error(m, re.sub(r'templateCode = \{[^}]*\};', 'templateCode = 100001;', base, count=1), "templateCode",
          "aliyun-sms: numeric templateCode refused")
cfg_error(m, base.replace('"http://127.0.0.1:9"', '"http://dysmsapi.example.com"'), "endpoint",
          "aliyun-sms: plain-http non-loopback endpoint refused")
cfg_error(m, base.replace('usageType = "Generic"', 'usageType = "SignIn"'), "usageType",
          "aliyun-sms: duplicate usageType")
cfg_error(m, base + '\n  strictPhoneRegionNumberCheck = "yes";', "strictPhoneRegionNumberCheck",
          "aliyun-sms: strictPhoneRegionNumberCheck must be a boolean")
rc, out = send(m, srv, "+86-138", "1")
t.ok(rc == 1 and "class=destination" in out, "aliyun-sms: non-numeric destination refused before sending", out)
srv.close()

# =========================================================================== tencent-sms
m = tencent_sms.Mock()
srv = MockServer(m.handle)
rc, out = send(m, srv, "+8613800138000", "123456")
t.eq((rc, out), (0, "ok"), "tencent-sms: accepted (HTTP 200, SendStatusSet Code Ok)")
t.eq(m.sent[-1] if m.sent else None, {"to": "+8613800138000", "code": "123456", "template": "449739",
                                      "sign": tencent_sms.SIGN_NAME}, "tencent-sms: mock recorded to/code")
r = srv.requests[-1]
t.eq(r.json(), {"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": tencent_sms.SDK_APP_ID,
                "SignName": tencent_sms.SIGN_NAME, "TemplateId": "449739", "TemplateParamSet": ["123456"]},
     "tencent-sms: exact JSON body, E.164 with +")
t.eq((r.header("X-TC-Action"), r.header("X-TC-Version"), r.header("X-TC-Region")),
     ("SendSms", "2021-01-11", "ap-guangzhou"), "tencent-sms: X-TC-Action/Version/Region")
t.eq(r.header("Host"), urllib.parse.urlsplit(srv.url).netloc, "tencent-sms: Host is the endpoint's host:port")
t.ok(abs(int(r.header("X-TC-Timestamp") or 0) - time.time()) < 120, "tencent-sms: X-TC-Timestamp is now")
auth = r.header("Authorization") or ""
today = datetime.datetime.fromtimestamp(int(r.header("X-TC-Timestamp") or 0), datetime.timezone.utc).strftime("%Y-%m-%d")
t.ok(auth.startswith("TC3-HMAC-SHA256 Credential=%s/%s/sms/tc3_request, SignedHeaders=content-type;host, Signature="
                     % (tencent_sms.SECRET_ID, today)), "tencent-sms: Authorization layout and scope", auth)
status, ans = replay(srv.url + "/", r.body.replace(b"123456", b"999999"),
                     {k: r.header(k) for k in ("Content-Type", "X-TC-Action", "X-TC-Version", "X-TC-Region",
                                               "X-TC-Timestamp", "Authorization", "Host")})
t.eq(ans.get("Response", {}).get("Error", {}).get("Code"), "AuthFailure.SignatureFailure",
     "tencent-sms mock: a tampered body breaks the signature")

rc, out = send(m, srv, "+819012345678", "777777", usage="ForgotPassword")
t.eq((rc, m.sent[-1]["template"], m.sent[-1]["to"]), (0, "449740", "+819012345678"),
     "tencent-sms: unknown usage falls back to Generic; international number as E.164")

hostile = '腾讯 "q" \\ {"a":[1]} </x> & \u00e9'
m.sign_name = hostile
rc, out = send(m, srv, "+8613800138000", 'c"\\{}[],:')
t.eq((rc, m.last_body.get("SignName") if m.last_body else None, m.sent[-1]["code"]),
     (0, hostile, 'c"\\{}[],:'), "tencent-sms: hostile SignName and code survive JSON and the signature")
m.sign_name = tencent_sms.SIGN_NAME

m.secret_key = "wrong-secret-key"
rc, out = send(m, srv, "+8613800138000", "123456", settings=tencent_sms.Mock().settings(srv.url))
expect_fail(out, "auth", 200, "AuthFailure.SignatureFailure", "tencent-sms: wrong SecretKey -> auth (HTTP 200 Response.Error)")
m.secret_key = tencent_sms.SECRET_KEY
m.secret_id = "AKIDsomebodyElse"
rc, out = send(m, srv, "+8613800138000", "123456", settings=tencent_sms.Mock().settings(srv.url))
expect_fail(out, "auth", 200, "AuthFailure.SecretIdNotFound", "tencent-sms: unknown SecretId -> auth")
m.secret_id = tencent_sms.SECRET_ID
m.clock_offset = -20 * 60
rc, out = send(m, srv, "+8613800138000", "123456")
expect_fail(out, "auth", 200, "AuthFailure.SignatureExpire", "tencent-sms: 20 min skew -> auth, SignatureExpire")
m.clock_offset = 0

for mode, cls, http, code in (("auth", "auth", 200, "AuthFailure.SecretIdNotFound"),
                              ("rate-limit", "rate-limit", 200, "RequestLimitExceeded"),
                              ("throttled", "rate-limit", 200, "LimitExceeded.PhoneNumberDailyLimit"),
                              ("bad-number", "destination", 200, "InvalidParameterValue.IncorrectPhoneNumber"),
                              ("blacklist", "destination", 200, "FailedOperation.PhoneNumberInBlacklist"),
                              ("no-balance", "provider", 200, "FailedOperation.InsufficientBalanceInSmsPackage"),
                              ("template", "provider", 200, "FailedOperation.TemplateIncorrectOrUnapproved"),
                              ("server-error", "http-5xx", 200, "InternalError"),
                              ("empty-set", "protocol", 200, "-"),
                              ("http-502", "http-5xx", 502, "-")):
    m.mode = mode
    before = len(m.sent)
    rc, out = send(m, srv, "+8613800138000", "123456")
    expect_fail(out, cls, http, code, "tencent-sms: mode %s -> %s, provider %s" % (mode, cls, code))
    t.eq(len(m.sent), before, "tencent-sms: mode %s: nothing counted as sent" % mode)
m.mode = "ok"

base = m.settings("http://127.0.0.1:9")
cfg_error(m, re.sub(r'region = "[^"]*";', '', base), "region", "tencent-sms: missing region")
cfg_error(m, base.replace('region = "ap-guangzhou"', 'region = "ap-guangzhou\\r\\nX-Evil: 1"'), "region",
          "tencent-sms: header injection through region refused")
cfg_error(m, base.replace('region = "ap-guangzhou"', 'region = "ap guangzhou"'), "region",
          "tencent-sms: region must be a region id")
cfg_error(m, base.replace(tencent_sms.SECRET_ID, "AKID, Signature=x"), "accessKeyId",
          "tencent-sms: accessKeyId that could forge Authorization fields refused")
cfg_error(m, re.sub(r'sdkAppId = "[^"]*";', '', base), "sdkAppId", "tencent-sms: missing sdkAppId")
cfg_error(m, base.replace('templateCode = "449739"', 'templateCode = "449739"; templateId = "1"'), "templateId",
          "tencent-sms: unknown template key")
rc, out = send(m, srv, "8613800138000", "1")
t.ok(rc == 1 and "class=destination" in out, "tencent-sms: destination without + refused", out)
srv.close()

# TLS endpoint: the Host header and the canonical host are "localhost:PORT".
wd = workdir()
certs = Certs(wd)
m = tencent_sms.Mock()
srv = MockServer(m.handle, tls_cert=certs.server_cert, tls_key=certs.server_key)
rc, out = send(m, srv, "+8613800138000", "123456", extra="http = { ca_file = %s; };" % cfgstr(certs.ca))
t.eq((rc, out, srv.requests[-1].header("Host") if srv.requests else None),
     (0, "ok", "localhost:%d" % srv.port), "tencent-sms over TLS: signed Host is the endpoint's host:port")
srv.close()

# =========================================================================== aliyun-dm
m = aliyun_dm.Mock()
srv = MockServer(m.handle)
rc, out = send(m, srv, "alice@example.jp", "123456")
t.eq((rc, out), (0, "ok"), "aliyun-dm: accepted (HTTP 200 with EnvId)")
t.eq((m.sent[-1]["to"], m.sent[-1]["code"]) if m.sent else None, ("alice@example.jp", "123456"),
     "aliyun-dm: mock recorded to/code")
p = m.last_params or {}
t.eq((p.get("Action"), p.get("Version"), p.get("Format"), p.get("RegionId"), p.get("AddressType"),
      p.get("ReplyToAddress"), p.get("AccountName"), p.get("FromAlias"), p.get("ToAddress")),
     ("SingleSendMail", "2015-11-23", "json", "cn-hangzhou", "1", "false", aliyun_dm.ACCOUNT_NAME,
      aliyun_dm.FROM_ALIAS, "alice@example.jp"), "aliyun-dm: fixed and configured parameters")
t.eq(p.get("Subject"), "Sign-in code for alice", "aliyun-dm: subject rendered")
t.eq(p.get("HtmlBody"), "<p>Hello alice,</p><p>your sign-in code is <b>123456</b>.</p>",
     "aliyun-dm: HtmlBody rendered")
rc, out = send(m, srv, "alice@example.jp", "a<b&c")
t.ok(rc == 0 and "<b>a&lt;b&amp;c</b>" in m.last_params.get("HtmlBody", ""),
     "aliyun-dm: values are HTML-escaped in HtmlBody", m.last_params.get("HtmlBody"))
rc, out = send(m, srv, "alice@example.jp", "246810", usage="ForgotPassword")
t.eq((rc, m.last_params.get("Subject")), (0, "Your verification code"), "aliyun-dm: Generic fallback")

m.templates = {"Generic": ('Code "x" & <y> 中文 %+= {"j":1}',
                           '<p>"quotes" & {"json":[1]} \\ 中文 %2B+=&amp;\n<b>{{code}}</b></p>')}
m.from_alias = None
rc, out = send(m, srv, "bob@example.com", "135790")
t.eq((rc, m.last_params.get("Subject"), m.last_params.get("HtmlBody")),
     (0, 'Code "x" & <y> 中文 %+= {"j":1}', '<p>"quotes" & {"json":[1]} \\ 中文 %2B+=&amp;\n<b>135790</b></p>'),
     "aliyun-dm: hostile template text (quotes, & = % +, JSON, backslash, LF, non-ASCII) arrives intact")
t.ok("FromAlias" not in m.last_params, "aliyun-dm: no FromAlias when fromAlias is unset")
m.templates = dict(aliyun_dm.TEMPLATES)
m.from_alias = aliyun_dm.FROM_ALIAS

m.region = "ap-southeast-1"
rc, out = send(m, srv, "alice@example.jp", "1")
t.eq((rc, m.last_params.get("RegionId")), (0, "ap-southeast-1"), "aliyun-dm: RegionId follows regionId")
m.region = "me-east-1"
rc, out = send(m, srv, "alice@example.jp", "1")
t.eq((rc, m.last_params.get("RegionId")), (0, "me-east-1"), "aliyun-dm: a region outside Logto's table still works")
m.region = aliyun_dm.REGION

m.secret = "wrong"
rc, out = send(m, srv, "alice@example.jp", "1", settings=aliyun_dm.Mock().settings(srv.url))
expect_fail(out, "auth", 400, "SignatureDoesNotMatch", "aliyun-dm: wrong secret -> auth")
m.secret = aliyun_dm.ACCESS_KEY_SECRET
m.clock_offset = 16 * 60
rc, out = send(m, srv, "alice@example.jp", "1")
expect_fail(out, "auth", 400, "InvalidTimeStamp.Expired", "aliyun-dm: 16 min skew -> auth")
m.clock_offset = 0
r = srv.requests[0]
status, ans = replay(srv.url + "/", r.body, {"Content-Type": r.header("Content-Type")})
t.eq((status, ans.get("Code")), (400, "SignatureNonceUsed"), "aliyun-dm mock: replayed request refused")

for mode, cls, http, code in (("auth", "auth", 404, "InvalidAccessKeyId.NotFound"),
                              ("throttled", "rate-limit", 400, "Throttling.User"),
                              ("bad-address", "destination", 400, "InvalidToAddress"),
                              ("server-error", "http-5xx", 500, "InternalError"),
                              ("account", "provider", 400, "InvalidMailAddress.NotFound"),
                              ("no-envid", "protocol", 200, "-")):
    m.mode = mode
    before = len(m.sent)
    rc, out = send(m, srv, "alice@example.jp", "1")
    expect_fail(out, cls, http, code, "aliyun-dm: mode %s -> %s, provider %s" % (mode, cls, code))
    t.eq(len(m.sent), before, "aliyun-dm: mode %s: nothing counted as sent" % mode)
m.mode = "ok"

n_req = len(srv.requests)
rc, out = send(m, srv, "alice@example.jp,evil@example.net", "1")
t.ok(rc == 1 and "class=destination" in out and len(srv.requests) == n_req,
     "aliyun-dm: a comma-separated ToAddress is refused before any request", out)

base = m.settings("http://127.0.0.1:9")
cfg_error(m, base.replace("<b>{{code}}</b>", "<b>no code</b>"), "content", "aliyun-dm: content without {{code}}")
cfg_error(m, base.replace("Sign-in code for {{user}}", "Code {{nope}}"), "subject",
          "aliyun-dm: unknown placeholder in subject")
cfg_error(m, base.replace("Sign-in code for {{user}}", "Line\\nbreak"), "subject",
          "aliyun-dm: multi-line subject refused")
cfg_error(m, re.sub(r'accountName = "[^"]*";', '', base), "accountName", "aliyun-dm: missing accountName")
cfg_error(m, base.replace('regionId = "cn-hangzhou"', 'regionId = "cn-hangzhou.evil.example/"'), "regionId",
          "aliyun-dm: regionId that would change the host refused")
cfg_error(m, base.replace("fromAlias", "fromName"), "fromName", "aliyun-dm: unknown key")
srv.close()

# The mocks' own contract for the full-PAM suite.
for mod in (aliyun_sms, tencent_sms, aliyun_dm):
    mk = mod.Mock()
    t.ok(mk.mode == "ok" and mk.sent == [] and mk.channel in ("sms", "email")
         and "endpoint = \"http://127.0.0.1:1\"" in mk.settings("http://127.0.0.1:1"),
         "%s mock: interface (connector, channel, mode, sent, settings)" % mk.connector)
t.done()
