/* Unit tests: code generation (uniformity, leading zeros), keyed hash, normalisation. */
#include "config.h"
#include <math.h>
#include <string.h>
#include "tap.h"
#include "src/code.h"

/* Chi-square statistic of counts against a uniform expectation. */
static double
chi2(const unsigned *counts, int bins, unsigned total)
{
	double e = (double)total / bins, x = 0;

	for (int i = 0; i < bins; i++)
		x += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
	return x;
}

int
main(void)
{
	enum { N = 200000 };
	static unsigned digit[6][10], first2[100], biased[100];
	unsigned char key[OTP_STATE_KEY_LEN], h1[32], h2[32];
	char code[16], norm[16];
	int bad = 0, zeros = 0;

	for (int i = 0; i < N; i++) {
		if (otp_code_generate(6, code) != 0 || strlen(code) != 6) {
			bad++;
			continue;
		}
		for (int d = 0; d < 6; d++)
			digit[d][code[d] - '0']++;
		first2[(code[0] - '0') * 10 + (code[1] - '0')]++;
		zeros += code[0] == '0';
		/* Negative control: modulo reduction of a 7-bit value onto 100 bins is biased. */
		biased[(unsigned char)(code[2] * 31 + code[3] * 7 + code[4]) % 128 % 100]++;
	}
	is_int(bad, 0, "every code has exactly 6 digits");
	ok(zeros > N / 20, "leading zeros occur and are kept");
	{
		/* 9 degrees of freedom: p = 0.001 critical value 27.88. */
		int worst_ok = 1;
		for (int d = 0; d < 6; d++)
			if (chi2(digit[d], 10, N) > 27.88)
				worst_ok = 0;
		ok(worst_ok, "each digit position is uniform (chi-square, p > 0.001)");
	}
	/* 99 dof: p = 0.001 critical value 148.2. */
	ok(chi2(first2, 100, N) < 148.2, "first two digits uniform over 00..99");
	ok(chi2(biased, 100, N) > 148.2, "negative control: a modulo-biased mapping fails the same test");

	ok(otp_code_generate(3, code) != 0, "3 digits refused");
	ok(otp_code_generate(11, code) != 0, "11 digits refused");
	ok(otp_code_generate(10, code) == 0 && strlen(code) == 10, "10 digits");

	memset(key, 7, sizeof(key));
	otp_code_hash(key, 1000, 42, "004211", h1);
	otp_code_hash(key, 1000, 42, "004211", h2);
	ok(memcmp(h1, h2, 32) == 0, "hash is deterministic");
	otp_code_hash(key, 1001, 42, "004211", h2);
	ok(memcmp(h1, h2, 32) != 0, "hash binds the uid");
	otp_code_hash(key, 1000, 43, "004211", h2);
	ok(memcmp(h1, h2, 32) != 0, "hash binds the issue time");
	otp_code_hash(key, 1000, 42, "4211", h2);
	ok(memcmp(h1, h2, 32) != 0, "leading zeros matter");
	key[0] ^= 1;
	otp_code_hash(key, 1000, 42, "004211", h2);
	ok(memcmp(h1, h2, 32) != 0, "hash is keyed");

	ok(otp_code_normalize(" 004211\t\n", 6, norm, sizeof(norm)) == 0 && strcmp(norm, "004211") == 0,
	   "ASCII white space trimmed");
	ok(otp_code_normalize("00 4211", 6, norm, sizeof(norm)) != 0, "inner space refused");
	ok(otp_code_normalize("+04211", 6, norm, sizeof(norm)) != 0, "sign refused");
	ok(otp_code_normalize("00421", 6, norm, sizeof(norm)) != 0, "too short refused");
	ok(otp_code_normalize("0042111", 6, norm, sizeof(norm)) != 0, "too long refused");
	ok(otp_code_normalize("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96", 6, norm,
			      sizeof(norm)) != 0, "full-width digits refused");
	ok(otp_code_normalize("\xd9\xa0\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5", 6, norm, sizeof(norm)) != 0,
	   "Arabic-Indic digits refused");
	ok(otp_code_normalize("", 6, norm, sizeof(norm)) != 0, "empty refused");
	ok(otp_code_normalize(NULL, 6, norm, sizeof(norm)) != 0, "NULL refused");
	return tap_done();
}
