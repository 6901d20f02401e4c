/* sign_sigv4.c - AWS Signature Version 4 request signing (see sign_sigv4.h). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sign_sigv4.h"
#include "crypto.h"
#include "mem.h"

#define MAX_PATH_LEN 8192
#define MAX_QUERY_PAIRS 256
#define MAX_HEADER_NAME 128

int
otp_sigv4_amz_date(long long unix_time, char out[OTP_SIGV4_DATE_LEN])
{
	time_t t = (time_t)unix_time;
	struct tm tm;

	out[0] = '\0';
	if (unix_time < 0 || (long long)t != unix_time || gmtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(out, OTP_SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm) != OTP_SIGV4_DATE_LEN - 1) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* "YYYYMMDDTHHMMSSZ" exactly. */
static bool
amz_date_valid(const char *d)
{
	if (d == NULL || strlen(d) != OTP_SIGV4_DATE_LEN - 1 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return false;
	return true;
}

/* Percent-encode s[0..n) per RFC 3986 (s need not be NUL-terminated). */
static int
pct_encode_n(struct otp_buf *out, const char *s, size_t n)
{
	char tmp[256];
	int rc;

	while (n > 0) {
		size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
		memcpy(tmp, s, k);
		tmp[k] = '\0';
		if (memchr(tmp, '\0', k) != NULL)
			return -1;
		rc = otp_pct_encode_append(out, tmp);
		if (rc != 0)
			return -1;
		s += k;
		n -= k;
	}
	return 0;
}

struct span {
	const char *p;
	size_t n;
};

int
otp_sigv4_canonical_uri(const char *path, bool s3, struct otp_buf *out)
{
	struct span *seg;
	size_t len, nseg = 0, cap = 1;
	bool trailing;
	int rc = -1;

	if (path == NULL)
		path = "";
	len = strlen(path);
	if (len > MAX_PATH_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x20 || c == 0x7f || c == '?' || c == '#')
			return -1;
		if (c == '/')
			cap++;
	}
	if (len == 0)
		return otp_buf_puts(out, "/");
	if (s3) {
		/* S3: the path exactly as sent */
		if (path[0] != '/' && otp_buf_puts(out, "/") != 0)
			return -1;
		return otp_buf_puts(out, path);
	}

	seg = calloc(cap, sizeof(*seg));
	if (seg == NULL)
		return -1;
	trailing = path[len - 1] == '/';
	for (const char *p = path; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* empty or "." segment: dropped */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg > 0)
				nseg--;
		} else {
			seg[nseg].p = p;
			seg[nseg].n = n;
			nseg++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	/* "/a/.." ends in a directory even without a trailing slash */
	if (len >= 2 && (strcmp(path + len - 2, "/.") == 0 ||
			 (len >= 3 && strcmp(path + len - 3, "/..") == 0)))
		trailing = true;
	if (nseg == 0) {
		rc = otp_buf_puts(out, "/");
		goto out;
	}
	for (size_t i = 0; i < nseg; i++) {
		if (otp_buf_puts(out, "/") != 0 || pct_encode_n(out, seg[i].p, seg[i].n) != 0)
			goto out;
	}
	if (trailing && otp_buf_puts(out, "/") != 0)
		goto out;
	rc = 0;
out:
	free(seg);
	return rc;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX in s[0..n) and re-encode per RFC 3986 into a new string. */
static char *
reencode(const char *s, size_t n)
{
	struct otp_buf dec, enc;
	char *r = NULL;

	otp_buf_init(&dec, MAX_PATH_LEN);
	otp_buf_init(&enc, 3 * MAX_PATH_LEN + 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				goto out;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				goto out;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (otp_buf_append(&dec, &c, 1) != 0)
			goto out;
	}
	if (otp_buf_puts(&enc, "") != 0 || (dec.len > 0 && otp_pct_encode_append(&enc, dec.data) != 0))
		goto out;
	r = otp_buf_steal(&enc);
out:
	otp_buf_free(&dec);
	otp_buf_free(&enc);
	return r;
}

struct qpair {
	char *name;
	char *value;
};

static int
qpair_cmp(const struct qpair *a, const struct qpair *b)
{
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : strcmp(a->value, b->value);
}

int
otp_sigv4_canonical_query(const char *query, struct otp_buf *out)
{
	struct qpair *pairs = NULL;
	size_t n = 0, cap = 1;
	int rc = -1;

	if (query == NULL || query[0] == '\0')
		return 0;
	for (const char *p = query; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '#')
			return -1;
		if (*p == '&')
			cap++;
	}
	if (cap > MAX_QUERY_PAIRS)
		return -1;
	pairs = calloc(cap, sizeof(*pairs));
	if (pairs == NULL)
		return -1;
	for (const char *p = query; *p;) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > 0) {
			const char *eq = memchr(p, '=', len);
			size_t nl = eq ? (size_t)(eq - p) : len;
			pairs[n].name = reencode(p, nl);
			pairs[n].value = eq ? reencode(eq + 1, len - nl - 1) : reencode("", 0);
			if (pairs[n].name == NULL || pairs[n].value == NULL) {
				n++;
				goto out;
			}
			/* insertion sort: stable, and n is small */
			for (size_t j = n; j > 0 && qpair_cmp(&pairs[j - 1], &pairs[j]) > 0; j--) {
				struct qpair t = pairs[j];
				pairs[j] = pairs[j - 1];
				pairs[j - 1] = t;
			}
			n++;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	for (size_t i = 0; i < n; i++) {
		if ((i > 0 && otp_buf_puts(out, "&") != 0) ||
		    otp_buf_puts(out, pairs[i].name) != 0 || otp_buf_puts(out, "=") != 0 ||
		    otp_buf_puts(out, pairs[i].value) != 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	return rc;
}

static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
lower_name(const char *name, char out[MAX_HEADER_NAME + 1])
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > MAX_HEADER_NAME)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == 0 || !is_tchar(c))
			return -1;
		out[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out[n] = '\0';
	return 0;
}

