/*
 * fuzz_state_record - the state record and host counter codecs and the
 * policy that runs on what they decode (security.md F2).
 *
 * Input: a flags byte, the uid (4 bytes), a clock "now" (boot and wall,
 * 8 bytes each), then the record bytes.  Flag 1 re-computes the MACs over
 * the fuzzed bytes with the fixed key (STATEFORMAT layout) so that the
 * fuzzer reaches past the MAC checks; flag 2 treats the bytes as a host
 * record.
 *
 * Invariants: a record that decodes OK re-encodes to bytes that decode OK
 * to the same record, and re-encoding those gives the same bytes; a record
 * with a bad lockout section never decodes as usable; a wrong uid never
 * verifies; the policy functions (rebase, lockout, caps, issue, verify)
 * run on any decoded record without undefined behaviour and keep nsends
 * within its bound.
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "src/crypto.h"
#include "src/state_record.h"

static const unsigned char key[OTP_STATE_KEY_LEN] = "fuzz-state-key-0123456789abcdef";

#define LOCK_MAC_AT 52
#define LOCK_END 84

static void
put_mac(unsigned char *rec, size_t covered, char tag, uint32_t uid, unsigned char *at)
{
	unsigned char *msg = malloc(covered + 5);

	if (msg == NULL)
		abort();
	msg[0] = (unsigned char)tag;
	for (int i = 0; i < 4; i++)
		msg[1 + i] = (unsigned char)(uid >> (8 * i));
	memcpy(msg + 5, rec, covered);
	otp_hmac_sha256(key, sizeof(key), msg, covered + 5, at);
	free(msg);
}

static bool
same_record(const struct otp_state_record *a, const struct otp_state_record *b)
{
	if (a->consecutive_failures != b->consecutive_failures || a->lockout_until != b->lockout_until ||
	    a->code_active != b->code_active || a->code_issued != b->code_issued ||
	    a->code_expires != b->code_expires || a->code_attempts != b->code_attempts ||
	    a->nsends != b->nsends || a->last_success_wall != b->last_success_wall ||
	    a->saved_boot != b->saved_boot || a->saved_wall != b->saved_wall ||
	    memcmp(a->code_hash, b->code_hash, sizeof(a->code_hash)) != 0 ||
	    memcmp(a->dest_hash, b->dest_hash, sizeof(a->dest_hash)) != 0 ||
	    memcmp(a->boot_id, b->boot_id, sizeof(a->boot_id)) != 0)
		return false;
	for (uint32_t i = 0; i < a->nsends; i++)
		if (a->sends[i] != b->sends[i])
			return false;
	return true;
}

static void
run_policy(struct otp_state_record *r, struct otp_host_record *h, const struct otp_time *now,
	   unsigned flags)
{
	struct otp_policy p = {
		.code_length = 6, .ttl = 300, .max_attempts = 3, .resend_after = 60,
		.sends_per_hour = 5, .sends_per_day = 20, .host_sends_per_hour = 200,
		.lockout_after = 10, .lockout_time = 900,
	};
	unsigned char hash[OTP_CODE_HASH_LEN] = { 1 };

	otp_state_record_rebase(r, now);
	otp_host_record_rebase(h, now);
	FUZZ_CHECK(r->nsends <= OTP_STATE_MAX_SENDS, "nsends %u", r->nsends);
	FUZZ_CHECK(memcmp(r->boot_id, now->boot_id, 16) == 0, "rebase kept the old boot");
	if (!otp_policy_locked(&p, r, now)) {
		(void)otp_policy_in_cooldown(&p, r, now);
		if (otp_policy_check_caps(&p, r, h, now) == OTP_CAP_OK || (flags & 4)) {
			otp_policy_issue(&p, r, h, now, hash);
			FUZZ_CHECK(r->nsends >= 1 && r->nsends <= OTP_STATE_MAX_SENDS, "nsends %u", r->nsends);
			FUZZ_CHECK(r->code_active && r->code_expires == now->boot + p.ttl, "issued code");
		}
	}
	switch (otp_policy_verify_begin(&p, r, now)) {
	case OTP_VERIFY_GO:
		if (flags & 8)
			otp_policy_verify_success(r, now);
		else
			(void)otp_policy_verify_failure(&p, r, now);
		break;
	case OTP_VERIFY_LOCKED:
		FUZZ_CHECK(r->lockout_until != 0, "locked without a deadline");
		break;
	default:
		break;
	}
	(void)otp_host_sends_last_hour(h, now);
}

static void
fuzz_user(const uint8_t *data, size_t size, uint32_t uid, const struct otp_time *now, unsigned flags)
{
	size_t rs = otp_state_record_size();
	unsigned char *buf = malloc(size ? size : 1), *enc = malloc(rs), *enc2 = malloc(rs);
	struct otp_state_record r, r2;
	struct otp_host_record h = { 0 };
	enum otp_decode_result d;

	if (buf == NULL || enc == NULL || enc2 == NULL)
		abort();
	memcpy(buf, data, size);
	if ((flags & 1) && size >= LOCK_END) {
		put_mac(buf, LOCK_MAC_AT, 'L', uid, buf + LOCK_MAC_AT);
		if (size == rs)
			put_mac(buf, rs - 32, 'M', uid, buf + rs - 32);
	}
	d = otp_state_record_decode(buf, size, uid, key, &r);
	switch (d) {
	case OTP_DECODE_EMPTY:
		FUZZ_CHECK(size == 0, "EMPTY for %zu bytes", size);
		break;
	case OTP_DECODE_OK:
		FUZZ_CHECK(size == rs, "OK for %zu bytes", size);
		FUZZ_CHECK(r.nsends <= OTP_STATE_MAX_SENDS, "nsends %u", r.nsends);
		otp_state_record_encode(&r, uid, key, enc);
		FUZZ_CHECK(otp_state_record_decode(enc, rs, uid, key, &r2) == OTP_DECODE_OK, "re-decode");
		FUZZ_CHECK(same_record(&r, &r2), "round trip changed the record");
		otp_state_record_encode(&r2, uid, key, enc2);
		FUZZ_CHECK(memcmp(enc, enc2, rs) == 0, "encoding is not stable");
		/* Bound to the uid: another user's MAC never verifies. */
		FUZZ_CHECK(otp_state_record_decode(enc, rs, uid ^ 1, key, &r2) == OTP_DECODE_LOCKOUT_BAD,
			   "record verified under another uid");
		break;
	case OTP_DECODE_PARTIAL:
		FUZZ_CHECK(size >= LOCK_END, "PARTIAL for %zu bytes", size);
		/* The main section was reset. */
		FUZZ_CHECK(!r.code_active && r.nsends == 0 && r.code_attempts == 0, "partial kept data");
		break;
	case OTP_DECODE_LOCKOUT_BAD:
		/* Fail closed: the caller refuses; nothing to run. */
		goto out;
	default:
		FUZZ_CHECK(0, "decode result %d", (int)d);
	}
	run_policy(&r, &h, now, flags);
	/* Whatever the policy did must encode and decode again. */
	otp_state_record_encode(&r, uid, key, enc);
	FUZZ_CHECK(otp_state_record_decode(enc, rs, uid, key, &r2) == OTP_DECODE_OK, "after policy");
	FUZZ_CHECK(same_record(&r, &r2), "after policy: round trip changed the record");
