/*
 * fuzz_json - the JSON builders (otp_json_*), the HS256 JWT signer and the
 * request bodies of the webhook connectors (http-sms/http-email and
 * sms-gateway, captured through the OTP_FUZZING hook in http.c), plus the
 * provider-answer helpers (otp_json_parse, otp_json_path_str).
 *
 * Input: a selector byte, then NUL-separated fields (strings for keys and
 * values, claims, the JWT key, message fields).
 *
 * Invariants: whatever the values, built JSON is parsed back by json-c in
 * strict mode with UTF-8 validation, whole, and carries exactly the values
 * that went in (a builder may refuse a value, never emit broken JSON); a
 * JWT is three base64url parts whose header is the fixed one, whose claims
 * parse back exactly and whose signature is HMAC-SHA256 over the first two
 * parts; a webhook body has exactly the documented key set and values.
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "fuzz_connector.h"
#include "src/crypto.h"
#include "src/json.h"
#include "src/jwt.h"
#include "src/mem.h"
#include "src/template.h"

static struct json_object *
strict_parse(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *obj;

	if (tok == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	FUZZ_CHECK(obj != NULL && json_tokener_get_error(tok) == json_tokener_success,
		   "not strict JSON (%s): %.200s", json_tokener_error_desc(json_tokener_get_error(tok)), text);
	FUZZ_CHECK(json_tokener_get_parse_end(tok) == len, "trailing bytes after JSON: %.200s", text);
	json_tokener_free(tok);
	return obj;
}

/* What the builders must make of a value: valid UTF-8 exactly, and every
 * byte that starts no valid sequence replaced by U+FFFD.  (Caller frees.) */
static char *
repaired(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *r = malloc(3 * n + 1);

	if (r == NULL)
		abort();
	for (size_t i = 0, k; i < n; i += k ? k : 1) {
		k = fz_utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0) {
			memcpy(r + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(r + o, s + i, k);
			o += k;
		}
	}
	r[o] = '\0';
	return r;
}

static void
check_str(struct json_object *obj, const char *key, const char *raw_want)
{
	struct json_object *v = NULL;
	char *want = repaired(raw_want);

	{
		char *k = repaired(key);
		FUZZ_CHECK(json_object_object_get_ex(obj, k, &v), "member %s missing", k);
		free(k);
	}
	FUZZ_CHECK(json_object_is_type(v, json_type_string), "member %s not a string", key);
	FUZZ_CHECK((size_t)json_object_get_string_len(v) == strlen(want) &&
		   memcmp(json_object_get_string(v), want, strlen(want)) == 0,
		   "member %s: value changed", key);
	free(want);
}

/* ---- otp_json_* ---- */

static void
fuzz_builders(struct fz *f)
{
	char *k = fz_field(f), *v = fz_field(f), *v2 = fz_field(f);
	long long n = (long long)fz_bits(f, 8);
	struct json_object *obj = json_object_new_object(), *child = json_object_new_object();
	struct json_object *back;
	char *text;
	int rc;

	if (k == NULL || v == NULL || v2 == NULL || obj == NULL || child == NULL)
		goto out;
	if (strcmp(k, "n") == 0 || strcmp(k, "b") == 0 || strcmp(k, "c") == 0)
		goto out;
	rc = otp_json_add_str(obj, k, v);
	rc |= otp_json_add_int(obj, "n", n);
	rc |= otp_json_add_bool(obj, "b", (n & 1) != 0);
	rc |= otp_json_add_str(child, "v2", v2);
	rc |= otp_json_add_obj(obj, "c", child);
	child = NULL;
	/* Any text is accepted (invalid UTF-8 is repaired, not refused). */
	FUZZ_CHECK(rc == 0, "a builder refused a value");
	text = otp_json_serialize(obj);
	FUZZ_CHECK(text != NULL, "serialize");
	back = strict_parse(text, strlen(text));
	check_str(back, k, v);
	{
		struct json_object *c = otp_json_path(back, "c"), *nv = otp_json_path(back, "n");
		FUZZ_CHECK(c != NULL, "nested object");
		check_str(c, "v2", v2);
		FUZZ_CHECK(nv && json_object_is_type(nv, json_type_int) && json_object_get_int64(nv) == n,
			   "integer changed");
		FUZZ_CHECK(json_object_object_length(back) == 4, "key set");
	}
	/* The answer-side helpers on the same text. */
	{
		struct json_object *p = otp_json_parse(text, strlen(text));
		FUZZ_CHECK(p != NULL, "otp_json_parse refused our own JSON");
		FUZZ_CHECK(otp_json_path_str(p, "c.v2") != NULL, "path c.v2");
		json_object_put(p);
	}
	json_object_put(back);
	otp_free_secret(text);
out:
	otp_json_put_wiped(child);
	otp_json_put_wiped(obj);
	free(k);
	free(v);
	free(v2);
}

/* ---- JWT ---- */

