/*
 * mailgun.c - Mailgun Messages API (`mailgun`), Logto's connector-mailgun
 * settings: endpoint, domain, apiKey, from, deliveries.
 *
 * POST {endpoint}/v3/{domain}/messages (default https://api.mailgun.net,
 * EU https://api.eu.mailgun.net), HTTP Basic api:<apiKey>, form-urlencoded
 * from, to, subject, and either html/text rendered here or template +
 * h:X-Mailgun-Variables (JSON: the delivery's variables plus the code),
 * h:Reply-To.  `deliveries` is a group keyed by usage type:
 *
 *   deliveries = { SignIn = { subject = "..."; html = "...{{code}}..."; };
 *                  Generic = { template = "otp"; variables = { brand = "x"; }; }; };
 *
 * Lookup: the exact usage type, else Generic.  Success is HTTP 200 with an
 * `id`; errors are 400 {message}, 401 "Forbidden", 403, 404 (unknown
 * domain, usually the wrong US/EU endpoint), 429, 5xx.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../crypto.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"

#define MAILGUN_MAX_DELIVERIES 32

struct delivery {
	char *usage;
	char *subject;
	char *html;
	char *text;
	char *template;
	char *reply_to;
	struct json_object *variables;   /* JSON object, or NULL */
};

struct mailgun {
	char *endpoint;
	char *domain;
	char *api_key;
	char *from;
	size_t count;
	struct delivery items[MAILGUN_MAX_DELIVERIES];
};

/* A string setting that may span lines (bodies) and may be a template. */
static int
read_text(struct otp_settings *s, const char *key, bool multiline, bool need_code, char **out)
{
	config_setting_t *n = otp_settings_node(s, key);
	const char *v;
	char why[160];

	*out = NULL;
	if (n == NULL)
		return 0;
	if (config_setting_type(n) != CONFIG_TYPE_STRING ||
	    (v = config_setting_get_string(n)) == NULL || v[0] == '\0') {
		otp_settings_fail(s, key, "must be a non-empty string");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t' || *p == '\r'))) ||
		    *p == 0x7f) {
			otp_settings_fail(s, key, multiline ? "contains a control character" :
					  "must be a single line");
			return -1;
		}
	if (otp_template_check(v, need_code, why, sizeof(why)) != NULL) {
		otp_settings_fail(s, key, "%s", why);
		return -1;
	}
	*out = strdup(v);
	return *out == NULL ? -1 : 0;
}

