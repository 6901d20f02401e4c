/* sms_length.c - SMS segment counting (GSM-7 / UCS-2) and SMS number helpers. */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "sms_length.h"
#include "validate.h"
#include "template.h"

/*
 * Decode one UTF-8 sequence at *p, advance *p, return the code point.
 * Invalid or truncated sequences (overlong forms, surrogates, > U+10FFFF)
 * consume one byte and yield U+FFFD.
 */
static uint32_t
next_cp(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		goto bad;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;     /* also stops at the terminating NUL */
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		goto bad;
	*pp = p + n;
	return cp;
bad:
	*pp = p + 1;
	return 0xfffd;
}

/* Non-ASCII characters of the GSM 03.38 default alphabet (TS 23.038 §6.2.1). */
static const uint16_t gsm_basic_high[] = {
	0x00a1, 0x00a3, 0x00a4, 0x00a5, 0x00a7, 0x00bf, 0x00c4, 0x00c5, 0x00c6, 0x00c7,
	0x00c9, 0x00d1, 0x00d6, 0x00d8, 0x00dc, 0x00df, 0x00e0, 0x00e4, 0x00e5, 0x00e6,
	0x00e8, 0x00e9, 0x00ec, 0x00f1, 0x00f2, 0x00f6, 0x00f8, 0x00f9, 0x00fc, 0x0393,
	0x0394, 0x0398, 0x039b, 0x039e, 0x03a0, 0x03a3, 0x03a6, 0x03a8, 0x03a9,
};

/* Septets one character costs in GSM-7: 1 basic, 2 extension, 0 not GSM. */
static int
gsm_cost(uint32_t cp)
{
	switch (cp) {
	case '\f': case '^': case '{': case '}': case '\\': case '[': case '~': case ']':
	case '|': case 0x20ac:
		return 2;
	case '\n': case '\r':
		return 1;
	case '`':
		return 0;   /* the one printable ASCII character GSM-7 lacks */
	default:
		break;
	}
	if (cp >= 0x20 && cp <= 0x7e)
		return 1;
	for (size_t i = 0; i < sizeof(gsm_basic_high) / sizeof(gsm_basic_high[0]); i++)
		if (gsm_basic_high[i] == cp)
			return 1;
	return 0;
}

bool
otp_sms_is_gsm7(const char *utf8)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");

	while (*p)
		if (gsm_cost(next_cp(&p)) == 0)
			return false;
	return true;
}

size_t
otp_sms_segments(const char *utf8, int *encoding, size_t *units)
{
	const unsigned char *p = (const unsigned char *)(utf8 ? utf8 : "");
	bool gsm = otp_sms_is_gsm7(utf8);
	size_t single = gsm ? OTP_SMS_GSM7_SINGLE : OTP_SMS_UCS2_SINGLE;
	size_t part = gsm ? OTP_SMS_GSM7_PART : OTP_SMS_UCS2_PART;
	size_t total = 0, segs = 0, used = 0;

	/* Pack greedily into parts; a 2-unit character (ESC pair or surrogate
	 * pair) that does not fit the current part starts the next one. */
	while (*p) {
		uint32_t cp = next_cp(&p);
		size_t cost = gsm ? (size_t)gsm_cost(cp) : (cp > 0xffff ? 2u : 1u);
		total += cost;
		if (segs == 0 || used + cost > part) {
			segs++;
			used = 0;
		}
		used += cost;
	}
	if (encoding != NULL)
		*encoding = gsm ? OTP_SMS_GSM7 : OTP_SMS_UCS2;
	if (units != NULL)
		*units = total;
	if (total == 0)
		return 0;
	return total <= single ? 1 : segs;
}


int
otp_sms_msisdn(const char *to, char *out, size_t outlen)
{
	size_t n;

	if (outlen > 0)
		out[0] = '\0';
	if (!otp_valid_e164(to))
		return -1;
	n = strlen(to + 1);
	if (n + 1 > outlen)
		return -1;
	memcpy(out, to + 1, n + 1);
	return 0;
}

