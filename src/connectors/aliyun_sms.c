/*
 * aliyun_sms.c - Alibaba Cloud SMS (Dysmsapi SendSms, API 2017-05-25),
 * `aliyun-sms`, with Logto's connector-aliyun-sms settings.
 *
 * POST application/x-www-form-urlencoded to {endpoint}/ (default
 * https://dysmsapi.aliyuncs.com), RPC signature v1.0 (sign_aliyun.h).  The
 * message text is a template approved at Aliyun: we send its TemplateCode
 * and TemplateParam = {"code":"<code>"}, so there is no local text, no
 * {{code}} check and no preview.  Success is only body Code == "OK"; most
 * business failures arrive as HTTP 200 with another Code, gateway failures
 * (signature, key) as 4xx with {Code, Message, ...}.
 *
 * PhoneNumbers: Aliyun takes mainland numbers as the 11-digit national
 * number (a "+86"/"86" prefix is optional) and international ones as
 * country code + number without "+".  We send +86 numbers as the national
 * number and everything else as the E.164 digits without "+".
 */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sign_aliyun.h"

#define ALIYUN_SMS_DEFAULT_ENDPOINT "https://dysmsapi.aliyuncs.com"
#define ALIYUN_SMS_MAX_TEMPLATES 64

struct aliyun_sms_template {
	char *usage;
	char *code;        /* plain templateCode, or NULL when china/overseas are set */
	char *china;
	char *overseas;
	long type;         /* Logto's SmsTemplateType; informational (2 = verification code) */
};

struct aliyun_sms {
	char *url;                 /* {endpoint}/ */
	char *access_key_id;
	char *access_key_secret;   /* secret */
	char *sign_name;
	bool strict;               /* strictPhoneRegionNumberCheck */
	size_t ntemplates;
	struct aliyun_sms_template *templates;
};

/* Logto's SmsTemplateType values. */
static bool
valid_template_type(long t)
{
	return t == 0 || t == 1 || t == 2 || t == 6 || t == 7;
}

static int
parse_template(struct otp_settings *es, struct aliyun_sms_template *t)
{
	config_setting_t *n;
	int bad = 0;

	if (otp_settings_string(es, "usageType", true, NULL, &t->usage) != 0)
		bad = 1;
	if (otp_settings_int(es, "type", 2, 0, 7, &t->type) != 0)
		bad = 1;
	else if (!valid_template_type(t->type)) {
		otp_settings_fail(es, "type", "must be 0, 1, 2, 6 or 7 (Logto's SmsTemplateType)");
		bad = 1;
	}
	n = otp_settings_node(es, "templateCode");
	if (n == NULL) {
		otp_settings_fail(es, "templateCode", "required setting is missing");
		bad = 1;
	} else if (config_setting_type(n) == CONFIG_TYPE_STRING) {
		if (otp_settings_string(es, "templateCode", true, NULL, &t->code) != 0)
			bad = 1;
	} else if (config_setting_is_group(n)) {
		struct otp_settings cs;
		otp_settings_open(&cs, n, es->errs);
		if (otp_settings_string(&cs, "china", true, NULL, &t->china) != 0 ||
		    otp_settings_string(&cs, "overseas", true, NULL, &t->overseas) != 0)
			bad = 1;
		if (otp_settings_finish(&cs) != 0)
			bad = 1;
	} else {
		otp_settings_fail(es, "templateCode",
				  "must be a string or a group { china = \"...\"; overseas = \"...\"; }");
		bad = 1;
	}
	if (otp_settings_finish(es) != 0)
		bad = 1;
	return bad ? -1 : 0;
}

static int
parse_templates(struct otp_settings *s, struct aliyun_sms *a)
{
	config_setting_t *n = otp_settings_node(s, "templates");
	int count;

	if (n == NULL) {
		otp_settings_fail(s, "templates", "required template list is missing");
		return -1;
	}
	if (!config_setting_is_list(n) && !config_setting_is_array(n)) {
		otp_settings_fail(s, "templates", "must be a list ( { usageType = \"...\"; templateCode = \"...\"; }, ... )");
		return -1;
	}
	count = config_setting_length(n);
	if (count == 0 || count > ALIYUN_SMS_MAX_TEMPLATES) {
		otp_settings_fail(s, "templates", "needs 1 to %d templates", ALIYUN_SMS_MAX_TEMPLATES);
		return -1;
	}
	a->templates = calloc((size_t)count, sizeof(*a->templates));
	if (a->templates == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		config_setting_t *e = config_setting_get_elem(n, (unsigned)i);
		struct aliyun_sms_template *t = &a->templates[a->ntemplates++];
		struct otp_settings es;

		if (!config_setting_is_group(e)) {
			otp_settings_fail(s, "templates", "template %d must be a group { ... }", i + 1);
			continue;
		}
		otp_settings_open(&es, e, s->errs);
		if (parse_template(&es, t) != 0 || t->usage == NULL)
			continue;
		for (size_t j = 0; j + 1 < a->ntemplates; j++)
			if (a->templates[j].usage != NULL && strcmp(a->templates[j].usage, t->usage) == 0)
				otp_settings_fail(&es, "usageType", "duplicate template for \"%s\"", t->usage);
	}
	return otp_settings_failed(s) ? -1 : 0;
}

