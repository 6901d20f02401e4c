/*
 * fuzz_connectors - every HTTP connector's handling of the provider's
 * answer (security.md F6): send() runs for real up to the network, where
 * the OTP_FUZZING hook in http.c returns the fuzzed answer instead.
 *
 * Input: connector selector, HTTP status (2 bytes, folded into 100..599),
 * a transport byte (nonzero: a libcurl error instead of an answer), a
 * destination selector, then the body.
 *
 * Invariants: success only on a 2xx answer without a transport error, and
 * then no failure class; every failure has a real class; a redirect is
 * never a transient (fail-open) class; a transport failure keeps its
 * class; the detail and the provider code are terminated, printable, and
 * never carry the code, the destination or a credential, whatever the
 * provider put in its answer.  (smtp and sendmail have no HTTP answer:
 * their replies are libcurl's and a child's exit status.)
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include <curl/curl.h>
#include "fuzz.h"
#include "fuzz_connector.h"
#include "src/http.h"
#include "src/net.h"

#define CODE "482915"
#define PHONE "+819012345678"
#define EMAIL "alice.otp@example.jp"

struct target {
	const char *id;
	const char *settings;
	const char *secret;       /* a credential that must never show up in detail */
};

#define EP(x) "endpoint = \"https://api.example.com" x "\"; "
#define TPL_SMS "templates = ( { usageType = \"SignIn\"; content = \"Your code is {{code}}\"; }, " \
		"{ usageType = \"Generic\"; content = \"Code {{code}}\"; } );"
#define TPL_MAIL "templates = ( { usageType = \"SignIn\"; subject = \"Code for {{user}}\"; " \
		 "content = \"<p>Your code is <b>{{code}}</b></p>\"; }, { usageType = \"Generic\"; " \
		 "subject = \"Your code\"; content = \"Your code is {{code}}\"; contentType = \"text/plain\"; } );"

