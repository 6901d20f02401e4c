/*
 * vonage.c - Vonage (Nexmo) SMS API (`vonage-sms`).
 *
 * POST {endpoint}/sms/json, HTTP Basic apiKey:apiSecret, form fields from
 * (brandName), to (international digits, no '+'), text, and type=unicode
 * when the text does not fit GSM-7 (otherwise Vonage would send it as
 * GSM-7 and mangle it).
 *
 * Vonage answers HTTP 200 for accepted AND refused messages: success is
 * HTTP 200, a messages[] array as long as message-count says, and every
 * element's status "0".  A long text comes back as one element per part;
 * one refused part fails the send.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../crypto.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sms_length.h"

#define VONAGE_DEFAULT_ENDPOINT "https://rest.nexmo.com"

struct vonage {
	char *url;                  /* {endpoint}/sms/json */
	char *api_key;
	char *api_secret;           /* secret */
	char *brand;                /* `from` */
	struct otp_template_list templates;
};

static const struct otp_template_field vonage_fields[] = {
	{ .name = "content", .required = true, .needs_code = true, .is_template = true },
	{ .name = NULL },
};

/* Vonage: up to 11 alphanumeric characters, or a number of up to 15 digits. */
static bool
sender_plausible(const char *from)
{
	size_t n = strlen(from), digits = strspn(from, "0123456789");

	if (digits == n)
		return n >= 1 && n <= 15;
	if (n > 11)
		return false;
	for (const char *p = from; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == ' '))
			return false;
	return true;
}

static int
vonage_configure(void *ctx, struct otp_settings *s)
{
	struct vonage *v = ctx;
	char *base = NULL;

	otp_settings_endpoint(s, "endpoint", VONAGE_DEFAULT_ENDPOINT, &base);
	otp_settings_string(s, "apiKey", true, NULL, &v->api_key);
	otp_settings_secret(s, "apiSecret", true, &v->api_secret);
	if (otp_settings_string(s, "brandName", true, NULL, &v->brand) == 0 &&
	    !sender_plausible(v->brand))
		otp_settings_warn(s, "brandName", "Vonage accepts up to 11 letters/digits or a "
				  "number of up to 15 digits (no '+') as sender");
	if (otp_template_list_parse(s, "templates", vonage_fields, true, &v->templates) == 0 &&
	    otp_template_find(&v->templates, "Generic") == NULL)
		otp_settings_warn(s, "templates", "no \"Generic\" template: usage types without "
				  "their own template cannot be sent");
	if (base != NULL && (v->url = otp_url_join(base, "/sms/json")) == NULL)
		otp_settings_fail(s, "endpoint", "out of memory");
	free(base);
	return otp_settings_failed(s) ? -1 : 0;
}

/*
 * Per-message status -> failure class (Vonage "SMS API error codes" table).
 * 5 "Internal Error" is an error inside Vonage's platform while handling
 * the message, the same thing an HTTP 500 says, and the docs' advice is to
 * retry and contact support only if it persists: it is treated as http-5xx
 * (transient).  10 "Too Many Existing Binds" says "back-off and retry":
 * rate-limit.  6 "Invalid Message" is documented with an unrecognised
 * number prefix as its example, so it counts as a destination problem.
 */
static enum otp_fail_class
vonage_class(const char *status)
{
	long st = strtol(status, NULL, 10);

	switch (st) {
	case 1:     /* Throttled */
	case 10:    /* Too Many Existing Binds */
		return OTP_FAIL_RATE_LIMIT;
	case 4:     /* Invalid Credentials */
	case 14:    /* Invalid Signature */
		return OTP_FAIL_AUTH;
	case 5:     /* Internal Error */
		return OTP_FAIL_HTTP_5XX;
	case 6:     /* Invalid Message (e.g. unrecognised number prefix) */
	case 7:     /* Number Barred */
	case 29:    /* Non-Whitelisted Destination (trial account) */
	case 33:    /* Number De-activated */
		return OTP_FAIL_DESTINATION;
	default:    /* 2, 3, 8, 9, 11, 12, 15, 22, 23, 32, ... */
		return OTP_FAIL_PROVIDER;
	}
}

/* A status is a string of digits ("0"); numbers are accepted too. */
static const char *
status_of(struct json_object *m)
{
	const char *st = otp_json_path_str(m, "status");

	if (st == NULL || st[0] == '\0' || strspn(st, "0123456789") != strlen(st))
		return NULL;
	return st;
}

