/* sign_aliyun.c - Alibaba Cloud RPC signature v1.0 (HMAC-SHA1). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "crypto.h"
#include "mem.h"
#include "sign_aliyun.h"

/* Enough for any parameter name we send; longer names are refused. */
#define NAME_MAX_ENC 256

struct enc_name {
	char name[NAME_MAX_ENC];
	size_t idx;
};

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct enc_name *)a)->name, ((const struct enc_name *)b)->name);
}

int
otp_aliyun_canonical(const struct otp_aliyun_param *p, size_t n, struct otp_buf *out)
{
	struct enc_name *names;
	struct otp_buf nb;
	int rc = -1;

	if (n == 0)
		return 0;
	names = calloc(n, sizeof(*names));
	if (names == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i].name == NULL || p[i].name[0] == '\0' || p[i].value == NULL)
			goto out;
		otp_buf_init(&nb, NAME_MAX_ENC - 1);
		if (otp_pct_encode_append(&nb, p[i].name) != 0) {
			otp_buf_free(&nb);
			goto out;
		}
		memcpy(names[i].name, nb.data, nb.len + 1);
		names[i].idx = i;
		otp_buf_free(&nb);
	}
	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		/* A repeated name would be ambiguous to the verifier. */
		if (i > 0 && strcmp(names[i - 1].name, names[i].name) == 0)
			goto out;
		if ((i > 0 && otp_buf_append(out, "&", 1) != 0) ||
		    otp_buf_puts(out, names[i].name) != 0 ||
		    otp_buf_append(out, "=", 1) != 0 ||
		    otp_pct_encode_append(out, p[names[i].idx].value) != 0)
			goto out;
	}
	rc = 0;
out:
	free(names);
	return rc;
}

int
otp_aliyun_string_to_sign(const char *method, const struct otp_aliyun_param *p, size_t n,
			  struct otp_buf *out)
{
	struct otp_buf canon;
	int rc = -1;

	if (method == NULL || method[0] == '\0')
		return -1;
	otp_buf_init(&canon, out->max);
	if (otp_aliyun_canonical(p, n, &canon) != 0)
		goto out;
	if (otp_buf_puts(out, method) != 0 || otp_buf_puts(out, "&%2F&") != 0 ||
	    otp_pct_encode_append(out, canon.data ? canon.data : "") != 0)
		goto out;
	rc = 0;
out:
	/* The canonical string holds the code (TemplateParam) and the body. */
	otp_buf_free(&canon);
	return rc;
}

int
otp_aliyun_signature(const char *method, const struct otp_aliyun_param *p, size_t n,
		     const char *secret, char sig[OTP_ALIYUN_SIG_LEN])
{
	unsigned char mac[OTP_SHA1_LEN];
	struct otp_buf sts, key, b64;
	int rc = -1;

	sig[0] = '\0';
	if (secret == NULL)
		return -1;
	otp_buf_init(&sts, 0);
	otp_buf_init(&key, 4096);
	otp_buf_init(&b64, OTP_ALIYUN_SIG_LEN);
	if (otp_aliyun_string_to_sign(method, p, n, &sts) != 0 ||
	    otp_buf_puts(&key, secret) != 0 || otp_buf_append(&key, "&", 1) != 0)
		goto out;
	otp_hmac_sha1(key.data, key.len, sts.data, sts.len, mac);
	if (otp_base64_append(&b64, mac, sizeof(mac)) != 0 || b64.len != OTP_ALIYUN_SIG_LEN - 1)
		goto out;
	memcpy(sig, b64.data, b64.len + 1);
	rc = 0;
out:
	otp_wipe(mac, sizeof(mac));
	otp_buf_free(&sts);
	otp_buf_free(&key);
	otp_buf_free(&b64);
	return rc;
}

int
otp_aliyun_signed_query(const char *method, const struct otp_aliyun_param *p, size_t n,
			const char *secret, struct otp_buf *out)
{
	char sig[OTP_ALIYUN_SIG_LEN];
	int rc = -1;

	if (otp_aliyun_signature(method, p, n, secret, sig) != 0)
		return -1;
	if (otp_aliyun_canonical(p, n, out) != 0 ||
	    (n > 0 && otp_buf_append(out, "&", 1) != 0) ||
	    otp_buf_puts(out, "Signature=") != 0 || otp_pct_encode_append(out, sig) != 0)
		goto out;
	rc = 0;
out:
	otp_wipe(sig, sizeof(sig));
	return rc;
}

int
otp_aliyun_timestamp(long long now, char out[OTP_ALIYUN_TIMESTAMP_LEN])
{
	time_t t = (time_t)now;
	struct tm tm;

	out[0] = '\0';
	if (now < 0 || (long long)t != now || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year + 1900 > 9999)
		return -1;
	if (strftime(out, OTP_ALIYUN_TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	    OTP_ALIYUN_TIMESTAMP_LEN - 1)
		return -1;
	return 0;
}

int
otp_aliyun_nonce(char out[OTP_ALIYUN_NONCE_LEN])
{
	unsigned char r[16];
	char hex[33];

	out[0] = '\0';
	if (otp_random_bytes(r, sizeof(r)) != 0)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);   /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	otp_hex(r, sizeof(r), hex);
	snprintf(out, OTP_ALIYUN_NONCE_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s",
		 hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

/* code is name, or name "." something. */
static int
code_is(const char *code, const char *name)
{
	size_t n = strlen(name);

	return strncmp(code, name, n) == 0 && (code[n] == '\0' || code[n] == '.');
}

enum otp_fail_class
otp_aliyun_gateway_class(const char *code)
{
	if (code == NULL)
		return OTP_FAIL_NONE;
	if (code_is(code, "InvalidAccessKeyId") || code_is(code, "SignatureDoesNotMatch") ||
	    code_is(code, "IncompleteSignature") || code_is(code, "SignatureNonceUsed") ||
	    code_is(code, "InvalidTimeStamp") || code_is(code, "InvalidSecurityToken"))
		return OTP_FAIL_AUTH;
	if (code_is(code, "Throttling"))
		return OTP_FAIL_RATE_LIMIT;
	if (code_is(code, "InternalError") || code_is(code, "ServiceUnavailable"))
		return OTP_FAIL_HTTP_5XX;
	return OTP_FAIL_NONE;
}
