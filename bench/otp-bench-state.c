/*
 * otp-bench-state.c - the bench's window into the state cache, through
 * the module's own code (libotpcore): fill a state with many users, and
 * read back what the logins left there.
 *
 *   otp-bench-state populate CONF COUNT FIRST_UID
 *       COUNT user records (uids FIRST_UID ..) encoded with the module's
 *       codec and key: each with one send an hour ago and a consumed code.
 *       File backend: written straight into the directory (0600, one
 *       syncfs at the end) rather than through the fsync'd transaction,
 *       which would take minutes for 100,000 users on a disk; other
 *       backends: through the normal transactions.
 *   otp-bench-state sends CONF UID...
 *       one line per uid: "UID NSENDS_LAST_DAY", then "host SENDS_LAST_HOUR".
 *   otp-bench-state ops ITERS UID CONF...
 *       time the state transactions of one login (issue: user + host
 *       record; verify: count the attempt, then consume) against each
 *       CONF's state in turn, ITERS times, and print per CONF the p50 and
 *       p90 in microseconds: state work alone, without the rest of a login.
 *   otp-bench-state has-backend NAME
 *       exit 0 if this build has the state backend NAME.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "src/clock.h"
#include "src/conf.h"
#include "src/state.h"
#include "src/state_record.h"

static struct otp_config *
load(const char *path)
{
	struct otp_config *cfg = otp_config_load(path);

	if (cfg == NULL || cfg->errs.count > 0) {
		fprintf(stderr, "otp-bench-state: %s: %s\n", path,
			cfg && cfg->errs.count ? cfg->errs.msg[0] : "cannot load");
		exit(1);
	}
	return cfg;
}

static struct otp_state *
open_state(struct otp_config *cfg)
{
	struct otp_state *st;
	char err[512];

	if (otp_state_open(&cfg->state, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "otp-bench-state: %s\n", err);
		exit(1);
	}
	return st;
}

static void
sample_record(struct otp_state_record *r, const struct otp_time *now)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->boot_id, now->boot_id, sizeof(r->boot_id));
	r->saved_boot = now->boot;
	r->saved_wall = now->wall;
	r->nsends = 1;
	r->sends[0] = now->boot > 3600 ? now->boot - 3600 : 0;
	r->last_success_wall = now->wall - 3600;
}

static int
populate(const char *conf, unsigned long count, unsigned long first)
{
	struct otp_config *cfg = load(conf);
	struct otp_state *st = open_state(cfg);
	size_t len = otp_state_record_size();
	unsigned char *buf = malloc(len);
	struct otp_state_record rec;
	struct otp_time now;
	char err[512];
	int dirfd = -1;

	if (buf == NULL || otp_clock_now(&now) != 0)
		return 1;
	sample_record(&rec, &now);
	if (strcmp(cfg->state.backend, "file") == 0 &&
	    (dirfd = open(cfg->state.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "otp-bench-state: %s: %s\n", cfg->state.path, strerror(errno));
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		uint32_t uid = (uint32_t)(first + i);
		if (dirfd >= 0) {
			char name[16];
			int fd;
			snprintf(name, sizeof(name), "%u", uid);
			otp_state_record_encode(&rec, uid, otp_state_key(st), buf);
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, buf, len) != (ssize_t)len || close(fd) != 0) {
				fprintf(stderr, "otp-bench-state: %s/%s: %s\n", cfg->state.path, name, strerror(errno));
				return 1;
			}
		} else {
			struct otp_state_txn *t;
			struct otp_state_record old;
			int to;
			if (otp_state_begin_user(st, uid, &now, &t, &old, &to, err, sizeof(err)) != 0 ||
			    otp_state_commit_user(t, &rec, err, sizeof(err)) != 0) {
				fprintf(stderr, "otp-bench-state: uid %u: %s\n", uid, err);
				return 1;
			}
			otp_state_end(t);
		}
	}
	if (dirfd >= 0) {
		if (syncfs(dirfd) != 0)
			fprintf(stderr, "otp-bench-state: syncfs: %s\n", strerror(errno));
		close(dirfd);
	}
	free(buf);
	otp_state_close(st);
	otp_config_free(cfg);
	return 0;
}

static int
sends(const char *conf, int argc, char **argv)
{
	struct otp_config *cfg = load(conf);
	struct otp_state *st = open_state(cfg);
	struct otp_state_txn *t;
	struct otp_host_record host;
	struct otp_time now;
	char err[512];
	int to;

	if (otp_clock_now(&now) != 0)
		return 1;
	for (int i = 0; i < argc; i++) {
		struct otp_state_record rec;
		uint32_t uid = (uint32_t)strtoul(argv[i], NULL, 10);
		if (otp_state_begin_user(st, uid, &now, &t, &rec, &to, err, sizeof(err)) != 0) {
			fprintf(stderr, "otp-bench-state: uid %u: %s\n", uid, err);
			return 1;
		}
		printf("%u %u\n", uid, otp_policy_sends_within(&rec, &now, 86400));
		otp_state_end(t);
	}
	if (otp_state_begin_host(st, &now, &t, &host, &to, err, sizeof(err)) != 0) {
		fprintf(stderr, "otp-bench-state: host: %s\n", err);
		return 1;
	}
	printf("host %u\n", otp_host_sends_last_hour(&host, &now));
	otp_state_end(t);
	otp_state_close(st);
	otp_config_free(cfg);
	return 0;
}

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The transactions of one login, as the flow runs them (no policy). */
static int
one_login_state(struct otp_state *st, uint32_t uid, char *err, size_t errlen)
{
	struct otp_state_txn *ut, *ht;
	struct otp_state_record rec;
	struct otp_host_record host;
	struct otp_time now;
	int to;

	if (otp_clock_now(&now) != 0 ||
	    otp_state_begin_user(st, uid, &now, &ut, &rec, &to, err, errlen) != 0)
		return -1;
	if (otp_state_begin_host(st, &now, &ht, &host, &to, err, errlen) != 0) {
		otp_state_end(ut);
		return -1;
	}
	rec.code_active = true;
	if (otp_state_commit_user(ut, &rec, err, errlen) != 0 || otp_state_commit_host(ht, &host, err, errlen) != 0) {
		otp_state_end(ht);
		otp_state_end(ut);
		return -1;
	}
	otp_state_end(ht);
	otp_state_end(ut);
	for (int pass = 0; pass < 2; pass++) {
		if (otp_state_begin_user(st, uid, &now, &ut, &rec, &to, err, errlen) != 0)
			return -1;
		rec.code_attempts = pass == 0 ? rec.code_attempts + 1 : 0;
		rec.code_active = pass == 0;
		if (otp_state_commit_user(ut, &rec, err, errlen) != 0) {
			otp_state_end(ut);
			return -1;
		}
		otp_state_end(ut);
	}
	return 0;
}

