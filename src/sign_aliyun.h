/*
 * sign_aliyun.h - Alibaba Cloud RPC request signature, SignatureVersion 1.0
 * (HMAC-SHA1), as used by Dysmsapi SendSms and DirectMail SingleSendMail.
 *
 *   canonical  = sorted (by encoded name, byte order) pct(name)=pct(value),
 *                joined by '&'; pct() is RFC 3986 (space %20, '*' %2A,
 *                '~' kept, UTF-8 byte by byte)
 *   to sign    = METHOD "&" "%2F" "&" pct(canonical)
 *   Signature  = base64(HMAC-SHA1(AccessKeySecret + "&", to sign))
 *
 * Pure functions over crypto.h; no I/O, no clock (callers pass the time).
 */
#ifndef OTP_SIGN_ALIYUN_H
#define OTP_SIGN_ALIYUN_H

#include <stddef.h>
#include "buf.h"
#include "rc.h"

/* One request parameter (every parameter except Signature). */
struct otp_aliyun_param {
	const char *name;
	const char *value;
};

/* base64 of a 20-byte HMAC-SHA1: 28 characters + NUL. */
#define OTP_ALIYUN_SIG_LEN 29
/* "YYYY-MM-DDThh:mm:ssZ" + NUL. */
#define OTP_ALIYUN_TIMESTAMP_LEN 21
/* UUID text form + NUL. */
#define OTP_ALIYUN_NONCE_LEN 37

/*
 * Append the canonicalized query string of the n parameters to out.
 * 0, or -1 (a NULL/empty name, a repeated name, ENOMEM, buffer cap).
 */
int otp_aliyun_canonical(const struct otp_aliyun_param *p, size_t n, struct otp_buf *out);
/* Append METHOD&%2F&pct(canonical) to out.  0/-1 as above. */
int otp_aliyun_string_to_sign(const char *method, const struct otp_aliyun_param *p, size_t n,
			      struct otp_buf *out);
/* The base64 signature into sig.  0/-1. */
int otp_aliyun_signature(const char *method, const struct otp_aliyun_param *p, size_t n,
			 const char *secret, char sig[OTP_ALIYUN_SIG_LEN]);
/*
 * The complete signed request: canonical query + "&Signature=" +
 * pct(signature), appended to out.  This is both a valid query string (GET)
 * and a valid application/x-www-form-urlencoded body (POST); method must be
 * the one actually used.  0/-1.  out may hold secrets: otp_buf_free it.
 */
int otp_aliyun_signed_query(const char *method, const struct otp_aliyun_param *p, size_t n,
			    const char *secret, struct otp_buf *out);

/* UTC "YYYY-MM-DDThh:mm:ssZ" for a Unix time.  0, or -1 if out of range. */
int otp_aliyun_timestamp(long long now, char out[OTP_ALIYUN_TIMESTAMP_LEN]);
/* Random UUID v4 (lower-case hex) from the CSPRNG.  0, or -1 if it failed. */
int otp_aliyun_nonce(char out[OTP_ALIYUN_NONCE_LEN]);

/*
 * Failure class of an error Code that any Aliyun RPC API (the POP gateway)
 * returns, whatever the product: bad key or signature, stale timestamp or
 * reused nonce -> AUTH; Throttling* -> RATE_LIMIT; InternalError and
 * ServiceUnavailable -> HTTP_5XX.  OTP_FAIL_NONE for any other code (the
 * connector then applies its product's codes).
 */
enum otp_fail_class otp_aliyun_gateway_class(const char *code);

#endif