static char *
b64url_decode(const char *s, size_t n, size_t *outlen)
{
	struct otp_buf b;
	char *tmp = malloc(n + 1);

	if (tmp == NULL)
		abort();
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	otp_buf_init(&b, 1 << 20);
	FUZZ_CHECK(otp_base64_decode(tmp, &b) == 0, "part is not base64url: %s", tmp);
	free(tmp);
	*outlen = b.len;
	if (b.data == NULL)
		return strdup("");
	return otp_buf_steal(&b);
}

static void
fuzz_jwt(struct fz *f)
{
	char *sub = fz_field(f), *aud = fz_field(f), *jti = fz_field(f), *key = fz_field(f);
	struct otp_jwt_claims c = { 0 };
	unsigned char mac[OTP_SHA256_LEN];
	char *tok, *dot1, *dot2, *hdr, *body, *sig;
	size_t hl, bl, sl;
	struct json_object *claims, *v;

	if (aud == NULL || key == NULL)
		goto out;
	c.sub = (sub && sub[0]) ? sub : NULL;
	c.aud = aud;
	c.jti = (jti && jti[0]) ? jti : NULL;
	c.iat = (long long)fz_bits(f, 8);
	c.exp = (long long)fz_bits(f, 8);
	tok = otp_jwt_hs256(&c, (const unsigned char *)key, strlen(key));
	if (tok == NULL) {
		/* Only a token too long for its 16 KiB buffer is refused. */
		FUZZ_CHECK(strlen(aud) + (sub ? strlen(sub) : 0) + (jti ? strlen(jti) : 0) > 2048,
			   "JWT refused");
		goto out;
	}
	FUZZ_CHECK(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
		   strlen(tok), "token has non-base64url bytes");
	dot1 = strchr(tok, '.');
	FUZZ_CHECK(dot1 != NULL, "no first dot");
	dot2 = strchr(dot1 + 1, '.');
	FUZZ_CHECK(dot2 != NULL && strchr(dot2 + 1, '.') == NULL, "not three parts");
	hdr = b64url_decode(tok, (size_t)(dot1 - tok), &hl);
	FUZZ_CHECK(hl == 27 && memcmp(hdr, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27) == 0, "header");
	body = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &bl);
	claims = strict_parse(body, bl);
	check_str(claims, "aud", aud);
	if (c.sub)
		check_str(claims, "sub", sub);
	if (c.jti)
		check_str(claims, "jti", jti);
	FUZZ_CHECK(json_object_object_get_ex(claims, "iat", &v) && json_object_get_int64(v) == c.iat, "iat");
	FUZZ_CHECK(json_object_object_get_ex(claims, "exp", &v) && json_object_get_int64(v) == c.exp, "exp");
	FUZZ_CHECK(json_object_object_length(claims) == 3 + (c.sub != NULL) + (c.jti != NULL), "claim set");
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sl);
	otp_hmac_sha256(key, strlen(key), tok, (size_t)(dot2 - tok), mac);
	FUZZ_CHECK(sl == sizeof(mac) && memcmp(sig, mac, sl) == 0, "signature");
	json_object_put(claims);
	free(hdr);
	free(body);
	free(sig);
	otp_free_secret(tok);
out:
	free(sub);
	free(aud);
	free(jti);
	free(key);
}

/* ---- webhook request bodies ---- */

static char *captured_body, *captured_auth;
static long answer_status = 200;

static int
capture(const struct otp_http_request *req, long *status, struct otp_buf *body)
{
	free(captured_body);
	free(captured_auth);
	captured_body = malloc(req->body_len + 1);
	if (captured_body == NULL)
		abort();
	memcpy(captured_body, req->body, req->body_len);
	captured_body[req->body_len] = '\0';
	captured_auth = NULL;
	for (const char *const *h = req->headers; h && *h; h++)
		if (strncmp(*h, "Authorization: ", 15) == 0)
			captured_auth = strdup(*h + 15);
	*status = answer_status;
	otp_buf_puts(body, "ok");
	return 0;
}

#define GW_SECRET "fuzz-gateway-secret-0123456789abcdef"

static struct fz_connector webhook, gateway;

static void
setup(void)
{
	otp_http_global_init();
	otp_http_fuzz_answer = capture;
	fz_connector_setup(&webhook, "http-sms",
			   "endpoint = \"https://gw.example/hook\"; authorization = \"Bearer t0k\";");
	fz_connector_setup(&gateway, "sms-gateway",
			   "gateway_url = \"https://gw.example/sms\"; from = \"+15550001111\";"
			   "template = \"Code {{code}} for {{user}} on {{host}}\"; forward_req_info = true;"
			   "gateway_authentication = { method = \"bearer\"; subject = \"urn:sub\";"
			   "  audience = \"urn:gw\"; secret = \"" GW_SECRET "\"; };");
}