static int
ops(unsigned long iters, uint32_t uid, int nconf, char **confs)
{
	struct otp_config *cfg[16];
	struct otp_state *st[16];
	double *t[16];
	char err[512];
	unsigned seed = 12345;

	if (nconf < 1 || nconf > 16 || iters == 0)
		return 2;
	for (int c = 0; c < nconf; c++) {
		cfg[c] = load(confs[c]);
		st[c] = open_state(cfg[c]);
		if ((t[c] = calloc(iters, sizeof(double))) == NULL)
			return 1;
	}
	for (unsigned long i = 0; i < iters; i++) {
		int order[16];
		/* a fresh random order each round: no state always first, or always
		 * right after a slow one (a disk fsync leaves the next call colder) */
		for (int k = 0; k < nconf; k++)
			order[k] = k;
		for (int k = nconf - 1; k > 0; k--) {
			int j = rand_r(&seed) % (k + 1), x = order[k];
			order[k] = order[j];
			order[j] = x;
		}
		for (int k = 0; k < nconf; k++) {
			int c = order[k];
			double t0 = now_us();
			if (one_login_state(st[c], uid, err, sizeof(err)) != 0) {
				fprintf(stderr, "otp-bench-state: %s: %s\n", confs[c], err);
				return 1;
			}
			t[c][i] = now_us() - t0;
		}
	}
	for (int c = 0; c < nconf; c++) {
		qsort(t[c], iters, sizeof(double), cmp_double);
		printf("%s %.1f %.1f\n", confs[c], t[c][iters / 2], t[c][iters * 9 / 10]);
		free(t[c]);
		otp_state_close(st[c]);
		otp_config_free(cfg[c]);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "ops") == 0)
		return ops(strtoul(argv[2], NULL, 10), (uint32_t)strtoul(argv[3], NULL, 10), argc - 4, argv + 4);
	if (argc == 5 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	if (argc >= 3 && strcmp(argv[1], "sends") == 0)
		return sends(argv[2], argc - 3, argv + 3);
	if (argc == 3 && strcmp(argv[1], "has-backend") == 0)
		return otp_state_backend_known(argv[2]) ? 0 : 1;
	fprintf(stderr, "usage: otp-bench-state populate CONF COUNT FIRST_UID | sends CONF UID... | "
		"ops ITERS UID CONF... | has-backend NAME\n");
	return 2;
}
