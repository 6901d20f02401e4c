/*
 * gatewayapi.c - GatewayAPI REST `mtsms` (`gatewayapi-sms`).
 *
 * POST {endpoint}/rest/mtsms, HTTP Basic with the API token as user name
 * and an empty password, JSON {"sender", "message", "recipients":
 * [{"msisdn": <digits>}]} plus "encoding": "UCS2" when the text does not fit
 * GSM-7 (GatewayAPI's default encoding is GSM 03.38).  Success is HTTP 200
 * with a non-empty `ids` array.  Errors carry {"code": "0x02xx",
 * "incident_uuid", "message", "variables"}.
 *
 * Logto's `endpoint` for this connector is the FULL URL
 * (https://gatewayapi.com/rest/mtsms, EU https://gatewayapi.eu/rest/mtsms).
 * Both that and a base URL (https://gatewayapi.eu) are accepted: a URL
 * that already ends in /rest/mtsms is used as it is, otherwise the path is
 * appended.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sms_length.h"

#define GATEWAYAPI_DEFAULT_ENDPOINT "https://gatewayapi.com/rest/mtsms"
#define GATEWAYAPI_PATH "/rest/mtsms"

struct gatewayapi {
	char *url;                  /* .../rest/mtsms */
	char *token;                /* secret: Basic user name */
	char *sender;
	struct otp_template_list templates;
};

static const struct otp_template_field gatewayapi_fields[] = {
	{ .name = "content", .required = true, .needs_code = true, .is_template = true },
	{ .name = NULL },
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Up to 11 alphanumeric characters, or up to 15 digits. */
static bool
sender_plausible(const char *from)
{
	size_t n = strlen(from), digits = strspn(from, "0123456789");

	if (digits == n)
		return n >= 1 && n <= 15;
	return n <= 11;
}

static int
gatewayapi_configure(void *ctx, struct otp_settings *s)
{
	struct gatewayapi *g = ctx;
	char *base = NULL;

	otp_settings_endpoint(s, "endpoint", GATEWAYAPI_DEFAULT_ENDPOINT, &base);
	otp_settings_secret(s, "apiToken", true, &g->token);
	if (otp_settings_string(s, "sender", true, NULL, &g->sender) == 0 &&
	    !sender_plausible(g->sender))
		otp_settings_warn(s, "sender", "GatewayAPI accepts up to 11 alphanumeric characters "
				  "or up to 15 digits as sender");
	if (otp_template_list_parse(s, "templates", gatewayapi_fields, true, &g->templates) == 0 &&
	    otp_template_find(&g->templates, "Generic") == NULL)
		otp_settings_warn(s, "templates", "no \"Generic\" template: usage types without "
				  "their own template cannot be sent");
	if (base != NULL) {
		if (ends_with(base, "/mobile/single"))
			otp_settings_fail(s, "endpoint", "is the Mobile Messaging API; this connector "
					  "speaks REST mtsms (https://gatewayapi.com/rest/mtsms)");
		else if (ends_with(base, GATEWAYAPI_PATH))
			g->url = strdup(base);
		else
			g->url = otp_url_join(base, GATEWAYAPI_PATH);
		if (!otp_settings_failed(s) && g->url == NULL)
			otp_settings_fail(s, "endpoint", "out of memory");
	}
	free(base);
	return otp_settings_failed(s) ? -1 : 0;
}

/*
 * GatewayAPI "API Errors" codes whose HTTP status would give the wrong
 * class: 403 is also used for blacklisted numbers, forbidden destination
 * countries and an empty balance, which are not credential problems.
 */
static enum otp_fail_class
gatewayapi_class(const char *code, enum otp_fail_class http_cls)
{
	static const char *const destination[] = {
		"0x0214",   /* MSISDN temporarily blacklisted */
		"0x0215",   /* MSISDN blacklisted */
		"0x0217",   /* destination country not allowed */
		NULL
	};
	static const char *const provider[] = {
		"0x0216",   /* insufficient credit */
		"0x021D",   /* SMS not enabled on the account */
		NULL
	};

	/* A body never turns a redirect (or anything odd) into another class. */
	if (http_cls != OTP_FAIL_AUTH && http_cls != OTP_FAIL_RATE_LIMIT &&
	    http_cls != OTP_FAIL_HTTP_4XX && http_cls != OTP_FAIL_HTTP_5XX)
		return http_cls;
	for (int i = 0; destination[i]; i++)
		if (strcasecmp(code, destination[i]) == 0)
			return OTP_FAIL_DESTINATION;
	for (int i = 0; provider[i]; i++)
		if (strcasecmp(code, provider[i]) == 0)
			return OTP_FAIL_PROVIDER;
	/* 401/403 codes (bad token, IP not allowed, ...) stay auth; 5xx stays
	 * transient; any other coded 4xx (400, 422) is a refusal. */
	if (http_cls == OTP_FAIL_HTTP_4XX)
		return OTP_FAIL_PROVIDER;
	return http_cls;
}

static void
gatewayapi_error(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	const char *code = j ? otp_json_path_str(j, "code") : NULL;
	char why[112];

	/* `message` has %1-style holes for `variables` (which may name the
	 * MSISDN or an IP); only the template text is kept, digits masked. */
	otp_provider_text(j ? otp_json_path_str(j, "message") : NULL, why, sizeof(why));
	if (code != NULL && code[0] != '\0') {
		otp_send_set_provider_code(res, code);
		otp_send_fail(res, gatewayapi_class(code, res->fail), "GatewayAPI %s: %s (HTTP %ld)",
			      res->provider_code, why[0] ? why : "no message", resp->status);
	} else
		otp_send_fail(res, res->fail, "GatewayAPI: %s (HTTP %ld)", why[0] ? why : "no message",
			      resp->status);
	otp_json_put_wiped(j);
}

static int
gatewayapi_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
		struct otp_send_result *res)
{
	struct gatewayapi *g = ctx;
	const struct otp_template *tpl = otp_template_find(&g->templates, msg->usage);
	struct json_object *root = json_object_new_object(), *recips = NULL, *r = NULL, *j = NULL, *ids;
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	char digits[16], *text = NULL, *body = NULL;
	int rc = -1;

