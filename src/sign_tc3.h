/*
 * sign_tc3.h - Tencent Cloud API 3.0 signature TC3-HMAC-SHA256.
 *
 *   canonical request = METHOD \n / \n QUERY \n
 *                       content-type:<ct>\nhost:<host>\n \n
 *                       content-type;host \n hex(SHA256(payload))
 *   string to sign    = "TC3-HMAC-SHA256" \n TIMESTAMP \n DATE/SERVICE/tc3_request \n
 *                       hex(SHA256(canonical request))
 *   signing key       = HMAC(HMAC(HMAC("TC3" + SecretKey, DATE), SERVICE), "tc3_request")
 *   Authorization     = TC3-HMAC-SHA256 Credential=ID/SCOPE, SignedHeaders=content-type;host,
 *                       Signature=hex(HMAC(signing key, string to sign))
 *
 * DATE is the UTC date of TIMESTAMP.  The signed headers are always
 * content-type and host (what the SMS API needs); header names and values
 * are lower-cased and trimmed as Tencent's canonical form asks, so the
 * Content-Type and Host actually sent must match them byte for byte apart
 * from case.  Pure functions; no I/O, no clock.
 */
#ifndef OTP_SIGN_TC3_H
#define OTP_SIGN_TC3_H

#include <stddef.h>
#include "buf.h"
#include "crypto.h"

struct otp_tc3_request {
	const char *method;          /* "POST" */
	const char *query;           /* canonical query string; "" (or NULL) for POST */
	const char *host;            /* the Host header value, e.g. "sms.tencentcloudapi.com" */
	const char *content_type;    /* e.g. "application/json; charset=utf-8" */
	const char *payload;         /* exact body bytes */
	size_t payload_len;
	const char *service;         /* "sms" */
	long long timestamp;         /* X-TC-Timestamp, Unix seconds */
	const char *secret_id;
	const char *secret_key;
};

#define OTP_TC3_DATE_LEN 11           /* "YYYY-MM-DD" + NUL */
#define OTP_TC3_SIG_LEN (2 * OTP_SHA256_LEN + 1)
#define OTP_TC3_SIGNED_HEADERS "content-type;host"

/* UTC date of a Unix time.  0, or -1 if out of range. */
int otp_tc3_date(long long ts, char out[OTP_TC3_DATE_LEN]);
/* Append the canonical request.  0/-1 (missing field, ENOMEM). */
int otp_tc3_canonical_request(const struct otp_tc3_request *r, struct otp_buf *out);
/* Append the string to sign.  0/-1. */
int otp_tc3_string_to_sign(const struct otp_tc3_request *r, struct otp_buf *out);
/* The derived key for date and service.  0/-1. */
int otp_tc3_signing_key(const char *secret_key, const char *date, const char *service,
			unsigned char out[OTP_SHA256_LEN]);
/* Lower-case hex signature.  0/-1. */
int otp_tc3_signature(const struct otp_tc3_request *r, char sig[OTP_TC3_SIG_LEN]);
/* Append the Authorization header value (without "Authorization: ").  0/-1. */
int otp_tc3_authorization(const struct otp_tc3_request *r, struct otp_buf *out);

#endif
