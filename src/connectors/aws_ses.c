/*
 * aws_ses.c - Amazon SES API v2 SendEmail (`aws-ses`), Logto's
 * connector-aws-ses settings.
 *
 * POST {endpoint}/v2/email/outbound-emails, JSON
 *   { FromEmailAddress, Destination: { ToAddresses: [to] },
 *     Content: { Simple: { Subject: { Data, Charset }, Body: { Html|Text: { Data, Charset } } } },
 *     ConfigurationSetName?, FeedbackForwardingEmailAddress?, ... }
 * signed with AWS Signature Version 4 (service "ses"; signed headers
 * content-type, host, x-amz-date).  The default endpoint is
 * https://email.{region}.amazonaws.com.  Success is HTTP 200 with a
 * MessageId; failures carry the error type (`__type`/`code`) and `message`.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sign_sigv4.h"

#define SES_PATH "/v2/email/outbound-emails"
#define SES_SERVICE "ses"

struct ses {
	char *access_key_id;
	char *secret;                   /* accessKeySecret */
	char *region;
	char *endpoint;
	char *from;                     /* emailAddress */
	char *from_arn;                 /* emailAddressIdentityArn */
	char *feedback;                 /* feedbackForwardingEmailAddress */
	char *feedback_arn;             /* feedbackForwardingEmailAddressIdentityArn */
	char *configuration_set;        /* configurationSetName */
	struct otp_template_list templates;
};

enum { F_SUBJECT, F_CONTENT, F_CONTENT_TYPE };

static const struct otp_template_field ses_fields[] = {
	[F_SUBJECT] = { "subject", true, false, true, false },
	[F_CONTENT] = { "content", true, true, true, true },
	[F_CONTENT_TYPE] = { "contentType", false, false, false, false },
	{ NULL, false, false, false, false },
};

