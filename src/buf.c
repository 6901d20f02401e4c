/* buf.c - bounded growable buffer that wipes what it discards. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mem.h"

void
otp_buf_init(struct otp_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : OTP_BUF_DEFAULT_MAX;
}

static int
buf_reserve(struct otp_buf *b, size_t need)
{
	size_t ncap;
	char *n;

	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	/* Never realloc: the old block could keep a secret in freed memory. */
	n = malloc(ncap);
	if (n == NULL)
		return -1;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len + 1);
		otp_free_wiped(b->data, b->cap);
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
otp_buf_append(struct otp_buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -1;
	if (buf_reserve(b, b->len + n + 1) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
otp_buf_puts(struct otp_buf *b, const char *s)
{
	return otp_buf_append(b, s, strlen(s));
}

int
otp_buf_vprintf(struct otp_buf *b, const char *fmt, va_list ap)
{
	char small[512];
	va_list cp;
	int n;
	int rc;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small)) {
		rc = otp_buf_append(b, small, (size_t)n);
		otp_wipe(small, sizeof(small));
		return rc;
	}
	otp_wipe(small, sizeof(small));
	if ((size_t)n > b->max || b->len > b->max - (size_t)n)
		return -1;
	if (buf_reserve(b, b->len + (size_t)n + 1) != 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
otp_buf_printf(struct otp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = otp_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *
otp_buf_steal(struct otp_buf *b)
{
	char *s = b->data;

	if (s == NULL)
		s = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}

void
otp_buf_reset(struct otp_buf *b)
{
	if (b->data != NULL) {
		otp_wipe(b->data, b->cap);
		b->data[0] = '\0';
	}
	b->len = 0;
}

void
otp_buf_free(struct otp_buf *b)
{
	if (b->data != NULL)
		otp_free_wiped(b->data, b->cap);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
