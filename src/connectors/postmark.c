/*
 * postmark.c - Postmark e-mail API (`postmark`), Logto's connector-postmark
 * settings: serverToken, fromEmail, templates.
 *
 * Headers X-Postmark-Server-Token, Accept/Content-Type application/json.
 * A template entry is either { usageType; templateAlias; } — POST
 * {endpoint}/email/withTemplate { From, To, TemplateAlias, TemplateModel:
 * { code } }, the text lives at Postmark (what Logto does) — or
 * { usageType; subject; content; contentType?; } — POST {endpoint}/email
 * { From, To, Subject, HtmlBody|TextBody } rendered here.  Default endpoint
 * https://api.postmarkapp.com.  Success is HTTP 200 AND ErrorCode == 0.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"

struct postmark {
	char *endpoint;
	char *token;            /* serverToken */
	char *from;             /* fromEmail */
	struct otp_template_list templates;
};

enum { F_ALIAS, F_SUBJECT, F_CONTENT, F_CONTENT_TYPE };

static const struct otp_template_field postmark_fields[] = {
	[F_ALIAS] = { "templateAlias", false, false, false, false },
	[F_SUBJECT] = { "subject", false, false, true, false },
	[F_CONTENT] = { "content", false, true, true, true },
	[F_CONTENT_TYPE] = { "contentType", false, false, false, false },
	{ NULL, false, false, false, false },
};

static bool
is_html(const char *content_type)
{
	return content_type == NULL || strcmp(content_type, "text/html") == 0;
}

static int
postmark_configure(void *ctx, struct otp_settings *s)
{
	struct postmark *p = ctx;

	if (otp_settings_endpoint(s, "endpoint", "https://api.postmarkapp.com", &p->endpoint) == 0 &&
	    p->endpoint != NULL && strchr(p->endpoint, '?') != NULL)
		otp_settings_fail(s, "endpoint", "URL must not have a ?query");
	otp_settings_secret(s, "serverToken", true, &p->token);
	if (otp_settings_string(s, "fromEmail", true, NULL, &p->from) == 0 && strchr(p->from, '@') == NULL)
		otp_settings_fail(s, "fromEmail", "must be an e-mail address (\"Name <a@b>\" allowed)");
	if (otp_template_list_parse(s, "templates", postmark_fields, true, &p->templates) != 0)
		return -1;
	for (size_t i = 0; i < p->templates.count; i++) {
		const struct otp_template *t = &p->templates.items[i];
		const char *ct = t->value[F_CONTENT_TYPE];
		if (t->value[F_ALIAS] != NULL) {
			if (t->value[F_SUBJECT] || t->value[F_CONTENT] || ct)
				otp_settings_fail(s, "templates", "template \"%s\": templateAlias (text at Postmark) "
						  "excludes subject/content/contentType", t->usage);
		} else if (t->value[F_SUBJECT] == NULL || t->value[F_CONTENT] == NULL) {
			otp_settings_fail(s, "templates", "template \"%s\" needs templateAlias, or subject and content",
					  t->usage);
		}
		if (ct != NULL && strcmp(ct, "text/html") != 0 && strcmp(ct, "text/plain") != 0)
			otp_settings_fail(s, "templates", "contentType of \"%s\" must be \"text/html\" or \"text/plain\"",
					  t->usage);
	}
	return otp_settings_failed(s) ? -1 : 0;
}

/* Postmark API error codes (postmarkapp.com/developer/api/overview). */
static enum otp_fail_class
errorcode_class(long code, enum otp_fail_class dflt)
{
	switch (code) {
	case 10:        /* bad or missing server token */
		return OTP_FAIL_AUTH;
	case 300:       /* invalid email request (bad To) */
	case 406:       /* inactive recipient (bounced/suppressed) */
		return OTP_FAIL_DESTINATION;
	case 429:       /* rate limit exceeded */
		return OTP_FAIL_RATE_LIMIT;
	case 400:       /* sender signature not found */
	case 401:       /* sender signature not confirmed */
		return OTP_FAIL_CONFIG;
	case 100:       /* maintenance */
		return OTP_FAIL_HTTP_5XX;
	case 402:       /* invalid JSON */
	case 409:       /* JSON required */
		return OTP_FAIL_PROTOCOL;
	default:
		return dflt;
	}
}

