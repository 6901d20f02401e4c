/* sign_tc3.c - Tencent Cloud TC3-HMAC-SHA256. */
#include "config.h"
#include <string.h>
#include <time.h>
#include "crypto.h"
#include "mem.h"
#include "sign_tc3.h"

#define TC3_ALGORITHM "TC3-HMAC-SHA256"

int
otp_tc3_date(long long ts, char out[OTP_TC3_DATE_LEN])
{
	time_t t = (time_t)ts;
	struct tm tm;

	out[0] = '\0';
	if (ts < 0 || (long long)t != ts || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return -1;
	if (strftime(out, OTP_TC3_DATE_LEN, "%Y-%m-%d", &tm) != OTP_TC3_DATE_LEN - 1)
		return -1;
	return 0;
}

/* Append s lower-cased with leading/trailing blanks removed. */
static int
append_lower_trimmed(struct otp_buf *b, const char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n')
			return -1;      /* would forge another canonical header line */
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (otp_buf_append(b, &c, 1) != 0)
			return -1;
	}
	return 0;
}

int
otp_tc3_canonical_request(const struct otp_tc3_request *r, struct otp_buf *out)
{
	char hash[2 * OTP_SHA256_LEN + 1];

	if (r->method == NULL || r->host == NULL || r->host[0] == '\0' ||
	    r->content_type == NULL || (r->payload == NULL && r->payload_len > 0))
		return -1;
	otp_sha256_hex(r->payload ? r->payload : "", r->payload_len, hash);
	/* "content-type" < "host": the two signed headers are already sorted. */
	if (otp_buf_puts(out, r->method) != 0 || otp_buf_puts(out, "\n/\n") != 0 ||
	    otp_buf_puts(out, r->query ? r->query : "") != 0 ||
	    otp_buf_puts(out, "\ncontent-type:") != 0 ||
	    append_lower_trimmed(out, r->content_type) != 0 ||
	    otp_buf_puts(out, "\nhost:") != 0 ||
	    append_lower_trimmed(out, r->host) != 0 ||
	    otp_buf_puts(out, "\n\n" OTP_TC3_SIGNED_HEADERS "\n") != 0 ||
	    otp_buf_puts(out, hash) != 0)
		return -1;
	return 0;
}

int
otp_tc3_string_to_sign(const struct otp_tc3_request *r, struct otp_buf *out)
{
	char date[OTP_TC3_DATE_LEN], hash[2 * OTP_SHA256_LEN + 1];
	struct otp_buf canon;
	int rc = -1;

	if (r->service == NULL || r->service[0] == '\0' || otp_tc3_date(r->timestamp, date) != 0)
		return -1;
	otp_buf_init(&canon, 0);
	if (otp_tc3_canonical_request(r, &canon) != 0)
		goto out;
	otp_sha256_hex(canon.data, canon.len, hash);
	if (otp_buf_printf(out, TC3_ALGORITHM "\n%lld\n%s/%s/tc3_request\n%s",
			   r->timestamp, date, r->service, hash) != 0)
		goto out;
	rc = 0;
out:
	otp_buf_free(&canon);
	return rc;
}

int
otp_tc3_signing_key(const char *secret_key, const char *date, const char *service,
		    unsigned char out[OTP_SHA256_LEN])
{
	unsigned char k1[OTP_SHA256_LEN], k2[OTP_SHA256_LEN];
	struct otp_buf key;

	if (secret_key == NULL || date == NULL || service == NULL)
		return -1;
	otp_buf_init(&key, 4096);
	if (otp_buf_puts(&key, "TC3") != 0 || otp_buf_puts(&key, secret_key) != 0) {
		otp_buf_free(&key);
		return -1;
	}
	otp_hmac_sha256(key.data, key.len, date, strlen(date), k1);
	otp_hmac_sha256(k1, sizeof(k1), service, strlen(service), k2);
	otp_hmac_sha256(k2, sizeof(k2), "tc3_request", 11, out);
	otp_wipe(k1, sizeof(k1));
	otp_wipe(k2, sizeof(k2));
	otp_buf_free(&key);
	return 0;
}

int
otp_tc3_signature(const struct otp_tc3_request *r, char sig[OTP_TC3_SIG_LEN])
{
	unsigned char key[OTP_SHA256_LEN], mac[OTP_SHA256_LEN];
	char date[OTP_TC3_DATE_LEN];
	struct otp_buf sts;
	int rc = -1;

	sig[0] = '\0';
	otp_buf_init(&sts, 0);
	if (otp_tc3_string_to_sign(r, &sts) != 0 || otp_tc3_date(r->timestamp, date) != 0 ||
	    otp_tc3_signing_key(r->secret_key, date, r->service, key) != 0)
		goto out;
	otp_hmac_sha256(key, sizeof(key), sts.data, sts.len, mac);
	otp_hex(mac, sizeof(mac), sig);
	rc = 0;
out:
	otp_wipe(key, sizeof(key));
	otp_wipe(mac, sizeof(mac));
	otp_buf_free(&sts);
	return rc;
}

int
otp_tc3_authorization(const struct otp_tc3_request *r, struct otp_buf *out)
{
	char sig[OTP_TC3_SIG_LEN], date[OTP_TC3_DATE_LEN];
	int rc;

	if (r->secret_id == NULL || r->secret_id[0] == '\0' ||
	    strpbrk(r->secret_id, "\r\n, ") != NULL ||
	    otp_tc3_date(r->timestamp, date) != 0 || otp_tc3_signature(r, sig) != 0)
		return -1;
	rc = otp_buf_printf(out, TC3_ALGORITHM " Credential=%s/%s/%s/tc3_request, SignedHeaders="
			    OTP_TC3_SIGNED_HEADERS ", Signature=%s", r->secret_id, date, r->service, sig);
	otp_wipe(sig, sizeof(sig));
	return rc;
}
