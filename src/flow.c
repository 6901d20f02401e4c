/* flow.c - the login flow: lookup -> state/policy -> send -> prompt -> verify. */
#include "config.h"
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "code.h"
#include "contacts.h"
#include "crypto.h"
#include "flow.h"
#include "mem.h"
#include "state.h"
#include "template.h"
#include "validate.h"

#define MAX_USER_LEN 256
#define MAX_RESEND_ROUNDS 3

struct flow {
	const struct otp_request *req;
	const struct otp_config *cfg;
	const struct otp_log *log;
	struct otp_state *state;
	struct otp_time now;
	char user[MAX_USER_LEN + 1];     /* canonical name from NSS */
	uid_t uid;
	const char *dest;
	enum otp_channel channel;
	const struct otp_channel_conf *chconf;
	char dest_log[64];
	char dest_show[96];
	char host[256];
	char err[512];
	bool consumed;                   /* a correct code was consumed durably */
};

static const char *
safe_str(const char *s)
{
	return s ? s : "";
}

static void
logev(struct flow *f, int prio, const char *event, const char *k1, const char *v1,
      const char *k2, const char *v2)
{
	otp_log_event(f->log, prio, event, "user", f->user[0] ? f->user : "(unknown)",
		      "service", f->req->service, "rhost", f->req->rhost,
		      "channel", f->channel ? otp_channel_name(f->channel) : NULL,
		      "dest", f->dest_log[0] ? f->dest_log : NULL,
		      k1, v1, k2, v2, (char *)NULL);
}

static bool
user_string_ok(const char *u)
{
	size_t n;

	if (u == NULL || (n = strlen(u)) == 0 || n > MAX_USER_LEN)
		return false;
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	return true;
}

static bool
in_exempt_group(const struct otp_config *cfg, const struct passwd *pw)
{
	gid_t groups[256];
	int ng = 256;

	if (cfg->exempt_groups == NULL || cfg->exempt_groups[0] == NULL)
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) < 0)
		ng = 256; /* truncated list: check what we have */
	for (char **g = cfg->exempt_groups; *g; g++) {
		struct group grp, *res = NULL;
		char buf[8192];
		if (getgrnam_r(*g, &grp, buf, sizeof(buf), &res) != 0 || res == NULL)
			continue;
		/* Exact name -> gid, then membership by gid: never a prefix match. */
		if (strcmp(res->gr_name, *g) != 0)
			continue;
		for (int i = 0; i < ng; i++)
			if (groups[i] == res->gr_gid)
				return true;
	}
	return false;
}

static bool
rhost_trusted(const struct otp_config *cfg, const char *rhost)
{
	if (rhost == NULL || !otp_ip_is_numeric(rhost))
		return false;
	for (size_t i = 0; i < cfg->ntrusted; i++)
		if (otp_cidr_match(&cfg->trusted[i], rhost))
			return true;
	return false;
}

