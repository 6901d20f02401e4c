/*
 * fuzz_validate - the destination validators and their neighbours in
 * src/validate.h (security.md F4): E.164, email, country allow lists,
 * masking, CIDR parsing and matching, numeric PAM_RHOST.
 *
 * Input: a selector byte, then NUL-separated fields.
 *
 * Invariants: an accepted phone matches ^\+[1-9][0-9]{6,14}$; an accepted
 * email is plain printable ASCII local@domain of at most 254 bytes with no
 * CR, LF, NUL, space, C1 or second '@'; masks are terminated, have no
 * control characters, the log mask is ASCII, and neither mask shows a
 * whole destination; a country code is allowed only as the number's whole
 * country code; a parsed CIDR has a sane prefix and contains its own
 * address, and a non-numeric (host name) PAM_RHOST never matches.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "src/validate.h"

static bool
e164_regex(const char *s)
{
	size_t n = strlen(s);

	return n >= 8 && n <= 16 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' &&
	       strspn(s + 1, "0123456789") == n - 1;
}

static size_t
digits_in(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s >= '0' && *s <= '9';
	return n;
}

static void
check_masks(const char *dest, bool phone)
{
	char disp[128], log[128];

	otp_mask_display(dest, disp, sizeof(disp));
	otp_mask_log(dest, log, sizeof(log));
	FUZZ_CHECK(strlen(disp) < sizeof(disp) && strlen(log) < sizeof(log), "mask length");
	for (const unsigned char *p = (const unsigned char *)log; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "log mask byte 0x%02x", *p);
	for (const unsigned char *p = (const unsigned char *)disp; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "display mask byte 0x%02x", *p);
	if (strchr(dest, '*') == NULL)
		FUZZ_CHECK(strstr(log, dest) == NULL && strstr(disp, dest) == NULL, "mask shows %s", dest);
	if (phone)
		FUZZ_CHECK(digits_in(log) + 3 <= digits_in(dest),
			   "log mask %s shows %zu of the %zu digits", log, digits_in(log), digits_in(dest));
}

static void
fuzz_destination(const char *s)
{
	char *allowed[3] = { NULL, NULL, NULL };

	if (otp_valid_e164(s)) {
		FUZZ_CHECK(e164_regex(s), "accepted phone %s", s);
		check_masks(s, true);
		/* The number's own country code is allowed; a longer or
		 * shorter prefix of it is not. */
		{
			char cc[4] = { 0 }, longer[5] = { 0 };
			int n = otp_country_code_len(s + 1);
			FUZZ_CHECK(n >= 1 && n <= 3, "country code length %d", n);
			memcpy(cc, s + 1, (size_t)n);
			allowed[0] = cc;
			FUZZ_CHECK(otp_country_allowed(s, allowed), "own country code %s refused", cc);
			memcpy(longer, s + 1, (size_t)n + 1);
			allowed[0] = longer;
			FUZZ_CHECK(!otp_country_allowed(s, allowed), "prefix %s accepted", longer);
		}
	}
	if (otp_valid_email(s)) {
		size_t n = strlen(s);
		const char *at = strchr(s, '@');
		FUZZ_CHECK(n >= 3 && n <= 254, "email length %zu", n);
		FUZZ_CHECK(at != NULL && at != s && strchr(at + 1, '@') == NULL, "email @");
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			FUZZ_CHECK(*p > 0x20 && *p < 0x7f, "email byte 0x%02x", *p);
		FUZZ_CHECK(s[0] != '-', "leading '-' (an option to sendmail)");
		check_masks(s, false);
	}
	FUZZ_CHECK(!(otp_valid_e164(s) && otp_valid_email(s)), "both kinds");
}

static void
fuzz_country(const char *num, char *code)
{
	char *allowed[2] = { code, NULL };

	if (code == NULL || num == NULL)
		return;
	if (otp_country_allowed(num, allowed) && code[0] != '\0') {
		FUZZ_CHECK(num[0] == '+' && strncmp(num + 1, code, strlen(code)) == 0, "%s allowed for %s", code, num);
		FUZZ_CHECK((int)strlen(code) == otp_country_code_len(num + 1), "partial country code");
	}
}

static void
fuzz_cidr(const char *block, const char *ip)
{
	struct otp_cidr c;
	char addr[INET6_ADDRSTRLEN];

	if (otp_cidr_parse(block, &c) == 0) {
		FUZZ_CHECK(c.family == AF_INET || c.family == AF_INET6, "family");
		FUZZ_CHECK(c.prefix <= (c.family == AF_INET ? 32u : 128u), "prefix %u", c.prefix);
		FUZZ_CHECK(inet_ntop(c.family, c.addr, addr, sizeof(addr)) != NULL, "ntop");
		FUZZ_CHECK(otp_cidr_match(&c, addr), "block %s does not contain its address %s", block, addr);
		if (ip != NULL && otp_cidr_match(&c, ip))
			FUZZ_CHECK(otp_ip_is_numeric(ip), "host name %s matched %s", ip, block);
	}
	if (ip != NULL && !otp_ip_is_numeric(ip)) {
		struct otp_cidr all4, all6;
		otp_cidr_parse("0.0.0.0/0", &all4);
		otp_cidr_parse("::/0", &all6);
		FUZZ_CHECK(!otp_cidr_match(&all4, ip) && !otp_cidr_match(&all6, ip), "host name matched /0");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	unsigned sel;
	char *a, *b;

	fz_init(&f, data, size);
	sel = fz_byte(&f);
	a = fz_field(&f);
	b = fz_field(&f);
	if (a != NULL) {
		switch (sel % 3) {
		case 0:
			fuzz_destination(a);
			break;
		case 1:
			fuzz_country(a, b);
			fuzz_destination(a);
			break;
		default:
			fuzz_cidr(a, b);
			break;
		}
	}
	free(a);
	free(b);
	return 0;
}