static int
aliyun_sms_configure(void *ctx, struct otp_settings *s)
{
	struct aliyun_sms *a = ctx;
	char *endpoint = NULL;

	if (otp_settings_endpoint(s, "endpoint", ALIYUN_SMS_DEFAULT_ENDPOINT, &endpoint) == 0 &&
	    endpoint != NULL && (a->url = otp_url_join(endpoint, "/")) == NULL)
		otp_settings_fail(s, "endpoint", "out of memory");
	free(endpoint);
	otp_settings_string(s, "accessKeyId", true, NULL, &a->access_key_id);
	otp_settings_secret(s, "accessKeySecret", true, &a->access_key_secret);
	otp_settings_string(s, "signName", true, NULL, &a->sign_name);
	otp_settings_bool(s, "strictPhoneRegionNumberCheck", false, &a->strict);
	parse_templates(s, a);
	return otp_settings_failed(s) ? -1 : 0;
}

static const struct aliyun_sms_template *
find_template(const struct aliyun_sms *a, const char *usage)
{
	for (size_t i = 0; i < a->ntemplates; i++)
		if (a->templates[i].usage && usage && strcmp(a->templates[i].usage, usage) == 0)
			return &a->templates[i];
	for (size_t i = 0; i < a->ntemplates; i++)
		if (a->templates[i].usage && strcmp(a->templates[i].usage, "Generic") == 0)
			return &a->templates[i];
	return NULL;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * Logto's isChinaNumber(to, strict): /^(\+86|0086|86)?\d{11}$/, the prefix
 * required in strict mode, on `to` as given.  The core always passes E.164
 * with "+", so a number is mainland exactly when it is +86 and 11 digits,
 * in both modes: an 11-digit NANP number (+1 312 555 0123) is never taken
 * for a mainland one.  The flag only matters for a destination without
 * "+" (legacy callers, conntest), where Logto's default treats any 11
 * digits as mainland.
 */
static bool
is_china_number(const char *to, bool strict)
{
	size_t skip = 0;

	if (strncmp(to, "+86", 3) == 0)
		skip = 3;
	else if (strncmp(to, "0086", 4) == 0)
		skip = 4;
	else if (strncmp(to, "86", 2) == 0)
		skip = 2;
	/* The regex backtracks: "86" + 9 digits is also 11 digits, no prefix. */
	if (skip > 0 && strlen(to + skip) == 11 && all_digits(to + skip, 11))
		return true;
	if (strict || to[0] == '+')
		return false;
	return strlen(to) == 11 && all_digits(to, 11);
}

/* Map an Aliyun Code onto a failure class; OTP_FAIL_NONE if not a known one. */
static enum otp_fail_class
sms_code_class(const char *code)
{
	enum otp_fail_class cls = otp_aliyun_gateway_class(code);

	if (cls != OTP_FAIL_NONE)
		return cls;
	if (strcmp(code, "isv.BUSINESS_LIMIT_CONTROL") == 0)
		return OTP_FAIL_RATE_LIMIT;
	if (strcmp(code, "isv.MOBILE_NUMBER_ILLEGAL") == 0)
		return OTP_FAIL_DESTINATION;
	/* Aliyun's own "system error": the analogue of a 5xx, see docs. */
	if (strcmp(code, "isp.SYSTEM_ERROR") == 0)
		return OTP_FAIL_HTTP_5XX;
	return OTP_FAIL_NONE;
}

static int
judge_answer(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	const char *code = j ? otp_json_path_str(j, "Code") : NULL;
	enum otp_fail_class cls;
	int rc = -1;

	if (code == NULL) {
		if (res->fail == OTP_FAIL_NONE)
			otp_send_fail(res, OTP_FAIL_PROTOCOL, "answer has no Code member");
		goto out;
	}
	otp_send_set_provider_code(res, code);
	if (strcmp(code, "OK") == 0) {
		if (res->fail == OTP_FAIL_NONE) {
			res->provider_code[0] = '\0';
			rc = 0;
		}
		/* "OK" with a non-2xx status: keep the HTTP layer's verdict. */
		goto out;
	}
	cls = sms_code_class(code);
	if (res->fail == OTP_FAIL_REDIRECT)
		/* Never followed and never a transient class, whatever the body says. */
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld, Code %s", resp->status,
			 res->provider_code);
	else if (cls != OTP_FAIL_NONE)
		otp_send_fail(res, cls, "Aliyun refused the message (Code %s)", res->provider_code);
	else if (res->fail == OTP_FAIL_NONE || res->fail == OTP_FAIL_HTTP_4XX)
		/* A 4xx that names its reason: the provider refused the request. */
		otp_send_fail(res, OTP_FAIL_PROVIDER, "Aliyun refused the message (Code %s)", res->provider_code);
	else
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld, Code %s", resp->status,
			 res->provider_code);
