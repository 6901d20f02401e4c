/* Unit tests: hashes, MACs, encodings, JWT structure, constant-time compare. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "src/crypto.h"
#include "src/jwt.h"
#include "src/mem.h"

static char *
b64(const char *s, int url)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (url)
		otp_base64url_append(&b, s, strlen(s));
	else
		otp_base64_append(&b, s, strlen(s));
	return otp_buf_steal(&b);
}

static char *
pct(const char *s, int form)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (form)
		otp_form_encode_append(&b, s);
	else
		otp_pct_encode_append(&b, s);
	return otp_buf_steal(&b);
}

int
main(void)
{
	unsigned char mac[32];
	char hex[65], *s;
	struct otp_buf b;

	/* RFC 4231 test case 2 */
	otp_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	otp_hex(mac, 32, hex);
	is_str(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	       "HMAC-SHA256 RFC 4231 case 2");
	/* RFC 2202 test case 2 */
	otp_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, mac);
	otp_hex(mac, 20, hex);
	is_str(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "HMAC-SHA1 RFC 2202 case 2");
	otp_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 abc");
	otp_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256 empty");

	/* RFC 4648 §10 */
	s = b64("", 0); is_str(s, "", "base64 empty"); free(s);
	s = b64("f", 0); is_str(s, "Zg==", "base64 f"); free(s);
	s = b64("fo", 0); is_str(s, "Zm8=", "base64 fo"); free(s);
	s = b64("foobar", 0); is_str(s, "Zm9vYmFy", "base64 foobar"); free(s);
	s = b64("fo", 1); is_str(s, "Zm8", "base64url drops padding"); free(s);
	s = b64("\xfb\xff", 1); is_str(s, "-_8", "base64url alphabet"); free(s);
	s = b64("\xfb\xff", 0); is_str(s, "+/8=", "base64 alphabet"); free(s);

	otp_buf_init(&b, 0);
	ok(otp_base64_decode("Zm9vYmFy", &b) == 0 && b.len == 6 && memcmp(b.data, "foobar", 6) == 0,
	   "base64 decode");
	otp_buf_free(&b);
	otp_buf_init(&b, 0);
	ok(otp_base64_decode("-_8", &b) == 0 && b.len == 2 && (unsigned char)b.data[0] == 0xfb,
	   "base64url decode");
	otp_buf_free(&b);
	otp_buf_init(&b, 0);
	ok(otp_base64_decode("Zm9v!", &b) != 0, "base64 decode rejects junk");
	otp_buf_free(&b);

	s = pct("a b*c~d", 0); is_str(s, "a%20b%2Ac~d", "RFC 3986: space, star, tilde"); free(s);
	s = pct("\xe7\x9f\xad\xe4\xbf\xa1", 0); is_str(s, "%E7%9F%AD%E4%BF%A1", "RFC 3986: UTF-8 bytes"); free(s);
	s = pct("a b&c=d+", 1); is_str(s, "a+b%26c%3Dd%2B", "form encoding"); free(s);
	otp_buf_init(&b, 0);
	otp_form_add(&b, "To", "+819012345678");
	otp_form_add(&b, "Body", "code 1");
	is_str(b.data, "To=%2B819012345678&Body=code+1", "form_add joins with &");
	otp_buf_free(&b);

	ok(otp_ct_equal("abcd", "abcd", 4), "ct_equal equal");
	ok(!otp_ct_equal("abcd", "abce", 4), "ct_equal differs in last byte");

	/* Bounded buffer refuses to pass its limit. */
	otp_buf_init(&b, 8);
	ok(otp_buf_puts(&b, "12345678") == 0, "buffer fills to its max");
	ok(otp_buf_puts(&b, "9") != 0, "buffer refuses past max");
	otp_buf_free(&b);

	{
		struct otp_jwt_claims c = { .sub = "urn:pam", .aud = "urn:gw", .iat = 1700000000,
					    .exp = 1700000300, .jti = NULL };
		const char *key = "0123456789abcdef0123456789abcdef";
		char *tok = otp_jwt_hs256(&c, (const unsigned char *)key, strlen(key));
		char *dot2;
		ok(tok != NULL, "JWT signed");
		ok(tok && strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
		   "JWT header is exactly {\"alg\":\"HS256\",\"typ\":\"JWT\"}");
		dot2 = tok ? strrchr(tok, '.') : NULL;
		if (dot2) {
			char *sig;
			otp_hmac_sha256(key, strlen(key), tok, (size_t)(dot2 - tok), mac);
			otp_buf_init(&b, 0);
			otp_base64url_append(&b, mac, 32);
			sig = otp_buf_steal(&b);
			is_str(dot2 + 1, sig, "JWT signature is HMAC-SHA256 over header.payload");
			free(sig);
		}
		ok(tok && strchr(tok, '=') == NULL, "JWT has no base64 padding");
		free(tok);
	}
	{
		uint64_t v;
		int in_range = 1;
		for (int i = 0; i < 1000; i++)
			if (otp_random_uniform(7, &v) != 0 || v >= 7)
				in_range = 0;
		ok(in_range, "random_uniform stays in [0, bound)");
		ok(otp_random_uniform(0, &v) != 0, "random_uniform refuses bound 0");
	}
	return tap_done();
}
