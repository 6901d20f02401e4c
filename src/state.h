/*
 * state.h - the root-owned state cache (file backend).
 *
 * One directory (root, 0700, not a symlink) holds one file per user named
 * by the numeric uid, a "host" file for the host-wide send counter and the
 * ".key" used for every keyed hash and record MAC.  A transaction locks the
 * user's file (flock on the file itself, bounded wait), loads the record,
 * lets the caller apply policy, commits with temp file + fsync + rename +
 * directory fsync, and unlocks.  The lock is never held across network I/O
 * or a prompt: the flow commits and unlocks before sending or asking.
 */
#ifndef OTP_STATE_H
#define OTP_STATE_H

#include <stdint.h>
#include <stddef.h>
#include "code.h"
#include "state_record.h"

struct otp_state;       /* an opened, verified state directory */
struct otp_state_txn;   /* one locked file */

#define OTP_STATE_LOCK_TIMEOUT_MS 3000

/*
 * Open and verify the directory (creating it 0700 if missing under a safe
 * parent) and load or create the key.  0, or -1 with a one-line reason in
 * err naming the path and the problem.
 */
int otp_state_open(const char *dir, struct otp_state **out, char *err, size_t errlen);
void otp_state_close(struct otp_state *st);
const unsigned char *otp_state_key(const struct otp_state *st);

/*
 * Lock and load the user's record (rebased onto now).  A corrupt record
 * reads as empty, except that an unreadable lockout fails (-1).  0 or -1 with
 * err filled ("lock timeout" is distinguishable: *timed_out set).
 */
int otp_state_begin_user(struct otp_state *st, uint32_t uid, const struct otp_time *now,
			 struct otp_state_txn **txn, struct otp_state_record *rec, int *timed_out,
			 char *err, size_t errlen);
int otp_state_begin_host(struct otp_state *st, const struct otp_time *now, struct otp_state_txn **txn,
			 struct otp_host_record *rec, int *timed_out, char *err, size_t errlen);
/* Durably replace the locked file's contents.  The lock is kept.  0 or -1. */
int otp_state_commit_user(struct otp_state_txn *txn, const struct otp_state_record *rec,
			  char *err, size_t errlen);
int otp_state_commit_host(struct otp_state_txn *txn, const struct otp_host_record *rec,
			  char *err, size_t errlen);
/* Unlock and free (NULL is fine). */
void otp_state_end(struct otp_state_txn *txn);
/* Remove the user's record (otp-smsctl reset).  0, or -1 with err. */
int otp_state_reset_user(struct otp_state *st, uint32_t uid, char *err, size_t errlen);

#endif
