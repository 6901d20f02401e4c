/* jwt.c - HS256 JWT signing. */
#include "config.h"
#include <string.h>
#include "crypto.h"
#include "json.h"
#include "jwt.h"
#include "mem.h"

char *
otp_jwt_hs256(const struct otp_jwt_claims *claims, const unsigned char *key, size_t keylen)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	struct json_object *body = json_object_new_object();
	unsigned char mac[OTP_SHA256_LEN];
	struct otp_buf tok;
	char *payload = NULL, *out = NULL;

	otp_buf_init(&tok, 16384);
	if (body == NULL)
		goto out;
	if (otp_json_add_str(body, "sub", claims->sub) != 0 ||
	    otp_json_add_str(body, "aud", claims->aud) != 0 ||
	    otp_json_add_int(body, "iat", claims->iat) != 0 ||
	    otp_json_add_int(body, "exp", claims->exp) != 0 ||
	    otp_json_add_str(body, "jti", claims->jti) != 0)
		goto out;
	payload = otp_json_serialize(body);
	if (payload == NULL)
		goto out;
	if (otp_base64url_append(&tok, header, strlen(header)) != 0 ||
	    otp_buf_append(&tok, ".", 1) != 0 ||
	    otp_base64url_append(&tok, payload, strlen(payload)) != 0)
		goto out;
	otp_hmac_sha256(key, keylen, tok.data, tok.len, mac);
	if (otp_buf_append(&tok, ".", 1) != 0 ||
	    otp_base64url_append(&tok, mac, sizeof(mac)) != 0)
		goto out;
	out = otp_buf_steal(&tok);
out:
	otp_wipe(mac, sizeof(mac));
	otp_free_secret(payload);
	otp_json_put_wiped(body);
	otp_buf_free(&tok);
	return out;
}
