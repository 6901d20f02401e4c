/* state.c - backend-neutral state transactions: naming, codec, dispatch. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "mem.h"
#include "state.h"
#include "state_backend.h"

#ifdef HAVE_HIREDIS
extern const struct otp_state_backend otp_state_backend_redis;
#endif

static const struct otp_state_backend *const backends[] = {
	&otp_state_backend_file,
#ifdef HAVE_HIREDIS
	&otp_state_backend_redis,
#endif
	NULL,
};

struct otp_state {
	const struct otp_state_backend *be;
	void *impl;
	unsigned char key[OTP_STATE_KEY_LEN];
};

struct otp_state_txn {
	struct otp_state *st;
	void *impl;
	uint32_t uid;
};

static const struct otp_state_backend *
find_backend(const char *name)
{
	for (int i = 0; backends[i] != NULL; i++)
		if (strcmp(backends[i]->name, name ? name : "file") == 0)
			return backends[i];
	return NULL;
}

int
otp_state_backend_known(const char *name)
{
	return find_backend(name) != NULL;
}

int
otp_state_open(const struct otp_state_config *sc, struct otp_state **out, char *err, size_t errlen)
{
	const struct otp_state_backend *be = find_backend(sc->backend);
	struct otp_state *st;

	*out = NULL;
	if (be == NULL) {
		snprintf(err, errlen, "state backend \"%s\" is not available in this build", sc->backend);
		return -1;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->be = be;
	if (be->open(sc, &st->impl, st->key, err, errlen) != 0) {
		otp_wipe(st->key, sizeof(st->key));
		free(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
otp_state_close(struct otp_state *st)
{
	if (st == NULL)
		return;
	st->be->close(st->impl);
	otp_wipe(st->key, sizeof(st->key));
	free(st);
}

const unsigned char *
otp_state_key(const struct otp_state *st)
{
	return st->key;
}

int
otp_state_now(const struct otp_state *st, struct otp_time *now)
{
	/* The fleet's "boot": wall-clock seconds, the same id on every host. */
	static const unsigned char fleet_id[16] = "pam_otp_sms:wall";

	if (otp_clock_now(now) != 0)
		return -1;
	if (st != NULL && st->be->wall_clock) {
		memcpy(now->boot_id, fleet_id, sizeof(fleet_id));
		now->boot = now->wall;
	}
	return 0;
}

static int
begin(struct otp_state *st, const char *name, uint32_t uid, struct otp_state_txn **txn,
      unsigned char *buf, size_t *len, int *timed_out, struct otp_time *now, char *err, size_t errlen)
{
	struct otp_state_txn *t = calloc(1, sizeof(*t));

	*txn = NULL;
	*timed_out = 0;
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->st = st;
	t->uid = uid;
	if (st->be->begin(st->impl, name, &t->impl, buf, OTP_STATE_MAX_BLOB, len, timed_out, err, errlen) != 0) {
		free(t);
		return -1;
	}
	*txn = t;
	/* The time taken before waiting for the lock may be older than the
	 * last writer's: read it again (a boot clock that seemed to go
	 * backwards would look like another boot and drop the pending code). */
	if (otp_state_now(st, now) != 0) {
		snprintf(err, errlen, "cannot read the clock");
		otp_state_end(t);
		*txn = NULL;
		return -1;
	}
	return 0;
}

