/*
 * aliyun_dm.c - Alibaba Cloud DirectMail SingleSendMail (API 2015-11-23),
 * `aliyun-dm` (email channel), with Logto's connector-aliyun-dm settings.
 *
 * POST application/x-www-form-urlencoded to {endpoint}/, RPC signature
 * v1.0 (sign_aliyun.h).  The host follows regionId: cn-hangzhou ->
 * https://dm.aliyuncs.com, any other region R -> https://dm.R.aliyuncs.com;
 * `endpoint` overrides both.  Templates are ours: subject rendered as one
 * header line, content as HTML (values HTML-escaped).  Success is HTTP 200
 * with an EnvId; failures carry {Code, Message, RequestId, ...}.
 */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../json.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../sign_aliyun.h"

#define ALIYUN_DM_DEFAULT_REGION "cn-hangzhou"

struct aliyun_dm {
	char *url;                 /* {endpoint}/ */
	char *region;
	char *access_key_id;
	char *access_key_secret;   /* secret */
	char *account_name;
	char *from_alias;
	struct otp_template_list templates;
};

static const struct otp_template_field dm_fields[] = {
	{ .name = "subject", .required = true, .is_template = true },
	{ .name = "content", .required = true, .needs_code = true, .is_template = true,
	  .multiline = true },
	{ .name = NULL },
};

/* Logto's region table. */
static const char *const dm_regions[] = {
	"cn-hangzhou", "ap-southeast-1", "ap-southeast-2", "eu-central-1", "us-east-1", NULL,
};

static int
dm_configure(void *ctx, struct otp_settings *s)
{
	struct aliyun_dm *d = ctx;
	struct otp_buf dflt;
	char *endpoint = NULL;
	bool region_ok = false;

	if (otp_settings_string(s, "regionId", false, ALIYUN_DM_DEFAULT_REGION, &d->region) == 0 &&
	    d->region != NULL) {
		region_ok = d->region[0] != '\0';
		for (const char *c = d->region; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
				region_ok = false;
		if (!region_ok)
			otp_settings_fail(s, "regionId", "must look like \"cn-hangzhou\"");
		else {
			bool known = false;
			for (int i = 0; dm_regions[i]; i++)
				if (strcmp(d->region, dm_regions[i]) == 0)
					known = true;
			if (!known)
				otp_settings_warn(s, "regionId", "\"%s\" is not one of Logto's DirectMail regions; "
						  "using https://dm.%s.aliyuncs.com", d->region, d->region);
		}
	}
	otp_buf_init(&dflt, 512);
	if (region_ok) {
		if (strcmp(d->region, "cn-hangzhou") == 0)
			otp_buf_puts(&dflt, "https://dm.aliyuncs.com");
		else
			otp_buf_printf(&dflt, "https://dm.%s.aliyuncs.com", d->region);
	}
	if (otp_settings_endpoint(s, "endpoint", dflt.data ? dflt.data : "https://dm.aliyuncs.com",
				  &endpoint) == 0 && endpoint != NULL &&
	    (d->url = otp_url_join(endpoint, "/")) == NULL)
		otp_settings_fail(s, "endpoint", "out of memory");
	otp_buf_free(&dflt);
	free(endpoint);
	otp_settings_string(s, "accessKeyId", true, NULL, &d->access_key_id);
	otp_settings_secret(s, "accessKeySecret", true, &d->access_key_secret);
	otp_settings_string(s, "accountName", true, NULL, &d->account_name);
	if (otp_settings_string(s, "fromAlias", false, NULL, &d->from_alias) == 0 &&
	    d->from_alias != NULL && d->from_alias[0] == '\0') {
		free(d->from_alias);
		d->from_alias = NULL;
	}
	otp_template_list_parse(s, "templates", dm_fields, true, &d->templates);
	return otp_settings_failed(s) ? -1 : 0;
}

static bool
code_is(const char *code, const char *name)
{
	size_t n = strlen(name);

	return strncmp(code, name, n) == 0 && (code[n] == '\0' || code[n] == '.');
}

static enum otp_fail_class
dm_code_class(const char *code)
{
	enum otp_fail_class cls = otp_aliyun_gateway_class(code);

	if (cls != OTP_FAIL_NONE)
		return cls;
	/* InvalidToAddress, InvalidToAddress.Spam, ...: the recipient. */
	if (code_is(code, "InvalidToAddress"))
		return OTP_FAIL_DESTINATION;
	return OTP_FAIL_NONE;
}

static int
judge_answer(const struct otp_http_response *resp, struct otp_send_result *res)
{
	struct json_object *j = otp_json_parse(resp->body.data, resp->body.len);
	const char *env_id = j ? otp_json_path_str(j, "EnvId") : NULL;
	const char *code = j ? otp_json_path_str(j, "Code") : NULL;
	enum otp_fail_class cls;
	int rc = -1;

	if (res->fail == OTP_FAIL_NONE && resp->status == 200 && env_id != NULL && env_id[0] != '\0' &&
	    code == NULL) {
		rc = 0;
		goto out;
	}
	if (code == NULL) {
		if (res->fail == OTP_FAIL_NONE)
			otp_send_fail(res, OTP_FAIL_PROTOCOL, "answer has neither EnvId nor Code");
		goto out;
	}
	otp_send_set_provider_code(res, code);
	cls = dm_code_class(code);
	if (res->fail == OTP_FAIL_REDIRECT)
		/* Never followed and never a transient class, whatever the body says. */
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld, Code %s", resp->status,
			 res->provider_code);
	else if (cls != OTP_FAIL_NONE)
		otp_send_fail(res, cls, "DirectMail refused the message (Code %s)", res->provider_code);
	else if (res->fail == OTP_FAIL_NONE || res->fail == OTP_FAIL_HTTP_4XX)
		/* A 4xx that names its reason: the provider refused the request. */
		otp_send_fail(res, OTP_FAIL_PROVIDER, "DirectMail refused the message (Code %s)",
			      res->provider_code);
	else
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld, Code %s", resp->status,
			 res->provider_code);