static struct target targets[] = {
	{ "http-sms", EP("/hook") "authorization = \"Bearer whsecret-1\";", "whsecret-1" },
	{ "http-email", EP("/hook") "authorization = \"Bearer whsecret-1\";", "whsecret-1" },
	{ "sms-gateway", "gateway_url = \"https://gw.example.com/sms\"; from = \"+15550001111\";"
	  "template = \"Your code is @@password@@\";"
	  "gateway_authentication = { method = \"bearer\"; audience = \"urn:gw\";"
	  " secret = \"gwsecret-0123456789abcdef0123456789\"; };", "gwsecret-0123456789" },
	{ "twilio-sms", EP("") "accountSID = \"AC0123456789abcdef0123456789abcdef\"; authToken = \"twsecret-tok\";"
	  "fromMessagingServiceSID = \"MG0123456789abcdef0123456789abcdef\";" TPL_SMS, "twsecret-tok" },
	{ "vonage-sms", EP("") "apiKey = \"a1b2c3d4\"; apiSecret = \"VonageSecret123\"; brandName = \"ACME OTP\";"
	  TPL_SMS, "VonageSecret123" },
	{ "smsaero", EP("") "email = \"ops@example.ru\"; apiKey = \"smsaero-secret-key\"; senderName = \"SMS Aero\";"
	  TPL_SMS, "smsaero-secret-key" },
	{ "gatewayapi-sms", EP("") "apiToken = \"gwapi-secret-token\"; sender = \"ACME\";" TPL_SMS,
	  "gwapi-secret-token" },
	{ "aliyun-sms", EP("") "accessKeyId = \"LTAI5tMockAccessKey01\"; accessKeySecret = \"alisecret-0123\";"
	  "signName = \"Sign\"; templates = ( { usageType = \"SignIn\"; type = 2; templateCode = "
	  "{ china = \"SMS_100001\"; overseas = \"SMS_900001\"; }; }, { usageType = \"Generic\"; type = 2;"
	  " templateCode = { china = \"SMS_100002\"; overseas = \"SMS_900002\"; }; } );", "alisecret-0123" },
	{ "tencent-sms", EP("") "accessKeyId = \"AKIDmockTencentSecretId0123456789\";"
	  "accessKeySecret = \"tcsecret-0123456789ab\"; signName = \"Sign\"; sdkAppId = \"1400006666\";"
	  "region = \"ap-guangzhou\"; templates = ( { usageType = \"SignIn\"; templateCode = \"449739\"; },"
	  " { usageType = \"Generic\"; templateCode = \"449740\"; } );", "tcsecret-0123456789ab" },
	{ "aliyun-dm", EP("") "regionId = \"cn-hangzhou\"; accessKeyId = \"LTAI5tMockDirectMail01\";"
	  "accessKeySecret = \"dmsecret-0123\"; accountName = \"noreply@mail.example.com\";"
	  "fromAlias = \"Login\"; templates = ( { usageType = \"SignIn\"; subject = \"Code for {{user}}\";"
	  " content = \"<p>code <b>{{code}}</b></p>\"; }, { usageType = \"Generic\"; subject = \"Code\";"
	  " content = \"code {{code}}\"; } );", "dmsecret-0123" },
	{ "aws-ses", EP("") "accessKeyId = \"AKIAIOSFODNN7EXAMPLE\"; accessKeySecret = \"sessecret/K7MDENG\";"
	  "region = \"eu-west-1\"; emailAddress = \"Login <no-reply@example.org>\";"
	  "configurationSetName = \"otp\";" TPL_MAIL, "sessecret/K7MDENG" },
	{ "mailgun", EP("") "domain = \"mg.example.org\"; apiKey = \"key-mgsecret\"; from = \"Login <no-reply@mg.example.org>\";"
	  "deliveries = { SignIn = { subject = \"Code for {{user}}\"; html = \"<p>code <b>{{code}}</b></p>\";"
	  " text = \"code {{code}}\"; }; Generic = { template = \"otp-code\"; subject = \"Your code\"; }; };",
	  "key-mgsecret" },
	{ "sendgrid-email", EP("") "apiKey = \"SG.sgsecret.0123\"; fromEmail = \"no-reply@example.org\";"
	  "fromName = \"Example Login\"; templates = ( { usageType = \"SignIn\"; type = \"text/html\";"
	  " subject = \"Code for {{user}}\"; content = \"<p>code <b>{{code}}</b></p>\"; },"
	  " { usageType = \"Generic\"; type = \"text/plain\"; subject = \"Your code\"; content = \"code {{code}}\"; } );",
	  "SG.sgsecret.0123" },
	{ "postmark", EP("") "serverToken = \"pmsecret-token\"; fromEmail = \"no-reply@example.org\";"
	  "templates = ( { usageType = \"SignIn\"; subject = \"Code for {{user}}\";"
	  " content = \"<p>code <b>{{code}}</b></p>\"; }, { usageType = \"Generic\"; templateAlias = \"otp-code\"; } );",
	  "pmsecret-token" },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))
static struct fz_connector conns[NTARGETS];

static const uint8_t *answer_body;
static size_t answer_len;
static long answer_status;
static int answer_transport;
static int nrequests;

static int
answer(const struct otp_http_request *req, long *status, struct otp_buf *body)
{
	(void)req;
	nrequests++;
	if (answer_transport != 0) {
		*status = 0;
		return answer_transport;
	}
	*status = answer_status;
	/* What write_capped does: past the cap the transfer ends in error. */
	if (otp_buf_append(body, answer_body, answer_len) != 0)
		return CURLE_WRITE_ERROR;
	return 0;
}

static void
setup(void)
{
	otp_http_global_init();
	otp_http_fuzz_answer = answer;
	for (size_t i = 0; i < NTARGETS; i++)
		fz_connector_setup(&conns[i], targets[i].id, targets[i].settings);
}

/* Was needle in the answer?  (A provider echoing the code is allowed to be
 * seen; everything else must come from us, and we never add it.) */
static bool
echoed(const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= answer_len; i++)
		if (memcmp(answer_body + i, needle, n) == 0)
			return true;
	return false;
}

