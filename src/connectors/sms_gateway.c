/*
 * sms_gateway.c - the Auth0-style custom SMS gateway (`sms-gateway`).
 *
 * POST JSON {recipient, body, sender} (+ req: {ip, user-agent} with
 * forward_req_info) to gateway_url.  With gateway_authentication, an HS256
 * JWT (sub, aud, iat, exp, jti) goes in "Authorization: Bearer".  As with
 * Auth0, only HTTP 200 counts as success.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "connector.h"
#include "../crypto.h"
#include "../json.h"
#include "../jwt.h"
#include "../logto_import.h"
#include "../mem.h"

/* RFC 7518 §3.2: an HS256 key must be at least as long as the hash. */
#define GATEWAY_MIN_SECRET 32
#define GATEWAY_TOKEN_LIFETIME 300

struct gateway {
	char *url;
	char *from;
	char *template;
	bool forward_req_info;
	bool bearer;
	char *subject;
	char *audience;
	unsigned char *key;     /* decoded secret */
	size_t keylen;
};

static int
gateway_configure(void *ctx, struct otp_settings *s)
{
	static const char *const methods[] = { "bearer", NULL };
	struct gateway *g = ctx;
	struct otp_settings auth;
	char *tmp = NULL, *secret = NULL;
	char why[160];
	bool b64 = false;

	otp_settings_endpoint(s, "gateway_url", NULL, &g->url);
	otp_settings_string(s, "from", false, NULL, &g->from);
	if (otp_settings_string(s, "template", true, NULL, &g->template) == 0 &&
	    otp_template_check(g->template, true, why, sizeof(why)) != NULL)
		otp_settings_fail(s, "template", "%s", why);
	otp_settings_bool(s, "forward_req_info", false, &g->forward_req_info);
	/* Auth0's other connection options carry over harmlessly. */
	otp_settings_node(s, "syntax");
	if (otp_settings_group(s, "gateway_authentication", false, &auth) == 0 && auth.group) {
		g->bearer = true;
		otp_settings_choice(&auth, "method", "bearer", methods, &tmp);
		otp_settings_string(&auth, "subject", false, NULL, &g->subject);
		otp_settings_string(&auth, "audience", true, NULL, &g->audience);
		otp_settings_bool(&auth, "secret_base64_encoded", false, &b64);
		if (otp_settings_secret(&auth, "secret", true, &secret) == 0) {
			struct otp_buf k;
			otp_buf_init(&k, 8192);
			if (b64) {
				if (otp_base64_decode(secret, &k) != 0)
					otp_settings_fail(&auth, "secret", "is not valid base64url");
			} else if (otp_buf_puts(&k, secret) != 0)
				otp_settings_fail(&auth, "secret", "is too long");
			if (!otp_settings_failed(s) && k.len < GATEWAY_MIN_SECRET)
				otp_settings_fail(&auth, "secret", "must be at least %d bytes for HS256",
						  GATEWAY_MIN_SECRET);
			g->keylen = k.len;
			g->key = (unsigned char *)otp_buf_steal(&k);
		}
		otp_settings_finish(&auth);
	}
	free(tmp);
	otp_free_secret(secret);
	return otp_settings_failed(s) ? -1 : 0;
}

static char *
bearer_header(struct gateway *g, const struct otp_send_env *env, struct otp_send_result *res)
{
	unsigned char rnd[16];
	char jti[33];
	struct otp_jwt_claims c = { 0 };
	struct otp_buf h;
	char *tok;

	if (otp_random_bytes(rnd, sizeof(rnd)) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "random generator failed");
		return NULL;
	}
	otp_hex(rnd, sizeof(rnd), jti);
	c.sub = g->subject;
	c.aud = g->audience;
	c.iat = env->now;
	c.exp = env->now + GATEWAY_TOKEN_LIFETIME;
	c.jti = jti;
	tok = otp_jwt_hs256(&c, g->key, g->keylen);
	if (tok == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot sign JWT");
		return NULL;
	}
	otp_buf_init(&h, 16384);
	if (otp_buf_printf(&h, "Authorization: Bearer %s", tok) != 0) {
		otp_free_secret(tok);
		otp_buf_free(&h);
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		return NULL;
	}
	otp_free_secret(tok);
	return otp_buf_steal(&h);
}

static int
gateway_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	     struct otp_send_result *res)
{
	struct gateway *g = ctx;
	struct json_object *root = json_object_new_object(), *reqinfo = NULL;
	struct otp_http_request req = { 0 };
	struct otp_http_response resp = { 0 };
	const char *headers[2] = { NULL, NULL };
	char *text = NULL, *body = NULL, *auth = NULL;
	int rc = -1;

	otp_buf_init(&resp.body, 1);
	text = otp_template_render_str(g->template, msg->vars, OTP_ESCAPE_TEXT);
	if (root == NULL || text == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	if (otp_json_add_str(root, "recipient", msg->to) != 0 ||
	    otp_json_add_str(root, "body", text) != 0 ||
	    otp_json_add_str(root, "sender", g->from) != 0)
		goto nomem;
	if (g->forward_req_info) {
		reqinfo = json_object_new_object();
		if (reqinfo == NULL ||
		    otp_json_add_str(reqinfo, "ip", msg->client_ip ? msg->client_ip : "") != 0 ||
		    otp_json_add_str(reqinfo, "user-agent", env->user_agent) != 0)
			goto nomem;
		if (otp_json_add_obj(root, "req", reqinfo) != 0) {
			reqinfo = NULL;
			goto nomem;
		}
		reqinfo = NULL;
	}
	if ((body = otp_json_serialize(root)) == NULL)
		goto nomem;
	if (g->bearer) {
		if ((auth = bearer_header(g, env, res)) == NULL)
			goto out;
		headers[0] = auth;
	}
	req.url = g->url;
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.headers = headers;
	if (otp_http_perform(env, &req, &resp, res) != 0 || res->fail != OTP_FAIL_NONE)
		goto out;
	if (resp.status != 200) {
		/* Auth0's contract: anything but 200 is a failure. */
		otp_send_fail(res, OTP_FAIL_PROVIDER, "gateway answered HTTP %ld, not 200", resp.status);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
out:
	otp_http_response_free(&resp);
	otp_free_secret(auth);
	otp_free_secret(body);
	otp_free_secret(text);
	otp_json_put_wiped(reqinfo);
	otp_json_put_wiped(root);
	return rc;
}

static void
gateway_cleanup(void *ctx)
{
	struct gateway *g = ctx;

	free(g->url);
	free(g->from);
	free(g->template);
	free(g->subject);
	free(g->audience);
	otp_free_wiped(g->key, g->keylen);
}

static char *
gateway_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct gateway *g = ctx;

	(void)usage;
	return otp_template_render_str(g->template, vars, OTP_ESCAPE_TEXT);
}

const struct otp_connector otp_connector_sms_gateway = {
	.id = "sms-gateway",
	.channel = OTP_CHANNEL_SMS,
	.ctx_size = sizeof(struct gateway),
	.configure = gateway_configure,
	.send = gateway_send,
	.cleanup = gateway_cleanup,
	.preview = gateway_preview,
};
