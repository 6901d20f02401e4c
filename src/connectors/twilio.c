/*
 * twilio.c - Twilio Programmable Messaging (`twilio-sms`).
 *
 * POST {endpoint}/2010-04-01/Accounts/{accountSID}/Messages.json, HTTP
 * Basic accountSID:authToken, form fields To, MessagingServiceSid (or From
 * when fromMessagingServiceSID holds a plain E.164 number), Body and
 * RiskCheck.  Only "201 Created" with a Message resource is success; an
 * error answer carries {code, message, more_info, status} and the Twilio
 * error code decides the failure class.
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
#include "../validate.h"

#define TWILIO_DEFAULT_ENDPOINT "https://api.twilio.com"

struct twilio {
	char *url;                  /* full Messages.json URL */
	char *account_sid;
	char *auth_token;           /* secret */
	char *sender;               /* MG... service SID, or an E.164 number */
	bool use_from;              /* sender is a number: send From, not MessagingServiceSid */
	bool disable_risk_check;
	struct otp_template_list templates;
};

static const struct otp_template_field twilio_fields[] = {
	{ .name = "content", .required = true, .needs_code = true, .is_template = true },
	{ .name = NULL },
};

/* prefix followed by exactly 32 hex digits (Twilio SID patterns). */
static bool
is_sid(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (s == NULL || strncmp(s, prefix, pl) != 0)
		return false;
	return strlen(s + pl) == 32 && strspn(s + pl, "0123456789abcdefABCDEF") == 32;
}

static int
twilio_configure(void *ctx, struct otp_settings *s)
{
	struct twilio *t = ctx;
	char *base = NULL;
	struct otp_buf url;

	otp_settings_endpoint(s, "endpoint", TWILIO_DEFAULT_ENDPOINT, &base);
	if (otp_settings_string(s, "accountSID", true, NULL, &t->account_sid) == 0 &&
	    !is_sid(t->account_sid, "AC"))
		otp_settings_fail(s, "accountSID", "must be \"AC\" followed by 32 hex digits");
	otp_settings_secret(s, "authToken", true, &t->auth_token);
	if (otp_settings_string(s, "fromMessagingServiceSID", true, NULL, &t->sender) == 0) {
		if (otp_valid_e164(t->sender))
			t->use_from = true;
		else if (!is_sid(t->sender, "MG"))
			otp_settings_fail(s, "fromMessagingServiceSID",
					  "must be a Messaging Service SID (\"MG\" + 32 hex digits) "
					  "or a sender number in E.164 form (+15551234567)");
	}
	otp_settings_bool(s, "disableRiskCheck", false, &t->disable_risk_check);
	if (otp_template_list_parse(s, "templates", twilio_fields, true, &t->templates) == 0 &&
	    otp_template_find(&t->templates, "Generic") == NULL)
		otp_settings_warn(s, "templates", "no \"Generic\" template: usage types without "
				  "their own template cannot be sent");
	if (!otp_settings_failed(s) && base != NULL && t->account_sid != NULL) {
		otp_buf_init(&url, 4096);
		if (otp_buf_printf(&url, "%s/2010-04-01/Accounts/%s/Messages.json", base,
				   t->account_sid) != 0)
			otp_settings_fail(s, "endpoint", "URL too long");
		t->url = otp_buf_steal(&url);
	}
	free(base);
	return otp_settings_failed(s) ? -1 : 0;
}

/* Twilio error code -> failure class; http_cls is what the status said. */
static enum otp_fail_class
twilio_class(long code, enum otp_fail_class http_cls)
{
	/* A body never turns a redirect (or anything odd) into another class. */
	if (http_cls != OTP_FAIL_AUTH && http_cls != OTP_FAIL_RATE_LIMIT &&
	    http_cls != OTP_FAIL_HTTP_4XX && http_cls != OTP_FAIL_HTTP_5XX)
		return http_cls;
	switch (code) {
	case 20003:         /* authentication failed */
		return OTP_FAIL_AUTH;
	case 20429:         /* too many requests */
		return OTP_FAIL_RATE_LIMIT;
	case 21211:         /* invalid 'To' number */
	case 21408:         /* permission to send to this region not enabled */
	case 21610:         /* recipient replied STOP (unsubscribed) */
	case 21614:         /* 'To' is not a mobile number */
		return OTP_FAIL_DESTINATION;
	default:
		break;
	}
	/* Any other coded 4xx is Twilio refusing this message. */
	if (http_cls == OTP_FAIL_HTTP_4XX && code != 0)
		return OTP_FAIL_PROVIDER;
	return http_cls;
}