static void
check_text(const char *s, size_t cap, const char *what, const struct target *t, const char *to)
{
	FUZZ_CHECK(memchr(s, '\0', cap) != NULL, "%s not terminated", what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "%s: %s has control byte 0x%02x", t->id, what, *p);
	FUZZ_CHECK(strstr(s, CODE) == NULL || echoed(CODE), "%s: code in %s: %s", t->id, what, s);
	/* The whole address, or a phone number's national digits. */
	FUZZ_CHECK(strstr(s, to) == NULL && (to[0] != '+' || strstr(s, to + 3) == NULL),
		   "%s: destination in %s: %s", t->id, what, s);
	FUZZ_CHECK(strstr(s, t->secret) == NULL || echoed(t->secret), "%s: credential in %s: %s", t->id,
		   what, s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otp_template_vars vars = {
		.code = CODE, .user = "alice", .host = "host", .service = "sshd", .rhost = "192.0.2.7",
		.ttl_minutes = 5,
	};
	struct otp_message msg = { .code = CODE, .usage = "SignIn", .vars = &vars, .client_ip = "192.0.2.7" };
	struct otp_http_config hc = { .timeout = 5, .connect_timeout = 2 };
	struct otp_send_env env = { .http = &hc, .user_agent = "pam_otp_sms/fuzz", .now = 1700000000 };
	struct otp_send_result res;
	struct target *t;
	struct fz_connector *fc;
	struct fz f;
	unsigned sel;
	unsigned tr, dsel;
	int rc;

	if (conns[0].c == NULL)
		setup();
	fz_init(&f, data, size);
	sel = fz_byte(&f) % NTARGETS;
	t = &targets[sel];
	fc = &conns[sel];
	answer_status = 100 + (long)(fz_bits(&f, 2) % 500);
	tr = fz_byte(&f);
	dsel = fz_byte(&f);
	/* Mostly answers; sometimes one of the transport failures. */
	static const int transport[] = { CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
					 CURLE_OPERATION_TIMEDOUT, CURLE_PEER_FAILED_VERIFICATION,
					 CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING,
					 CURLE_WRITE_ERROR };
	answer_transport = tr >= 0xf0 ? transport[tr % (sizeof(transport) / sizeof(transport[0]))] : 0;
	answer_body = f.p;
	answer_len = f.n;
	msg.channel = fc->c->channel;
	msg.to = msg.channel == OTP_CHANNEL_SMS ? ((dsel & 1) ? "+8613800138000" : PHONE) : EMAIL;
	msg.usage = (dsel & 2) ? "Generic" : "SignIn";
	memset(&res, 0, sizeof(res));
	nrequests = 0;

	rc = fc->c->send(fc->ctx, &env, &msg, &res);

	FUZZ_CHECK(nrequests <= 1, "%s: %d requests", t->id, nrequests);
	if (rc == 0) {
		FUZZ_CHECK(nrequests == 1, "%s: success without a request", t->id);
		FUZZ_CHECK(res.fail == OTP_FAIL_NONE, "%s: success with class %s", t->id, otp_fail_name(res.fail));
		FUZZ_CHECK(answer_transport == 0 && answer_status >= 200 && answer_status <= 299,
			   "%s: success on HTTP %ld (transport %d)", t->id, answer_status, answer_transport);
	} else {
		FUZZ_CHECK(res.fail > OTP_FAIL_NONE && res.fail < OTP_FAIL_LAST, "%s: failure without a class (%d)",
			   t->id, (int)res.fail);
		if (answer_transport != 0 && nrequests == 1)
			FUZZ_CHECK(res.fail == (answer_transport == CURLE_WRITE_ERROR ? OTP_FAIL_PROTOCOL
						 : otp_net_classify(answer_transport)),
				   "%s: transport error %d became %s", t->id, answer_transport, otp_fail_name(res.fail));
		if (answer_transport == 0 && answer_status >= 300 && answer_status <= 399)
			FUZZ_CHECK(!otp_fail_is_transient(res.fail), "%s: redirect %ld classed transient (%s)",
				   t->id, answer_status, otp_fail_name(res.fail));
	}
	check_text(res.detail, sizeof(res.detail), "detail", t, msg.to);
	check_text(res.provider_code, sizeof(res.provider_code), "provider code", t, msg.to);
	return 0;
}
