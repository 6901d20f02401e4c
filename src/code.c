/* code.c - code generation, keyed hashing, answer normalisation. */
#include "config.h"
#include <string.h>
#include "code.h"
#include "crypto.h"
#include "mem.h"

int
otp_code_generate(unsigned digits, char *out)
{
	uint64_t bound = 1, v;

	if (digits < OTP_CODE_MIN_DIGITS || digits > OTP_CODE_MAX_DIGITS)
		return -1;
	for (unsigned i = 0; i < digits; i++)
		bound *= 10;
	if (otp_random_uniform(bound, &v) != 0)
		return -1;
	/* Fill from the right so that leading zeros are kept. */
	for (unsigned i = digits; i > 0; i--) {
		out[i - 1] = (char)('0' + (v % 10));
		v /= 10;
	}
	out[digits] = '\0';
	otp_wipe(&v, sizeof(v));
	return 0;
}

void
otp_code_hash(const unsigned char key[OTP_STATE_KEY_LEN], uint32_t uid, int64_t issued,
	      const char *code, unsigned char out[OTP_CODE_HASH_LEN])
{
	static const char label[] = "pam_otp_sms code v1";
	unsigned char msg[sizeof(label) + 4 + 8 + OTP_CODE_MAX_DIGITS + 1];
	size_t n = 0, cl = strlen(code);

	if (cl > OTP_CODE_MAX_DIGITS)
		cl = OTP_CODE_MAX_DIGITS;
	memcpy(msg, label, sizeof(label));
	n = sizeof(label);
	for (int i = 0; i < 4; i++)
		msg[n++] = (unsigned char)(uid >> (8 * i));
	for (int i = 0; i < 8; i++)
		msg[n++] = (unsigned char)((uint64_t)issued >> (8 * i));
	memcpy(msg + n, code, cl);
	n += cl;
	otp_hmac_sha256(key, OTP_STATE_KEY_LEN, msg, n, out);
	otp_wipe(msg, sizeof(msg));
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int
otp_code_normalize(const char *answer, unsigned digits, char *out, size_t outlen)
{
	const char *s, *e;
	size_t n;

	if (answer == NULL || outlen < (size_t)digits + 1)
		return -1;
	s = answer;
	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		e--;
	n = (size_t)(e - s);
	if (n != digits)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}
