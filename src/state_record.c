/* state_record.c - record codec (fixed-size, versioned, MAC'd) and pure policy. */
#include "config.h"
#include <string.h>
#include "crypto.h"
#include "mem.h"
#include "state_record.h"

/*
 * Layout (little endian), see STATEFORMAT:
 *   0  "OTPS" magic, u16 version, u16 total size
 *   8  lockout section: u32 consecutive_failures, i64 lockout_until,
 *      16 boot_id, i64 saved_boot, i64 saved_wall, 32 MAC_L
 *   main section: u8 code_active, 32 code_hash, i64 issued, i64 expires,
 *      u32 attempts, u32 nsends, 128 x i64 sends, i64 last_success_wall,
 *      32 dest_hash, 32 MAC_M
 * MAC_L = HMAC(key, "L" | uid | bytes 0..MAC_L), MAC_M = HMAC(key, "M" | uid | all bytes before MAC_M).
 */
#define HDR 8
#define LOCK_BODY (4 + 8 + 16 + 8 + 8)
#define LOCK_END (HDR + LOCK_BODY + 32)
#define MAIN_BODY (1 + 32 + 8 + 8 + 4 + 4 + 8 * OTP_STATE_MAX_SENDS + 8 + 32)
#define REC_SIZE (LOCK_END + MAIN_BODY + 32)
#define HOST_BODY (16 + OTP_HOST_BUCKETS * (8 + 4))
#define HOST_SIZE (HDR + HOST_BODY + 32)

size_t
otp_state_record_size(void)
{
	return REC_SIZE;
}

size_t
otp_host_record_size(void)
{
	return HOST_SIZE;
}

static void
put32(unsigned char **p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char **p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		*(*p)++ = (unsigned char)((uint64_t)v >> (8 * i));
}

static uint32_t
get32(const unsigned char **p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)(*(*p)++) << (8 * i);
	return v;
}

static int64_t
get64(const unsigned char **p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)(*(*p)++) << (8 * i);
	return (int64_t)v;
}

static void
mac(const unsigned char key[OTP_STATE_KEY_LEN], char tag, uint32_t uid, const unsigned char *data,
    size_t len, unsigned char out[32])
{
	unsigned char pre[5];
	unsigned char tmp[REC_SIZE + 8];

	pre[0] = (unsigned char)tag;
	for (int i = 0; i < 4; i++)
		pre[1 + i] = (unsigned char)(uid >> (8 * i));
	memcpy(tmp, pre, 5);
	memcpy(tmp + 5, data, len);
	otp_hmac_sha256(key, OTP_STATE_KEY_LEN, tmp, len + 5, out);
	otp_wipe(tmp, len + 5);
}

static void
put_header(unsigned char **p, size_t size)
{
	memcpy(*p, "OTPS", 4);
	*p += 4;
	*(*p)++ = OTP_STATE_VERSION & 0xff;
	*(*p)++ = OTP_STATE_VERSION >> 8;
	*(*p)++ = (unsigned char)(size & 0xff);
	*(*p)++ = (unsigned char)(size >> 8);
}

static bool
header_ok(const unsigned char *b, size_t size)
{
	return memcmp(b, "OTPS", 4) == 0 && b[4] == (OTP_STATE_VERSION & 0xff) &&
	       b[5] == (OTP_STATE_VERSION >> 8) && b[6] == (size & 0xff) && b[7] == (size >> 8);
}

void
otp_state_record_encode(const struct otp_state_record *r, uint32_t uid,
			const unsigned char key[OTP_STATE_KEY_LEN], unsigned char *out)
{
	unsigned char *p = out;
	uint32_t n = r->nsends > OTP_STATE_MAX_SENDS ? OTP_STATE_MAX_SENDS : r->nsends;

	put_header(&p, REC_SIZE);
	put32(&p, r->consecutive_failures);
	put64(&p, r->lockout_until);
	memcpy(p, r->boot_id, 16);
	p += 16;
	put64(&p, r->saved_boot);
	put64(&p, r->saved_wall);
	mac(key, 'L', uid, out, (size_t)(p - out), p);
	p += 32;
	*p++ = r->code_active ? 1 : 0;
	memcpy(p, r->code_hash, 32);
	p += 32;
	put64(&p, r->code_issued);
	put64(&p, r->code_expires);
	put32(&p, r->code_attempts);
	put32(&p, n);
	for (int i = 0; i < OTP_STATE_MAX_SENDS; i++)
		put64(&p, (uint32_t)i < n ? r->sends[i] : 0);
	put64(&p, r->last_success_wall);
	memcpy(p, r->dest_hash, 32);
	p += 32;
	mac(key, 'M', uid, out, (size_t)(p - out), p);
}

