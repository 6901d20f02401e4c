/*
 * state_backend.h - what a state backend implements.  The generic layer
 * (state.c) names records ("<uid>", "host"), encodes and decodes them and
 * applies no policy; a backend only stores opaque blobs by name under its
 * transaction scheme:
 *   - the file backend locks the file (flock) from begin to end, so commit
 *     never conflicts;
 *   - an optimistic backend (Redis WATCH/MULTI) may answer a commit with
 *     OTP_STATE_CONFLICT, and the flow then redoes the step on fresh data.
 */
#ifndef OTP_STATE_BACKEND_H
#define OTP_STATE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include "code.h"

struct otp_state_config;

#define OTP_STATE_CONFLICT (-2)
#define OTP_STATE_MAX_BLOB (64 * 1024)

struct otp_state_backend {
	const char *name;                   /* state.backend value */
	/* Shared by several hosts: records are kept in wall-clock seconds under
	 * one fleet-wide boot id (hosts do not share a boot clock). */
	bool wall_clock;
	/* Connect/verify and load the keyed-hash key.  0, or -1 with err. */
	int (*open)(const struct otp_state_config *sc, void **impl,
		    unsigned char key[OTP_STATE_KEY_LEN], char *err, size_t errlen);
	void (*close)(void *impl);
	/* Start a transaction on `name` and read its blob (len 0: none).  0/-1. */
	int (*begin)(void *impl, const char *name, void **txn, unsigned char *buf, size_t cap,
		     size_t *len, int *timed_out, char *err, size_t errlen);
	/* Store the blob durably; the transaction stays open.  0, -1 or OTP_STATE_CONFLICT. */
	int (*commit)(void *txn, const unsigned char *buf, size_t len, char *err, size_t errlen);
	/* Optional: store the blobs of two open transactions of one connection
	 * as one step (0, -1 or OTP_STATE_CONFLICT, and then neither is
	 * stored).  Redis makes it atomic; the file backend makes it cheaper
	 * (one directory fsync for both) and, like two commits, not atomic on
	 * -1.  NULL: the generic layer commits one after the other. */
	int (*commit_pair)(void *txn_a, const unsigned char *a, size_t alen,
			   void *txn_b, const unsigned char *b, size_t blen, char *err, size_t errlen);
	void (*end)(void *txn);
	/* Delete `name` (otp-smsctl reset).  0/-1. */
	int (*remove)(void *impl, const char *name, char *err, size_t errlen);
};

extern const struct otp_state_backend otp_state_backend_file;

#endif
