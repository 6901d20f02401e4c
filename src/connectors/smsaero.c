/*
 * smsaero.c - SMS Aero API v2 (`smsaero`).
 *
 * POST {endpoint}/v2/sms/send, HTTP Basic email:apiKey, JSON
 * {"number": <international digits>, "sign": senderName, "text": ...}.
 * The envelope {success, data, message} is the only reliable signal (the
 * HTTP status is not): success needs a 2xx AND "success": true.  Failures
 * have no error code, only a human-readable `message` (summarised, digits
 * masked, into the detail); the legacy shapes {"result": "reject",
 * "reason": ...} and {"result": "no credits"} are recognised too.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sms_length.h"

#define SMSAERO_DEFAULT_ENDPOINT "https://gate.smsaero.ru"

struct smsaero {
	char *url;                  /* {endpoint}/v2/sms/send */
	char *email;
	char *api_key;              /* secret */
	char *sign;                 /* senderName */
	struct otp_template_list templates;
};

static const struct otp_template_field smsaero_fields[] = {
	{ .name = "content", .required = true, .needs_code = true, .is_template = true },
	{ .name = NULL },
};

/* Logto's guard is z.string().email(): one '@', something on both sides, a dot after it. */
static bool
email_plausible(const char *e)
{
	const char *at = strchr(e, '@');

	return at != NULL && at != e && strchr(at + 1, '@') == NULL && at[1] != '\0' &&
	       strchr(at + 1, '.') != NULL && strpbrk(e, " ,;:<>()[]\\\"") == NULL;
}

static int
smsaero_configure(void *ctx, struct otp_settings *s)
{
	struct smsaero *a = ctx;
	char *base = NULL;
	size_t bl;

	otp_settings_endpoint(s, "endpoint", SMSAERO_DEFAULT_ENDPOINT, &base);
	if (otp_settings_string(s, "email", true, NULL, &a->email) == 0 && !email_plausible(a->email))
		otp_settings_fail(s, "email", "must be the account e-mail address (user@example.com)");
	otp_settings_secret(s, "apiKey", true, &a->api_key);
	otp_settings_string(s, "senderName", true, NULL, &a->sign);
	if (otp_template_list_parse(s, "templates", smsaero_fields, true, &a->templates) == 0 &&
	    otp_template_find(&a->templates, "Generic") == NULL)
		otp_settings_warn(s, "templates", "no \"Generic\" template: usage types without "
				  "their own template cannot be sent");
	if (base != NULL) {
		/* The official SDKs take the gate with or without its "/v2". */
		bl = strlen(base);
		if (bl >= 3 && strcmp(base + bl - 3, "/v2") == 0)
			a->url = otp_url_join(base, "/sms/send");
		else
			a->url = otp_url_join(base, "/v2/sms/send");
		if (a->url == NULL)
			otp_settings_fail(s, "endpoint", "out of memory");
	}
	free(base);
	return otp_settings_failed(s) ? -1 : 0;
}

/* Failure from a parsed envelope (j may be NULL); http_cls from the status. */
static void
smsaero_failure(struct json_object *j, const struct otp_http_response *resp,
		struct otp_send_result *res, enum otp_fail_class http_cls)
{
	struct json_object *succ = j ? otp_json_path(j, "success") : NULL;
	const char *result = j ? otp_json_path_str(j, "result") : NULL;
	const char *text = NULL;
	enum otp_fail_class cls;
	char why[120];

	if (result != NULL) {
		/* Legacy envelope: "reject" (with a reason) or "no credits". */
		otp_send_set_provider_code(res, result);
		text = otp_json_path_str(j, "reason");
		cls = http_cls == OTP_FAIL_NONE || http_cls == OTP_FAIL_HTTP_4XX ? OTP_FAIL_PROVIDER : http_cls;
	} else if (succ != NULL && json_object_is_type(succ, json_type_boolean) &&
		   !json_object_get_boolean(succ)) {
		otp_send_set_provider_code(res, "success=false");
		text = otp_json_path_str(j, "message");
		cls = http_cls == OTP_FAIL_NONE || http_cls == OTP_FAIL_HTTP_4XX ? OTP_FAIL_PROVIDER : http_cls;
	} else if (http_cls != OTP_FAIL_NONE) {
		cls = http_cls;
	} else {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "HTTP %ld without a success:true envelope",
			      resp->status);
		return;
	}
	otp_provider_text(text, why, sizeof(why));
	otp_send_fail(res, cls, "SMS Aero: %s (HTTP %ld)", why[0] ? why : "no message", resp->status);
}

static int
smsaero_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	     struct otp_send_result *res)
{
	struct smsaero *a = ctx;
	const struct otp_template *tpl = otp_template_find(&a->templates, msg->usage);
	struct json_object *root = json_object_new_object(), *j = NULL, *succ;
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	enum otp_fail_class http_cls;
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
	text = otp_template_render_str(otp_template_get(&a->templates, tpl, "content"), msg->vars,
				       OTP_ESCAPE_TEXT);
	if (text == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	/* The official SDKs send the number as a JSON number; 15 digits fit. */
	if (otp_json_add_int(root, "number", strtoll(digits, NULL, 10)) != 0 ||
	    otp_json_add_str(root, "sign", a->sign) != 0 ||
	    otp_json_add_str(root, "text", text) != 0 ||
	    (body = otp_json_serialize(root)) == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	req.url = a->url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.basic_user = a->email;
	req.basic_pass = a->api_key;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	http_cls = res->fail;
	j = otp_json_parse(resp.body.data, resp.body.len);
	succ = j ? otp_json_path(j, "success") : NULL;
	if (http_cls == OTP_FAIL_NONE && succ != NULL &&
	    json_object_is_type(succ, json_type_boolean) && json_object_get_boolean(succ)) {
		rc = 0;
		goto out;
	}
	smsaero_failure(j, &resp, res, http_cls);
out:
	otp_json_put_wiped(j);
	otp_http_response_free(&resp);
	otp_free_secret(body);
	otp_free_secret(text);
	otp_json_put_wiped(root);
	otp_wipe(digits, sizeof(digits));
	return rc;
}

static void
smsaero_cleanup(void *ctx)
{
	struct smsaero *a = ctx;

	free(a->url);
	free(a->email);
	otp_free_secret(a->api_key);
	free(a->sign);
	otp_template_list_free(&a->templates);
}

static char *
smsaero_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct smsaero *a = ctx;

	return otp_template_preview(&a->templates, usage, "content", vars, OTP_ESCAPE_TEXT);
}

static int
smsaero_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "email", "apiKey", "senderName", "templates", NULL };

	return otp_logto_print_block(out, "smsaero", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_smsaero = {
	.id = "smsaero",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct smsaero),
	.configure = smsaero_configure,
	.send = smsaero_send,
	.cleanup = smsaero_cleanup,
	.preview = smsaero_preview,
	.import_logto = smsaero_import,
};