static int
open_state(struct flow *f)
{
	if (f->state != NULL)
		return 0;
	if (otp_state_open(&f->cfg->state, &f->state, f->err, sizeof(f->err)) != 0) {
		logev(f, LOG_ERR, "state-error", "reason", f->err, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
ask(struct flow *f, const char *info, char **answer)
{
	char combined[512];
	const char *shown = info, *prompt = f->cfg->prompt;

	/*
	 * PAM_SILENT forbids informational messages, and sudo always passes it.
	 * Where the code went is still needed to answer, so it moves into the
	 * prompt itself, which PAM_SILENT does not suppress.
	 */
	if (f->req->silent) {
		snprintf(combined, sizeof(combined), "%s %s", info, f->cfg->prompt);
		shown = NULL;
		prompt = combined;
	}
	*answer = NULL;
	if (f->req->conv.ask(f->req->conv.arg, shown, prompt, answer) != 0 || *answer == NULL) {
		otp_free_secret(*answer);
		*answer = NULL;
		return -1;
	}
	return 0;
}

/*
 * Unknown user, unenrolled user or OpenSSH's dummy password: show exactly
 * what a real user would see (a masked destination derived from a secret
 * key, stable per name), then deny.  Nothing is sent, no state is written.
 */
static enum otp_rc
decoy(struct flow *f, const char *why)
{
	unsigned char mac[32];
	char fake[32], info[192], *answer = NULL;
	const char *cc = "1";
	unsigned last;

	logev(f, LOG_NOTICE, "failed", "reason", why, "decoy", "yes");
	if (open_state(f) != 0)
		return OTP_ERR_STATE;
	otp_hmac_sha256(otp_state_key(f->state), OTP_STATE_KEY_LEN, safe_str(f->req->user),
			strlen(safe_str(f->req->user)), mac);
	last = ((unsigned)mac[0] << 8 | mac[1]) % 10000;
	if (f->cfg->allowed_country_codes && f->cfg->allowed_country_codes[0])
		cc = f->cfg->allowed_country_codes[0];
	if (f->cfg->sms.connector == NULL && f->cfg->email.connector != NULL) {
		char hn[256];
		const char *dom;
		if (gethostname(hn, sizeof(hn)) != 0)
			hn[0] = '\0';
		hn[sizeof(hn) - 1] = '\0';
		dom = strchr(hn, '.');
		snprintf(fake, sizeof(fake), "%c@%s", 'a' + mac[2] % 26, dom ? dom + 1 : "mail.local");
	} else
		snprintf(fake, sizeof(fake), "+%s%08u%04u", cc, (unsigned)(mac[3] % 100) * 1000000u, last);
	otp_mask_display(fake, f->dest_show, sizeof(f->dest_show));
	snprintf(info, sizeof(info), "Code sent to %s.", f->dest_show);
	otp_wipe(mac, sizeof(mac));
	if (ask(f, info, &answer) != 0)
		return OTP_ERR_CONV;
	otp_free_secret(answer);
	return OTP_ERR_NOUSER;
}

static int
choose_destination(struct flow *f, const struct otp_contact *c)
{
	const struct otp_config *cfg = f->cfg;

	for (size_t i = 0; i < cfg->nchannels; i++) {
		enum otp_channel ch = cfg->channels[i];
		const char *d = ch == OTP_CHANNEL_SMS ? c->phone : c->email;
		if (f->req->force_channel != OTP_CHANNEL_NONE && ch != f->req->force_channel)
			continue;
		if (d == NULL || otp_config_channel(cfg, ch) == NULL)
			continue;
		f->channel = ch;
		f->chconf = otp_config_channel(cfg, ch);
		f->dest = d;
		return 0;
	}
	return -1;
}

int
otp_flow_deliver(const struct otp_config *cfg, const struct otp_channel_conf *ch,
		 const struct otp_message *msg, struct otp_send_result *res)
{
	struct otp_time t;
	struct otp_send_env env = {
		.http = &cfg->http,
		.user_agent = PACKAGE_NAME "/" PACKAGE_VERSION,
	};

	memset(res, 0, sizeof(*res));
	env.now = otp_clock_now(&t) == 0 ? t.wall : 0;
	if (ch->connector->send(ch->ctx, &env, msg, res) != 0 && res->fail == OTP_FAIL_NONE)
		res->fail = OTP_FAIL_INTERNAL;
	return res->fail == OTP_FAIL_NONE ? 0 : -1;
}

enum issue_outcome { ISSUED, REUSED, LIMITED, LOCKED, FAILED, RETRY };

/* Report a failed commit; OTP_STATE_RETRY (an optimistic backend lost a race)
 * is not an error: the caller redoes the step. */
static bool
commit_failed(struct flow *f, int rc)
{
	if (rc == 0 || rc == OTP_STATE_RETRY)
		return false;
	logev(f, LOG_ERR, "state-error", "reason", f->err, NULL, NULL);
	return true;
}

/*
 * Optimistic backends (Redis WATCH/MULTI) answer a lost race with RETRY.
 * Under contention a fixed number of immediate retries fails closed far too
 * early (64 logins at once on one host counter): back off with jitter and
 * give up only after the same bounded wait the file backend's lock has.
 */
struct retry_gate {
	struct timespec start;
	unsigned n;
};

static void
retry_start(struct retry_gate *g)
{
	clock_gettime(CLOCK_MONOTONIC, &g->start);
	g->n = 0;
}

/* Called after a RETRY: wait a little, then true while time remains. */
static bool
retry_again(struct retry_gate *g)
{
	struct timespec now, pause;
	uint64_t rnd = 0;
	long ms, waited, cap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	waited = (now.tv_sec - g->start.tv_sec) * 1000 + (now.tv_nsec - g->start.tv_nsec) / 1000000;
	if (waited >= OTP_STATE_LOCK_TIMEOUT_MS)
		return false;
	cap = g->n < 6 ? 1L << g->n : 64;    /* 1, 2, 4 ... 64 ms */
	g->n++;
	(void)otp_random_uniform((uint64_t)cap * 1000, &rnd);
	ms = (long)(rnd / 1000) + 1;
	if (ms > OTP_STATE_LOCK_TIMEOUT_MS - waited)
		ms = OTP_STATE_LOCK_TIMEOUT_MS - waited;
	pause.tv_sec = ms / 1000;
	pause.tv_nsec = (ms % 1000) * 1000000L + (long)(rnd % 1000) * 1000L;
	while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
		;
	return true;
}

/* Under the user's (and host's) lock: decide, and persist a new code hash
 * BEFORE anything is sent.  Returns with every lock released. */
static enum issue_outcome
issue_code_once(struct flow *f, bool want_new, char *code, size_t codelen, int64_t *wait_left)
{
	struct otp_state_txn *ut = NULL, *ht = NULL;
	struct otp_state_record rec;
	struct otp_host_record host;
	unsigned char hash[OTP_CODE_HASH_LEN];
	enum issue_outcome out = FAILED;
	int timed_out = 0, rc;
	enum otp_cap cap;

	*wait_left = 0;
	if (otp_state_begin_user(f->state, (uint32_t)f->uid, &f->now, &ut, &rec, &timed_out, f->err,
				 sizeof(f->err)) != 0) {
		logev(f, LOG_ERR, timed_out ? "lock-timeout" : "state-error", "reason", f->err, NULL, NULL);
		return FAILED;
	}
	if (otp_policy_locked(&f->cfg->policy, &rec, &f->now)) {
		char until[32];
		snprintf(until, sizeof(until), "%lld", (long long)(rec.lockout_until - f->now.boot));
		logev(f, LOG_WARNING, "locked", "seconds_left", until, NULL, NULL);
		out = LOCKED;
		goto commit;
	}
	if (otp_policy_in_cooldown(&f->cfg->policy, &rec, &f->now)) {
		*wait_left = f->cfg->policy.resend_after - (f->now.boot - rec.code_issued);
		if (!want_new || *wait_left > 0) {
			out = REUSED;
			goto commit;
		}
	}
	if (otp_state_begin_host(f->state, &f->now, &ht, &host, &timed_out, f->err, sizeof(f->err)) != 0) {
		logev(f, LOG_ERR, timed_out ? "lock-timeout" : "state-error", "reason", f->err, NULL, NULL);
		goto out;
	}
	cap = otp_policy_check_caps(&f->cfg->policy, &rec, &host, &f->now);
	if (cap != OTP_CAP_OK) {
		logev(f, LOG_WARNING, "rate-limited", "limit",
		      cap == OTP_CAP_USER_HOUR ? "sends_per_hour" :
		      cap == OTP_CAP_USER_DAY ? "sends_per_day" : "host_sends_per_hour", NULL, NULL);
		out = LIMITED;
		goto commit;
	}
	if (codelen < f->cfg->policy.code_length + 1 ||
	    otp_code_generate(f->cfg->policy.code_length, code) != 0) {
		logev(f, LOG_ERR, "internal-error", "where", "rng", NULL, NULL);
		goto out;
	}
	otp_code_hash(otp_state_key(f->state), (uint32_t)f->uid, f->now.boot, code, hash);
	otp_policy_issue(&f->cfg->policy, &rec, &host, &f->now, hash);
	otp_hmac_sha256(otp_state_key(f->state), OTP_STATE_KEY_LEN, f->dest, strlen(f->dest), hash);
	if (memcmp(hash, rec.dest_hash, sizeof(hash)) != 0) {
		static const unsigned char zero[OTP_CODE_HASH_LEN];
		if (memcmp(rec.dest_hash, zero, sizeof(zero)) != 0)
			logev(f, LOG_NOTICE, "destination-changed", NULL, NULL, NULL, NULL);
		memcpy(rec.dest_hash, hash, sizeof(hash));
	}
	/* Persist first: no message goes out for a code we could not store. */
	rc = otp_state_commit_issue(ut, &rec, ht, &host, f->err, sizeof(f->err));
	if (rc != 0) {
		out = commit_failed(f, rc) ? FAILED : RETRY;
		otp_wipe(code, codelen);
		goto out;
	}
	out = ISSUED;
	goto out;
commit:
	rc = otp_state_commit_user(ut, &rec, f->err, sizeof(f->err));
	if (rc != 0)
		out = commit_failed(f, rc) ? FAILED : RETRY;
out:
	otp_wipe(hash, sizeof(hash));
	otp_wipe(&rec, sizeof(rec));
	otp_state_end(ht);
	otp_state_end(ut);
	return out;
}

static enum issue_outcome
issue_code(struct flow *f, bool want_new, char *code, size_t codelen, int64_t *wait_left)
{
	enum issue_outcome out;
	struct retry_gate g;

	retry_start(&g);
	while ((out = issue_code_once(f, want_new, code, codelen, wait_left)) == RETRY && retry_again(&g))
		;
	if (out == RETRY) {
		logev(f, LOG_ERR, "state-error", "reason", "too many concurrent updates", NULL, NULL);
		out = FAILED;
	}
	return out;
}

/* A code that never left: drop it so the next attempt sends a fresh one
 * (the send still counts towards the caps). */
static void
withdraw_code(struct flow *f, const char *code)
{
	struct otp_state_txn *ut = NULL;
	struct otp_state_record rec;
	unsigned char hash[OTP_CODE_HASH_LEN];
	struct retry_gate g;
	int timed_out;

	retry_start(&g);
	for (;;) {
		int rc = 0;
		if (otp_state_begin_user(f->state, (uint32_t)f->uid, &f->now, &ut, &rec, &timed_out, f->err,
					 sizeof(f->err)) != 0)
			return;
		otp_code_hash(otp_state_key(f->state), (uint32_t)f->uid, rec.code_issued, code, hash);
		if (rec.code_active && otp_ct_equal(hash, rec.code_hash, sizeof(hash))) {
			rec.code_active = false;
			rc = otp_state_commit_user(ut, &rec, f->err, sizeof(f->err));
		}
		otp_wipe(hash, sizeof(hash));
		otp_wipe(&rec, sizeof(rec));
		otp_state_end(ut);
		if (rc != OTP_STATE_RETRY || !retry_again(&g))
			return;
	}
}

static enum otp_rc
deliver(struct flow *f, const char *code)
{
	struct otp_template_vars vars = { 0 };
	struct otp_message msg = { 0 };
	struct otp_send_result res;
	const char *usage = f->req->usage ? f->req->usage : otp_config_usage_for(f->cfg, f->req->service);
	const char *ip = (f->req->rhost && otp_ip_is_numeric(f->req->rhost)) ? f->req->rhost : NULL;
	char status[16];
	bool transient;

	vars.code = code;
	vars.user = f->user;
	vars.host = f->host;
	vars.service = f->req->service;
	vars.rhost = f->req->rhost;
	vars.ttl_minutes = (long)((f->cfg->policy.ttl + 59) / 60);
	msg.channel = f->channel;
	msg.to = f->dest;
	msg.code = code;
	msg.usage = usage;
	msg.vars = &vars;
	msg.client_ip = ip;
	if (otp_flow_deliver(f->cfg, f->chconf, &msg, &res) == 0) {
		logev(f, LOG_NOTICE, "sent", "connector", f->chconf->connector->id, "usage", usage);
		return OTP_OK;
	}
	withdraw_code(f, code);
	snprintf(status, sizeof(status), "%ld", res.http_status);
	transient = otp_fail_is_transient(res.fail);
	otp_log_event(f->log, transient && f->cfg->failmode_safe ? LOG_WARNING : LOG_ERR,
		      "delivery-failed", "user", f->user, "service", f->req->service,
		      "rhost", f->req->rhost, "channel", otp_channel_name(f->channel), "dest", f->dest_log,
		      "connector", f->chconf->connector->id, "class", otp_fail_name(res.fail),
		      "http", status, "provider", res.provider_code[0] ? res.provider_code : NULL,
		      "detail", res.detail[0] ? res.detail : NULL,
		      "failmode", f->cfg->failmode_safe ? "safe" : "secure", (char *)NULL);
	return transient ? OTP_ERR_SEND_TRANSIENT : OTP_ERR_SEND;
}

struct verify_ctx {
	char norm[OTP_CODE_MAX_DIGITS + 1];
	bool well_formed;
	bool counted;                 /* the attempt is on disk already */
	int64_t issued;               /* which code it was counted against */
	unsigned char want[OTP_CODE_HASH_LEN];
};

#define VERIFY_RETRY OTP_RC_LAST

/*
 * One pass of verification.  The attempt is committed (write-ahead) before
 * the comparison, so killing the process after a wrong answer never gives
 * a free guess.  If an optimistic backend loses a race, the pass returns
 * VERIFY_RETRY and the next pass continues on fresh data without counting
 * the attempt twice.
 */
static enum otp_rc
verify_once(struct flow *f, struct verify_ctx *v)
{
	struct otp_state_txn *ut = NULL;
	struct otp_state_record rec;
	unsigned char got[OTP_CODE_HASH_LEN];
	enum otp_rc rc = OTP_ERR_STATE;
	enum otp_verify_pre pre;
	int timed_out, crc;
	bool match;

	if (otp_state_begin_user(f->state, (uint32_t)f->uid, &f->now, &ut, &rec, &timed_out, f->err,
				 sizeof(f->err)) != 0) {
		logev(f, LOG_ERR, timed_out ? "lock-timeout" : "state-error", "reason", f->err, NULL, NULL);
		goto out;
	}
	if (!v->counted) {
		pre = otp_policy_verify_begin(&f->cfg->policy, &rec, &f->now);
		if (pre != OTP_VERIFY_GO) {
			crc = otp_state_commit_user(ut, &rec, f->err, sizeof(f->err));
			if (crc != 0) {
				rc = commit_failed(f, crc) ? OTP_ERR_STATE : VERIFY_RETRY;
				goto out;
			}
			logev(f, LOG_NOTICE, pre == OTP_VERIFY_LOCKED ? "locked" : "failed", "reason",
			      pre == OTP_VERIFY_LOCKED ? "locked out" :
			      pre == OTP_VERIFY_EXPIRED ? "code expired" : "no valid code (used, replaced or expired)",
			      NULL, NULL);
			rc = pre == OTP_VERIFY_LOCKED ? OTP_ERR_MAXTRIES : OTP_ERR_EXPIRED;
			goto out;
		}
		crc = otp_state_commit_user(ut, &rec, f->err, sizeof(f->err));
		if (crc != 0) {
			rc = commit_failed(f, crc) ? OTP_ERR_STATE : VERIFY_RETRY;
			goto out;
		}
		v->counted = true;
		v->issued = rec.code_issued;
		memcpy(v->want, rec.code_hash, sizeof(v->want));
	} else if (!rec.code_active || rec.code_issued != v->issued ||
		   !otp_ct_equal(rec.code_hash, v->want, sizeof(v->want))) {
		/* Consumed or replaced by a concurrent login meanwhile. */
		logev(f, LOG_NOTICE, "failed", "reason", "code used or replaced concurrently", NULL, NULL);
		rc = OTP_ERR_EXPIRED;
		goto out;
	}
	otp_code_hash(otp_state_key(f->state), (uint32_t)f->uid, v->issued, v->norm, got);
	match = otp_ct_equal(v->want, got, sizeof(got)) && v->well_formed;
	if (match) {
		otp_policy_verify_success(&rec, &f->now);
		crc = otp_state_commit_user(ut, &rec, f->err, sizeof(f->err));
		if (crc != 0) {
			/* Not consumed durably: refuse rather than risk a replay. */
			rc = commit_failed(f, crc) ? OTP_ERR_STATE : VERIFY_RETRY;
			goto out;
		}
		logev(f, LOG_NOTICE, "verified", NULL, NULL, NULL, NULL);
		f->consumed = true;
		rc = OTP_OK;
	} else {
		char att[16];
		bool done = otp_policy_verify_failure(&f->cfg->policy, &rec, &f->now);
		crc = otp_state_commit_user(ut, &rec, f->err, sizeof(f->err));
		if (crc != 0) {
			rc = commit_failed(f, crc) ? OTP_ERR_STATE : VERIFY_RETRY;
			goto out;
		}
		snprintf(att, sizeof(att), "%u", rec.code_attempts);
		if (rec.lockout_until != 0) {
			logev(f, LOG_WARNING, "locked", "reason", "too many failures", "attempts", att);
			rc = OTP_ERR_MAXTRIES;
		} else {
			logev(f, LOG_NOTICE, "failed", "reason", v->well_formed ? "wrong code" : "malformed answer",
			      "attempts", att);
			rc = done ? OTP_ERR_MAXTRIES : OTP_ERR_MISMATCH;
		}
	}
out:
	otp_wipe(got, sizeof(got));
	otp_wipe(&rec, sizeof(rec));
	otp_state_end(ut);
	return rc;
}

static enum otp_rc
verify(struct flow *f, const char *answer)
{
	struct verify_ctx v;
	struct retry_gate g;
	enum otp_rc rc;

	memset(&v, 0, sizeof(v));
	v.well_formed = otp_code_normalize(answer, f->cfg->policy.code_length, v.norm, sizeof(v.norm)) == 0;
	if (!v.well_formed)
		snprintf(v.norm, sizeof(v.norm), "x"); /* hashes, never matches a digit code */
	if (otp_state_now(f->state, &f->now) != 0)
		return OTP_ERR_INTERNAL;
	retry_start(&g);
	while ((rc = verify_once(f, &v)) == VERIFY_RETRY && retry_again(&g))
		;
	if (rc == VERIFY_RETRY) {
		logev(f, LOG_ERR, "state-error", "reason", "too many concurrent updates", NULL, NULL);
		rc = OTP_ERR_STATE;
	}
	otp_wipe(&v, sizeof(v));
	return rc;
}

static enum otp_rc
run(struct flow *f)
{
	const struct otp_request *req = f->req;
	struct passwd pwbuf, *pw = NULL;
	struct otp_contact contact = { 0 };
	char pwstore[16384], code[OTP_CODE_MAX_DIGITS + 1], info[256];
	char *answer = NULL;
	enum otp_rc rc = OTP_ERR_INTERNAL;
	enum otp_contact_rc lrc;
	bool want_new = false;

	if (otp_clock_now(&f->now) != 0)
		return OTP_ERR_INTERNAL;
	if (gethostname(f->host, sizeof(f->host)) != 0)
		snprintf(f->host, sizeof(f->host), "localhost");
	f->host[sizeof(f->host) - 1] = '\0';

	if (rhost_trusted(f->cfg, req->rhost)) {
		logev(f, LOG_INFO, "exempt", "reason", "trusted network", NULL, NULL);
		return OTP_IGNORE_EXEMPT;
	}
	if (!user_string_ok(req->user))
		return decoy(f, "invalid user name");
	if (req->authtok != NULL && strcmp(req->authtok, OTP_OPENSSH_DUMMY_PASSWORD) == 0)
		return decoy(f, "sshd marked the user invalid or the password failed");
	if (getpwnam_r(req->user, &pwbuf, pwstore, sizeof(pwstore), &pw) != 0 || pw == NULL)
		return decoy(f, "unknown user");
	snprintf(f->user, sizeof(f->user), "%s", pw->pw_name);
	f->uid = pw->pw_uid;
	if (in_exempt_group(f->cfg, pw)) {
		logev(f, LOG_INFO, "exempt", "reason", "exempt group", NULL, NULL);
		return OTP_IGNORE_EXEMPT;
	}
	lrc = otp_contacts_lookup(f->cfg, pw, &contact, f->err, sizeof(f->err));
	switch (lrc) {
	case OTP_CONTACT_ERROR:
		logev(f, LOG_ERR, "config-error", "reason", f->err, NULL, NULL);
		return OTP_ERR_CONTACTS;
	case OTP_CONTACT_UNAVAIL:
	case OTP_CONTACT_AMBIGUOUS:
		logev(f, LOG_ERR, lrc == OTP_CONTACT_AMBIGUOUS ? "directory-ambiguous" : "directory-error",
		      "reason", f->err, NULL, NULL);
		return OTP_ERR_DIRECTORY;
	case OTP_CONTACT_NONE:
		break;
	case OTP_CONTACT_FOUND:
		break;
	}
	if (choose_destination(f, &contact) != 0) {
		otp_contact_free(&contact);
		if (req->nullok) {
			logev(f, LOG_NOTICE, "exempt", "reason", "no contact (nullok)", NULL, NULL);
			return OTP_IGNORE_NOCONTACT;
		}
		return decoy(f, "no contact");
	}
	otp_mask_log(f->dest, f->dest_log, sizeof(f->dest_log));
	otp_mask_display(f->dest, f->dest_show, sizeof(f->dest_show));
	if (f->channel == OTP_CHANNEL_SMS ? !otp_valid_e164(f->dest) : !otp_valid_email(f->dest)) {
		logev(f, LOG_ERR, "bad-destination", "source", contact.source,
		      "reason", f->channel == OTP_CHANNEL_SMS ? "not E.164 (+[1-9][0-9]{6,14})" : "not a plain email address");
		rc = OTP_ERR_DESTINATION;
		goto out;
	}
	if (f->channel == OTP_CHANNEL_SMS && !otp_country_allowed(f->dest, f->cfg->allowed_country_codes)) {
		logev(f, LOG_ERR, "bad-destination", "source", contact.source,
		      "reason", "country code not in allowed_country_codes");
		rc = OTP_ERR_DESTINATION;
		goto out;
	}
	if (open_state(f) != 0) {
		rc = OTP_ERR_STATE;
		goto out;
	}
	if (otp_state_now(f->state, &f->now) != 0) {
		rc = OTP_ERR_INTERNAL;
		goto out;
	}
	for (int round = 0; round < MAX_RESEND_ROUNDS; round++) {
		int64_t wait_left = 0;
		enum issue_outcome io = issue_code(f, want_new, code, sizeof(code), &wait_left);
		switch (io) {
		case FAILED:
		case RETRY:
			rc = OTP_ERR_STATE;
			goto out;
		case LOCKED:
		case LIMITED:
			rc = OTP_ERR_MAXTRIES;
			goto out;
		case ISSUED:
			rc = deliver(f, code);
			otp_wipe(code, sizeof(code));
			if (rc != OTP_OK)
				goto out;
			snprintf(info, sizeof(info), "Code sent to %s.", f->dest_show);
			break;
		case REUSED:
			if (want_new)
				snprintf(info, sizeof(info),
					 "A code was already sent to %s; a new one can be sent in %lld s.",
					 f->dest_show, (long long)wait_left);
			else
				snprintf(info, sizeof(info), "Code sent to %s.", f->dest_show);
			break;
		}
		if (ask(f, info, &answer) != 0) {
			/* Not a wrong answer: the code stays outstanding. */
			logev(f, LOG_NOTICE, "failed", "reason", "conversation failed", NULL, NULL);
			rc = OTP_ERR_CONV;
			goto out;
		}
		if (answer[0] == '\0' && f->cfg->allow_resend && round + 1 < MAX_RESEND_ROUNDS) {
			otp_free_secret(answer);
			answer = NULL;
			want_new = true;
			if (otp_state_now(f->state, &f->now) != 0) {
				rc = OTP_ERR_INTERNAL;
				goto out;
			}
			continue;
		}
		break;
	}
	rc = verify(f, answer);
out:
	otp_free_secret(answer);
	otp_wipe(code, sizeof(code));
	otp_contact_free(&contact);
	otp_wipe(pwstore, sizeof(pwstore));
	return rc;
}

void
otp_flow_authenticate(const struct otp_request *req, struct otp_result *res)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.req = req;
	f.cfg = req->cfg;
	f.log = req->log;
	res->verdict = OTP_VERDICT_DENY;
	res->rc = run(&f);
	if (res->rc == OTP_OK && f.consumed)
		res->verdict = OTP_VERDICT_ALLOW;
	else if (res->rc == OTP_OK)
		res->rc = OTP_ERR_INTERNAL;
	otp_state_close(f.state);
	otp_wipe(&f, sizeof(f));
}