/* Trimmed value with inner runs of blanks collapsed to one space. */
static int
append_trimmed(struct otp_buf *out, const char *v)
{
	bool pending_space = false, started = false;

	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
		if (*p == ' ' || *p == '\t') {
			pending_space = started;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			return -1;   /* CR/LF would fold the header: refuse */
		if (pending_space && otp_buf_append(out, " ", 1) != 0)
			return -1;
		pending_space = false;
		started = true;
		if (otp_buf_append(out, p, 1) != 0)
			return -1;
	}
	return 0;
}

struct hdr {
	char name[MAX_HEADER_NAME + 1];
	const char *value;
};

/* Sorted copy of the header names (stable for equal names). */
static int
sorted_headers(const struct otp_sigv4_request *r, struct hdr *h)
{
	if (r->nheaders == 0 || r->nheaders > OTP_SIGV4_MAX_HEADERS || r->headers == NULL)
		return -1;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (lower_name(r->headers[i].name, h[i].name) != 0)
			return -1;
		h[i].value = r->headers[i].value;
		for (size_t j = i; j > 0 && strcmp(h[j - 1].name, h[j].name) > 0; j--) {
			struct hdr t = h[j];
			h[j] = h[j - 1];
			h[j - 1] = t;
		}
	}
	return 0;
}

static const char *
find_header(const struct hdr *h, size_t n, const char *lname)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, lname) == 0)
			return h[i].value;
	return NULL;
}

int
otp_sigv4_canonical_request(const struct otp_sigv4_request *r, struct otp_buf *out,
			    struct otp_buf *signed_headers)
{
	struct hdr h[OTP_SIGV4_MAX_HEADERS];
	char payload_hash[2 * OTP_SHA256_LEN + 1];

	if (r->method == NULL || r->method[0] == '\0' || sorted_headers(r, h) != 0)
		return -1;
	for (const char *m = r->method; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return -1;
	if (otp_buf_puts(out, r->method) != 0 || otp_buf_puts(out, "\n") != 0 ||
	    otp_sigv4_canonical_uri(r->path, r->s3, out) != 0 || otp_buf_puts(out, "\n") != 0 ||
	    otp_sigv4_canonical_query(r->query, out) != 0 || otp_buf_puts(out, "\n") != 0)
		return -1;
	for (size_t i = 0; i < r->nheaders; i++) {
		bool same = i > 0 && strcmp(h[i - 1].name, h[i].name) == 0;
		if (same) {
			/* repeated header: values joined with ',' on one line */
			if (otp_buf_puts(out, ",") != 0)
				return -1;
		} else {
			if (i > 0 && otp_buf_puts(out, "\n") != 0)
				return -1;
			if (otp_buf_puts(out, h[i].name) != 0 || otp_buf_puts(out, ":") != 0)
				return -1;
			if ((i > 0 && otp_buf_puts(signed_headers, ";") != 0) ||
			    otp_buf_puts(signed_headers, h[i].name) != 0)
				return -1;
		}
		if (append_trimmed(out, h[i].value) != 0)
			return -1;
	}
	/* The header block ends with '\n', then a blank line before SignedHeaders. */
	if (otp_buf_puts(out, "\n\n") != 0 || otp_buf_puts(out, signed_headers->data) != 0 ||
	    otp_buf_puts(out, "\n") != 0)
		return -1;
	otp_sha256_hex(r->payload ? r->payload : "", r->payload ? r->payload_len : 0, payload_hash);
	return otp_buf_puts(out, payload_hash);
}

/* Region, service and key id go into the scope and the header: no separators. */
static bool
scope_part_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 128)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '/' || *p == ',' || *p == ';' || *p == '=')
			return false;
	return true;
}

