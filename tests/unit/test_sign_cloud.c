/*
 * Unit tests: Aliyun RPC signature v1.0 and Tencent TC3-HMAC-SHA256 against
 * every published vector in providers.md §5B/§5C, plus the encoding edge
 * cases the canonical strings depend on; and the Logto import of the three
 * connectors that use them (Logto JSON -> our block -> configure).
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include <libconfig.h>
#include <json-c/json.h>
#include "src/buf.h"
#include "src/connectors/connector.h"
#include "src/crypto.h"
#include "src/sign_aliyun.h"
#include "src/sign_tc3.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *
canonical(const struct otp_aliyun_param *p, size_t n)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_aliyun_canonical(p, n, &b) != 0) {
		otp_buf_free(&b);
		return NULL;
	}
	return b.data ? otp_buf_steal(&b) : strdup("");
}

static char *
sts(const char *method, const struct otp_aliyun_param *p, size_t n)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_aliyun_string_to_sign(method, p, n, &b) != 0) {
		otp_buf_free(&b);
		return NULL;
	}
	return otp_buf_steal(&b);
}

static char *
signed_query(const char *method, const struct otp_aliyun_param *p, size_t n, const char *secret)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_aliyun_signed_query(method, p, n, secret, &b) != 0) {
		otp_buf_free(&b);
		return NULL;
	}
	return otp_buf_steal(&b);
}

static char *
pct(const char *s)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_pct_encode_append(&b, s) != 0)
		return NULL;
	return b.data ? otp_buf_steal(&b) : strdup("");
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return s != NULL && n >= m && strcmp(s + n - m, suffix) == 0;
}

/* §5C.1: the historic Aliyun SMS doc example (GET, testId/testSecret). */
static void
aliyun_sms_doc_vector(void)
{
	static const struct otp_aliyun_param p[] = {
		/* deliberately not sorted */
		{ "Version", "2017-05-25" },
		{ "TemplateParam", "{\"customer\":\"test\"}" },
		{ "AccessKeyId", "testId" },
		{ "Action", "SendSms" },
		{ "Format", "XML" },
		{ "OutId", "123" },
		{ "PhoneNumbers", "15300000001" },
		{ "RegionId", "cn-hangzhou" },
		{ "SignName", "\xe9\x98\xbf\xe9\x87\x8c\xe4\xba\x91\xe7\x9f\xad\xe4\xbf\xa1"
			      "\xe6\xb5\x8b\xe8\xaf\x95\xe4\xb8\x93\xe7\x94\xa8" }, /* 阿里云短信测试专用 */
		{ "SignatureMethod", "HMAC-SHA1" },
		{ "SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466" },
		{ "SignatureVersion", "1.0" },
		{ "TemplateCode", "SMS_71390007" },
		{ "Timestamp", "2017-07-12T02:42:19Z" },
	};
	char sig[OTP_ALIYUN_SIG_LEN], *s;

	s = canonical(p, N(p));
	is_str(s, "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001"
	       "&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B"
	       "%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-"
	       "8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22"
	       "customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25",
	       "aliyun SMS doc: canonical query (sorted, UTF-8 sign name, JSON escaped)");
	free(s);
	s = sts("GET", p, N(p));
	is_str(s, "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26"
	       "PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9"
	       "%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595"
	       "%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b"
	       "-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007%26"
	       "TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T"
	       "02%253A42%253A19Z%26Version%3D2017-05-25",
	       "aliyun SMS doc: string to sign");
	free(s);
	ok(otp_aliyun_signature("GET", p, N(p), "testSecret", sig) == 0, "aliyun SMS doc: signs");
	is_str(sig, "zJDF+Lrzhj/ThnlvIToysFRq6t4=", "aliyun SMS doc: signature zJDF+Lrzhj/...");
	s = signed_query("GET", p, N(p), "testSecret");
	ok(ends_with(s, "&Version=2017-05-25&Signature=zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D"),
	   "aliyun SMS doc: URL form of the signature appended last");
	free(s);
	/* The published pitfall: lower-casing the inputs breaks the vector. */
	otp_aliyun_signature("GET", p, N(p), "testsecret", sig);
	ok(strcmp(sig, "zJDF+Lrzhj/ThnlvIToysFRq6t4=") != 0, "aliyun SMS doc: secret is case-sensitive");
	otp_aliyun_signature("POST", p, N(p), "testSecret", sig);
	ok(strcmp(sig, "zJDF+Lrzhj/ThnlvIToysFRq6t4=") != 0, "aliyun: the HTTP method is signed");
}

