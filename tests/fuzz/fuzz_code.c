/*
 * fuzz_code - the conversation answer normaliser (otp_code_normalize) and
 * the code hash it feeds.
 *
 * Input: a byte choosing the expected length (4..10) and the output buffer
 * size, then the answer as the user typed it.
 *
 * Invariants: an accepted answer yields exactly `digits` ASCII digits that
 * are the answer with ASCII white space trimmed at both ends (nothing else
 * is dropped or mapped: no full-width digits, no inner spaces, no signs);
 * a too-small output buffer is refused, never overrun; the hash of the
 * normalised code is the hash of the same digits typed cleanly.
 */
#include "config.h"
#include <string.h>
#include "fuzz.h"
#include "src/code.h"

static int
ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[OTP_STATE_KEY_LEN] = { 7 };
	unsigned char h1[OTP_CODE_HASH_LEN], h2[OTP_CODE_HASH_LEN];
	struct fz f;
	unsigned sel, digits;
	size_t outlen, n;
	char *answer, *out;
	const char *s, *e;
	int rc;

	fz_init(&f, data, size);
	sel = fz_byte(&f);
	digits = OTP_CODE_MIN_DIGITS + sel % (OTP_CODE_MAX_DIGITS - OTP_CODE_MIN_DIGITS + 1);
	outlen = (sel & 0x80) ? digits : OTP_CODE_MAX_DIGITS + 1;   /* sometimes one byte short */
	answer = fz_rest(&f);
	out = malloc(outlen);
	if (out == NULL)
		abort();
	rc = otp_code_normalize(answer, digits, out, outlen);
	s = answer;
	while (ws(*s))
		s++;
	e = s + strlen(s);
	while (e > s && ws(e[-1]))
		e--;
	n = (size_t)(e - s);
	if (rc == 0) {
		FUZZ_CHECK(outlen >= digits + 1, "wrote %u digits into %zu bytes", digits, outlen);
		FUZZ_CHECK(strlen(out) == digits, "length %zu, want %u", strlen(out), digits);
		FUZZ_CHECK(strspn(out, "0123456789") == digits, "non-digit in %s", out);
		FUZZ_CHECK(n == digits && memcmp(s, out, n) == 0, "not the trimmed answer");
		otp_code_hash(key, 1000, 42, out, h1);
		otp_code_hash(key, 1000, 42, s, h2);   /* s: digits then only trailing blanks */
		if (e[0] == '\0')
			FUZZ_CHECK(memcmp(h1, h2, sizeof(h1)) == 0, "hash differs");
	} else {
		/* Refused: either the buffer is too small or the trimmed answer
		 * is not exactly `digits` ASCII digits. */
		FUZZ_CHECK(outlen < digits + 1 || n != digits || strspn(s, "0123456789") < n,
			   "a valid answer was refused");
	}
	/* NULL is refused. */
	FUZZ_CHECK(otp_code_normalize(NULL, digits, out, outlen) == -1, "NULL accepted");
	free(out);
	free(answer);
	return 0;
}