/*
 * Plausibility of MAC-verified contents: times are seconds (boot or epoch)
 * within +-2^40 (35,000 years) and counters far below overflow.  Anything
 * else was not written by this code; bounding it keeps the policy
 * arithmetic (rebase shifts, window differences) free of overflow.
 */
#define TIME_BOUND ((int64_t)1 << 40)
#define COUNT_BOUND ((uint32_t)1 << 30)
/* Per-minute host sends: above the largest host_sends_per_hour, and small
 * enough that 60 buckets cannot wrap the unsigned sum. */
#define HOST_COUNT_BOUND ((uint32_t)1 << 20)

static bool
time_ok(int64_t t)
{
	return t >= -TIME_BOUND && t <= TIME_BOUND;
}

static bool
main_ok(const struct otp_state_record *r)
{
	if (!time_ok(r->code_issued) || !time_ok(r->code_expires) ||
	    !time_ok(r->last_success_wall) || r->code_attempts > COUNT_BOUND)
		return false;
	for (uint32_t i = 0; i < r->nsends; i++)
		if (!time_ok(r->sends[i]))
			return false;
	return true;
}

enum otp_decode_result
otp_state_record_decode(const unsigned char *buf, size_t len, uint32_t uid,
			const unsigned char key[OTP_STATE_KEY_LEN], struct otp_state_record *r)
{
	unsigned char want[32];
	const unsigned char *p = buf + HDR;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return OTP_DECODE_EMPTY;
	if (len < LOCK_END || !header_ok(buf, REC_SIZE))
		return OTP_DECODE_LOCKOUT_BAD;
	mac(key, 'L', uid, buf, HDR + LOCK_BODY, want);
	if (!otp_ct_equal(want, buf + HDR + LOCK_BODY, 32))
		return OTP_DECODE_LOCKOUT_BAD;
	r->consecutive_failures = get32(&p);
	r->lockout_until = get64(&p);
	memcpy(r->boot_id, p, 16);
	p += 16;
	r->saved_boot = get64(&p);
	r->saved_wall = get64(&p);
	p += 32;
	if (!time_ok(r->lockout_until) || !time_ok(r->saved_boot) || !time_ok(r->saved_wall) ||
	    r->consecutive_failures > COUNT_BOUND) {
		memset(r, 0, sizeof(*r));
		return OTP_DECODE_LOCKOUT_BAD;
	}
	if (len != REC_SIZE)
		return OTP_DECODE_PARTIAL;
	mac(key, 'M', uid, buf, REC_SIZE - 32, want);
	if (!otp_ct_equal(want, buf + REC_SIZE - 32, 32))
		return OTP_DECODE_PARTIAL;
	r->code_active = *p++ != 0;
	memcpy(r->code_hash, p, 32);
	p += 32;
	r->code_issued = get64(&p);
	r->code_expires = get64(&p);
	r->code_attempts = get32(&p);
	r->nsends = get32(&p);
	if (r->nsends > OTP_STATE_MAX_SENDS)
		r->nsends = OTP_STATE_MAX_SENDS;
	for (int i = 0; i < OTP_STATE_MAX_SENDS; i++)
		r->sends[i] = get64(&p);
	r->last_success_wall = get64(&p);
	memcpy(r->dest_hash, p, 32);
	if (!main_ok(r)) {
		/* Like a bad MAC_M: keep the lockout section, reset the rest. */
		r->code_active = false;
		memset(r->code_hash, 0, sizeof(r->code_hash));
		r->code_issued = r->code_expires = r->last_success_wall = 0;
		r->code_attempts = r->nsends = 0;
		memset(r->sends, 0, sizeof(r->sends));
		memset(r->dest_hash, 0, sizeof(r->dest_hash));
		return OTP_DECODE_PARTIAL;
	}
	return OTP_DECODE_OK;
}

void
otp_host_record_encode(const struct otp_host_record *h, const unsigned char key[OTP_STATE_KEY_LEN],
		       unsigned char *out)
{
	unsigned char *p = out;

	put_header(&p, HOST_SIZE);
	memcpy(p, h->boot_id, 16);
	p += 16;
	for (int i = 0; i < OTP_HOST_BUCKETS; i++) {
		put64(&p, h->bucket_minute[i]);
		put32(&p, h->bucket_count[i]);
	}
	mac(key, 'H', 0, out, (size_t)(p - out), p);
}