out:
	json_object_put(j);
	return rc;
}

static int
dm_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	struct otp_send_result *res)
{
	struct aliyun_dm *d = ctx;
	const struct otp_template *t;
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	struct otp_buf form;
	char nonce[OTP_ALIYUN_NONCE_LEN], ts[OTP_ALIYUN_TIMESTAMP_LEN];
	char *subject = NULL, *html = NULL;
	int rc = -1;

	otp_buf_init(&form, 0);
	otp_buf_init(&resp.body, 1);
	t = otp_template_find(&d->templates, msg->usage);
	if (t == NULL) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %s and no Generic one",
			      msg->usage ? msg->usage : "(none)");
		goto out;
	}
	/* One address only: a comma would make ToAddress a list. */
	if (strpbrk(msg->to, ", \r\n") != NULL || strchr(msg->to, '@') == NULL) {
		otp_send_fail(res, OTP_FAIL_DESTINATION, "destination is not one email address");
		goto out;
	}
	subject = otp_template_render_str(otp_template_get(&d->templates, t, "subject"), msg->vars,
					  OTP_ESCAPE_HEADER);
	html = otp_template_render_str(otp_template_get(&d->templates, t, "content"), msg->vars,
				       OTP_ESCAPE_HTML);
	if (subject == NULL || html == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if (otp_aliyun_nonce(nonce) != 0 || otp_aliyun_timestamp(env->now, ts) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot make nonce or timestamp");
		goto out;
	}
	{
		struct otp_aliyun_param p[] = {
			{ "AccessKeyId", d->access_key_id },
			{ "AccountName", d->account_name },
			{ "Action", "SingleSendMail" },
			{ "AddressType", "1" },
			{ "Format", "json" },
			{ "HtmlBody", html },
			{ "RegionId", d->region },
			{ "ReplyToAddress", "false" },
			{ "SignatureMethod", "HMAC-SHA1" },
			{ "SignatureNonce", nonce },
			{ "SignatureVersion", "1.0" },
			{ "Subject", subject },
			{ "Timestamp", ts },
			{ "ToAddress", msg->to },
			{ "Version", "2015-11-23" },
			{ "FromAlias", d->from_alias },   /* last: dropped when unset */
		};
		size_t n = sizeof(p) / sizeof(p[0]) - (d->from_alias == NULL ? 1 : 0);
		if (otp_aliyun_signed_query("POST", p, n, d->access_key_secret, &form) != 0) {
			otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot sign the request");
			goto out;
		}
	}
	req.method = "POST";
	req.url = d->url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = form.data;
	req.body_len = form.len;
	if (otp_http_perform(env, &req, &resp, res) != 0)
		goto out;
	rc = judge_answer(&resp, res);
out:
	otp_http_response_free(&resp);
	otp_buf_free(&form);
	otp_free_secret(subject);
	otp_free_secret(html);
	return rc;
}

static void
dm_cleanup(void *ctx)
{
	struct aliyun_dm *d = ctx;

	free(d->url);
	free(d->region);
	free(d->access_key_id);
	otp_free_secret(d->access_key_secret);
	free(d->account_name);
	free(d->from_alias);
	otp_template_list_free(&d->templates);
}

static char *
dm_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct aliyun_dm *d = ctx;
	const struct otp_template *t = otp_template_find(&d->templates, usage);

	if (t == NULL)
		return NULL;
	return otp_template_render_str(otp_template_get(&d->templates, t, "content"), vars,
				       OTP_ESCAPE_HTML);
}

static int
dm_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = {
		"accessKeyId", "accessKeySecret", "accountName", "regionId", "fromAlias", "templates",
		NULL,
	};

	return otp_logto_print_block(out, "aliyun-dm", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_aliyun_dm = {
	.id = "aliyun-dm",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct aliyun_dm),
	.configure = dm_configure,
	.send = dm_send,
	.cleanup = dm_cleanup,
	.preview = dm_preview,
	.import_logto = dm_import,
};