static void
twilio_error(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	struct json_object *c = j ? otp_json_path(j, "code") : NULL;
	enum otp_fail_class http_cls = res->fail;
	long code = 0;

	if (c != NULL && json_object_is_type(c, json_type_int))
		code = (long)json_object_get_int64(c);
	if (code != 0) {
		char num[24];
		snprintf(num, sizeof(num), "%ld", code);
		otp_send_set_provider_code(res, num);
		/* The message text may quote the number: only the code is kept. */
		otp_send_fail(res, twilio_class(code, http_cls), "Twilio error %ld (HTTP %ld)",
			      code, resp->status);
	} else
		otp_send_fail(res, http_cls, "HTTP %ld without a Twilio error code", resp->status);
	otp_json_put_wiped(j);
}

static int
twilio_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	    struct otp_send_result *res)
{
	struct twilio *t = ctx;
	const struct otp_template *tpl = otp_template_find(&t->templates, msg->usage);
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct json_object *j = NULL;
	struct otp_buf form;
	char *text = NULL;
	const char *sid;
	int rc = -1;

	otp_buf_init(&form, 64 * 1024);
	otp_buf_init(&resp.body, 1);
	if (tpl == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type and no \"Generic\" template");
		goto out;
	}
	if (!otp_valid_e164(msg->to)) {
		otp_send_fail(res, OTP_FAIL_DESTINATION, "destination is not an E.164 number");
		goto out;
	}
	text = otp_template_render_str(otp_template_get(&t->templates, tpl, "content"), msg->vars,
				       OTP_ESCAPE_TEXT);
	if (text == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if (otp_form_add(&form, "To", msg->to) != 0 ||
	    otp_form_add(&form, t->use_from ? "From" : "MessagingServiceSid", t->sender) != 0 ||
	    otp_form_add(&form, "Body", text) != 0 ||
	    otp_form_add(&form, "RiskCheck", t->disable_risk_check ? "disable" : "enable") != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "request body too large");
		goto out;
	}
	req.url = t->url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	req.basic_user = t->account_sid;
	req.basic_pass = t->auth_token;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail != OTP_FAIL_NONE) {
		twilio_error(&resp, res);
		goto out;
	}
	if (resp.status != 201) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "HTTP %ld; Twilio answers 201 Created", resp.status);
		goto out;
	}
	/* 201 must carry the created Message resource. */
	j = otp_json_parse(resp.body.data, resp.body.len);
	sid = j ? otp_json_path_str(j, "sid") : NULL;
	if (sid == NULL || !(is_sid(sid, "SM") || is_sid(sid, "MM"))) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "201 without a Message sid");
		goto out;
	}
	rc = 0;
out:
	otp_json_put_wiped(j);
	otp_http_response_free(&resp);
	otp_buf_free(&form);
	otp_free_secret(text);
	return rc;
}

static void
twilio_cleanup(void *ctx)
{
	struct twilio *t = ctx;

	free(t->url);
	free(t->account_sid);
	otp_free_secret(t->auth_token);
	free(t->sender);
	otp_template_list_free(&t->templates);
}

static char *
twilio_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct twilio *t = ctx;

	return otp_template_preview(&t->templates, usage, "content", vars, OTP_ESCAPE_TEXT);
}

static int
twilio_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = {
		"accountSID", "authToken", "fromMessagingServiceSID", "disableRiskCheck",
		"templates", NULL
	};

	return otp_logto_print_block(out, "twilio-sms", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_twilio_sms = {
	.id = "twilio-sms",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct twilio),
	.configure = twilio_configure,
	.send = twilio_send,
	.cleanup = twilio_cleanup,
	.preview = twilio_preview,
	.import_logto = twilio_import,
};