out:
	free(buf);
	free(enc);
	free(enc2);
}

static void
fuzz_host(const uint8_t *data, size_t size, const struct otp_time *now, unsigned flags)
{
	size_t hs = otp_host_record_size();
	unsigned char *buf = malloc(size ? size : 1), *enc = malloc(hs);
	struct otp_host_record h, h2;
	struct otp_state_record r = { 0 };

	if (buf == NULL || enc == NULL)
		abort();
	memcpy(buf, data, size);
	if ((flags & 1) && size == hs) {
		unsigned char *msg = malloc(hs - 32 + 5);
		if (msg == NULL)
			abort();
		msg[0] = 'H';
		memset(msg + 1, 0, 4);
		memcpy(msg + 5, buf, hs - 32);
		otp_hmac_sha256(key, sizeof(key), msg, hs - 32 + 5, buf + hs - 32);
		free(msg);
	}
	FUZZ_CHECK(otp_host_record_decode(buf, size, key, &h) == 0, "host decode");
	otp_host_record_encode(&h, key, enc);
	FUZZ_CHECK(otp_host_record_decode(enc, hs, key, &h2) == 0, "host re-decode");
	FUZZ_CHECK(memcmp(&h, &h2, sizeof(h)) == 0, "host round trip");
	memcpy(r.boot_id, now->boot_id, 16);
	run_policy(&r, &h, now, flags);
	free(buf);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	struct otp_time now;
	unsigned flags;
	uint32_t uid;

	fz_init(&f, data, size);
	flags = fz_byte(&f);
	uid = (uint32_t)fz_bits(&f, 4);
	now.boot = (int64_t)fz_bits(&f, 8);
	now.wall = (int64_t)fz_bits(&f, 8);
	/* The clocks themselves come from the kernel: boot time since boot,
	 * wall time since 1970, both far below 2^36 (2,000 years).  The
	 * record is the untrusted part. */
	now.boot &= ((int64_t)1 << 36) - 1;
	now.wall &= ((int64_t)1 << 36) - 1;
	memset(now.boot_id, (flags & 16) ? 0xab : 0, sizeof(now.boot_id));
	if (f.n > 4 * otp_state_record_size())
		return 0;
	if (flags & 2)
		fuzz_host(f.p, f.n, &now, flags);
	else
		fuzz_user(f.p, f.n, uid, &now, flags);
	return 0;
}