int
otp_state_begin_user(struct otp_state *st, uint32_t uid, struct otp_time *now,
		     struct otp_state_txn **txn, struct otp_state_record *rec, int *timed_out,
		     char *err, size_t errlen)
{
	unsigned char buf[OTP_STATE_MAX_BLOB];
	char name[16];
	size_t len = 0;
	enum otp_decode_result dr;

	snprintf(name, sizeof(name), "%u", uid);
	if (begin(st, name, uid, txn, buf, &len, timed_out, now, err, errlen) != 0)
		return -1;
	dr = otp_state_record_decode(buf, len, uid, st->key, rec);
	otp_wipe(buf, len);
	if (dr == OTP_DECODE_LOCKOUT_BAD) {
		snprintf(err, errlen, "record %s is corrupt and its lockout unreadable; refusing "
			 "(otp-smsctl reset clears it)", name);
		otp_state_end(*txn);
		*txn = NULL;
		return -1;
	}
	/*
	 * Written by a host whose clock is ahead of ours: that is skew, not
	 * another boot (which would drop the pending code).  Up to
	 * OTP_FLEET_CLOCK_SKEW, go by the writer's clock, so that its code is
	 * not "issued in the future"; beyond that, keep ours.
	 */
	if (st->be->wall_clock && rec->saved_boot > now->boot) {
		if (rec->saved_boot - now->boot <= OTP_FLEET_CLOCK_SKEW)
			now->boot = rec->saved_boot;
		else
			rec->saved_boot = now->boot;
	}
	otp_state_record_rebase(rec, now);
	return 0;
}

int
otp_state_begin_host(struct otp_state *st, struct otp_time *now, struct otp_state_txn **txn,
		     struct otp_host_record *rec, int *timed_out, char *err, size_t errlen)
{
	unsigned char buf[OTP_STATE_MAX_BLOB];
	size_t len = 0;

	if (begin(st, "host", 0, txn, buf, &len, timed_out, now, err, errlen) != 0)
		return -1;
	otp_host_record_decode(buf, len, st->key, rec);
	otp_host_record_rebase(rec, now);
	return 0;
}

static int
commit(struct otp_state_txn *txn, const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	int rc = txn->st->be->commit(txn->impl, buf, len, err, errlen);

	return rc == OTP_STATE_CONFLICT ? OTP_STATE_RETRY : rc;
}

int
otp_state_commit_user(struct otp_state_txn *txn, const struct otp_state_record *rec,
		      char *err, size_t errlen)
{
	unsigned char buf[8192];
	size_t len = otp_state_record_size();
	int rc;

	otp_state_record_encode(rec, txn->uid, txn->st->key, buf);
	rc = commit(txn, buf, len, err, errlen);
	otp_wipe(buf, len);
	return rc;
}

int
otp_state_commit_host(struct otp_state_txn *txn, const struct otp_host_record *rec,
		      char *err, size_t errlen)
{
	unsigned char buf[8192];

	otp_host_record_encode(rec, txn->st->key, buf);
	return commit(txn, buf, otp_host_record_size(), err, errlen);
}

int
otp_state_commit_issue(struct otp_state_txn *ut, const struct otp_state_record *rec,
		       struct otp_state_txn *ht, const struct otp_host_record *host,
		       char *err, size_t errlen)
{
	const struct otp_state_backend *be = ut->st->be;
	unsigned char ubuf[8192], hbuf[8192];
	size_t ulen = otp_state_record_size();
	int rc;

	/* The host counter goes first where the pair is not atomic: if the
	 * user's record then cannot be written (disk full), the host has
	 * over-counted one send, whereas the other order would leave a stored
	 * code that was never sent, reused unsent for resend_after seconds. */
	if (be->commit_pair == NULL) {
		rc = otp_state_commit_host(ht, host, err, errlen);
		return rc == 0 ? otp_state_commit_user(ut, rec, err, errlen) : rc;
	}
	otp_state_record_encode(rec, ut->uid, ut->st->key, ubuf);
	otp_host_record_encode(host, ht->st->key, hbuf);
	rc = be->commit_pair(ht->impl, hbuf, otp_host_record_size(), ut->impl, ubuf, ulen, err, errlen);
	otp_wipe(ubuf, ulen);
	return rc == OTP_STATE_CONFLICT ? OTP_STATE_RETRY : rc;
}

void
otp_state_end(struct otp_state_txn *txn)
{
	if (txn == NULL)
		return;
	txn->st->be->end(txn->impl);
	free(txn);
}

int
otp_state_reset_user(struct otp_state *st, uint32_t uid, char *err, size_t errlen)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", uid);
	return st->be->remove(st->impl, name, err, errlen);
}