out:
	json_object_put(j);
	return rc;
}

static int
aliyun_sms_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
		struct otp_send_result *res)
{
	struct aliyun_sms *a = ctx;
	const struct aliyun_sms_template *t;
	struct json_object *param = NULL;
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf form;
	char nonce[OTP_ALIYUN_NONCE_LEN], ts[OTP_ALIYUN_TIMESTAMP_LEN];
	const char *digits, *phone, *tcode;
	char *tparam = NULL;
	int rc = -1;

	otp_buf_init(&form, 0);
	otp_buf_init(&resp.body, 1);
	t = find_template(a, msg->usage);
	if (t == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	digits = msg->to[0] == '+' ? msg->to + 1 : msg->to;
	if (digits[0] == '\0' || strlen(digits) > 15 || !all_digits(digits, strlen(digits))) {
		otp_send_fail(res, OTP_FAIL_DESTINATION, "destination is not a phone number");
		goto out;
	}
	/* +86 numbers go out as the national number, the rest as E.164 digits. */
	phone = (msg->to[0] == '+' && strncmp(digits, "86", 2) == 0) ? digits + 2 : digits;
	tcode = t->code ? t->code : (is_china_number(msg->to, a->strict) ? t->china : t->overseas);
	if ((param = json_object_new_object()) == NULL ||
	    otp_json_add_str(param, "code", msg->code) != 0 ||
	    (tparam = otp_json_serialize(param)) == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	if (otp_aliyun_nonce(nonce) != 0 || otp_aliyun_timestamp(env->now, ts) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot make nonce or timestamp");
		goto out;
	}
	{
		const struct otp_aliyun_param p[] = {
			{ "AccessKeyId", a->access_key_id },
			{ "Action", "SendSms" },
			{ "Format", "json" },
			{ "PhoneNumbers", phone },
			{ "RegionId", "cn-hangzhou" },
			{ "SignName", a->sign_name },
			{ "SignatureMethod", "HMAC-SHA1" },
			{ "SignatureNonce", nonce },
			{ "SignatureVersion", "1.0" },
			{ "TemplateCode", tcode },
			{ "TemplateParam", tparam },
			{ "Timestamp", ts },
			{ "Version", "2017-05-25" },
		};
		if (otp_aliyun_signed_query("POST", p, sizeof(p) / sizeof(p[0]),
					    a->access_key_secret, &form) != 0) {
			otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot sign the request");
			goto out;
		}
	}
	req.method = "POST";
	req.url = a->url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	rc = judge_answer(&resp, res);
out:
	otp_http_response_free(&resp);
	otp_buf_free(&form);
	otp_free_secret(tparam);
	otp_json_put_wiped(param);
	return rc;
}

static void
aliyun_sms_cleanup(void *ctx)
{
	struct aliyun_sms *a = ctx;

	free(a->url);
	free(a->access_key_id);
	otp_free_secret(a->access_key_secret);
	free(a->sign_name);
	for (size_t i = 0; i < a->ntemplates; i++) {
		free(a->templates[i].usage);
		free(a->templates[i].code);
		free(a->templates[i].china);
		free(a->templates[i].overseas);
	}
	free(a->templates);
}

static int
aliyun_sms_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = {
		"accessKeyId", "accessKeySecret", "signName", "strictPhoneRegionNumberCheck",
		"templates", NULL,
	};

	return otp_logto_print_block(out, "aliyun-sms", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_aliyun_sms = {
	.id = "aliyun-sms",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct aliyun_sms),
	.configure = aliyun_sms_configure,
	.send = aliyun_sms_send,
	.cleanup = aliyun_sms_cleanup,
	.import_logto = aliyun_sms_import,
};
