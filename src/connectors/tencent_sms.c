/*
 * tencent_sms.c - Tencent Cloud SMS SendSms (API 3.0, version 2021-01-11),
 * `tencent-sms`, with Logto's connector-tencent-sms settings.
 *
 * POST JSON {PhoneNumberSet, SmsSdkAppId, SignName, TemplateId,
 * TemplateParamSet} to {endpoint}/ (default https://sms.tencentcloudapi.com)
 * with X-TC-Action/Version/Region/Timestamp and a TC3-HMAC-SHA256
 * Authorization over content-type;host (sign_tc3.h).  The text is an
 * approved template at Tencent whose single {1} is the code.
 *
 * API 3.0 answers HTTP 200 for every request it processed, errors
 * included, so success is: HTTP 200, no Response.Error, a non-empty
 * Response.SendStatusSet and every element's Code == "Ok".
 */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sign_tc3.h"

#define TENCENT_SMS_DEFAULT_ENDPOINT "https://sms.tencentcloudapi.com"
#define TENCENT_CONTENT_TYPE "application/json; charset=utf-8"

struct tencent_sms {
	char *url;                 /* {endpoint}/ */
	char *host;                /* Host header and canonical host: the endpoint's authority */
	char *secret_id;           /* accessKeyId */
	char *secret_key;          /* accessKeySecret (secret) */
	char *sign_name;
	char *sdk_app_id;
	char *region;
	struct otp_template_list templates;
};

static const struct otp_template_field tencent_fields[] = {
	{ .name = "templateCode", .required = true },
	{ .name = NULL },
};

/*
 * The authority of a checked endpoint URL, lower-cased, without the
 * scheme's default port (curl leaves that out of Host as well; we send
 * our own Host header anyway so the signed and sent values are the same).
 */
static char *
endpoint_host(const char *url)
{
	const char *p = strstr(url, "://");
	bool https = strncmp(url, "https:", 6) == 0;
	size_t n;
	char *h;

	if (p == NULL)
		return NULL;
	p += 3;
	n = strcspn(p, "/?#");
	if (n == 0)
		return NULL;
	h = strndup(p, n);
	if (h == NULL)
		return NULL;
	for (char *c = h; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	n = strlen(h);
	if (https && n > 4 && strcmp(h + n - 4, ":443") == 0)
		h[n - 4] = '\0';
	else if (!https && n > 3 && strcmp(h + n - 3, ":80") == 0)
		h[n - 3] = '\0';
	return h;
}

/* Header-safe token: printable ASCII without space, comma, ';' or quotes. */
static bool
token_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ',' || *p == ';' || *p == '"' || *p == '\\')
			return false;
	return true;
}

static int
tencent_configure(void *ctx, struct otp_settings *s)
{
	struct tencent_sms *t = ctx;
	char *endpoint = NULL;

	if (otp_settings_endpoint(s, "endpoint", TENCENT_SMS_DEFAULT_ENDPOINT, &endpoint) == 0 &&
	    endpoint != NULL) {
		t->url = otp_url_join(endpoint, "/");
		t->host = endpoint_host(endpoint);
		if (t->url == NULL || t->host == NULL)
			otp_settings_fail(s, "endpoint", "cannot determine the host name");
	}
	free(endpoint);
	if (otp_settings_string(s, "accessKeyId", true, NULL, &t->secret_id) == 0 &&
	    !token_ok(t->secret_id))
		otp_settings_fail(s, "accessKeyId", "must be a SecretId (no spaces, commas or quotes)");
	otp_settings_secret(s, "accessKeySecret", true, &t->secret_key);
	otp_settings_string(s, "signName", true, NULL, &t->sign_name);
	otp_settings_string(s, "sdkAppId", true, NULL, &t->sdk_app_id);
	if (otp_settings_string(s, "region", true, NULL, &t->region) == 0) {
		for (const char *c = t->region; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
				otp_settings_fail(s, "region", "must look like \"ap-guangzhou\"");
				break;
			}
	}
	otp_template_list_parse(s, "templates", tencent_fields, true, &t->templates);
	return otp_settings_failed(s) ? -1 : 0;
}

