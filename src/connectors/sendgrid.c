/*
 * sendgrid.c - Twilio SendGrid v3 Mail Send (`sendgrid-email`), Logto's
 * connector-sendgrid-email settings: apiKey, fromEmail, fromName?,
 * templates { usageType; type = "text/plain"|"text/html"; subject; content; }.
 *
 * POST {endpoint}/v3/mail/send (default https://api.sendgrid.com; EU
 * subusers https://api.eu.sendgrid.com), Authorization: Bearer <apiKey>,
 * JSON { personalizations: [{ to: [{ email }] }], from: { email, name? },
 * subject, content: [{ type, value }] }.  Success is HTTP 202 only (200
 * means sandbox mode: validated, not sent).  Errors: { errors: [{ message,
 * field, help }] } with 400/401/403/406/413/429/451/5xx.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"

struct sendgrid {
	char *endpoint;
	char *api_key;
	char *from_email;
	char *from_name;
	struct otp_template_list templates;
};

enum { F_TYPE, F_SUBJECT, F_CONTENT };

static const struct otp_template_field sendgrid_fields[] = {
	[F_TYPE] = { "type", true, false, false, false },
	[F_SUBJECT] = { "subject", true, false, true, false },
	[F_CONTENT] = { "content", true, true, true, true },
	{ NULL, false, false, false, false },
};

static int
sendgrid_configure(void *ctx, struct otp_settings *s)
{
	struct sendgrid *g = ctx;

	if (otp_settings_endpoint(s, "endpoint", "https://api.sendgrid.com", &g->endpoint) == 0 &&
	    g->endpoint != NULL && strchr(g->endpoint, '?') != NULL)
		otp_settings_fail(s, "endpoint", "URL must not have a ?query");
	otp_settings_secret(s, "apiKey", true, &g->api_key);
	if (otp_settings_string(s, "fromEmail", true, NULL, &g->from_email) == 0 &&
	    (strchr(g->from_email, '@') == NULL || strpbrk(g->from_email, " <>") != NULL))
		otp_settings_fail(s, "fromEmail", "must be a bare address (put the name in fromName)");
	otp_settings_string(s, "fromName", false, NULL, &g->from_name);
	if (otp_template_list_parse(s, "templates", sendgrid_fields, true, &g->templates) == 0) {
		for (size_t i = 0; i < g->templates.count; i++) {
			const char *t = g->templates.items[i].value[F_TYPE];
			if (t != NULL && strcmp(t, "text/plain") != 0 && strcmp(t, "text/html") != 0)
				otp_settings_fail(s, "templates", "type of \"%s\" must be \"text/plain\" or \"text/html\"",
						  g->templates.items[i].usage);
		}
	}
	return otp_settings_failed(s) ? -1 : 0;
}

static struct json_object *
email_obj(const char *email, const char *name)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (otp_json_add_str(o, "email", email) != 0 || otp_json_add_str(o, "name", name) != 0) {
		otp_json_put_wiped(o);
		return NULL;
	}
	return o;
}

/* Append child to array arr; child released on failure.  0/-1. */
static int
array_add(struct json_object *arr, struct json_object *child)
{
	if (child == NULL)
		return -1;
	if (json_object_array_add(arr, child) != 0) {
		otp_json_put_wiped(child);
		return -1;
	}
	return 0;
}

static char *
sendgrid_body(const struct sendgrid *g, const struct otp_message *msg, const char *subject,
	      const char *type, const char *value)
{
	struct json_object *root = json_object_new_object(), *pers = json_object_new_array(),
		*p0 = json_object_new_object(), *to = json_object_new_array(),
		*content = json_object_new_array(), *c0 = json_object_new_object();
	char *out = NULL;

	if (root == NULL || pers == NULL || p0 == NULL || to == NULL || content == NULL || c0 == NULL)
		goto out;
	if (array_add(to, email_obj(msg->to, NULL)) != 0)
		goto out;
	if (otp_json_add_obj(p0, "to", to) != 0) {
		to = NULL;
		goto out;
	}
	to = NULL;
	if (array_add(pers, p0) != 0) {
		p0 = NULL;
		goto out;
	}
	p0 = NULL;
	if (otp_json_add_obj(root, "personalizations", pers) != 0) {
		pers = NULL;
		goto out;
	}
	pers = NULL;
	if (otp_json_add_obj(root, "from", email_obj(g->from_email, g->from_name)) != 0 ||
	    otp_json_add_str(root, "subject", subject) != 0 ||
	    otp_json_add_str(c0, "type", type) != 0 || otp_json_add_str(c0, "value", value) != 0)
		goto out;
	if (array_add(content, c0) != 0) {
		c0 = NULL;
		goto out;
	}
	c0 = NULL;
	if (otp_json_add_obj(root, "content", content) != 0) {
		content = NULL;
		goto out;
	}
	content = NULL;
	out = otp_json_serialize(root);
out:
	otp_json_put_wiped(c0);
	otp_json_put_wiped(content);
	otp_json_put_wiped(to);
	otp_json_put_wiped(p0);
	otp_json_put_wiped(pers);
	otp_json_put_wiped(root);
	return out;
}

