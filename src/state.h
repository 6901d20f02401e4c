/*
 * state.h - the state cache: one record per user (named by uid), one host
 * send counter, and the key for every keyed hash and record MAC.
 *
 * A transaction loads a record, lets the caller apply policy
 * (state_record.h) and commits it durably.  Where the bytes live is the
 * backend's business (state_backend.h): the file backend keeps root-owned
 * files under a flock (see STATEFORMAT); other backends plug in by name.
 * The flow never holds a transaction across network I/O or a prompt.
 */
#ifndef OTP_STATE_H
#define OTP_STATE_H

#include <stdint.h>
#include <stddef.h>
#include "code.h"
#include "state_record.h"

/* Settings of `state: { ... }` that backends need. */
struct otp_state_config {
	char *backend;              /* "file" (default) or another registered backend */
	char *path;                 /* file backend: the directory */
	/* shared-state backends */
	char *key_file;             /* the fleet's keyed-hash key (32 bytes, root-only) */
	char *url;                  /* redis://host:port/db or rediss://... */
	char *user;                 /* ACL user, or NULL */
	char *password_file;        /* root-only file with the password, or NULL */
	char *prefix;               /* key prefix, default "otp:" */
	long timeout;               /* seconds, connect and command */
	char *ca_file;              /* extra CA for rediss:// */
	long record_ttl;            /* seconds a shared backend keeps an untouched record
				     * (set from the policy: a day of send history + lockout) */
};

struct otp_state;       /* an opened state */
struct otp_state_txn;   /* one record under a transaction */

#define OTP_STATE_LOCK_TIMEOUT_MS 3000
/* Seconds another host's clock may be ahead for a shared backend. */
#define OTP_FLEET_CLOCK_SKEW 60
/* Returned by the commit functions when an optimistic backend lost a race:
 * end the transaction and redo the step on fresh data. */
#define OTP_STATE_RETRY (-2)

/* Is this backend name available in this build? */
int otp_state_backend_known(const char *name);

/* Open the configured backend and load the key.  0, or -1 with a one-line reason. */
int otp_state_open(const struct otp_state_config *sc, struct otp_state **out, char *err, size_t errlen);
void otp_state_close(struct otp_state *st);
const unsigned char *otp_state_key(const struct otp_state *st);
/*
 * Now, in the time base of this state's records: the boot clock (file
 * backend), or for a backend shared by several hosts the wall clock under
 * one fleet-wide boot id, since hosts share no boot clock.  Every policy
 * decision on a record must use this time.  0, or -1.
 */
int otp_state_now(const struct otp_state *st, struct otp_time *now);

/*
 * Begin a transaction on the user's record, loaded and rebased onto now.
 * *now is read afresh once the transaction has begun (a login that waited
 * for a lock must not apply an older time than the record's last writer).
 * A corrupt record reads as empty, except that an unreadable lockout fails
 * (-1).  0 or -1 with err filled (*timed_out set for a lock timeout).
 */
int otp_state_begin_user(struct otp_state *st, uint32_t uid, struct otp_time *now,
			 struct otp_state_txn **txn, struct otp_state_record *rec, int *timed_out,
			 char *err, size_t errlen);
int otp_state_begin_host(struct otp_state *st, struct otp_time *now, struct otp_state_txn **txn,
			 struct otp_host_record *rec, int *timed_out, char *err, size_t errlen);
/* Store durably; the transaction stays open.  0, -1, or OTP_STATE_RETRY. */
int otp_state_commit_user(struct otp_state_txn *txn, const struct otp_state_record *rec,
			  char *err, size_t errlen);
int otp_state_commit_host(struct otp_state_txn *txn, const struct otp_host_record *rec,
			  char *err, size_t errlen);
/* Store a user record and the host counter of one issue step together: one
 * atomic step where the backend supports it, so a lost race never leaves a
 * code stored without its send counted (or the reverse).  0, -1 or
 * OTP_STATE_RETRY (then, on such a backend, nothing was stored). */
int otp_state_commit_issue(struct otp_state_txn *ut, const struct otp_state_record *rec,
			   struct otp_state_txn *ht, const struct otp_host_record *host,
			   char *err, size_t errlen);
/* End the transaction (NULL is fine). */
void otp_state_end(struct otp_state_txn *txn);
/* Remove the user's record (otp-smsctl reset).  0, or -1 with err. */
int otp_state_reset_user(struct otp_state *st, uint32_t uid, char *err, size_t errlen);

#endif