static bool
code_is(const char *code, const char *name)
{
	size_t n = strlen(name);

	return strncmp(code, name, n) == 0 && (code[n] == '\0' || code[n] == '.');
}

/* Tencent's error codes (Response.Error.Code or a SendStatusSet Code) -> class. */
static enum otp_fail_class
tencent_code_class(const char *code)
{
	if (code_is(code, "AuthFailure"))
		return OTP_FAIL_AUTH;
	if (strncmp(code, "RequestLimitExceeded", 20) == 0 || strncmp(code, "LimitExceeded.", 14) == 0)
		return OTP_FAIL_RATE_LIMIT;
	if (strcmp(code, "InvalidParameterValue.IncorrectPhoneNumber") == 0 ||
	    (strncmp(code, "FailedOperation.", 16) == 0 && strstr(code + 16, "Phone") != NULL))
		return OTP_FAIL_DESTINATION;
	/*
	 * API 3.0 reports its own server faults as HTTP 200 + InternalError*:
	 * the same outage a 5xx is elsewhere, so the same (transient) class.
	 */
	if (strncmp(code, "InternalError", 13) == 0)
		return OTP_FAIL_HTTP_5XX;
	return OTP_FAIL_PROVIDER;
}

static int
judge_answer(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	struct json_object *set;
	const char *code;
	size_t n;
	int rc = -1;

	if (j == NULL || !json_object_is_type(j, json_type_object) ||
	    otp_json_path(j, "Response") == NULL) {
		if (res->fail == OTP_FAIL_NONE)
			otp_send_fail(res, OTP_FAIL_PROTOCOL, "answer is not a Response object");
		goto out;
	}
	if (otp_json_path(j, "Response.Error") != NULL) {
		code = otp_json_path_str(j, "Response.Error.Code");
		otp_send_set_provider_code(res, code ? code : "?");
		/* A redirect stays one (never followed, never transient). */
		otp_send_fail(res, res->fail == OTP_FAIL_REDIRECT ? OTP_FAIL_REDIRECT :
			      code ? tencent_code_class(code) : OTP_FAIL_PROVIDER,
			      "Tencent refused the request (Error.Code %s)", res->provider_code);
		goto out;
	}
	if (res->fail != OTP_FAIL_NONE)
		goto out;       /* the HTTP layer's class stands */
	if (resp->status != 200) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "HTTP %ld, not 200", resp->status);
		goto out;
	}
	set = otp_json_path(j, "Response.SendStatusSet");
	if (set == NULL || !json_object_is_type(set, json_type_array) ||
	    (n = json_object_array_length(set)) == 0) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "answer has no SendStatusSet");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(set, i);
		code = json_object_is_type(e, json_type_object) ? otp_json_path_str(e, "Code") : NULL;
		if (code == NULL) {
			otp_send_fail(res, OTP_FAIL_PROTOCOL, "SendStatusSet element without Code");
			goto out;
		}
		if (strcmp(code, "Ok") != 0) {
			otp_send_set_provider_code(res, code);
			otp_send_fail(res, tencent_code_class(code), "Tencent refused the number (Code %s)",
				      res->provider_code);
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(j);
	return rc;
}

static int
array_add_str(struct json_object *arr, const char *s)
{
	struct json_object *v = otp_json_new_str(s);

	if (v == NULL)
		return -1;
	if (json_object_array_add(arr, v) != 0) {
		otp_json_put_wiped(v);
		return -1;
	}
	return 0;
}