	otp_buf_init(&resp.body, 1);
	if (root == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	if (tpl == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type and no \"Generic\" template");
		goto out;
	}
	if (otp_sms_msisdn(msg->to, digits, sizeof(digits)) != 0) {
		otp_send_fail(res, OTP_FAIL_DESTINATION, "destination is not an E.164 number");
		goto out;
	}
	text = otp_template_render_str(otp_template_get(&g->templates, tpl, "content"), msg->vars,
				       OTP_ESCAPE_TEXT);
	if (text == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if (otp_json_add_str(root, "sender", g->sender) != 0 ||
	    otp_json_add_str(root, "message", text) != 0 ||
	    (!otp_sms_is_gsm7(text) && otp_json_add_str(root, "encoding", "UCS2") != 0))
		goto nomem;
	if ((recips = json_object_new_array()) == NULL || (r = json_object_new_object()) == NULL ||
	    otp_json_add_int(r, "msisdn", strtoll(digits, NULL, 10)) != 0)
		goto nomem;
	if (json_object_array_add(recips, r) != 0)
		goto nomem;
	r = NULL;
	if (otp_json_add_obj(root, "recipients", recips) != 0) {
		recips = NULL;
		goto nomem;
	}
	recips = NULL;
	if ((body = otp_json_serialize(root)) == NULL)
		goto nomem;
	req.url = g->url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.basic_user = g->token;
	req.basic_pass = "";
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail != OTP_FAIL_NONE) {
		gatewayapi_error(&resp, res);
		goto out;
	}
	j = otp_json_parse(resp.body.data, resp.body.len);
	ids = j ? otp_json_path(j, "ids") : NULL;
	if (resp.status != 200 || ids == NULL || !json_object_is_type(ids, json_type_array) ||
	    json_object_array_length(ids) == 0) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "HTTP %ld without a non-empty ids array",
			      resp.status);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
out:
	otp_json_put_wiped(j);
	otp_http_response_free(&resp);
	otp_free_secret(body);
	otp_free_secret(text);
	otp_json_put_wiped(r);
	otp_json_put_wiped(recips);
	otp_json_put_wiped(root);
	otp_wipe(digits, sizeof(digits));
	return rc;
}

static void
gatewayapi_cleanup(void *ctx)
{
	struct gatewayapi *g = ctx;

	free(g->url);
	otp_free_secret(g->token);
	free(g->sender);
	otp_template_list_free(&g->templates);
}

static char *
gatewayapi_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct gatewayapi *g = ctx;

	return otp_template_preview(&g->templates, usage, "content", vars, OTP_ESCAPE_TEXT);
}

static int
gatewayapi_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "endpoint", "apiToken", "sender", "templates", NULL };

	return otp_logto_print_block(out, "gatewayapi-sms", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_gatewayapi_sms = {
	.id = "gatewayapi-sms",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct gatewayapi),
	.configure = gatewayapi_configure,
	.send = gatewayapi_send,
	.cleanup = gatewayapi_cleanup,
	.preview = gatewayapi_preview,
	.import_logto = gatewayapi_import,
};