int
otp_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			 const char *canonical_request, size_t len, struct otp_buf *out)
{
	char hash[2 * OTP_SHA256_LEN + 1];

	if (!amz_date_valid(amz_date) || !scope_part_ok(region) || !scope_part_ok(service))
		return -1;
	otp_sha256_hex(canonical_request, len, hash);
	return otp_buf_printf(out, "%s\n%s\n%.8s/%s/%s/aws4_request\n%s", OTP_SIGV4_ALGORITHM,
			      amz_date, amz_date, region, service, hash);
}

void
otp_sigv4_signing_key(const char *secret, const char *date8, const char *region,
		      const char *service, unsigned char out[32])
{
	size_t sl = strlen(secret);
	char *k = malloc(sl + 5);
	unsigned char a[OTP_SHA256_LEN], b[OTP_SHA256_LEN];

	if (k == NULL) {
		memset(out, 0, 32);
		return;
	}
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, sl + 1);
	otp_hmac_sha256(k, sl + 4, date8, strlen(date8), a);
	otp_hmac_sha256(a, sizeof(a), region, strlen(region), b);
	otp_hmac_sha256(b, sizeof(b), service, strlen(service), a);
	otp_hmac_sha256(a, sizeof(a), "aws4_request", 12, out);
	otp_free_wiped(k, sl + 5);
	otp_wipe(a, sizeof(a));
	otp_wipe(b, sizeof(b));
}

int
otp_sigv4_authorization(const struct otp_sigv4_credentials *c,
			const struct otp_sigv4_request *r, struct otp_buf *out,
			char *signature_hex)
{
	struct hdr h[OTP_SIGV4_MAX_HEADERS];
	struct otp_buf creq, sh, sts, date;
	unsigned char key[OTP_SHA256_LEN], mac[OTP_SHA256_LEN];
	char sig[2 * OTP_SHA256_LEN + 1], date8[9];
	const char *v;
	int rc = -1;

	otp_buf_init(&creq, 0);
	otp_buf_init(&sh, 4096);
	otp_buf_init(&sts, 4096);
	otp_buf_init(&date, 64);
	if (c == NULL || c->secret_key == NULL || !scope_part_ok(c->access_key_id) ||
	    !scope_part_ok(c->region) || !scope_part_ok(c->service) || sorted_headers(r, h) != 0)
		goto out;
	if (find_header(h, r->nheaders, "host") == NULL ||
	    (v = find_header(h, r->nheaders, "x-amz-date")) == NULL ||
	    append_trimmed(&date, v) != 0 || !amz_date_valid(date.data))
		goto out;
	if (otp_sigv4_canonical_request(r, &creq, &sh) != 0 ||
	    otp_sigv4_string_to_sign(date.data, c->region, c->service, creq.data, creq.len, &sts) != 0)
		goto out;
	memcpy(date8, date.data, 8);
	date8[8] = '\0';
	otp_sigv4_signing_key(c->secret_key, date8, c->region, c->service, key);
	otp_hmac_sha256(key, sizeof(key), sts.data, sts.len, mac);
	otp_hex(mac, sizeof(mac), sig);
	if (otp_buf_printf(out, "%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
			   OTP_SIGV4_ALGORITHM, c->access_key_id, date8, c->region, c->service,
			   sh.data, sig) != 0)
		goto out;
	if (signature_hex != NULL)
		memcpy(signature_hex, sig, sizeof(sig));
	rc = 0;
out:
	otp_wipe(key, sizeof(key));
	otp_wipe(mac, sizeof(mac));
	otp_buf_free(&creq);
	otp_buf_free(&sh);
	otp_buf_free(&sts);
	otp_buf_free(&date);
	return rc;
}