int
otp_host_record_decode(const unsigned char *buf, size_t len, const unsigned char key[OTP_STATE_KEY_LEN],
		       struct otp_host_record *h)
{
	unsigned char want[32];
	const unsigned char *p = buf + HDR;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	if (len != HOST_SIZE || !header_ok(buf, HOST_SIZE))
		return 0;
	mac(key, 'H', 0, buf, HOST_SIZE - 32, want);
	if (!otp_ct_equal(want, buf + HOST_SIZE - 32, 32))
		return 0;
	memcpy(h->boot_id, p, 16);
	p += 16;
	for (int i = 0; i < OTP_HOST_BUCKETS; i++) {
		h->bucket_minute[i] = get64(&p);
		h->bucket_count[i] = get32(&p);
		/* Implausible (see time_ok): count as corrupt, i.e. empty. */
		if (!time_ok(h->bucket_minute[i]) || h->bucket_count[i] > HOST_COUNT_BOUND) {
			memset(h, 0, sizeof(*h));
			return 0;
		}
	}
	return 0;
}

/* ---- policy ---- */

void
otp_state_record_rebase(struct otp_state_record *r, const struct otp_time *now)
{
	if (memcmp(r->boot_id, now->boot_id, 16) != 0 || r->saved_boot > now->boot) {
		/*
		 * Another boot: boot-relative times mean nothing now.  A pending
		 * code dies with the boot.  Send times and the lockout are moved
		 * by the wall-clock time that passed (never forwards past now), so
		 * a reboot neither resets a rate window nor lifts a lockout early.
		 */
		int64_t elapsed = now->wall - r->saved_wall;
		int64_t shift;
		bool had = r->saved_boot != 0 || r->saved_wall != 0;

		if (elapsed < 0)
			elapsed = 0;
		shift = now->boot - elapsed - r->saved_boot;
		r->code_active = false;
		for (uint32_t i = 0; i < r->nsends; i++) {
			r->sends[i] = had ? r->sends[i] + shift : now->boot;
			if (r->sends[i] > now->boot)
				r->sends[i] = now->boot;
			if (r->sends[i] < -TIME_BOUND)    /* long gone: dropped below */
				r->sends[i] = -TIME_BOUND;
		}
		if (r->lockout_until != 0 && had) {
			/* Stay inside what decode accepts (time_ok). */
			r->lockout_until += shift;
			if (r->lockout_until < -TIME_BOUND)
				r->lockout_until = -TIME_BOUND;
			else if (r->lockout_until > TIME_BOUND)
				r->lockout_until = TIME_BOUND;
		}
		memcpy(r->boot_id, now->boot_id, 16);
	}
	r->saved_boot = now->boot;
	r->saved_wall = now->wall;
	/* Forget sends older than a day. */
	{
		uint32_t k = 0;
		for (uint32_t i = 0; i < r->nsends; i++)
			if (now->boot - r->sends[i] < 86400)
				r->sends[k++] = r->sends[i];
		r->nsends = k;
	}
	if (r->code_active && now->boot >= r->code_expires)
		r->code_active = false;
}

void
otp_host_record_rebase(struct otp_host_record *h, const struct otp_time *now)
{
	/* The host window is only an hour: a reboot simply starts it afresh. */
	if (memcmp(h->boot_id, now->boot_id, 16) != 0) {
		memset(h, 0, sizeof(*h));
		memcpy(h->boot_id, now->boot_id, 16);
	}
}

bool
otp_policy_locked(const struct otp_policy *p, struct otp_state_record *r, const struct otp_time *now)
{
	if (r->lockout_until != 0 && now->boot < r->lockout_until)
		return true;
	if (r->lockout_until != 0 && now->boot >= r->lockout_until) {
		r->lockout_until = 0;
		r->consecutive_failures = 0;
	}
	/* Failures counted write-ahead by a process that died before deciding. */
	if (p->lockout_after > 0 && r->consecutive_failures >= p->lockout_after) {
		r->lockout_until = now->boot + p->lockout_time;
		r->code_active = false;
		return true;
	}
	return false;
}

