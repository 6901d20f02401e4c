/*
 * code.h - one-time codes: generation (CSPRNG, rejection sampling, leading
 * zeros kept), the keyed hash that is all the state ever stores, the
 * constant-time comparison, and normalisation of what the user typed.
 */
#ifndef OTP_CODE_H
#define OTP_CODE_H

#include <stddef.h>
#include <stdint.h>

#define OTP_CODE_MIN_DIGITS 4
#define OTP_CODE_MAX_DIGITS 10
#define OTP_CODE_HASH_LEN 32
#define OTP_STATE_KEY_LEN 32

/* Write `digits` random decimal digits + NUL into out (size >= digits+1).  0 or -1. */
int otp_code_generate(unsigned digits, char *out);
/*
 * HMAC-SHA256(key, "pam_otp_sms code v1" | uid | issued | code): binding
 * the hash to the account and the issue time means a hash copied to another
 * user's record, or replayed from an older record, never verifies.
 */
void otp_code_hash(const unsigned char key[OTP_STATE_KEY_LEN], uint32_t uid, int64_t issued,
		   const char *code, unsigned char out[OTP_CODE_HASH_LEN]);
/*
 * Accept only ASCII digits, exactly `digits` of them, after trimming ASCII
 * white space at both ends.  0 (out filled) or -1.
 */
int otp_code_normalize(const char *answer, unsigned digits, char *out, size_t outlen);

#endif