/* "us-east-1", "eu-central-1", "us-gov-west-1", "ap-southeast-5": [a-z]{2}(-[a-z]+)+-[0-9]{1,2} */
static bool
region_valid(const char *r)
{
	const char *p = r;
	int words = 0;

	if (r == NULL || strlen(r) > 32)
		return false;
	for (int i = 0; i < 2; i++, p++)
		if (*p < 'a' || *p > 'z')
			return false;
	while (*p == '-') {
		const char *w = ++p;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (p == w)
			break;
		words++;
	}
	if (words < 1 || p[-1] != '-')
		return false;
	if (*p < '0' || *p > '9')
		return false;
	p++;
	if (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

static bool
key_id_valid(const char *k)
{
	size_t n = strlen(k);

	if (n < 16 || n > 128)
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

static bool
is_html(const char *content_type)
{
	return content_type == NULL || strcmp(content_type, "text/html") == 0;
}

static int
ses_configure(void *ctx, struct otp_settings *s)
{
	struct ses *c = ctx;
	char dflt[96];

	if (otp_settings_string(s, "accessKeyId", true, NULL, &c->access_key_id) == 0 &&
	    !key_id_valid(c->access_key_id))
		otp_settings_fail(s, "accessKeyId", "must be 16-128 letters and digits (e.g. AKIA...)");
	otp_settings_secret(s, "accessKeySecret", true, &c->secret);
	if (otp_settings_string(s, "region", true, NULL, &c->region) == 0 && !region_valid(c->region))
		otp_settings_fail(s, "region", "is not an AWS region name like \"us-east-1\"");
	if (c->region != NULL && region_valid(c->region))
		snprintf(dflt, sizeof(dflt), "https://email.%s.amazonaws.com", c->region);
	else
		snprintf(dflt, sizeof(dflt), "https://email.us-east-1.amazonaws.com");
	if (otp_settings_endpoint(s, "endpoint", dflt, &c->endpoint) == 0 && c->endpoint != NULL &&
	    strchr(c->endpoint, '?') != NULL)
		otp_settings_fail(s, "endpoint", "URL must not have a ?query");
	/* Logto marks it optional, but SES needs a From address for Simple content. */
	if (otp_settings_string(s, "emailAddress", true, NULL, &c->from) == 0 &&
	    strchr(c->from, '@') == NULL)
		otp_settings_fail(s, "emailAddress", "must be an e-mail address (\"Name <a@b>\" allowed)");
	otp_settings_string(s, "emailAddressIdentityArn", false, NULL, &c->from_arn);
	otp_settings_string(s, "feedbackForwardingEmailAddress", false, NULL, &c->feedback);
	otp_settings_string(s, "feedbackForwardingEmailAddressIdentityArn", false, NULL, &c->feedback_arn);
	otp_settings_string(s, "configurationSetName", false, NULL, &c->configuration_set);
	if (otp_template_list_parse(s, "templates", ses_fields, true, &c->templates) == 0) {
		for (size_t i = 0; i < c->templates.count; i++) {
			const char *ct = c->templates.items[i].value[F_CONTENT_TYPE];
			if (ct != NULL && strcmp(ct, "text/html") != 0 && strcmp(ct, "text/plain") != 0)
				otp_settings_fail(s, "templates", "contentType of \"%s\" must be \"text/html\" or \"text/plain\"",
						  c->templates.items[i].usage);
		}
	}
	return otp_settings_failed(s) ? -1 : 0;
}

/* "com.amazonaws.ses#MessageRejected:http://..." -> "MessageRejected" */
static void
error_type(const char *raw, char *out, size_t outlen)
{
	const char *p = raw, *hash = strrchr(raw, '#');
	size_t n;

	if (hash != NULL)
		p = hash + 1;
	n = strcspn(p, ":");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static const struct {
	const char *type;
	enum otp_fail_class cls;
} ses_errors[] = {
	{ "MessageRejected", OTP_FAIL_PROVIDER },
	{ "AccountSuspendedException", OTP_FAIL_PROVIDER },
	{ "SendingPausedException", OTP_FAIL_PROVIDER },
	{ "BadRequestException", OTP_FAIL_PROVIDER },
	{ "MailFromDomainNotVerifiedException", OTP_FAIL_CONFIG },
	{ "NotFoundException", OTP_FAIL_CONFIG },
	{ "LimitExceededException", OTP_FAIL_RATE_LIMIT },
	{ "TooManyRequestsException", OTP_FAIL_RATE_LIMIT },
	{ "ThrottlingException", OTP_FAIL_RATE_LIMIT },
	{ "Throttling", OTP_FAIL_RATE_LIMIT },
	{ "SignatureDoesNotMatch", OTP_FAIL_AUTH },
	{ "InvalidSignatureException", OTP_FAIL_AUTH },
	{ "IncompleteSignatureException", OTP_FAIL_AUTH },
	{ "UnrecognizedClientException", OTP_FAIL_AUTH },
	{ "InvalidClientTokenId", OTP_FAIL_AUTH },
	{ "MissingAuthenticationTokenException", OTP_FAIL_AUTH },
	{ "AccessDeniedException", OTP_FAIL_AUTH },
	{ "ExpiredTokenException", OTP_FAIL_AUTH },
	{ "RequestExpired", OTP_FAIL_AUTH },
	{ "InternalFailure", OTP_FAIL_HTTP_5XX },
	{ "ServiceUnavailable", OTP_FAIL_HTTP_5XX },
};

/* Classify a non-2xx SES answer from its error type, else its status. */
static int
ses_failure(struct json_object *ans, const struct otp_http_response *resp,
	    struct otp_send_result *res)
{
	const char *raw = NULL, *text = NULL;
	enum otp_fail_class cls = res->fail;
	char type[64], prefix[96];

	if (ans != NULL) {
		raw = otp_json_path_str(ans, "__type");
		if (raw == NULL)
			raw = otp_json_path_str(ans, "code");
		if (raw == NULL)
			raw = otp_json_path_str(ans, "Code");
		text = otp_json_path_str(ans, "message");
		if (text == NULL)
			text = otp_json_path_str(ans, "Message");
	}
	type[0] = '\0';
	if (raw != NULL)
		error_type(raw, type, sizeof(type));
	/* Status first, then the type refines it. */
	if (resp->status == 400)
		cls = OTP_FAIL_PROVIDER;
	else if (resp->status == 404)
		cls = OTP_FAIL_CONFIG;
	for (size_t i = 0; type[0] && i < sizeof(ses_errors) / sizeof(ses_errors[0]); i++)
		if (strcmp(type, ses_errors[i].type) == 0)
			cls = ses_errors[i].cls;
	otp_send_set_provider_code(res, type);
	/* The sanitised code: the raw type is the provider's text. */
	snprintf(prefix, sizeof(prefix), "SES HTTP %ld%s%s", resp->status, type[0] ? " " : "",
		 res->provider_code);
	res->fail = cls;
	otp_send_detail(res, prefix, text);
	return -1;
}

/* host[:port] (lower case, default port dropped) and path of an http(s) URL. */
static int
split_url(const char *url, char *host, size_t hostlen, const char **path)
{
	const char *a = strstr(url, "://"), *e;
	bool https;
	size_t n;

	if (a == NULL)
		return -1;
	https = (size_t)(a - url) == 5;
	a += 3;
	e = a + strcspn(a, "/?#");
	n = (size_t)(e - a);
	if (n == 0 || n >= hostlen)
		return -1;
	for (size_t i = 0; i < n; i++)
		host[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] + 32) : a[i];
	host[n] = '\0';
	if ((https && n > 4 && strcmp(host + n - 4, ":443") == 0) ||
	    (!https && n > 3 && strcmp(host + n - 3, ":80") == 0))
		*strrchr(host, ':') = '\0';
	*path = *e == '/' ? e : "/";
	return 0;
}

static struct json_object *
charset_data(const char *data)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (otp_json_add_str(o, "Data", data) != 0 || otp_json_add_str(o, "Charset", "UTF-8") != 0) {
		otp_json_put_wiped(o);
		return NULL;
	}
	return o;
}

/* The SendEmail request body (json-c built; NULL on ENOMEM). */
static char *
ses_body(const struct ses *c, const struct otp_message *msg, const char *subject,
	 const char *text, bool html)
{
	struct json_object *root = json_object_new_object(), *dest = NULL, *to = NULL,
		*content = NULL, *simple = NULL, *body = NULL, *part;
	char *out = NULL;

	if (root == NULL || (dest = json_object_new_object()) == NULL ||
	    (to = json_object_new_array()) == NULL || (content = json_object_new_object()) == NULL ||
	    (simple = json_object_new_object()) == NULL || (body = json_object_new_object()) == NULL)
		goto out;
	if (otp_json_add_str(root, "FromEmailAddress", c->from) != 0 ||
	    otp_json_add_str(root, "FromEmailAddressIdentityArn", c->from_arn) != 0)
		goto out;
	if ((part = json_object_new_string(msg->to)) == NULL)
		goto out;
	if (json_object_array_add(to, part) != 0) {
		json_object_put(part);
		goto out;
	}
	if (otp_json_add_obj(dest, "ToAddresses", to) != 0) {
		to = NULL;
		goto out;
	}
	to = NULL;
	if (otp_json_add_obj(root, "Destination", dest) != 0) {
		dest = NULL;
		goto out;
	}
	dest = NULL;
	if (otp_json_add_obj(body, html ? "Html" : "Text", charset_data(text)) != 0 ||
	    otp_json_add_obj(simple, "Subject", charset_data(subject)) != 0)
		goto out;
	if (otp_json_add_obj(simple, "Body", body) != 0) {
		body = NULL;
		goto out;
	}
	body = NULL;
	if (otp_json_add_obj(content, "Simple", simple) != 0) {
		simple = NULL;
		goto out;
	}
	simple = NULL;
	if (otp_json_add_obj(root, "Content", content) != 0) {
		content = NULL;
		goto out;
	}
	content = NULL;
	if (otp_json_add_str(root, "ConfigurationSetName", c->configuration_set) != 0 ||
	    otp_json_add_str(root, "FeedbackForwardingEmailAddress", c->feedback) != 0 ||
	    otp_json_add_str(root, "FeedbackForwardingEmailAddressIdentityArn", c->feedback_arn) != 0)
		goto out;
	out = otp_json_serialize(root);
out:
	otp_json_put_wiped(body);
	otp_json_put_wiped(simple);
	otp_json_put_wiped(content);
	otp_json_put_wiped(to);
	otp_json_put_wiped(dest);
	otp_json_put_wiped(root);
	return out;
}

static int
ses_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	 struct otp_send_result *res)
{
	struct ses *c = ctx;
	const struct otp_template *t = otp_template_find(&c->templates, msg->usage);
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf auth, hhost, hdate;
	struct otp_sigv4_credentials cred = {
		.access_key_id = c->access_key_id, .secret_key = c->secret,
		.region = c->region, .service = SES_SERVICE,
	};
	struct otp_sigv4_header sh[3];
	struct otp_sigv4_request sr = { 0 };
	struct json_object *ans = NULL;
	const char *headers[4] = { NULL, NULL, NULL, NULL };
	char *subject = NULL, *text = NULL, *body = NULL, *url = NULL;
	char host[256], date[OTP_SIGV4_DATE_LEN];
	const char *path, *id;
	bool html;
	int rc = -1;

	otp_buf_init(&auth, 4096);
	otp_buf_init(&hhost, 512);
	otp_buf_init(&hdate, 64);
	otp_buf_init(&resp.body, 1);
	if (t == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %.40s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	html = is_html(otp_template_get(&c->templates, t, "contentType"));
	subject = otp_template_render_str(otp_template_get(&c->templates, t, "subject"), msg->vars,
					  OTP_ESCAPE_HEADER);
	text = otp_template_render_str(otp_template_get(&c->templates, t, "content"), msg->vars,
				       html ? OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
	if (subject == NULL || text == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if ((body = ses_body(c, msg, subject, text, html)) == NULL ||
	    (url = otp_url_join(c->endpoint, SES_PATH)) == NULL)
		goto nomem;
	if (split_url(url, host, sizeof(host), &path) != 0) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "cannot take the host from the endpoint URL");
		goto out;
	}
	if (otp_sigv4_amz_date(env->now, date) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "clock out of range");
		goto out;
	}
	sh[0] = (struct otp_sigv4_header){ "content-type", "application/json" };
	sh[1] = (struct otp_sigv4_header){ "host", host };
	sh[2] = (struct otp_sigv4_header){ "x-amz-date", date };
	sr.method = "POST";
	sr.path = path;
	sr.headers = sh;
	sr.nheaders = 3;
	sr.payload = body;
	sr.payload_len = strlen(body);
	if (otp_buf_puts(&auth, "Authorization: ") != 0)
		goto nomem;
	if (otp_sigv4_authorization(&cred, &sr, &auth, NULL) != 0) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "cannot sign the request (SigV4)");
		goto out;
	}
	/* Send exactly the Host that was signed. */
	if (otp_buf_printf(&hhost, "Host: %s", host) != 0 ||
	    otp_buf_printf(&hdate, "X-Amz-Date: %s", date) != 0)
		goto nomem;
	headers[0] = hhost.data;
	headers[1] = hdate.data;
	headers[2] = auth.data;
	req.url = url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.headers = headers;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	ans = otp_json_parse(resp.body.data, resp.body.len);
	if (res->fail != OTP_FAIL_NONE) {
		if (res->fail != OTP_FAIL_REDIRECT)
			ses_failure(ans, &resp, res);
		goto out;
	}
	id = ans ? otp_json_path_str(ans, "MessageId") : NULL;
	if (resp.status != 200 || id == NULL || id[0] == '\0') {
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "SES answered HTTP %ld without a MessageId",
			      resp.status);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