static void
fuzz_webhooks(struct fz *f, unsigned sel)
{
	char *to = fz_field(f), *usage = fz_field(f), *code = fz_field(f), *ip = fz_field(f);
	char *user = fz_field(f);
	struct otp_template_vars vars = { .user = user, .host = "host", .service = "sshd", .ttl_minutes = 5 };
	struct otp_message msg = { .channel = OTP_CHANNEL_SMS };
	struct otp_send_env env = { .user_agent = "pam_otp_sms/fuzz", .now = 1700000000 };
	struct otp_http_config hc = { .timeout = 5, .connect_timeout = 2 };
	struct otp_send_result res = { 0 };
	struct json_object *j, *p;
	int rc;

	if (to == NULL || usage == NULL || code == NULL)
		goto out;
	env.http = &hc;
	vars.code = code;
	msg.to = to;
	msg.code = code;
	msg.usage = usage;
	msg.vars = &vars;
	msg.client_ip = (ip && ip[0]) ? ip : NULL;
	answer_status = (sel & 2) ? 500 : 200;
	free(captured_body);
	captured_body = NULL;
	if (!(sel & 4)) {
		rc = webhook.c->send(webhook.ctx, &env, &msg, &res);
		FUZZ_CHECK((rc == 0) == (answer_status == 200), "webhook rc %d for HTTP %ld", rc, answer_status);
		FUZZ_CHECK(captured_body != NULL, "webhook sent nothing");
		j = strict_parse(captured_body, strlen(captured_body));
		FUZZ_CHECK(json_object_object_length(j) == 3 + (msg.client_ip != NULL), "webhook key set");
		check_str(j, "to", to);
		check_str(j, "type", usage);
		if (msg.client_ip)
			check_str(j, "ip", msg.client_ip);
		FUZZ_CHECK(json_object_object_get_ex(j, "payload", &p) && json_object_object_length(p) == 1,
			   "payload key set");
		check_str(p, "code", code);
		FUZZ_CHECK(captured_auth && strcmp(captured_auth, "Bearer t0k") == 0, "authorization");
		json_object_put(j);
	} else {
		char *text;
		rc = gateway.c->send(gateway.ctx, &env, &msg, &res);
		FUZZ_CHECK(rc != 0 || answer_status == 200, "gateway success on HTTP %ld", answer_status);
		if (captured_body == NULL)
			goto out;
		j = strict_parse(captured_body, strlen(captured_body));
		FUZZ_CHECK(json_object_object_length(j) == 4, "gateway key set");
		check_str(j, "recipient", to);
		check_str(j, "sender", "+15550001111");
		text = otp_template_render_str("Code {{code}} for {{user}} on {{host}}", &vars, OTP_ESCAPE_TEXT);
		FUZZ_CHECK(text != NULL, "render");
		check_str(j, "body", text);
		otp_free_secret(text);
		FUZZ_CHECK(json_object_object_get_ex(j, "req", &p) && json_object_object_length(p) == 2, "req");
		check_str(p, "ip", msg.client_ip ? msg.client_ip : "");
		check_str(p, "user-agent", "pam_otp_sms/fuzz");
		FUZZ_CHECK(captured_auth && strncmp(captured_auth, "Bearer ", 7) == 0, "no bearer");
		{
			/* The bearer is a JWT signed with the configured secret. */
			const char *t = captured_auth + 7, *d2 = strrchr(t, '.');
			unsigned char mac[OTP_SHA256_LEN];
			size_t sl;
			char *sig;
			FUZZ_CHECK(d2 != NULL, "bearer is not a JWT");
			otp_hmac_sha256(GW_SECRET, strlen(GW_SECRET), t, (size_t)(d2 - t), mac);
			sig = b64url_decode(d2 + 1, strlen(d2 + 1), &sl);
			FUZZ_CHECK(sl == sizeof(mac) && memcmp(sig, mac, sl) == 0, "bearer signature");
			free(sig);
		}
		json_object_put(j);
	}
	/* Never a code or a destination in the failure text. */
	FUZZ_CHECK(strlen(code) < 6 || strstr(res.detail, code) == NULL, "code in detail");
	FUZZ_CHECK(strlen(to) < 6 || strstr(res.detail, to) == NULL, "destination in detail");
out:
	free(to);
	free(usage);
	free(code);
	free(ip);
	free(user);
}

/* ---- answer parsing helpers on arbitrary text ---- */

static void
fuzz_parse(struct fz *f)
{
	char *path = fz_field(f), *text = fz_rest(f);
	struct json_object *j = otp_json_parse(text, strlen(text));

	if (j != NULL && path != NULL) {
		const char *s = otp_json_path_str(j, path);
		if (s != NULL)
			FUZZ_CHECK(strlen(s) < 1024 * 1024 + 64, "path value");
	}
	otp_json_put_wiped(j);
	free(path);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	unsigned sel;

	if (webhook.c == NULL)
		setup();
	fz_init(&f, data, size);
	sel = fz_byte(&f);
	switch (sel % 4) {
	case 0: fuzz_builders(&f); break;
	case 1: fuzz_jwt(&f); break;
	case 2: fuzz_webhooks(&f, sel >> 2); break;
	default: fuzz_parse(&f); break;
	}
	return 0;
}
