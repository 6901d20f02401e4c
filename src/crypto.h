/*
 * crypto.h - the one implementation of hashing, MACs, encodings and
 * randomness used by codes, state, JWTs and every provider signature.
 * All on OpenSSL's libcrypto.
 */
#ifndef OTP_CRYPTO_H
#define OTP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define OTP_SHA256_LEN 32
#define OTP_SHA1_LEN 20

/* Fill p with n bytes from the CSPRNG; 0 or -1 (never falls back). */
int otp_random_bytes(void *p, size_t n);
/* Uniform integer in [0, bound) by rejection sampling; 0 or -1. */
int otp_random_uniform(uint64_t bound, uint64_t *out);

void otp_sha256(const void *p, size_t n, unsigned char out[OTP_SHA256_LEN]);
/* Lower-case hex SHA-256 of p (65 bytes including NUL). */
void otp_sha256_hex(const void *p, size_t n, char out[2 * OTP_SHA256_LEN + 1]);
void otp_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
		     unsigned char out[OTP_SHA256_LEN]);
void otp_hmac_sha1(const void *key, size_t keylen, const void *msg, size_t msglen,
		   unsigned char out[OTP_SHA1_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void otp_hex(const unsigned char *p, size_t n, char *out);

/* Standard base64 with padding / base64url without padding, appended to b. */
int otp_base64_append(struct otp_buf *b, const void *p, size_t n);
int otp_base64url_append(struct otp_buf *b, const void *p, size_t n);
/* Decode base64 or base64url (padding optional, either alphabet); -1 on junk. */
int otp_base64_decode(const char *s, struct otp_buf *out);

/*
 * Percent-encode per RFC 3986: unreserved [A-Za-z0-9-._~] stay, everything
 * else (including space, '*', and each byte of UTF-8) becomes %XX upper-case.
 * This is what Aliyun, AWS and Tencent canonical strings need.
 */
int otp_pct_encode_append(struct otp_buf *b, const char *s);
/* application/x-www-form-urlencoded: like RFC 3986 but space becomes '+'. */
int otp_form_encode_append(struct otp_buf *b, const char *s);
/* Append "key=value" with form encoding, preceded by '&' when b is not empty. */
int otp_form_add(struct otp_buf *b, const char *key, const char *value);

/* Constant-time equality of two equal-length byte strings (1 = equal). */
int otp_ct_equal(const void *a, const void *b, size_t n);

#endif