out:
	if (ans != NULL)
		json_object_put(ans);
	otp_http_response_free(&resp);
	otp_buf_free(&auth);
	otp_buf_free(&hhost);
	otp_buf_free(&hdate);
	free(url);
	otp_free_secret(body);
	otp_free_secret(text);
	otp_free_secret(subject);
	return rc;
}

static void
ses_cleanup(void *ctx)
{
	struct ses *c = ctx;

	free(c->access_key_id);
	otp_free_secret(c->secret);
	free(c->region);
	free(c->endpoint);
	free(c->from);
	free(c->from_arn);
	free(c->feedback);
	free(c->feedback_arn);
	free(c->configuration_set);
	otp_template_list_free(&c->templates);
}

static char *
ses_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct ses *c = ctx;
	const struct otp_template *t = otp_template_find(&c->templates, usage);

	if (t == NULL)
		return NULL;
	return otp_template_render_str(otp_template_get(&c->templates, t, "content"), vars,
				       is_html(otp_template_get(&c->templates, t, "contentType")) ?
				       OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
}

static int
ses_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = {
		"accessKeyId", "accessKeySecret", "region", "emailAddress", "emailAddressIdentityArn",
		"feedbackForwardingEmailAddress", "feedbackForwardingEmailAddressIdentityArn",
		"configurationSetName", "templates", "endpoint", NULL,
	};

	return otp_logto_print_block(out, "aws-ses", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_aws_ses = {
	.id = "aws-ses",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct ses),
	.configure = ses_configure,
	.send = ses_send,
	.cleanup = ses_cleanup,
	.preview = ses_preview,
	.import_logto = ses_import,
};