static int
sendgrid_failure(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *ans = otp_json_parse(resp->body.data, resp->body.len);
	struct json_object *errs = ans ? otp_json_path(ans, "errors") : NULL;
	struct json_object *e0 = NULL;
	const char *text = NULL, *field = NULL;
	size_t n = 0;
	char prefix[96];

	if (errs != NULL && json_object_is_type(errs, json_type_array) &&
	    (n = json_object_array_length(errs)) > 0) {
		e0 = json_object_array_get_idx(errs, 0);
		text = otp_json_path_str(e0, "message");
		field = otp_json_path_str(e0, "field");
	}
	switch (resp->status) {
	case 400:
	case 413:
		/* personalizations.0.to.0.email: the recipient was refused */
		if (field != NULL && strncmp(field, "personalizations", 16) == 0 && strstr(field, ".to") != NULL)
			res->fail = OTP_FAIL_DESTINATION;
		else
			res->fail = OTP_FAIL_PROVIDER;
		break;
	case 406:
		res->fail = OTP_FAIL_PROTOCOL;
		break;
	case 451:
		res->fail = OTP_FAIL_CONFIG;   /* data residency: wrong regional endpoint */
		break;
	default:
		break;
	}
	otp_send_set_provider_code(res, field);
	if (n > 1)
		snprintf(prefix, sizeof(prefix), "SendGrid HTTP %ld, %zu errors, first", resp->status, n);
	else
		snprintf(prefix, sizeof(prefix), "SendGrid HTTP %ld", resp->status);
	otp_send_detail(res, prefix, text);
	if (ans != NULL)
		json_object_put(ans);
	return -1;
}

static int
sendgrid_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	      struct otp_send_result *res)
{
	struct sendgrid *g = ctx;
	const struct otp_template *t = otp_template_find(&g->templates, msg->usage);
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf auth;
	const char *headers[3] = { NULL, NULL, NULL };
	char *subject = NULL, *value = NULL, *body = NULL, *url = NULL;
	const char *type;
	int rc = -1;

	otp_buf_init(&auth, 8192);
	otp_buf_init(&resp.body, 1);
	if (t == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %.40s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	type = otp_template_get(&g->templates, t, "type");
	subject = otp_template_render_str(otp_template_get(&g->templates, t, "subject"), msg->vars,
					  OTP_ESCAPE_HEADER);
	value = otp_template_render_str(otp_template_get(&g->templates, t, "content"), msg->vars,
					strcmp(type, "text/html") == 0 ? OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
	if (subject == NULL || value == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if ((body = sendgrid_body(g, msg, subject, type, value)) == NULL ||
	    (url = otp_url_join(g->endpoint, "/v3/mail/send")) == NULL ||
	    otp_buf_printf(&auth, "Authorization: Bearer %s", g->api_key) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	headers[0] = auth.data;
	headers[1] = "Accept: application/json";
	req.url = url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.headers = headers;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail != OTP_FAIL_NONE) {
		if (res->fail != OTP_FAIL_REDIRECT)
			sendgrid_failure(&resp, res);
		goto out;
	}
	if (resp.status != 202) {
		otp_send_fail(res, OTP_FAIL_PROVIDER, "SendGrid answered HTTP %ld, not 202%s", resp.status,
			      resp.status == 200 ? " (sandbox mode: nothing was sent)" : "");
		goto out;
	}
	rc = 0;
out:
	otp_http_response_free(&resp);
	otp_buf_free(&auth);
	free(url);
	otp_free_secret(body);
	otp_free_secret(value);
	otp_free_secret(subject);
	return rc;
}

static void
sendgrid_cleanup(void *ctx)
{
	struct sendgrid *g = ctx;

	free(g->endpoint);
	otp_free_secret(g->api_key);
	free(g->from_email);
	free(g->from_name);
	otp_template_list_free(&g->templates);
}

static char *
sendgrid_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct sendgrid *g = ctx;
	const struct otp_template *t = otp_template_find(&g->templates, usage);
	const char *type;

	if (t == NULL)
		return NULL;
	type = otp_template_get(&g->templates, t, "type");
	return otp_template_render_str(otp_template_get(&g->templates, t, "content"), vars,
				       strcmp(type, "text/html") == 0 ? OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
}

static int
sendgrid_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "apiKey", "fromEmail", "fromName", "templates", "endpoint", NULL };

	return otp_logto_print_block(out, "sendgrid-email", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_sendgrid_email = {
	.id = "sendgrid-email",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct sendgrid),
	.configure = sendgrid_configure,
	.send = sendgrid_send,
	.cleanup = sendgrid_cleanup,
	.preview = sendgrid_preview,
	.import_logto = sendgrid_import,
};