static char *
postmark_body(const struct postmark *p, const struct otp_template_list *l,
	      const struct otp_template *t, const struct otp_message *msg)
{
	struct json_object *root = json_object_new_object(), *model = NULL;
	char *subject = NULL, *text = NULL, *out = NULL;
	const char *alias = otp_template_get(l, t, "templateAlias");

	if (root == NULL || otp_json_add_str(root, "From", p->from) != 0 ||
	    otp_json_add_str(root, "To", msg->to) != 0)
		goto out;
	if (alias != NULL) {
		if ((model = json_object_new_object()) == NULL ||
		    otp_json_add_str(model, "code", msg->code) != 0 ||
		    otp_json_add_str(root, "TemplateAlias", alias) != 0)
			goto out;
		if (otp_json_add_obj(root, "TemplateModel", model) != 0) {
			model = NULL;
			goto out;
		}
		model = NULL;
	} else {
		bool html = is_html(otp_template_get(l, t, "contentType"));
		subject = otp_template_render_str(otp_template_get(l, t, "subject"), msg->vars,
						  OTP_ESCAPE_HEADER);
		text = otp_template_render_str(otp_template_get(l, t, "content"), msg->vars,
					       html ? OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
		if (subject == NULL || text == NULL ||
		    otp_json_add_str(root, "Subject", subject) != 0 ||
		    otp_json_add_str(root, html ? "HtmlBody" : "TextBody", text) != 0)
			goto out;
	}
	out = otp_json_serialize(root);
out:
	otp_json_put_wiped(model);
	otp_json_put_wiped(root);
	otp_free_secret(subject);
	otp_free_secret(text);
	return out;
}

/* ErrorCode of an answer: 0/-1 (absent or not an integer). */
static int
error_code(struct json_object *ans, long *code)
{
	struct json_object *v = ans ? otp_json_path(ans, "ErrorCode") : NULL;

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return -1;
	errno = 0;
	*code = (long)json_object_get_int64(v);
	return errno == 0 ? 0 : -1;
}

static int
postmark_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	      struct otp_send_result *res)
{
	struct postmark *p = ctx;
	const struct otp_template *t = otp_template_find(&p->templates, msg->usage);
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf tok;
	struct json_object *ans = NULL;
	const char *headers[3] = { NULL, NULL, NULL };
	char *body = NULL, *url = NULL, num[24], prefix[64];
	long code = -1;
	int rc = -1;

	otp_buf_init(&tok, 8192);
	otp_buf_init(&resp.body, 1);
	if (t == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %.40s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	if ((body = postmark_body(p, &p->templates, t, msg)) == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot build the request (template or memory)");
		goto out;
	}
	url = otp_url_join(p->endpoint, otp_template_get(&p->templates, t, "templateAlias") ?
			   "/email/withTemplate" : "/email");
	if (url == NULL || otp_buf_printf(&tok, "X-Postmark-Server-Token: %s", p->token) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	headers[0] = tok.data;
	headers[1] = "Accept: application/json";
	req.url = url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.headers = headers;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail == OTP_FAIL_REDIRECT)
		goto out;
	ans = otp_json_parse(resp.body.data, resp.body.len);
	if (error_code(ans, &code) == 0) {
		snprintf(num, sizeof(num), "%ld", code);
		if (code != 0)
			otp_send_set_provider_code(res, num);
	}
	if (res->fail == OTP_FAIL_NONE && resp.status == 200 && code == 0) {
		rc = 0;
		goto out;
	}
	if (code > 0) {
		/* 422 (or even 200) with a Postmark ErrorCode: that code decides */
		const char *text = otp_json_path_str(ans, "Message");
		res->fail = errorcode_class(code, res->fail == OTP_FAIL_NONE || res->fail == OTP_FAIL_HTTP_4XX ?
					    OTP_FAIL_PROVIDER : res->fail);
		/* 300 also covers a bad From address: that is our setting, not the recipient */
		if (code == 300 && text != NULL && strstr(text, "'From'") != NULL)
			res->fail = OTP_FAIL_CONFIG;
		snprintf(prefix, sizeof(prefix), "Postmark HTTP %ld ErrorCode %ld", resp.status, code);
		otp_send_detail(res, prefix, text);
	} else if (res->fail == OTP_FAIL_NONE) {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "Postmark answered HTTP %ld without ErrorCode 0",
			      resp.status);
	} else {
		snprintf(prefix, sizeof(prefix), "Postmark HTTP %ld", resp.status);
		otp_send_detail(res, prefix, ans ? otp_json_path_str(ans, "Message") : NULL);
	}
out:
	if (ans != NULL)
		json_object_put(ans);
	otp_http_response_free(&resp);
	otp_buf_free(&tok);
	free(url);
	otp_free_secret(body);
	return rc;
}

static void
postmark_cleanup(void *ctx)
{
	struct postmark *p = ctx;

	free(p->endpoint);
	otp_free_secret(p->token);
	free(p->from);
	otp_template_list_free(&p->templates);
}

static char *
postmark_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct postmark *p = ctx;
	const struct otp_template *t = otp_template_find(&p->templates, usage);

	if (t == NULL || otp_template_get(&p->templates, t, "templateAlias") != NULL)
		return NULL;
	return otp_template_render_str(otp_template_get(&p->templates, t, "content"), vars,
				       is_html(otp_template_get(&p->templates, t, "contentType")) ?
				       OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
}

static int
postmark_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "serverToken", "fromEmail", "templates", "endpoint", NULL };

	return otp_logto_print_block(out, "postmark", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_postmark = {
	.id = "postmark",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct postmark),
	.configure = postmark_configure,
	.send = postmark_send,
	.cleanup = postmark_cleanup,
	.preview = postmark_preview,
	.import_logto = postmark_import,
};