static int
tencent_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	     struct otp_send_result *res)
{
	struct tencent_sms *t = ctx;
	const struct otp_template *tpl;
	struct json_object *root = json_object_new_object(), *phones = json_object_new_array();
	struct json_object *params = json_object_new_array();
	struct otp_tc3_request sig = { 0 };
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf auth, h_host, h_region, h_ts;
	const char *headers[7];
	const char *tid;
	char *body = NULL;
	int rc = -1;

	otp_buf_init(&auth, 4096);
	otp_buf_init(&h_host, 1024);
	otp_buf_init(&h_region, 256);
	otp_buf_init(&h_ts, 64);
	otp_buf_init(&resp.body, 1);
	tpl = otp_template_find(&t->templates, msg->usage);
	tid = tpl ? otp_template_get(&t->templates, tpl, "templateCode") : NULL;
	if (tid == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	if (msg->to[0] != '+') {
		otp_send_fail(res, OTP_FAIL_DESTINATION, "destination is not an E.164 number");
		goto out;
	}
	if (root == NULL || phones == NULL || params == NULL ||
	    array_add_str(phones, msg->to) != 0 || array_add_str(params, msg->code) != 0)
		goto nomem;
	if (otp_json_add_obj(root, "PhoneNumberSet", phones) != 0) {
		phones = NULL;
		goto nomem;
	}
	phones = NULL;
	if (otp_json_add_str(root, "SmsSdkAppId", t->sdk_app_id) != 0 ||
	    otp_json_add_str(root, "SignName", t->sign_name) != 0 ||
	    otp_json_add_str(root, "TemplateId", tid) != 0)
		goto nomem;
	if (otp_json_add_obj(root, "TemplateParamSet", params) != 0) {
		params = NULL;
		goto nomem;
	}
	params = NULL;
	if ((body = otp_json_serialize(root)) == NULL)
		goto nomem;

	sig.method = "POST";
	sig.query = "";
	sig.host = t->host;
	sig.content_type = TENCENT_CONTENT_TYPE;
	sig.payload = body;
	sig.payload_len = strlen(body);
	sig.service = "sms";
	sig.timestamp = env->now;
	sig.secret_id = t->secret_id;
	sig.secret_key = t->secret_key;
	if (otp_buf_puts(&auth, "Authorization: ") != 0 || otp_tc3_authorization(&sig, &auth) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot sign the request");
		goto out;
	}
	if (otp_buf_printf(&h_host, "Host: %s", t->host) != 0 ||
	    otp_buf_printf(&h_region, "X-TC-Region: %s", t->region) != 0 ||
	    otp_buf_printf(&h_ts, "X-TC-Timestamp: %lld", env->now) != 0)
		goto nomem;
	headers[0] = h_host.data;
	headers[1] = "X-TC-Action: SendSms";
	headers[2] = "X-TC-Version: 2021-01-11";
	headers[3] = h_region.data;
	headers[4] = h_ts.data;
	headers[5] = auth.data;
	headers[6] = NULL;
	req.method = "POST";
	req.url = t->url;
	req.content_type = TENCENT_CONTENT_TYPE;
	req.body = body;
	req.body_len = strlen(body);
	req.headers = headers;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	rc = judge_answer(&resp, res);
	goto out;
nomem:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
out:
	otp_http_response_free(&resp);
	otp_buf_free(&auth);
	otp_buf_free(&h_host);
	otp_buf_free(&h_region);
	otp_buf_free(&h_ts);
	otp_free_secret(body);
	otp_json_put_wiped(params);
	otp_json_put_wiped(phones);
	otp_json_put_wiped(root);
	return rc;
}

static void
tencent_cleanup(void *ctx)
{
	struct tencent_sms *t = ctx;

	free(t->url);
	free(t->host);
	free(t->secret_id);
	otp_free_secret(t->secret_key);
	free(t->sign_name);
	free(t->sdk_app_id);
	free(t->region);
	otp_template_list_free(&t->templates);
}

static int
tencent_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = {
		"accessKeyId", "accessKeySecret", "signName", "sdkAppId", "region", "templates", NULL,
	};

	return otp_logto_print_block(out, "tencent-sms", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_tencent_sms = {
	.id = "tencent-sms",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct tencent_sms),
	.configure = tencent_configure,
	.send = tencent_send,
	.cleanup = tencent_cleanup,
	.import_logto = tencent_import,
};
