/*
 * sign_sigv4.h - AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256).
 *
 * Pure functions: no clock, no network, no allocation outside the output
 * buffers.  The caller supplies the request as it will go on the wire and
 * the x-amz-date it put in the headers; the module builds
 *
 *   canonical request = method \n canonical URI \n canonical query \n
 *                       canonical headers \n signed headers \n hex(SHA256(payload))
 *   string to sign    = "AWS4-HMAC-SHA256" \n amz-date \n scope \n hex(SHA256(canonical request))
 *   scope             = YYYYMMDD/region/service/aws4_request
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")
 *
 * and the Authorization header value
 *   AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<list>, Signature=<hex>
 *
 * Every function returns 0, or -1 on a malformed input (control character
 * in a header, missing host/x-amz-date, bad date) or when a buffer is full.
 */
#ifndef OTP_SIGN_SIGV4_H
#define OTP_SIGN_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

#define OTP_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
/* "YYYYMMDDTHHMMSSZ" plus NUL. */
#define OTP_SIGV4_DATE_LEN 17
/* Most headers one request may sign. */
#define OTP_SIGV4_MAX_HEADERS 32

struct otp_sigv4_header {
	const char *name;        /* any case; lower-cased when signed */
	const char *value;       /* trimmed, inner runs of spaces collapsed when signed */
};

struct otp_sigv4_request {
	const char *method;      /* "GET", "POST", ... (upper case, as sent) */
	const char *path;        /* the path as sent on the wire ("/v2/email/outbound-emails"); "" = "/" */
	const char *query;       /* raw query string without '?', or NULL */
	const struct otp_sigv4_header *headers;   /* the headers to sign; must include host and x-amz-date */
	size_t nheaders;
	const void *payload;     /* request body (may be NULL when payload_len is 0) */
	size_t payload_len;
	bool s3;                 /* S3 rules: no path normalisation, path used as sent */
};

struct otp_sigv4_credentials {
	const char *access_key_id;
	const char *secret_key;  /* a secret: only ever fed to HMAC */
	const char *region;      /* "us-east-1" */
	const char *service;     /* signing name, e.g. "ses" */
};

/* X-Amz-Date for a Unix time (UTC): "20150830T123600Z".  0/-1. */
int otp_sigv4_amz_date(long long unix_time, char out[OTP_SIGV4_DATE_LEN]);

/*
 * Canonical URI: for everything but S3 the path is normalised (no empty,
 * "." or ".." segments; a trailing '/' kept) and each segment is
 * percent-encoded once more per RFC 3986 (AWS's "encode twice" rule applied
 * to the path as sent); "/" when empty.  Appended to out.
 */
int otp_sigv4_canonical_uri(const char *path, bool s3, struct otp_buf *out);
/* Canonical query: pairs decoded, re-encoded per RFC 3986, sorted by name then value. */
int otp_sigv4_canonical_query(const char *query, struct otp_buf *out);
/*
 * Canonical request (appended to out) and the SignedHeaders list (appended
 * to signed_headers).
 */
int otp_sigv4_canonical_request(const struct otp_sigv4_request *r, struct otp_buf *out,
				struct otp_buf *signed_headers);
/* String to sign for a canonical request (appended to out). */
int otp_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			     const char *canonical_request, size_t len, struct otp_buf *out);
/* kSigning for secret/date(YYYYMMDD)/region/service.  Wipe out after use. */
void otp_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			   const char *service, unsigned char out[32]);
/*
 * Sign r: the amz-date is taken from r's x-amz-date header (which must be
 * well formed).  Appends the Authorization header *value* to out; when
 * signature_hex is non-NULL (65 bytes) the bare signature is copied there.
 */
int otp_sigv4_authorization(const struct otp_sigv4_credentials *c,
			    const struct otp_sigv4_request *r, struct otp_buf *out,
			    char *signature_hex);

#endif
