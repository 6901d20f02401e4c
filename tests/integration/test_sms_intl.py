#!/usr/bin/python3
"""Connector-level tests for twilio-sms, vonage-sms, smsaero and
gatewayapi-sms: each configured by conntest, sending through the real HTTP
layer to its checking mock (tests/mocks/<provider>.py).  Covers the wire
format, the success signal (including the HTTP-200 failures), every
provider failure shape -> failure class + provider code, settings errors,
hostile values, default endpoints (seen through a recording proxy) and
that neither secrets nor the destination reach the result line."""
import importlib.util
import os
import socket
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from otptest import TAP, MockServer, conntest, cfgstr  # noqa: E402

t = TAP()
DEST = "+819012345678"
DIGITS = DEST[1:]


def load(name):
    spec = importlib.util.spec_from_file_location("mock_" + name, os.path.join(HERE, "..", "mocks", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


twilio, vonage, smsaero, gatewayapi = (load(n) for n in ("twilio", "vonage", "smsaero", "gatewayapi"))
SECRETS = (twilio.AUTH_TOKEN, vonage.API_SECRET, smsaero.API_KEY, gatewayapi.TOKEN)


def run(mock, srv, dest=DEST, code="004211", usage="SignIn", settings=None):
    conf = 'connector = "%s";\nsettings = {\n%s\n};\n' % (mock.connector, settings or mock.settings(srv.url))
    return conntest(conf, dest, code, usage)


def clean(out):
    """The result line carries no secret and no destination digits."""
    return not any(s in out for s in SECRETS) and DIGITS not in out


def expect_fail(mod, mode, cls, pcode, name, **kw):
    m = mod.Mock(mode=mode, **kw)
    s = MockServer(m.handle)
    rc, out = run(m, s)
    s.close()
    t.ok(rc == 1 and ("fail class=%s " % cls) in out and ("provider=%s " % pcode) in out,
         "%s: %s -> class %s, provider %s" % (m.connector, name, cls, pcode), out)
    t.ok(clean(out) and not m.sent, "%s: %s: nothing recorded as sent, no secret or number in the result"
         % (m.connector, name), out)
    return out


def config_error(conf_settings, connector, key, name, extra=None):
    """key: the setting the message must name; errors inside a template entry
    name its place in the list ('settings.templates.[1].content')."""
    conf = 'connector = "%s";\nsettings = {\n%s\n};\n' % (connector, conf_settings)
    rc, out = conntest(conf, DEST, "1")
    want = "'settings.templates.[1].content'" if key == "content" else "'settings.%s'" % key
    t.ok(rc == 2 and out.startswith("config-error") and want in out
         and (extra is None or extra in out), "%s: %s -> config error naming %s" % (connector, name, key), out)
    if any(s in conf_settings for s in SECRETS):
        t.ok(not any(s in out for s in SECRETS), "%s: %s: config error shows no secret" % (connector, name), out)


TPL = ('templates = ( { usageType = "SignIn"; content = "Your login code is {{code}}"; },\n'
       '              { usageType = "Generic"; content = "Your code is {{code}}"; } );')
# A code value full of characters that break form/JSON encodings and headers;
# CR/LF in a template value become spaces (template.h).
HOSTILE = '1"2\'3&To=+15550000000%20+<b>{x}\\é日本🔐\r\nX: y'
HOSTILE_SENT = HOSTILE.replace("\r", " ").replace("\n", " ")

# --- Twilio ------------------------------------------------------------------
m = twilio.Mock()
s = MockServer(m.handle)
rc, out = run(m, s)
t.eq((rc, out), (0, "ok"), "twilio-sms: 201 Created is success")
r = s.requests[-1]
t.eq(r.path, "/2010-04-01/Accounts/%s/Messages.json" % twilio.ACCOUNT_SID, "twilio-sms: Messages.json path")
t.eq(r.form(), {"To": DEST, "MessagingServiceSid": twilio.SERVICE_SID, "Body": "Your login code is 004211",
                "RiskCheck": "enable"}, "twilio-sms: exact form (To, MessagingServiceSid, Body, RiskCheck=enable)")
t.eq((m.sent[-1]["to"], m.sent[-1]["code"]), (DEST, "004211"), "twilio-sms: mock recorded to + code")
rc, out = run(m, s, usage="ForgotPassword")
t.ok(rc == 0 and m.sent[-1]["text"] == "Your code is 004211", "twilio-sms: unknown usage falls back to Generic", out)
rc, out = run(m, s, code=HOSTILE)
t.ok(rc == 0 and m.sent[-1]["text"] == "Your login code is " + HOSTILE_SENT and m.sent[-1]["to"] == DEST,
     "twilio-sms: hostile code value arrives intact, cannot add a form field", m.sent[-1]["text"])
n = len(s.requests)
rc, out = run(m, s, dest=DIGITS)
t.ok(rc == 1 and "class=destination" in out and len(s.requests) == n,
     "twilio-sms: non-E.164 destination -> destination, nothing sent", out)
rc, out = run(m, s, usage="ForgotPassword", settings=m.settings(s.url).replace("Generic", "Register"))
t.ok(rc == 1 and "class=config" in out, "twilio-sms: no template for the usage and no Generic -> config", out)
s.close()

m = twilio.Mock(sender="+15550001111")
s = MockServer(m.handle)
rc, out = run(m, s, settings=m.settings(s.url) + " disableRiskCheck = true;")
f = s.requests[-1].form()
t.ok(rc == 0 and f.get("From") == "+15550001111" and "MessagingServiceSid" not in f,
     "twilio-sms: an E.164 fromMessagingServiceSID is sent as From", f)
t.eq(f.get("RiskCheck"), "disable", "twilio-sms: disableRiskCheck = true -> RiskCheck=disable")
s.close()

for mode, cls, pcode in (("auth", "auth", "20003"), ("throttled", "rate-limit", "20429"),
                         ("bad-number", "destination", "21211"), ("not-mobile", "destination", "21614"),
                         ("unsubscribed", "destination", "21610"), ("region", "destination", "21408"),
                         ("bad-from", "provider", "21606"), ("server-error", "http-5xx", "20500"),
                         ("wrong-account", "provider", "20404")):
    expect_fail(twilio, mode, cls, pcode, mode)
expect_fail(twilio, "redirect", "redirect", "20429", "302 with a throttling code in the body (not followed)")
out = expect_fail(twilio, "ok-200", "protocol", "-", "200 instead of 201")
out = expect_fail(twilio, "no-sid", "protocol", "-", "201 without a Message sid")

good = 'accountSID = "%s"; authToken = "x"; fromMessagingServiceSID = "%s"; ' % (twilio.ACCOUNT_SID, twilio.SERVICE_SID)
config_error('accountSID = "AC123"; authToken = "%s"; fromMessagingServiceSID = "%s"; %s' % (twilio.AUTH_TOKEN, twilio.SERVICE_SID, TPL),
             "twilio-sms", "accountSID", "short accountSID", "32 hex")
config_error('accountSID = "SK%s"; authToken = "x"; fromMessagingServiceSID = "%s"; %s'
             % (twilio.ACCOUNT_SID[2:], twilio.SERVICE_SID, TPL), "twilio-sms", "accountSID", "SK... as accountSID")
config_error('accountSID = "%s"; authToken = "x"; fromMessagingServiceSID = "ACME"; %s' % (twilio.ACCOUNT_SID, TPL),
             "twilio-sms", "fromMessagingServiceSID", "neither MG SID nor E.164")
config_error('accountSID = "%s"; fromMessagingServiceSID = "%s"; %s' % (twilio.ACCOUNT_SID, twilio.SERVICE_SID, TPL),
             "twilio-sms", "authToken", "missing authToken", "required")
config_error(good + 'disableRiskCheck = "yes"; ' + TPL, "twilio-sms", "disableRiskCheck", "string boolean")
config_error(good + 'authtoken = "%s"; ' % twilio.AUTH_TOKEN + TPL, "twilio-sms", "authtoken", "misspelt key",
             "unknown")
config_error(good + 'templates = ( { usageType = "SignIn"; content = "no code"; } );',
             "twilio-sms", "content", "template without {{code}}", "{{code}}")
config_error(good + 'endpoint = "http://api.twilio.com"; ' + TPL, "twilio-sms", "endpoint", "plain http", "https")

# --- Vonage ------------------------------------------------------------------
m = vonage.Mock()
s = MockServer(m.handle)
rc, out = run(m, s)
t.eq((rc, out), (0, "ok"), "vonage-sms: all messages status 0 is success")
t.eq(s.requests[-1].form(), {"from": vonage.BRAND, "to": DIGITS, "text": "Your login code is 004211"},
     "vonage-sms: exact form (from, to without +, text; no type for GSM text)")
t.eq((m.sent[-1]["to"], m.sent[-1]["code"]), (DEST, "004211"), "vonage-sms: mock recorded to + code")
st = m.settings(s.url).replace("Your login code is {{code}}", "認証コードは {{code}} です")
rc, out = run(m, s, settings=st)
t.ok(rc == 0 and s.requests[-1].form().get("type") == "unicode" and m.sent[-1]["text"] == "認証コードは 004211 です",
     "vonage-sms: Japanese text goes as type=unicode, intact", out)
st = m.settings(s.url).replace("Your login code is {{code}}", "[{code}] ~ {{code}} ~ €5 | ^\\\\")
rc, out = run(m, s, settings=st)
t.ok(rc == 0 and "type" not in s.requests[-1].form() and m.sent[-1]["text"] == "[{code}] ~ 004211 ~ €5 | ^\\",
     "vonage-sms: GSM extension characters stay GSM-7 (no type=unicode)", (out, m.sent[-1:]))
st = m.settings(s.url).replace("Your login code is {{code}}", "x" * 160 + " {{code}}")
rc, out = run(m, s, settings=st)
t.ok(rc == 0 and m.sent[-1]["parts"] == 2, "vonage-sms: a 2-part answer with both parts accepted is success", out)
rc, out = run(m, s, code=HOSTILE)
t.ok(rc == 0 and m.sent[-1]["text"] == "Your login code is " + HOSTILE_SENT and m.sent[-1]["type"] == "unicode",
     "vonage-sms: hostile code value arrives intact (and turns on unicode)", m.sent[-1:])
n = len(s.requests)
rc, out = run(m, s, dest="+12345")
t.ok(rc == 1 and "class=destination" in out and len(s.requests) == n,
     "vonage-sms: a too-short number is refused before sending", out)
s.close()

for mode, cls, pcode in (("auth", "auth", "4"), ("throttled", "rate-limit", "1"),
                         ("bad-number", "provider", "3"), ("barred", "destination", "7"),
                         ("non-whitelisted", "destination", "29"), ("deactivated", "destination", "33"),
                         ("invalid-message", "destination", "6"), ("internal", "http-5xx", "5"),
                         ("no-credit", "provider", "9"), ("http-401", "auth", "unauthorized")):
    expect_fail(vonage, mode, cls, pcode, mode + (" (HTTP 200)" if mode != "http-401" else ""))
out = expect_fail(vonage, "partial", "rate-limit", "1", "one refused part of two")
t.contains(out, "multi-part", "vonage-sms: a refused part is reported as such")
expect_fail(vonage, "count-mismatch", "protocol", "-", "message-count disagrees with messages[]")
expect_fail(vonage, "no-status", "protocol", "-", "message without status")
expect_fail(vonage, "garbage", "protocol", "-", "200 that is not JSON")
expect_fail(vonage, "server-error", "http-5xx", "-", "HTTP 500")

config_error('apiKey = "k"; brandName = "B"; ' + TPL, "vonage-sms", "apiSecret", "missing apiSecret", "required")
config_error('apiKey = "k"; apiSecret = "%s"; ' % vonage.API_SECRET + TPL, "vonage-sms", "brandName",
             "missing brandName", "required")
config_error('apiKey = "k"; apiSecret = "s"; brandName = "B"; templates = ( );', "vonage-sms", "templates",
             "empty template list")
config_error('apiKey = "k"; apiSecret = "s"; brandName = "B"; api_secret = "x"; ' + TPL, "vonage-sms",
             "api_secret", "snake_case key", "unknown")

# --- SMS Aero ----------------------------------------------------------------
m = smsaero.Mock()
s = MockServer(m.handle)
rc, out = run(m, s)
t.eq((rc, out), (0, "ok"), "smsaero: success:true is success")
t.eq(s.requests[-1].json(), {"number": int(DIGITS), "sign": smsaero.SIGN, "text": "Your login code is 004211"},
     "smsaero: exact JSON {number (digits), sign, text}")
t.eq((m.sent[-1]["to"], m.sent[-1]["code"]), (DEST, "004211"), "smsaero: mock recorded to + code")
rc, out = run(m, s, code=HOSTILE)
t.ok(rc == 0 and m.sent[-1]["text"] == "Your login code is " + HOSTILE_SENT,
     "smsaero: hostile code value arrives intact in JSON", m.sent[-1:])
s.close()

m = smsaero.Mock(sign='Ок "Aero" \\ {x}')
s = MockServer(m.handle)
rc, out = run(m, s, settings=m.settings(s.url).replace("Your login code is", "Код: {{user}}@{{host}}"))
t.ok(rc == 0 and m.sent[-1]["sign"] == 'Ок "Aero" \\ {x}' and m.sent[-1]["text"] == "Код: alice@testhost 004211",
     "smsaero: quotes, backslash, Cyrillic in senderName and template survive", (out, m.sent[-1:]))
s.close()

m = smsaero.Mock()
s = MockServer(m.handle)
rc, out = run(m, s, settings=m.settings(s.url + "/v2"))
t.ok(rc == 0 and s.requests[-1].path == "/v2/sms/send", "smsaero: an endpoint ending in /v2 is accepted", out)
s.close()

out = expect_fail(smsaero, "rejected", "provider", "success=false", "HTTP 200 with success:false")
t.ok("stop list" in out and "#" in out, "smsaero: message summarised into detail, number masked", out)
expect_fail(smsaero, "auth", "auth", "success=false", "HTTP 401")
expect_fail(smsaero, "bad-number", "provider", "success=false", "HTTP 400 validation error")
expect_fail(smsaero, "throttled", "rate-limit", "success=false", "HTTP 429")
expect_fail(smsaero, "server-error", "http-5xx", "-", "HTTP 500 HTML")
expect_fail(smsaero, "no-credits", "provider", "no_credits", "legacy no credits (HTTP 200)")
out = expect_fail(smsaero, "reject", "provider", "reject", "legacy reject (HTTP 200)")
t.contains(out, "sign is not approved", "smsaero: legacy reject reason in detail")
expect_fail(smsaero, "plain-200", "protocol", "-", "HTTP 200 that is not JSON")
expect_fail(smsaero, "success-string", "protocol", "-", "success \"true\" as a string")
expect_fail(smsaero, "success-500", "http-5xx", "-", "HTTP 500 with success:true")

config_error('email = "ops.example.ru"; apiKey = "%s"; senderName = "S"; ' % smsaero.API_KEY + TPL, "smsaero", "email",
             "email without @")
config_error('email = "%s"; senderName = "S"; ' % smsaero.EMAIL + TPL, "smsaero", "apiKey", "missing apiKey",
             "required")
config_error('email = "%s"; apiKey = "k"; ' % smsaero.EMAIL + TPL, "smsaero", "senderName", "missing senderName",
             "required")
config_error('email = "%s"; apiKey = "k"; senderName = "S"; templates = ( { usageType = "Generic"; '
             'content = "{{code}} {{secret}}"; } );' % smsaero.EMAIL, "smsaero", "content", "unknown placeholder",
             "unknown placeholder")

# --- GatewayAPI --------------------------------------------------------------
m = gatewayapi.Mock()
s = MockServer(m.handle)
rc, out = run(m, s)
t.eq((rc, out), (0, "ok"), "gatewayapi-sms: 200 with ids is success (base URL endpoint)")
t.eq(s.requests[-1].json(), {"sender": gatewayapi.SENDER, "message": "Your login code is 004211",
                             "recipients": [{"msisdn": int(DIGITS)}]},
     "gatewayapi-sms: exact JSON {sender, message, recipients:[{msisdn}]}")
t.eq((m.sent[-1]["to"], m.sent[-1]["code"]), (DEST, "004211"), "gatewayapi-sms: mock recorded to + code")
rc, out = run(m, s, settings=m.settings(s.url + "/rest/mtsms"))
t.ok(rc == 0 and s.requests[-1].path == "/rest/mtsms", "gatewayapi-sms: Logto's full /rest/mtsms URL used as is", out)
rc, out = run(m, s, settings=m.settings(s.url + "/rest/mtsms/"))
t.ok(rc == 0 and s.requests[-1].path == "/rest/mtsms", "gatewayapi-sms: full URL with trailing slash", out)
st = m.settings(s.url).replace("Your login code is {{code}}", "인증 코드: {{code}} 🔐")
rc, out = run(m, s, settings=st)
t.ok(rc == 0 and s.requests[-1].json().get("encoding") == "UCS2" and m.sent[-1]["text"] == "인증 코드: 004211 🔐",
     "gatewayapi-sms: Korean + emoji goes as encoding UCS2, intact", out)
rc, out = run(m, s, code=HOSTILE)
t.ok(rc == 0 and m.sent[-1]["text"] == "Your login code is " + HOSTILE_SENT,
     "gatewayapi-sms: hostile code value arrives intact in JSON", m.sent[-1:])
s.close()

m = gatewayapi.Mock(prefix="/eu")
s = MockServer(m.handle)
rc, out = run(m, s)
t.ok(rc == 0 and s.requests[-1].path == "/eu/rest/mtsms", "gatewayapi-sms: base URL with a path gets /rest/mtsms", out)
s.close()

for mode, cls, pcode in (("auth", "auth", "0x0229"), ("ip", "auth", "0x0213"),
                         ("no-credit", "provider", "0x0216"), ("blacklisted", "destination", "0x0215"),
                         ("country", "destination", "0x0217"), ("bad-request", "provider", "0x0222"),
                         ("filtered", "provider", "0x0312")):
    out = expect_fail(gatewayapi, mode, cls, pcode, mode)
out = expect_fail(gatewayapi, "server-error", "http-5xx", "-", "HTTP 500 without code")
t.contains(out, "An internal error occurred", "gatewayapi-sms: error message in detail")
expect_fail(gatewayapi, "throttled", "rate-limit", "-", "HTTP 429")
expect_fail(gatewayapi, "empty-ids", "protocol", "-", "200 with an empty ids array")
expect_fail(gatewayapi, "redirect", "redirect", "0x0215", "307 with a blacklist code in the body (not followed)")

config_error('endpoint = "https://messaging.gatewayapi.com/mobile/single"; apiToken = "t"; sender = "S"; ' + TPL,
             "gatewayapi-sms", "endpoint", "Mobile Messaging API URL", "mtsms")
config_error('endpoint = "http://gatewayapi.com/rest/mtsms"; apiToken = "t"; sender = "S"; ' + TPL,
             "gatewayapi-sms", "endpoint", "plain http", "https")
config_error('sender = "S"; ' + TPL, "gatewayapi-sms", "apiToken", "missing apiToken", "required")
config_error('apiToken = "%s"; sender = "S"; templates = ( { usageType = "Generic"; content = "a\\nb {{code}}"; } );'
             % gatewayapi.TOKEN, "gatewayapi-sms", "content", "multi-line SMS template", "single line")

# --- the mocks check credentials for real: a wrong secret is refused -------
for mod, secret, cls in ((twilio, twilio.AUTH_TOKEN, "auth"), (vonage, vonage.API_SECRET, "auth"),
                         (smsaero, smsaero.API_KEY, "auth"), (gatewayapi, gatewayapi.TOKEN, "auth")):
    m = mod.Mock()
    s = MockServer(m.handle)
    rc, out = run(m, s, settings=m.settings(s.url).replace(secret, secret[:-1] + "X"))
    t.ok(rc == 1 and ("class=%s " % cls) in out and not m.sent, "%s: a wrong secret is refused (%s)"
         % (m.connector, cls), out)
    s.close()

# --- default endpoints, seen through a recording HTTP proxy ------------------
connects = []
ps = socket.socket()
ps.bind(("127.0.0.1", 0))
ps.listen(8)


def proxy_accept():
    while True:
        try:
            c, _ = ps.accept()
        except OSError:
            return
        try:
            c.settimeout(5)
            connects.append(c.recv(4096).split(b"\r\n", 1)[0].decode("latin-1"))
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()


threading.Thread(target=proxy_accept, daemon=True).start()
purl = "http://127.0.0.1:%d" % ps.getsockname()[1]
for mod, host in ((twilio, "api.twilio.com:443"), (vonage, "rest.nexmo.com:443"),
                  (smsaero, "gate.smsaero.ru:443"), (gatewayapi, "gatewayapi.com:443")):
    m = mod.Mock()
    st = m.settings("https://unused.invalid").split(";", 1)[1]   # drop `endpoint = ...`
    conf = 'connector = "%s";\nsettings = {%s};\nhttp = { proxy = %s; timeout = 5; };\n' % (m.connector, st, cfgstr(purl))
    before = len(connects)
    rc, out = conntest(conf, DEST, "1")
    t.ok(rc == 1 and connects[before:before + 1] == ["CONNECT %s HTTP/1.1" % host],
         "%s: default endpoint is %s" % (m.connector, host), (out, connects[before:]))
ps.close()
t.done()