/* libconfig group of scalars -> JSON object of strings/numbers/booleans. */
static struct json_object *
read_variables(struct otp_settings *s, const char *key, bool *bad)
{
	config_setting_t *n = otp_settings_node(s, key);
	struct json_object *o;

	if (n == NULL)
		return NULL;
	if (!config_setting_is_group(n)) {
		otp_settings_fail(s, key, "must be a group { name = \"value\"; ... }");
		*bad = true;
		return NULL;
	}
	if ((o = json_object_new_object()) == NULL) {
		*bad = true;
		return NULL;
	}
	for (int i = 0; i < config_setting_length(n); i++) {
		config_setting_t *e = config_setting_get_elem(n, (unsigned)i);
		const char *name = config_setting_name(e);
		struct json_object *v = NULL;
		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			v = otp_json_new_str(config_setting_get_string(e));
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			v = json_object_new_int64(config_setting_get_int64(e));
			break;
		case CONFIG_TYPE_FLOAT:
			v = json_object_new_double(config_setting_get_float(e));
			break;
		case CONFIG_TYPE_BOOL:
			v = json_object_new_boolean(config_setting_get_bool(e));
			break;
		default:
			otp_settings_fail(s, key, "variable \"%s\" must be a string, number or boolean",
					  name ? name : "?");
			*bad = true;
			json_object_put(o);
			return NULL;
		}
		if (name == NULL || otp_json_add_obj(o, name, v) != 0) {
			*bad = true;
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

static void
parse_delivery(struct otp_settings *dg, const char *usage, struct delivery *d)
{
	struct otp_settings one;
	bool bad = false;

	if (otp_settings_group(dg, usage, true, &one) != 0)
		return;
	if ((d->usage = strdup(usage)) == NULL)
		return;
	read_text(&one, "subject", false, false, &d->subject);
	read_text(&one, "html", true, true, &d->html);
	read_text(&one, "text", true, true, &d->text);
	otp_settings_string(&one, "template", false, NULL, &d->template);
	otp_settings_string(&one, "replyTo", false, NULL, &d->reply_to);
	d->variables = read_variables(&one, "variables", &bad);
	otp_settings_finish(&one);
	if (otp_settings_failed(dg) || bad)
		return;
	if (d->template != NULL) {
		if (d->html != NULL || d->text != NULL)
			otp_settings_fail(&one, "template",
					  "delivery \"%s\" has both a template and html/text", usage);
	} else {
		if (d->html == NULL && d->text == NULL)
			otp_settings_fail(&one, "html", "delivery \"%s\" needs html (or text) or a template",
					  usage);
		if (d->subject == NULL)
			otp_settings_fail(&one, "subject", "required in delivery \"%s\" (no template)", usage);
		if (d->variables != NULL)
			otp_settings_fail(&one, "variables", "only used with a template");
	}
}

static bool
domain_valid(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-')
		return false;
	for (const char *p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	return strstr(d, "..") == NULL;
}

static int
mailgun_configure(void *ctx, struct otp_settings *s)
{
	struct mailgun *m = ctx;
	struct otp_settings dg;

	if (otp_settings_endpoint(s, "endpoint", "https://api.mailgun.net", &m->endpoint) == 0 &&
	    m->endpoint != NULL && strchr(m->endpoint, '?') != NULL)
		otp_settings_fail(s, "endpoint", "URL must not have a ?query");
	if (otp_settings_string(s, "domain", true, NULL, &m->domain) == 0 && !domain_valid(m->domain))
		otp_settings_fail(s, "domain", "must be a domain name like \"mg.example.com\"");
	otp_settings_secret(s, "apiKey", true, &m->api_key);
	otp_settings_string(s, "from", true, NULL, &m->from);
	if (otp_settings_group(s, "deliveries", true, &dg) != 0 || dg.group == NULL)
		return -1;
	if (config_setting_length(dg.group) == 0)
		otp_settings_fail(s, "deliveries", "needs at least one usage type (e.g. Generic = { ... })");
	for (int i = 0; i < config_setting_length(dg.group); i++) {
		config_setting_t *e = config_setting_get_elem(dg.group, (unsigned)i);
		if (m->count >= MAILGUN_MAX_DELIVERIES) {
			otp_settings_fail(s, "deliveries", "at most %d usage types", MAILGUN_MAX_DELIVERIES);
			break;
		}
		parse_delivery(&dg, config_setting_name(e), &m->items[m->count++]);
	}
	otp_settings_finish(&dg);
	return otp_settings_failed(s) ? -1 : 0;
}

static const struct delivery *
find_delivery(const struct mailgun *m, const char *usage)
{
	for (size_t i = 0; usage != NULL && i < m->count; i++)
		if (m->items[i].usage && strcmp(m->items[i].usage, usage) == 0)
			return &m->items[i];
	for (size_t i = 0; i < m->count; i++)
		if (m->items[i].usage && strcmp(m->items[i].usage, "Generic") == 0)
			return &m->items[i];
	return NULL;
}

/* Form body for one message; NULL on failure (res filled). */
static char *
mailgun_body(const struct mailgun *m, const struct delivery *d, const struct otp_message *msg,
	     struct otp_send_result *res)
{
	struct otp_buf b;
	struct json_object *vars = NULL;
	char *subject = NULL, *html = NULL, *text = NULL, *json = NULL, *out = NULL;

	otp_buf_init(&b, 0);
	if (d->subject != NULL &&
	    (subject = otp_template_render_str(d->subject, msg->vars, OTP_ESCAPE_HEADER)) == NULL)
		goto render;
	if (d->html != NULL && (html = otp_template_render_str(d->html, msg->vars, OTP_ESCAPE_HTML)) == NULL)
		goto render;
	if (d->text != NULL && (text = otp_template_render_str(d->text, msg->vars, OTP_ESCAPE_TEXT)) == NULL)
		goto render;
	if (otp_form_add(&b, "from", m->from) != 0 || otp_form_add(&b, "to", msg->to) != 0 ||
	    (subject && otp_form_add(&b, "subject", subject) != 0) ||
	    (html && otp_form_add(&b, "html", html) != 0) ||
	    (text && otp_form_add(&b, "text", text) != 0) ||
	    (d->reply_to && otp_form_add(&b, "h:Reply-To", d->reply_to) != 0))
		goto nomem;
	if (d->template != NULL) {
		/* Logto: { ...variables, ...payload }; the code wins over a variable named code. */
		if (d->variables != NULL ? json_object_deep_copy(d->variables, &vars, NULL) != 0 :
		    (vars = json_object_new_object()) == NULL)
			goto nomem;
		if (otp_json_add_str(vars, "code", msg->code) != 0 ||
		    (json = otp_json_serialize(vars)) == NULL ||
		    otp_form_add(&b, "template", d->template) != 0 ||
		    otp_form_add(&b, "h:X-Mailgun-Variables", json) != 0)
			goto nomem;
	}
	out = otp_buf_steal(&b);
	goto out;
render:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
	goto out;
nomem:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
out:
	otp_buf_free(&b);
	otp_json_put_wiped(vars);
	otp_free_secret(json);
	otp_free_secret(subject);
	otp_free_secret(html);
	otp_free_secret(text);
	return out;
}

static int
mailgun_failure(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *ans = otp_json_parse(resp->body.data, resp->body.len);
	const char *text = ans ? otp_json_path_str(ans, "message") : NULL;
	char prefix[64];

	switch (resp->status) {
	case 400:
		/* "to parameter is not a valid address. please check documentation" */
		if (text != NULL && strncmp(text, "to parameter", 12) == 0)
			res->fail = OTP_FAIL_DESTINATION;
		else
			res->fail = OTP_FAIL_PROVIDER;
		break;
	case 404:
		res->fail = OTP_FAIL_CONFIG;   /* unknown domain: wrong domain or US/EU endpoint */
		break;
	default:
		break;                          /* the HTTP layer's class stands */
	}
	snprintf(prefix, sizeof(prefix), "Mailgun HTTP %ld", resp->status);
	if (text == NULL && resp->body.data != NULL && resp->body.len < 80 && resp->status != 404)
		text = resp->body.data;         /* 401 answers a bare "Forbidden" */
	otp_send_detail(res, prefix, text);
	if (ans != NULL)
		json_object_put(ans);
	return -1;
}

static int
mailgun_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	     struct otp_send_result *res)
{
	struct mailgun *m = ctx;
	const struct delivery *d = find_delivery(m, msg->usage);
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf path;
	struct json_object *ans = NULL;
	char *body = NULL, *url = NULL;
	const char *id;
	int rc = -1;

	otp_buf_init(&path, 1024);
	otp_buf_init(&resp.body, 1);
	if (d == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no delivery for usage type %.40s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	if ((body = mailgun_body(m, d, msg, res)) == NULL)
		goto out;
	if (otp_buf_puts(&path, "/v3/") != 0 || otp_pct_encode_append(&path, m->domain) != 0 ||
	    otp_buf_puts(&path, "/messages") != 0 || (url = otp_url_join(m->endpoint, path.data)) == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	req.url = url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = body;
	req.body_len = strlen(body);
	req.basic_user = "api";
	req.basic_pass = m->api_key;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	if (res->fail != OTP_FAIL_NONE) {
		if (res->fail != OTP_FAIL_REDIRECT)
			mailgun_failure(&resp, res);
		goto out;
	}
	ans = otp_json_parse(resp.body.data, resp.body.len);
	id = ans ? otp_json_path_str(ans, "id") : NULL;
	if (resp.status != 200 || id == NULL || id[0] == '\0') {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "Mailgun answered HTTP %ld without an id", resp.status);
		goto out;
	}
	rc = 0;
out:
	if (ans != NULL)
		json_object_put(ans);
	otp_http_response_free(&resp);
	otp_buf_free(&path);
	free(url);
	otp_free_secret(body);
	return rc;
}

static void
mailgun_cleanup(void *ctx)
{
	struct mailgun *m = ctx;

	free(m->endpoint);
	free(m->domain);
	otp_free_secret(m->api_key);
	free(m->from);
	for (size_t i = 0; i < m->count; i++) {
		struct delivery *d = &m->items[i];
		free(d->usage);
		free(d->subject);
		free(d->html);
		free(d->text);
		free(d->template);
		free(d->reply_to);
		if (d->variables != NULL)
			json_object_put(d->variables);
	}
	m->count = 0;
}

static char *
mailgun_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct mailgun *m = ctx;
	const struct delivery *d = find_delivery(m, usage);

	if (d == NULL || d->template != NULL)
		return NULL;
	if (d->html != NULL)
		return otp_template_render_str(d->html, vars, OTP_ESCAPE_HTML);
	return otp_template_render_str(d->text, vars, OTP_ESCAPE_TEXT);
}

static int
mailgun_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = { "endpoint", "domain", "apiKey", "from", "deliveries", NULL };

	return otp_logto_print_block(out, "mailgun", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_mailgun = {
	.id = "mailgun",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct mailgun),
	.configure = mailgun_configure,
	.send = mailgun_send,
	.cleanup = mailgun_cleanup,
	.preview = mailgun_preview,
	.import_logto = mailgun_import,
};
