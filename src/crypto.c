/* crypto.c - hashes, MACs, encodings and randomness on libcrypto. */
#include "config.h"
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "crypto.h"
#include "mem.h"

int
otp_random_bytes(void *p, size_t n)
{
	if (n > (size_t)INT32_MAX)
		return -1;
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

int
otp_random_uniform(uint64_t bound, uint64_t *out)
{
	uint64_t limit, r;

	if (bound == 0)
		return -1;
	/* Largest multiple of bound that fits: values above it are redrawn, so
	 * no residue is more likely than another (no modulo bias). */
	limit = UINT64_MAX - (UINT64_MAX % bound);
	for (int tries = 0; tries < 1000; tries++) {
		if (otp_random_bytes(&r, sizeof(r)) != 0)
			return -1;
		if (r < limit) {
			*out = r % bound;
			otp_wipe(&r, sizeof(r));
			return 0;
		}
	}
	return -1;
}

void
otp_sha256(const void *p, size_t n, unsigned char out[OTP_SHA256_LEN])
{
	SHA256(p, n, out);
}

void
otp_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
otp_sha256_hex(const void *p, size_t n, char out[2 * OTP_SHA256_LEN + 1])
{
	unsigned char md[OTP_SHA256_LEN];

	otp_sha256(p, n, md);
	otp_hex(md, sizeof(md), out);
}

void
otp_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		unsigned char out[OTP_SHA256_LEN])
{
	unsigned int len = OTP_SHA256_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &len);
}

void
otp_hmac_sha1(const void *key, size_t keylen, const void *msg, size_t msglen,
	      unsigned char out[OTP_SHA1_LEN])
{
	unsigned int len = OTP_SHA1_LEN;

	HMAC(EVP_sha1(), key, (int)keylen, msg, msglen, out, &len);
}

static int
b64_append(struct otp_buf *b, const void *p, size_t n, int url)
{
	static const char std[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char urlalpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *a = url ? urlalpha : std;
	const unsigned char *s = p;
	char q[4];
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		q[0] = a[s[i] >> 2];
		q[1] = a[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		q[2] = a[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		q[3] = a[s[i + 2] & 63];
		if (otp_buf_append(b, q, 4) != 0)
			return -1;
	}
	if (i < n) {
		size_t rest = n - i;
		q[0] = a[s[i] >> 2];
		if (rest == 1) {
			q[1] = a[(s[i] & 3) << 4];
			q[2] = '=';
		} else {
			q[1] = a[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
			q[2] = a[(s[i + 1] & 15) << 2];
		}
		q[3] = '=';
		if (otp_buf_append(b, q, url ? rest + 1 : 4) != 0)
			return -1;
	}
	otp_wipe(q, sizeof(q));
	return 0;
}

int
otp_base64_append(struct otp_buf *b, const void *p, size_t n)
{
	return b64_append(b, p, n, 0);
}

int
otp_base64url_append(struct otp_buf *b, const void *p, size_t n)
{
	return b64_append(b, p, n, 1);
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
otp_base64_decode(const char *s, struct otp_buf *out)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			unsigned char c = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
			if (otp_buf_append(out, &c, 1) != 0)
				return -1;
		}
	}
	/* A single leftover sextet cannot encode a byte. */
	if (bits >= 6)
		return -1;
	acc = 0;
	return 0;
}

static int
pct_append(struct otp_buf *b, const char *s, int plus_for_space)
{
	static const char hexu[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			if (otp_buf_append(b, &c, 1) != 0)
				return -1;
		} else if (c == ' ' && plus_for_space) {
			if (otp_buf_append(b, "+", 1) != 0)
				return -1;
		} else {
			char e[3] = { '%', hexu[c >> 4], hexu[c & 15] };
			if (otp_buf_append(b, e, 3) != 0)
				return -1;
		}
	}
	return 0;
}

int
otp_pct_encode_append(struct otp_buf *b, const char *s)
{
	return pct_append(b, s, 0);
}

int
otp_form_encode_append(struct otp_buf *b, const char *s)
{
	return pct_append(b, s, 1);
}

int
otp_form_add(struct otp_buf *b, const char *key, const char *value)
{
	if (b->len > 0 && otp_buf_append(b, "&", 1) != 0)
		return -1;
	if (otp_form_encode_append(b, key) != 0 || otp_buf_append(b, "=", 1) != 0)
		return -1;
	return otp_form_encode_append(b, value);
}

int
otp_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
