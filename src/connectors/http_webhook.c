/*
 * http_webhook.c - Logto's generic HTTP connectors, `http-sms` and
 * `http-email`: POST JSON {to, type, payload: {code}, ip?} to the
 * configured endpoint with an optional verbatim Authorization header.
 * The receiver renders the text.  Any 2xx is success.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"

struct webhook {
	char *endpoint;
	char *authorization;   /* secret: sent verbatim, never logged */
};

static int
webhook_configure(void *ctx, struct otp_settings *s)
{
	struct webhook *w = ctx;

	otp_settings_endpoint(s, "endpoint", NULL, &w->endpoint);
	otp_settings_secret(s, "authorization", false, &w->authorization);
	return otp_settings_failed(s) ? -1 : 0;
}

static int
webhook_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	     struct otp_send_result *res)
{
	struct webhook *w = ctx;
	struct json_object *root = json_object_new_object(), *payload = json_object_new_object();
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf auth;
	const char *headers[2] = { NULL, NULL };
	char *body = NULL;
	int rc = -1;

	otp_buf_init(&auth, 8192);
	otp_buf_init(&resp.body, 1);
	if (root == NULL || payload == NULL ||
	    otp_json_add_str(root, "to", msg->to) != 0 ||
	    otp_json_add_str(root, "type", msg->usage) != 0 ||
	    otp_json_add_str(payload, "code", msg->code) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	if (otp_json_add_obj(root, "payload", payload) != 0) {
		payload = NULL;
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	payload = NULL;
	if (msg->client_ip != NULL && otp_json_add_str(root, "ip", msg->client_ip) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	if ((body = otp_json_serialize(root)) == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	if (w->authorization != NULL) {
		if (otp_buf_printf(&auth, "Authorization: %s", w->authorization) != 0) {
			otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
			goto out;
		}
		headers[0] = auth.data;
	}
	req.url = w->endpoint;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.headers = headers;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail != OTP_FAIL_NONE)
		goto out;
	rc = 0;
out:
	otp_http_response_free(&resp);
	otp_buf_free(&auth);
	otp_free_secret(body);
	otp_json_put_wiped(payload);
	otp_json_put_wiped(root);
	return rc;
}

static void
webhook_cleanup(void *ctx)
{
	struct webhook *w = ctx;

	free(w->endpoint);
	otp_free_secret(w->authorization);
}

static int
webhook_import(struct json_object *logto, FILE *out, const char *id, char *why, size_t whylen)
{
	static const char *const keys[] = { "endpoint", "authorization", NULL };

	return otp_logto_print_block(out, id, logto, keys, why, whylen);
}

static int
webhook_import_sms(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	return webhook_import(logto, out, "http-sms", why, whylen);
}

static int
webhook_import_email(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	return webhook_import(logto, out, "http-email", why, whylen);
}

const struct otp_connector otp_connector_http_sms = {
	.id = "http-sms",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct webhook),
	.configure = webhook_configure,
	.send = webhook_send,
	.cleanup = webhook_cleanup,
	.import_logto = webhook_import_sms,
};

const struct otp_connector otp_connector_http_email = {
	.id = "http-email",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct webhook),
	.configure = webhook_configure,
	.send = webhook_send,
	.cleanup = webhook_cleanup,
	.import_logto = webhook_import_email,
};