/* Judge the answer body; 0 when every part was accepted. */
static int
vonage_judge(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	struct json_object *msgs = j ? otp_json_path(j, "messages") : NULL;
	const char *count = j ? otp_json_path_str(j, "message-count") : NULL;
	char *end = NULL;
	size_t n;
	long want;
	int rc = -1;

	if (msgs == NULL || !json_object_is_type(msgs, json_type_array) || count == NULL) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "answer without message-count and messages[]");
		goto out;
	}
	n = json_object_array_length(msgs);
	want = strtol(count, &end, 10);
	if (n == 0 || end == count || *end != '\0' || want != (long)n) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "message-count %.12s does not match %zu messages",
			      count, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(msgs, i);
		const char *st = json_object_is_type(m, json_type_object) ? status_of(m) : NULL;
		char why[96];
		if (st == NULL) {
			otp_send_fail(res, OTP_FAIL_PROTOCOL, "message %zu has no status", i + 1);
			goto out;
		}
		if (strcmp(st, "0") == 0)
			continue;
		otp_send_set_provider_code(res, st);
		otp_provider_text(otp_json_path_str(m, "error-text"), why, sizeof(why));
		otp_send_fail(res, vonage_class(st), "Vonage status %s (%s)%s", res->provider_code,
			      why[0] ? why : "no error-text", n > 1 ? " in a multi-part message" : "");
		goto out;
	}
	rc = 0;
out:
	otp_json_put_wiped(j);
	return rc;
}

/* Non-2xx: keep the HTTP class; name the problem type if Vonage sent one. */
static void
vonage_http_error(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	const char *type = j ? otp_json_path_str(j, "type") : NULL;
	const char *hash = type ? strrchr(type, '#') : NULL;

	if (hash != NULL && hash[1] != '\0')
		otp_send_set_provider_code(res, hash + 1);
	otp_send_fail(res, res->fail, "HTTP %ld", resp->status);
	otp_json_put_wiped(j);
}

static int
vonage_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	    struct otp_send_result *res)
{
	struct vonage *v = ctx;
	const struct otp_template *tpl = otp_template_find(&v->templates, msg->usage);
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf form;
	char to[16], *text = NULL;
	int rc = -1;

	otp_buf_init(&form, 64 * 1024);
	otp_buf_init(&resp.body, 1);
	if (tpl == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type and no \"Generic\" template");
		goto out;
	}
	if (otp_sms_msisdn(msg->to, to, sizeof(to)) != 0) {
		otp_send_fail(res, OTP_FAIL_DESTINATION, "destination is not an E.164 number");
		goto out;
	}
	text = otp_template_render_str(otp_template_get(&v->templates, tpl, "content"), msg->vars,
				       OTP_ESCAPE_TEXT);
	if (text == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if (otp_form_add(&form, "from", v->brand) != 0 ||
	    otp_form_add(&form, "to", to) != 0 ||
	    otp_form_add(&form, "text", text) != 0 ||
	    (!otp_sms_is_gsm7(text) && otp_form_add(&form, "type", "unicode") != 0)) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "request body too large");
		goto out;
	}
	req.url = v->url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	req.basic_user = v->api_key;
	req.basic_pass = v->api_secret;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail != OTP_FAIL_NONE) {
		vonage_http_error(&resp, res);
		goto out;
	}
	if (resp.status != 200) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "HTTP %ld; Vonage answers 200", resp.status);
		goto out;
	}
	rc = vonage_judge(&resp, res);
out:
	otp_http_response_free(&resp);
	otp_buf_free(&form);
	otp_free_secret(text);
	otp_wipe(to, sizeof(to));
	return rc;
}

static void
vonage_cleanup(void *ctx)
{
	struct vonage *v = ctx;

	free(v->url);
	free(v->api_key);
	otp_free_secret(v->api_secret);
	free(v->brand);
	otp_template_list_free(&v->templates);
}

static char *
vonage_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct vonage *v = ctx;

	return otp_template_preview(&v->templates, usage, "content", vars, OTP_ESCAPE_TEXT);
}

static int
vonage_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "apiKey", "apiSecret", "brandName", "templates", NULL };

	return otp_logto_print_block(out, "vonage-sms", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_vonage_sms = {
	.id = "vonage-sms",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct vonage),
	.configure = vonage_configure,
	.send = vonage_send,
	.cleanup = vonage_cleanup,
	.preview = vonage_preview,
	.import_logto = vonage_import,
};