bool
otp_policy_in_cooldown(const struct otp_policy *p, const struct otp_state_record *r,
		       const struct otp_time *now)
{
	/* A code whose attempts are used up (counted write-ahead by processes
	 * killed before their verdict) is not worth reusing. */
	return r->code_active && now->boot < r->code_expires &&
	       now->boot - r->code_issued < p->resend_after && r->code_attempts < p->max_attempts;
}

unsigned
otp_policy_sends_within(const struct otp_state_record *r, const struct otp_time *now, int64_t window)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < r->nsends; i++)
		if (now->boot - r->sends[i] < window)
			n++;
	return n;
}

unsigned
otp_host_sends_last_hour(const struct otp_host_record *h, const struct otp_time *now)
{
	int64_t minute = now->boot / 60;
	unsigned n = 0;

	for (int i = 0; i < OTP_HOST_BUCKETS; i++)
		if (h->bucket_count[i] > 0 && minute - h->bucket_minute[i] < OTP_HOST_BUCKETS &&
		    minute >= h->bucket_minute[i])
			n += h->bucket_count[i];
	return n;
}

enum otp_cap
otp_policy_check_caps(const struct otp_policy *p, const struct otp_state_record *r,
		      const struct otp_host_record *h, const struct otp_time *now)
{
	if (otp_policy_sends_within(r, now, 3600) >= p->sends_per_hour)
		return OTP_CAP_USER_HOUR;
	if (otp_policy_sends_within(r, now, 86400) >= p->sends_per_day)
		return OTP_CAP_USER_DAY;
	if (h != NULL && otp_host_sends_last_hour(h, now) >= p->host_sends_per_hour)
		return OTP_CAP_HOST_HOUR;
	return OTP_CAP_OK;
}

void
otp_policy_issue(const struct otp_policy *p, struct otp_state_record *r, struct otp_host_record *h,
		 const struct otp_time *now, const unsigned char hash[OTP_CODE_HASH_LEN])
{
	r->code_active = true;
	memcpy(r->code_hash, hash, OTP_CODE_HASH_LEN);
	r->code_issued = now->boot;
	r->code_expires = now->boot + p->ttl;
	r->code_attempts = 0;
	if (r->nsends == OTP_STATE_MAX_SENDS) {
		memmove(r->sends, r->sends + 1, sizeof(r->sends[0]) * (OTP_STATE_MAX_SENDS - 1));
		r->nsends--;
	}
	r->sends[r->nsends++] = now->boot;
	if (h != NULL) {
		int64_t minute = now->boot / 60;
		int slot = (int)(minute % OTP_HOST_BUCKETS);
		if (h->bucket_minute[slot] != minute) {
			h->bucket_minute[slot] = minute;
			h->bucket_count[slot] = 0;
		}
		h->bucket_count[slot]++;
	}
}

enum otp_verify_pre
otp_policy_verify_begin(const struct otp_policy *p, struct otp_state_record *r,
			const struct otp_time *now)
{
	if (otp_policy_locked(p, r, now))
		return OTP_VERIFY_LOCKED;
	if (!r->code_active)
		return OTP_VERIFY_NO_CODE;
	if (now->boot >= r->code_expires || now->boot < r->code_issued) {
		r->code_active = false;
		return OTP_VERIFY_EXPIRED;
	}
	/* Attempts counted write-ahead by processes that died before their
	 * verdict still count: no free guesses by killing the login. */
	if (r->code_attempts >= p->max_attempts) {
		r->code_active = false;
		return OTP_VERIFY_NO_CODE;
	}
	r->code_attempts++;
	r->consecutive_failures++;
	return OTP_VERIFY_GO;
}

void
otp_policy_verify_success(struct otp_state_record *r, const struct otp_time *now)
{
	r->code_active = false;
	otp_wipe(r->code_hash, sizeof(r->code_hash));
	r->code_attempts = 0;
	r->consecutive_failures = 0;
	r->lockout_until = 0;
	r->last_success_wall = now->wall;
}

bool
otp_policy_verify_failure(const struct otp_policy *p, struct otp_state_record *r,
			  const struct otp_time *now)
{
	bool done = false;

	if (r->code_attempts >= p->max_attempts) {
		r->code_active = false;
		done = true;
	}
	if (p->lockout_after > 0 && r->consecutive_failures >= p->lockout_after) {
		r->lockout_until = now->boot + p->lockout_time;
		r->code_active = false;
		done = true;
	}
	return done;
}
