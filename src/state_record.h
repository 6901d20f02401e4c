/*
 * state_record.h - the per-user state record and the host send counter,
 * their binary codec, and the pure policy that reads and updates them
 * (lockout, send caps, resend cooldown, issue, verify).  No I/O here: the
 * file backend (state.c) loads and stores records under a lock, the flow
 * calls the policy between the two.  The byte format is in STATEFORMAT.
 */
#ifndef OTP_STATE_RECORD_H
#define OTP_STATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "clock.h"
#include "code.h"

#define OTP_STATE_VERSION 1
#define OTP_STATE_MAX_SENDS 128      /* send history kept per user (caps are <= this) */
#define OTP_HOST_BUCKETS 60          /* one-minute buckets for the host hourly cap */

struct otp_state_record {
	/* lockout section: verified on its own, so it survives corruption elsewhere */
	uint32_t consecutive_failures;
	int64_t lockout_until;               /* boot seconds; 0 = none */
	/* main section */
	bool code_active;
	unsigned char code_hash[OTP_CODE_HASH_LEN];
	int64_t code_issued;                 /* boot seconds */
	int64_t code_expires;                /* boot seconds */
	uint32_t code_attempts;              /* wrong answers for this code */
	uint32_t nsends;                     /* valid entries in sends[] (newest last) */
	int64_t sends[OTP_STATE_MAX_SENDS];  /* boot seconds of each send */
	int64_t last_success_wall;
	unsigned char dest_hash[OTP_CODE_HASH_LEN];   /* keyed hash of the last destination */
	/* clock the boot-relative times belong to */
	unsigned char boot_id[16];
	int64_t saved_boot;
	int64_t saved_wall;
};

struct otp_host_record {
	unsigned char boot_id[16];
	int64_t bucket_minute[OTP_HOST_BUCKETS];     /* boot minute each bucket counts */
	uint32_t bucket_count[OTP_HOST_BUCKETS];
};

/* Encoded sizes (fixed). */
size_t otp_state_record_size(void);
size_t otp_host_record_size(void);

/* Encode with a MAC over uid and contents; out must hold otp_state_record_size(). */
void otp_state_record_encode(const struct otp_state_record *r, uint32_t uid,
			     const unsigned char key[OTP_STATE_KEY_LEN], unsigned char *out);

enum otp_decode_result {
	OTP_DECODE_OK,          /* everything verified */
	OTP_DECODE_EMPTY,       /* zero-length: never written */
	OTP_DECODE_PARTIAL,     /* lockout verified, the rest was corrupt: rest reset */
	OTP_DECODE_LOCKOUT_BAD, /* lockout unreadable: caller must fail closed */
};
enum otp_decode_result otp_state_record_decode(const unsigned char *buf, size_t len, uint32_t uid,
					       const unsigned char key[OTP_STATE_KEY_LEN],
					       struct otp_state_record *r);
void otp_host_record_encode(const struct otp_host_record *h, const unsigned char key[OTP_STATE_KEY_LEN],
			    unsigned char *out);
/* Corrupt or empty host records decode as empty (0); returns -1 only for a bad size. */
int otp_host_record_decode(const unsigned char *buf, size_t len, const unsigned char key[OTP_STATE_KEY_LEN],
			   struct otp_host_record *h);

/* ---- policy ---- */

struct otp_policy {
	unsigned code_length;
	int64_t ttl;
	unsigned max_attempts;
	int64_t resend_after;
	unsigned sends_per_hour;
	unsigned sends_per_day;
	unsigned host_sends_per_hour;
	unsigned lockout_after;
	int64_t lockout_time;
};

/* Bring a loaded record onto the current boot (see STATEFORMAT), drop expired data. */
void otp_state_record_rebase(struct otp_state_record *r, const struct otp_time *now);
void otp_host_record_rebase(struct otp_host_record *h, const struct otp_time *now);

bool otp_policy_locked(const struct otp_policy *p, struct otp_state_record *r,
		       const struct otp_time *now);
/* Is there a pending code sent less than resend_after ago (reuse it, send nothing)? */
bool otp_policy_in_cooldown(const struct otp_policy *p, const struct otp_state_record *r,
			    const struct otp_time *now);
unsigned otp_policy_sends_within(const struct otp_state_record *r, const struct otp_time *now,
				 int64_t window);
unsigned otp_host_sends_last_hour(const struct otp_host_record *h, const struct otp_time *now);

enum otp_cap { OTP_CAP_OK, OTP_CAP_USER_HOUR, OTP_CAP_USER_DAY, OTP_CAP_HOST_HOUR };
enum otp_cap otp_policy_check_caps(const struct otp_policy *p, const struct otp_state_record *r,
				   const struct otp_host_record *h, const struct otp_time *now);
/* Record a new code (hash) and count the send in both records. */
void otp_policy_issue(const struct otp_policy *p, struct otp_state_record *r,
		      struct otp_host_record *h, const struct otp_time *now,
		      const unsigned char hash[OTP_CODE_HASH_LEN]);

enum otp_verify_pre { OTP_VERIFY_GO, OTP_VERIFY_NO_CODE, OTP_VERIFY_EXPIRED, OTP_VERIFY_LOCKED };
/*
 * Before comparing: refuse when locked or no live code; otherwise count the
 * attempt (write-ahead: the caller stores the record before comparing).
 */
enum otp_verify_pre otp_policy_verify_begin(const struct otp_policy *p, struct otp_state_record *r,
					    const struct otp_time *now);
/* After a match: consume the code, reset failure counters. */
void otp_policy_verify_success(struct otp_state_record *r, const struct otp_time *now);
/* After a mismatch: returns true when the code is now used up or the user locked. */
bool otp_policy_verify_failure(const struct otp_policy *p, struct otp_state_record *r,
			       const struct otp_time *now);

#endif
