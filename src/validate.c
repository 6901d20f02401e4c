/* validate.c - destination, CIDR and masking helpers. */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "validate.h"

bool
otp_valid_e164(const char *s)
{
	size_t n;

	if (s == NULL || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strlen(s + 1);
	if (n < 7 || n > 15)
		return false;
	for (const char *p = s + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static bool
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

bool
otp_valid_email(const char *s)
{
	const char *at, *p;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 254)
		return false;
	at = strchr(s, '@');
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || at - s > 64)
		return false;
	/* A leading '-' could be read as an option by sendmail. */
	if (s[0] == '.' || s[0] == '-' || at[-1] == '.')
		return false;
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return false;
		} else if (!atext((unsigned char)*p))
			return false;
	}
	/* Domain: LDH labels of 1..63, at least two labels. */
	{
		const char *d = at + 1;
		size_t label = 0;
		int labels = 1;
		if (*d == '\0' || *d == '.' || *d == '-')
			return false;
		for (p = d; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '.') {
				if (label == 0 || p[-1] == '-' || p[1] == '\0')
					return false;
				label = 0;
				labels++;
				continue;
			}
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
				return false;
			if (c == '-' && label == 0)
				return false;
			if (++label > 63)
				return false;
		}
		if (labels < 2 || p[-1] == '-')
			return false;
	}
	return true;
}

int
otp_country_code_len(const char *d)
{
	/* ITU-T E.164 assigned codes: 1 and 7 are one digit; these two-digit
	 * codes exist; every other code has three digits. */
	static const char *const two[] = {
		"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44",
		"45", "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58",
		"60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91",
		"92", "93", "94", "95", "98", NULL
	};

	if (d[0] == '1' || d[0] == '7')
		return 1;
	for (int i = 0; two[i]; i++)
		if (strncmp(d, two[i], 2) == 0)
			return 2;
	return 3;
}

bool
otp_country_allowed(const char *e164, char *const *allowed)
{
	if (allowed == NULL || allowed[0] == NULL)
		return true;
	if (e164 == NULL || e164[0] != '+')
		return false;
	for (int i = 0; allowed[i]; i++) {
		size_t n = strlen(allowed[i]);
		/* The code must be the number's whole country code, not a prefix of it. */
		if (strncmp(e164 + 1, allowed[i], n) == 0 &&
		    (int)n == otp_country_code_len(e164 + 1))
			return true;
	}
	return false;
}

static void
mask(const char *dest, char *out, size_t outlen, const char *dot, const char *sep)
{
	if (dest == NULL || outlen == 0) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	if (dest[0] == '+') {
		size_t n = strlen(dest + 1);
		int cc = otp_country_code_len(dest + 1);
		/* Up to the last 4 digits, but never so many that, with the
		 * country code, fewer than 3 digits stay hidden (short numbers
		 * such as +290 1234 would otherwise be shown whole). */
		size_t shown = n >= (size_t)cc + 3 ? n - (size_t)cc - 3 : 0;
		const char *last;

		if (shown > 4)
			shown = 4;
		last = dest + 1 + n - shown;
		snprintf(out, outlen, "+%.*s%s%s%s%s%s%s%s%s%s%s", cc, dest + 1, sep, dot, dot, dot, sep,
			 dot, dot, dot, sep, last);
		return;
	}
	{
		const char *at = strchr(dest, '@');
		if (at == NULL || at == dest) {
			snprintf(out, outlen, "%s%s%s", dot, dot, dot);
			return;
		}
		snprintf(out, outlen, "%c%s%s%s%s", dest[0], dot, dot, dot, at);
	}
}

void
otp_mask_display(const char *dest, char *out, size_t outlen)
{
	mask(dest, out, outlen, "\xe2\x80\xa2", " ");
}

void
otp_mask_log(const char *dest, char *out, size_t outlen)
{
	mask(dest, out, outlen, "*", "");
}

int
otp_cidr_parse(const char *s, struct otp_cidr *out)
{
	char buf[64];
	char *slash, *end;
	long prefix = -1;

	memset(out, 0, sizeof(*out));
	if (s == NULL || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (slash[1] == '\0')
			return -1;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || prefix < 0)
			return -1;
	}
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		if (prefix > 32)
			return -1;
		out->prefix = prefix < 0 ? 32 : (unsigned)prefix;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		if (prefix > 128)
			return -1;
		out->prefix = prefix < 0 ? 128 : (unsigned)prefix;
	} else
		return -1;
	return 0;
}

static bool
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

bool
otp_ip_is_numeric(const char *s)
{
	unsigned char tmp[16];

	return s != NULL && (inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1);
}

bool
otp_cidr_match(const struct otp_cidr *c, const char *ip)
{
	unsigned char a[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (ip == NULL)
		return false;
	if (inet_pton(AF_INET, ip, a) == 1)
		return c->family == AF_INET && prefix_equal(a, c->addr, c->prefix);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false; /* hostnames are never trusted */
	if (c->family == AF_INET6)
		return prefix_equal(a, c->addr, c->prefix);
	if (memcmp(a, mapped, 12) == 0)
		return prefix_equal(a + 12, c->addr, c->prefix);
	return false;
}