/* §5C.2: RPC signature doc example (ECS DescribeRegions) and its older edition. */
static void
aliyun_describe_regions_vector(void)
{
	struct otp_aliyun_param p[] = {
		{ "AccessKeyId", "testid" },
		{ "Action", "DescribeRegions" },
		{ "Format", "XML" },
		{ "SignatureMethod", "HMAC-SHA1" },
		{ "SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" },
		{ "SignatureVersion", "1.0" },
		{ "Timestamp", "2016-02-23T12:46:24Z" },
		{ "Version", "2014-05-26" },
	};
	char sig[OTP_ALIYUN_SIG_LEN], *s;

	s = sts("GET", p, N(p));
	is_str(s, "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26"
	       "SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26"
	       "SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
	       "aliyun DescribeRegions: string to sign");
	free(s);
	otp_aliyun_signature("GET", p, N(p), "testsecret", sig);
	is_str(sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=", "aliyun DescribeRegions: signature OLeaid...");
	p[6].name = "TimeStamp";
	otp_aliyun_signature("GET", p, N(p), "testsecret", sig);
	is_str(sig, "CT9X0VtwR86fNWSnsc6v8YGOjuE=", "aliyun DescribeRegions, old `TimeStamp` edition: CT9X0...");
}

/* §5C.3: Logto's unit-test vector (POST SingleSendMail, escaping of < % ' > @). */
static void
aliyun_logto_vector(void)
{
	static const struct otp_aliyun_param p[] = {
		{ "AccessKeyId", "testid" },
		{ "AccountName", "<a%b'>" },
		{ "Action", "SingleSendMail" },
		{ "AddressType", "1" },
		{ "Format", "XML" },
		{ "HtmlBody", "4" },
		{ "RegionId", "cn-hangzhou" },
		{ "ReplyToAddress", "true" },
		{ "SignatureMethod", "HMAC-SHA1" },
		{ "SignatureVersion", "1.0" },
		{ "Subject", "3" },
		{ "TagName", "2" },
		{ "ToAddress", "1@test.com" },
		{ "Version", "2015-11-23" },
		{ "SignatureNonce", "c1b2c332-4cfb-4a0f-b8cc-ebe622aa0a5c" },
		{ "Timestamp", "2016-10-20T06:27:56Z" },
	};
	char sig[OTP_ALIYUN_SIG_LEN], *s;

	s = canonical(p, N(p));
	is_str(s, "AccessKeyId=testid&AccountName=%3Ca%25b%27%3E&Action=SingleSendMail&AddressType=1"
	       "&Format=XML&HtmlBody=4&RegionId=cn-hangzhou&ReplyToAddress=true&SignatureMethod=HMAC-SHA1"
	       "&SignatureNonce=c1b2c332-4cfb-4a0f-b8cc-ebe622aa0a5c&SignatureVersion=1.0&Subject=3"
	       "&TagName=2&Timestamp=2016-10-20T06%3A27%3A56Z&ToAddress=1%40test.com&Version=2015-11-23",
	       "aliyun Logto vector: canonical query");
	free(s);
	otp_aliyun_signature("POST", p, N(p), "testsecret", sig);
	is_str(sig, "llJfXJjBW3OacrVgxxsITgYaYm0=", "aliyun Logto vector: signature llJfXJ...");
	s = signed_query("POST", p, N(p), "testsecret");
	ok(s != NULL && strncmp(s, "AccessKeyId=testid&AccountName=%3Ca%25b%27%3E&", 46) == 0 &&
	   strstr(s, "&Signature=llJfXJjBW3OacrVgxxsITgYaYm0%3D") != NULL,
	   "aliyun Logto vector: signed form body");
	free(s);
}

static void
aliyun_edge_cases(void)
{
	struct otp_aliyun_param p[] = {
		{ "b", "x y" }, { "a", "1*2~3" }, { "B", "+/=" }, { "c", "" },
	};
	struct otp_aliyun_param dup[] = { { "a", "1" }, { "a", "2" } };
	struct otp_aliyun_param bad[] = { { "", "1" } };
	char n1[OTP_ALIYUN_NONCE_LEN], n2[OTP_ALIYUN_NONCE_LEN], ts[OTP_ALIYUN_TIMESTAMP_LEN];
	char *s;
	int good;

	s = pct("a b"); is_str(s, "a%20b", "pct: space is %20, not +"); free(s);
	s = pct("*"); is_str(s, "%2A", "pct: * is %2A"); free(s);
	s = pct("~-_.AZaz09"); is_str(s, "~-_.AZaz09", "pct: unreserved (incl. ~) stay"); free(s);
	s = pct("%7E"); is_str(s, "%257E", "pct: % itself is encoded"); free(s);
	s = pct("!'()"); is_str(s, "%21%27%28%29", "pct: ! ' ( ) are encoded (Logto's escaper)"); free(s);
	s = pct("\xe9\x98\xbf\xe9\x87\x8c\xe4\xba\x91\xe7\x9f\xad\xe4\xbf\xa1\xe6\xb5\x8b\xe8\xaf\x95");
	is_str(s, "%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95",
	       "pct: UTF-8 sign name 阿里云短信测试, upper-case hex per byte");
	free(s);
	s = pct("a\r\nb\"&="); is_str(s, "a%0D%0Ab%22%26%3D", "pct: CR LF quote & = encoded"); free(s);

	s = canonical(p, N(p));
	is_str(s, "B=%2B%2F%3D&a=1%2A2~3&b=x%20y&c=", "canonical: byte-order sort (B < a), empty value kept");
	free(s);
	s = canonical(dup, N(dup));
	ok(s == NULL, "canonical: a repeated parameter name is refused");
	free(s);
	s = canonical(bad, N(bad));
	ok(s == NULL, "canonical: an empty parameter name is refused");
	free(s);
	s = sts("GET", p, 0);
	is_str(s, "GET&%2F&", "string to sign with no parameters");
	free(s);

	ok(otp_aliyun_timestamp(1551113065LL, ts) == 0, "timestamp: formats");
	is_str(ts, "2019-02-25T16:44:25Z", "timestamp: UTC, no millis, Z suffix");
	otp_aliyun_timestamp(0, ts);
	is_str(ts, "1970-01-01T00:00:00Z", "timestamp: epoch");
	ok(otp_aliyun_timestamp(-1, ts) != 0, "timestamp: negative time refused");

	ok(otp_aliyun_nonce(n1) == 0 && otp_aliyun_nonce(n2) == 0, "nonce: generated");
	good = strlen(n1) == 36 && n1[8] == '-' && n1[13] == '-' && n1[18] == '-' && n1[23] == '-' &&
	       n1[14] == '4' && strchr("89ab", n1[19]) != NULL;
	for (int i = 0; i < 36; i++)
		if (i != 8 && i != 13 && i != 18 && i != 23 && strchr("0123456789abcdef", n1[i]) == NULL)
			good = 0;
	ok(good, "nonce: UUID v4 text form (version 4, RFC 4122 variant, lower-case hex)");
	ok(strcmp(n1, n2) != 0, "nonce: two nonces differ");
}

/* §5B: Tencent's TC3 doc example (CVM DescribeInstances), both key variants. */
static void
tc3_vectors(void)
{
	static const char body[] =
		"{\"Limit\": 1, \"Filters\": [{\"Values\": [\"\\u672a\\u547d\\u540d\"], \"Name\": \"instance-name\"}]}";
	struct otp_tc3_request r = {
		.method = "POST",
		.query = "",
		.host = "cvm.tencentcloudapi.com",
		.content_type = "application/json; charset=utf-8",
		.payload = body,
		.payload_len = sizeof(body) - 1,
		.service = "cvm",
		.timestamp = 1551113065LL,
		.secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
		.secret_key = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
	};
	unsigned char key[OTP_SHA256_LEN];
	char hex[2 * OTP_SHA256_LEN + 1], sig[OTP_TC3_SIG_LEN], date[OTP_TC3_DATE_LEN];
	struct otp_buf b;

	otp_sha256_hex(body, sizeof(body) - 1, hex);
	is_str(hex, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
	       "tc3: hashed payload of the doc body");
	otp_buf_init(&b, 0);
	ok(otp_tc3_canonical_request(&r, &b) == 0, "tc3: canonical request built");
	is_str(b.data, "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
	       "\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
	       "tc3: canonical request");
	otp_sha256_hex(b.data, b.len, hex);
	is_str(hex, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
	       "tc3: hashed canonical request");
	otp_buf_free(&b);
	otp_buf_init(&b, 0);
	otp_tc3_string_to_sign(&r, &b);
	is_str(b.data, "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
	       "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", "tc3: string to sign");
	otp_buf_free(&b);
	otp_tc3_date(r.timestamp, date);
	is_str(date, "2019-02-25", "tc3: credential date is the UTC date");
	ok(otp_tc3_signature(&r, sig) == 0, "tc3: signs");
	is_str(sig, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
	       "tc3: signature, EXAMPLE keys (72e494ea...)");
	otp_buf_init(&b, 0);
	otp_tc3_authorization(&r, &b);
	is_str(b.data, "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
	       "tc3_request, SignedHeaders=content-type;host, Signature="
	       "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
	       "tc3: Authorization header value (comma + space separators)");
	otp_buf_free(&b);

	r.secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******";
	r.secret_key = "Gu5t9xGARNpq86cd98joQYCN3*******";
	otp_tc3_signing_key(r.secret_key, "2019-02-25", "cvm", key);
	otp_hex(key, sizeof(key), hex);
	is_str(hex, "8aa8ab5755582f576e94bcfe383b8e29325b0ca90c3590d569221c6a63a091ed",
	       "tc3: derived SecretSigning, asterisk keys");
	otp_tc3_signature(&r, sig);
	is_str(sig, "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
	       "tc3: signature, asterisk keys (2230eefd...)");

	/* Upper-case input is canonicalised to the lower-case form Tencent signs. */
	r.host = "CVM.TencentCloudAPI.com ";
	r.content_type = " Application/JSON; charset=UTF-8";
	otp_tc3_signature(&r, sig);
	is_str(sig, "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
	       "tc3: header names/values lower-cased and trimmed");
	r.host = "cvm.tencentcloudapi.com\r\nx-evil:1";
	ok(otp_tc3_signature(&r, sig) != 0, "tc3: CR/LF in a signed header value refused");
	r.host = "cvm.tencentcloudapi.com";
	r.content_type = "application/json; charset=utf-8";
	r.timestamp = 1551113065LL + 86400;
	otp_tc3_signature(&r, sig);
	ok(strcmp(sig, "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c") != 0,
	   "tc3: the timestamp/date is signed");
	r.timestamp = 1551113065LL;
	r.service = "sms";
	otp_tc3_signature(&r, sig);
	ok(strcmp(sig, "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c") != 0,
	   "tc3: the service is signed");
	r.service = "cvm";
	r.payload_len--;
	otp_tc3_signature(&r, sig);
	ok(strcmp(sig, "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c") != 0,
	   "tc3: every payload byte is signed");
	otp_tc3_date(1551139199LL, date);
	is_str(date, "2019-02-25", "tc3: date at 23:59:59 UTC");
	otp_tc3_date(1551139200LL, date);
	is_str(date, "2019-02-26", "tc3: date rolls over at 00:00 UTC (not local time)");
	r.secret_id = "AKID, Signature=x";
	otp_buf_init(&b, 0);
	ok(otp_tc3_authorization(&r, &b) != 0, "tc3: a SecretId that could forge Authorization fields is refused");
	otp_buf_free(&b);
}

/*
 * Import a Logto connector JSON, parse the printed block with libconfig and
 * configure the connector from it.  Returns the number of config errors,
 * or -1 if the import itself failed (why filled).
 */
static int
import_and_configure(const char *id, const char *logto_json, char *why, size_t whylen,
		     char **text)
{
	const struct otp_connector *c = otp_connector_find(id);
	struct json_object *j = json_tokener_parse(logto_json);
	struct otp_config_errors errs = { 0 };
	struct otp_settings s;
	config_t cfg;
	size_t len = 0;
	FILE *f;
	void *ctx;
	int rc;

	*text = NULL;
	if (c == NULL || c->import_logto == NULL || j == NULL) {
		snprintf(why, whylen, "no connector, no import or bad JSON");
		json_object_put(j);
		return -1;
	}
	f = open_memstream(text, &len);
	rc = c->import_logto(j, f, why, whylen);
	fclose(f);
	json_object_put(j);
	if (rc != 0)
		return -1;
	config_init(&cfg);
	if (config_read_string(&cfg, *text) != CONFIG_TRUE) {
		snprintf(why, whylen, "libconfig: %s", config_error_text(&cfg));
		config_destroy(&cfg);
		return -1;
	}
	errs.file = "import";
	otp_settings_open(&s, config_setting_get_member(config_root_setting(&cfg), id), &errs);
	ctx = calloc(1, c->ctx_size);
	c->configure(ctx, &s);
	otp_settings_finish(&s);
	c->cleanup(ctx);
	free(ctx);
	config_destroy(&cfg);
	if (errs.count > 0)
		snprintf(why, whylen, "%s", errs.msg[0]);
	return errs.count;
}

static void
logto_import(void)
{
	char why[400], *text;
	int rc;

	rc = import_and_configure("aliyun-sms",
		"{\"accessKeyId\":\"LTAI5t\",\"accessKeySecret\":\"s3cr\\\"et\",\"signName\":\"\u963f\u91cc\u4e91\","
		"\"strictPhoneRegionNumberCheck\":true,\"templates\":["
		"{\"type\":2,\"usageType\":\"SignIn\",\"templateCode\":\"SMS_1\"},"
		"{\"usageType\":\"Generic\",\"templateCode\":{\"china\":\"SMS_2\",\"overseas\":\"SMS_3\"}}]}",
		why, sizeof(why), &text);
	if (!ok(rc == 0, "import aliyun-sms: Logto JSON (string and {china, overseas} codes) configures cleanly"))
		printf("#   %s\n#   %s\n", why, text ? text : "");
	ok(text && strstr(text, "templateCode = {") && strstr(text, "type = 2;") &&
	   strstr(text, "accessKeySecret = \"s3cr\\\"et\";"),
	   "import aliyun-sms: nested group, integer type and escaped secret printed");
	free(text);
	rc = import_and_configure("aliyun-sms", "{\"accessKeyId\":\"a\",\"endpointUrl\":\"x\"}",
				  why, sizeof(why), &text);
	ok(rc == -1 && strstr(why, "endpointUrl") != NULL, "import aliyun-sms: unknown Logto key reported");
	free(text);

	rc = import_and_configure("tencent-sms",
		"{\"accessKeyId\":\"AKIDx\",\"accessKeySecret\":\"k\",\"signName\":\"s\",\"sdkAppId\":\"1400006666\","
		"\"region\":\"ap-guangzhou\",\"templates\":[{\"usageType\":\"Generic\",\"templateCode\":\"449739\"}]}",
		why, sizeof(why), &text);
	if (!ok(rc == 0, "import tencent-sms: Logto JSON configures cleanly"))
		printf("#   %s\n", why);
	free(text);
	rc = import_and_configure("tencent-sms", "{\"accessKeyId\":\"a\",\"SmsSdkAppId\":\"1\"}",
				  why, sizeof(why), &text);
	ok(rc == -1 && strstr(why, "SmsSdkAppId") != NULL, "import tencent-sms: unknown Logto key reported");
	free(text);

	rc = import_and_configure("aliyun-dm",
		"{\"accessKeyId\":\"a\",\"accessKeySecret\":\"b\",\"accountName\":\"no-reply@example.com\","
		"\"regionId\":\"ap-southeast-1\",\"fromAlias\":\"Login\",\"templates\":[{\"usageType\":\"Generic\","
		"\"subject\":\"Code\",\"content\":\"<p>{{code}}</p>\\n<p>bye</p>\"}]}",
		why, sizeof(why), &text);
	if (!ok(rc == 0, "import aliyun-dm: Logto JSON (multi-line HTML content) configures cleanly"))
		printf("#   %s\n", why);
	free(text);
	rc = import_and_configure("aliyun-dm",
		"{\"accessKeyId\":\"a\",\"accessKeySecret\":\"b\",\"accountName\":\"n@example.com\","
		"\"templates\":[{\"usageType\":\"Generic\",\"subject\":\"Code\",\"content\":\"no code here\"}]}",
		why, sizeof(why), &text);
	ok(rc > 0 && strstr(why, "content") != NULL, "import aliyun-dm: a content without {{code}} is caught at configure");
	free(text);
}

int
main(void)
{
	/* Tests must not depend on the caller's time zone. */
	setenv("TZ", "Asia/Shanghai", 1);
	aliyun_sms_doc_vector();
	aliyun_describe_regions_vector();
	aliyun_logto_vector();
	aliyun_edge_cases();
	tc3_vectors();
	logto_import();
	return tap_done();
}
