/*
 * otp-bench.c - what a login costs: run N complete PAM transactions
 * (libpam's pam_start_confdir with a private service directory) against
 * one or more module stacks, through a loopback http-sms gateway of our
 * own, and report latency percentiles, CPU time and peak memory per login.
 *
 *   otp-bench --pamdir DIR --stack KIND:SERVICE [--stack ...] [options]
 *
 * KIND is how the conversation is answered and a login judged:
 *   otp    the code the gateway received for this user (pam_otp_sms);
 *   floor  no prompt: the floor module POSTs one message through the same
 *          gateway; the login is good if the gateway got exactly the code
 *          the module reports in the PAM environment (BENCH_CODE);
 *   totp   an RFC 6238 code (HMAC-SHA1, 30 s, 6 digits) from the user's
 *          test secret, a fresh time step per login so that replay
 *          protection never refuses it (pam_google_authenticator, pam_oath).
 *
 * Options:
 *   --logins N       logins per stack (default 200)
 *   --conc C         concurrent workers (forked processes; default 1)
 *   --rounds R       interleave the stacks in R rounds (default 1)
 *   --users U        user pool bench0000 .. (default 64); --first I offsets it
 *   --same-user      every worker logs in as the first user of the pool
 *   --subst IN:OUT   copy IN to OUT (0600) with @PORT@ = the gateway's port
 *   --steps FILE     TOTP steps used so far per user (kept across runs)
 *   --exec PROG      run each login in a fresh process (PROG = this
 *                    binary): the dynamic loading a real sshd/sudo pays
 *   --expect-ok      exit 1 unless every login succeeded and was verified
 *   --raw FILE       append one line per login (stack total verify send rc)
 *
 * Users are named PREFIX%04u (--prefix, default "bench"); user i has the
 * phone +8190%08u (i) and the TOTP secret SHA1("otp-bench-secret-i").
 * Prints one JSON object per stack.  Nothing here needs root, but the
 * peers' secret files must belong to the user the stack names.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <security/pam_appl.h>

#define MAX_USERS 4096
#define MAX_SAMPLES 262144
#define MAX_STACKS 16
#define MAX_CONC 256
#define MAX_CONNS 512
#define REQ_MAX 16384
#define TOTP_STEP 30

enum kind { K_OTP, K_FLOOR, K_TOTP };

struct slot {
	atomic_uint seq;                 /* bumped after code[] is written */
	char code[16];
};

struct sample {
	float total_us, verify_us, send_us;
	int16_t rc;
	uint8_t stack;
	uint8_t ok;
	uint16_t user;
	uint32_t seq;                    /* which send the answer came from (otp) */
};

struct stack_stats {
	atomic_long cpu_user_us, cpu_sys_us;
	atomic_long maxrss_kb, rss_growth_kb;
	atomic_long wall_us;
	atomic_long gw_cpu_us;           /* gateway CPU spent while this stack ran */
	atomic_ulong gw_requests;
};

struct shared {
	atomic_ulong gw_requests, gw_bad;
	atomic_long gw_cpu_us;
	struct slot slots[MAX_USERS];
	atomic_ulong nsamples;
	struct sample samples[MAX_SAMPLES];
	struct stack_stats st[MAX_STACKS];
};

struct stack {
	enum kind kind;
	char service[64];
};

static struct shared *sh;
static struct stack stacks[MAX_STACKS];
static int nstacks;
static const char *pamdir;
static const char *prefix = "bench";
static const char *exec_prog;
static int64_t *steps;                /* per user: next TOTP step to use (mmap'd file) */
static unsigned nusers = 64, first_user, conc = 1, rounds = 1;
static unsigned long logins = 200;
static bool same_user, expect_ok;
static int gw_port;
static const char *rhost = "192.0.2.10";

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static long
tv_us(struct timeval tv)
{
	return (long)tv.tv_sec * 1000000L + (long)tv.tv_usec;
}

static long
self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return tv_us(ru.ru_utime) + tv_us(ru.ru_stime);
}

static void
die(const char *what)
{
	fprintf(stderr, "otp-bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---------------------------------------------------------------- gateway */

/*
 * A loopback http-sms gateway: one process, one poll loop, HTTP/1.1 with
 * Content-Length bodies.  It takes "to" and "code" out of the JSON body
 * (http-sms sends {"to": ..., "type": ..., "payload": {"code": ...}}),
 * stores the code in the shared slot of the user the phone number names,
 * and answers 200 with Connection: close.
 */
struct conn {
	int fd;
	size_t len, sent;
	bool responding;
	char buf[REQ_MAX];
};

static const char *
json_field(const char *body, const char *key, char *out, size_t outlen)
{
	char pat[32];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if ((p = strstr(body, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"' && n + 1 < outlen)
		out[n++] = *p++;
	out[n] = '\0';
	return *p == '"' ? out : NULL;
}

static bool
handle_request(struct conn *c)
{
	char *hdr_end, *cl, to[64], code[32];
	size_t hlen, blen;
	unsigned idx;

	c->buf[c->len] = '\0';
	if ((hdr_end = strstr(c->buf, "\r\n\r\n")) == NULL)
		return false;
	hlen = (size_t)(hdr_end - c->buf) + 4;
	cl = strcasestr(c->buf, "\r\ncontent-length:");
	blen = cl != NULL && cl < hdr_end ? strtoul(cl + 17, NULL, 10) : 0;
	if (c->len < hlen + blen)
		return false;
	if (json_field(hdr_end + 4, "to", to, sizeof(to)) != NULL &&
	    json_field(hdr_end + 4, "code", code, sizeof(code)) != NULL &&
	    strncmp(to, "+8190", 5) == 0 && (idx = (unsigned)strtoul(to + 5, NULL, 10)) < MAX_USERS &&
	    strlen(code) < sizeof(sh->slots[0].code)) {
		struct slot *s = &sh->slots[idx];
		memcpy(s->code, code, strlen(code) + 1);
		atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
		atomic_fetch_add(&sh->gw_requests, 1);
	} else
		atomic_fetch_add(&sh->gw_bad, 1);
	c->len = (size_t)snprintf(c->buf, sizeof(c->buf),
				  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
	c->sent = 0;
	c->responding = true;
	return true;
}

static void
gateway_loop(int lfd, int ctl)
{
	static struct conn conns[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS + 2];
	int map[MAX_CONNS + 2];

	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	for (;;) {
		int n = 0;
		pfd[n].fd = ctl;
		pfd[n++].events = POLLIN;
		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i].fd < 0)
				continue;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = conns[i].responding ? POLLOUT : POLLIN;
			map[n++] = i;
		}
		if (poll(pfd, (nfds_t)n, 60000) <= 0) {
			if (errno == EINTR)
				continue;
			return;                 /* a minute idle: the driver is gone */
		}
		if (pfd[0].revents)
			return;                 /* driver closed the control pipe */
		if (pfd[1].revents & POLLIN) {
			for (;;) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1, i;
				if (fd < 0)
					break;
				for (i = 0; i < MAX_CONNS && conns[i].fd >= 0; i++)
					;
				if (i == MAX_CONNS) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				conns[i].fd = fd;
				conns[i].len = 0;
				conns[i].responding = false;
			}
		}
		for (int k = 2; k < n; k++) {
			struct conn *c = &conns[map[k]];
			bool done = false;
			if (pfd[k].revents == 0)
				continue;
			if (!c->responding) {
				ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
				if (r <= 0 || (c->len += (size_t)r) >= sizeof(c->buf) - 1)
					done = true;
				else
					handle_request(c);
			}
			if (!done && c->responding) {
				ssize_t w = write(c->fd, c->buf + c->sent, c->len - c->sent);
				if (w < 0 || (c->sent += (size_t)w) >= c->len)
					done = true;
			}
			if (done) {
				close(c->fd);
				c->fd = -1;
				atomic_store(&sh->gw_cpu_us, self_cpu_us());
			}
		}
	}
}

static pid_t
gateway_start(int *ctl_w)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, p[2];
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 1024) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		die("gateway socket");
	gw_port = ntohs(sa.sin_port);
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(p[1]);
		gateway_loop(lfd, p[0]);
		_exit(0);
	}
	close(p[0]);
	close(lfd);
	*ctl_w = p[1];
	return pid;
}

/* ---------------------------------------------------------------- TOTP */

static void
user_secret(unsigned idx, unsigned char out[20])
{
	char s[64];
	unsigned int n = 20;

	snprintf(s, sizeof(s), "otp-bench-secret-%u", idx);
	EVP_Digest(s, strlen(s), out, &n, EVP_sha1(), NULL);
}

/* RFC 6238 / RFC 4226: HMAC-SHA1 over the big-endian step, dynamic truncation. */
static void
totp(unsigned idx, int64_t step, char out[7])
{
	unsigned char key[20], msg[8], mac[20];
	unsigned int maclen = sizeof(mac);
	uint32_t bin;
	int off;

	user_secret(idx, key);
	for (int i = 7; i >= 0; i--, step >>= 8)
		msg[i] = (unsigned char)(step & 0xff);
	HMAC(EVP_sha1(), key, sizeof(key), msg, sizeof(msg), mac, &maclen);
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	snprintf(out, 7, "%06u", bin % 1000000u);
}

/* A step inside the verifier's window (now-8 .. now+8) that this user has
 * not used yet; steps only grow, so replay protection never refuses it.
 * -1: this user has used up the window for now. */
static int64_t
next_step(unsigned idx)
{
	int64_t now = (int64_t)time(NULL) / TOTP_STEP, s;

	if (steps == NULL)
		return now;
	s = steps[idx] < now - 7 ? now - 7 : steps[idx];
	if (s > now + 7)
		return -1;
	steps[idx] = s + 1;
	return s;
}

/* ---------------------------------------------------------------- one login */

struct convdata {
	const struct stack *s;
	unsigned idx;
	char answer[16];
	unsigned seq;
	double t_prompt, t_answer;
	int prompts;
};

static void
no_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static void
read_slot(unsigned idx, char *out, size_t outlen, unsigned *seq)
{
	struct slot *s = &sh->slots[idx];
	unsigned a, b;

	do {
		a = atomic_load_explicit(&s->seq, memory_order_acquire);
		snprintf(out, outlen, "%s", s->code);
		b = atomic_load_explicit(&s->seq, memory_order_acquire);
	} while (a != b);
	if (seq)
		*seq = a;
}

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct convdata *cd = arg;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		cd->t_prompt = now_us();
		if (cd->prompts++ > 0) {
			free(r);
			return PAM_CONV_ERR;    /* one prompt per login, never a second */
		}
		if (cd->s->kind == K_OTP)
			read_slot(cd->idx, cd->answer, sizeof(cd->answer), &cd->seq);
		r[i].resp = strdup(cd->answer);
	}
	*resp = r;
	cd->t_answer = now_us();
	return PAM_SUCCESS;
}

static void
user_name(unsigned idx, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%04u", prefix, idx);
}

static void
one_login(int si, unsigned idx, struct sample *out)
{
	const struct stack *s = &stacks[si];
	struct convdata cd = { .s = s, .idx = idx };
	struct pam_conv pc = { conv, &cd };
	pam_handle_t *pamh = NULL;
	char user[64], env[64], got[16];
	unsigned seq0, seq1;
	double t0, t1, t2;
	int rc;

	memset(out, 0, sizeof(*out));
	out->stack = (uint8_t)si;
	out->user = (uint16_t)idx;
	user_name(idx, user, sizeof(user));
	if (s->kind == K_TOTP) {
		int64_t step = next_step(idx);
		if (step < 0) {
			out->rc = -2;           /* no fresh step left for this user */
			return;
		}
		totp(idx, step, cd.answer);
	}
	read_slot(idx, got, sizeof(got), &seq0);
	t0 = now_us();
	rc = pam_start_confdir(s->service, user, &pc, pamdir, &pamh);
	if (rc == PAM_SUCCESS) {
		pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
		pam_set_item(pamh, PAM_RHOST, rhost);
		if (s->kind == K_FLOOR) {
			snprintf(env, sizeof(env), "BENCH_TO=+8190%08u", idx);
			pam_putenv(pamh, env);
		}
		rc = pam_authenticate(pamh, 0);
	}
	t1 = now_us();
	out->rc = (int16_t)rc;
	read_slot(idx, got, sizeof(got), &seq1);
	if (rc == PAM_SUCCESS) {
		if (s->kind == K_OTP)
			/* a code went through the gateway and the answer was that code */
			out->ok = seq1 != seq0 || same_user;
		else if (s->kind == K_FLOOR) {
			const char *c = pam_getenv(pamh, "BENCH_CODE");
			out->ok = seq1 == seq0 + 1 && c != NULL && strcmp(c, got) == 0;
		} else
			out->ok = cd.prompts == 1;
		out->seq = cd.seq;
	}
	if (pamh != NULL)
		pam_end(pamh, rc);
	t2 = now_us();
	out->total_us = (float)(t2 - t0);
	out->verify_us = cd.t_answer > 0 ? (float)(t1 - cd.t_answer) : 0;
	out->send_us = (float)((cd.t_prompt > 0 ? cd.t_prompt : t1) - t0);
}

/* --exec: the login runs in a fresh process (this program again, with the
 * same options and --one SI IDX FD); it hands its sample back on FD. */
static char **exec_argv;
static int exec_argc;

static void
exec_login(int si, unsigned idx, struct sample *out)
{
	char a_si[16], a_idx[16], a_fd[16];
	int p[2];
	double t0 = now_us();
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->stack = (uint8_t)si;
	out->rc = -3;
	if (pipe(p) != 0)
		return;
	snprintf(a_si, sizeof(a_si), "%d", si);
	snprintf(a_idx, sizeof(a_idx), "%u", idx);
	snprintf(a_fd, sizeof(a_fd), "%d", p[1]);
	exec_argv[exec_argc] = (char *)"--one";
	exec_argv[exec_argc + 1] = a_si;
	exec_argv[exec_argc + 2] = a_idx;
	exec_argv[exec_argc + 3] = a_fd;
	exec_argv[exec_argc + 4] = NULL;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		execv(exec_prog, exec_argv);
		_exit(127);
	}
	close(p[1]);
	if (pid > 0) {
		struct sample s;
		if (read(p[0], &s, sizeof(s)) == (ssize_t)sizeof(s))
			*out = s;
		waitpid(pid, NULL, 0);
	}
	close(p[0]);
	out->total_us = (float)(now_us() - t0);   /* fork + exec + loading + the login */
}

/* ---------------------------------------------------------------- workers */

static unsigned
pick_user(unsigned w, unsigned long i)
{
	if (same_user)
		return first_user;
	/* worker w owns users w, w+conc, w+2*conc, ... of the pool */
	{
		unsigned owned = (nusers - w + conc - 1) / conc;
		return first_user + w + conc * (unsigned)(i % (owned ? owned : 1));
	}
}

static void
run_worker(int si, unsigned w, unsigned long first, unsigned long count)
{
	unsigned owned = same_user ? 1 : (nusers - w + conc - 1) / conc;
	struct rusage r0, r1;
	long cpu_u, cpu_s;

	getrusage(RUSAGE_SELF, &r0);
	for (unsigned long i = first; i < first + count; i++) {
		unsigned long slot = atomic_fetch_add(&sh->nsamples, 1);
		struct sample tmp, *out = slot < MAX_SAMPLES ? &sh->samples[slot] : &tmp;
		/* a TOTP user whose window is used up: the next one this worker owns */
		for (unsigned k = 0; k < owned; k++) {
			unsigned idx = pick_user(w, i + k);
			if (exec_prog != NULL)
				exec_login(si, idx, out);
			else
				one_login(si, idx, out);
			if (out->rc != -2)
				break;
		}
	}
	getrusage(RUSAGE_SELF, &r1);
	cpu_u = tv_us(r1.ru_utime) - tv_us(r0.ru_utime);
	cpu_s = tv_us(r1.ru_stime) - tv_us(r0.ru_stime);
	if (exec_prog != NULL) {
		struct rusage rc;
		getrusage(RUSAGE_CHILDREN, &rc);
		cpu_u += tv_us(rc.ru_utime);
		cpu_s += tv_us(rc.ru_stime);
		r1.ru_maxrss = rc.ru_maxrss > r1.ru_maxrss ? rc.ru_maxrss : r1.ru_maxrss;
	}
	atomic_fetch_add(&sh->st[si].cpu_user_us, cpu_u);
	atomic_fetch_add(&sh->st[si].cpu_sys_us, cpu_s);
	{
		long m = r1.ru_maxrss, g = r1.ru_maxrss - r0.ru_maxrss;
		long cur = atomic_load(&sh->st[si].maxrss_kb);
		while (m > cur && !atomic_compare_exchange_weak(&sh->st[si].maxrss_kb, &cur, m))
			;
		cur = atomic_load(&sh->st[si].rss_growth_kb);
		while (g > cur && !atomic_compare_exchange_weak(&sh->st[si].rss_growth_kb, &cur, g))
			;
	}
}

static void
run_batch(int si, unsigned long count)
{
	static unsigned long done;            /* logins so far: each batch goes on with the next users */
	pid_t pids[MAX_CONC];
	long gw0 = atomic_load(&sh->gw_cpu_us);
	unsigned long rq0 = atomic_load(&sh->gw_requests);
	double t0 = now_us();

	for (unsigned w = 0; w < conc; w++) {
		unsigned long share = count / conc + (w < count % conc ? 1 : 0);
		pids[w] = fork();
		if (pids[w] < 0)
			die("fork");
		if (pids[w] == 0) {
			run_worker(si, w, done / conc, share);
			_exit(0);
		}
	}
	done += count;
	for (unsigned w = 0; w < conc; w++)
		waitpid(pids[w], NULL, 0);
	atomic_fetch_add(&sh->st[si].wall_us, (long)(now_us() - t0));
	/* the gateway publishes its CPU after each connection it closes */
	usleep(2000);
	atomic_fetch_add(&sh->st[si].gw_cpu_us, atomic_load(&sh->gw_cpu_us) - gw0);
	atomic_fetch_add(&sh->st[si].gw_requests, atomic_load(&sh->gw_requests) - rq0);
}

/* ---------------------------------------------------------------- report */

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const float *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static double
per_login_ms(long us, size_t k)
{
	return k ? (double)us / (double)k / 1e3 : 0;
}

static int
report(FILE *raw)
{
	unsigned long n = atomic_load(&sh->nsamples);
	int bad = 0;

	if (n > MAX_SAMPLES)
		n = MAX_SAMPLES;
	for (int si = 0; si < nstacks; si++) {
		float *tot = calloc(n + 1, sizeof(float)), *ver = calloc(n + 1, sizeof(float)),
		      *snd = calloc(n + 1, sizeof(float));
		uint64_t *acc = calloc(n + 1, sizeof(uint64_t));
		size_t k = 0, ok = 0, nver = 0, nacc = 0, replays = 0;
		struct stack_stats *st = &sh->st[si];
		double mean = 0;
		char rcs[256] = "";
		int rcn[64] = { 0 };

		if (tot == NULL || ver == NULL || snd == NULL || acc == NULL)
			die("calloc");
		for (unsigned long i = 0; i < n; i++) {
			const struct sample *s = &sh->samples[i];
			if (s->stack != si)
				continue;
			tot[k] = s->total_us;
			snd[k] = s->send_us;
			mean += s->total_us;
			if (s->verify_us > 0)
				ver[nver++] = s->verify_us;
			k++;
			ok += s->ok;
			rcn[s->rc >= 0 && s->rc < 60 ? s->rc : 60 + (s->rc == -2 ? 1 : s->rc == -3 ? 2 : 3)]++;
			if (stacks[si].kind == K_OTP && s->rc == PAM_SUCCESS)
				acc[nacc++] = (uint64_t)s->user << 32 | s->seq;
			if (raw != NULL)
				fprintf(raw, "%s\t%u\t%.1f\t%.1f\t%.1f\t%d\t%d\n", stacks[si].service, conc,
					s->total_us, s->verify_us, s->send_us, s->rc, s->ok);
		}
		/* A code is good for one login: two successes that answered the
		 * same send of the same user would be a replay. */
		qsort(acc, nacc, sizeof(uint64_t), cmp_u64);
		for (size_t i = 1; i < nacc; i++)
			replays += acc[i] == acc[i - 1];
		qsort(tot, k, sizeof(float), cmp_float);
		qsort(ver, nver, sizeof(float), cmp_float);
		qsort(snd, k, sizeof(float), cmp_float);
		for (int r = 0; r < 64; r++)
			if (rcn[r])
				snprintf(rcs + strlen(rcs), sizeof(rcs) - strlen(rcs), "%s\"%s\": %d",
					 rcs[0] ? ", " : "", r < 60 ? pam_strerror(NULL, r) :
					 r == 61 ? "no fresh TOTP step" : r == 62 ? "exec failed" : "other", rcn[r]);
		printf("{\"stack\": \"%s\", \"kind\": \"%s\", \"conc\": %u, \"same_user\": %s, \"exec\": %s, "
		       "\"logins\": %zu, \"ok\": %zu, \"rc\": {%s}, \"replays\": %zu, "
		       "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"mean_ms\": %.3f, "
		       "\"verify_p50_ms\": %.3f, \"verify_p90_ms\": %.3f, \"verify_p99_ms\": %.3f, "
		       "\"send_p50_ms\": %.3f, "
		       "\"cpu_user_ms\": %.3f, \"cpu_sys_ms\": %.3f, \"cpu_ms\": %.3f, "
		       "\"maxrss_kb\": %ld, \"rss_growth_kb\": %ld, \"logins_per_s\": %.1f, "
		       "\"gw_requests\": %lu, \"gw_cpu_us_per_req\": %.1f}\n",
		       stacks[si].service,
		       stacks[si].kind == K_OTP ? "otp" : stacks[si].kind == K_FLOOR ? "floor" : "totp",
		       conc, same_user ? "true" : "false", exec_prog ? "true" : "false", k, ok, rcs, replays,
		       pct(tot, k, 50) / 1e3, pct(tot, k, 90) / 1e3, pct(tot, k, 99) / 1e3,
		       k ? mean / (double)k / 1e3 : 0,
		       pct(ver, nver, 50) / 1e3, pct(ver, nver, 90) / 1e3, pct(ver, nver, 99) / 1e3,
		       pct(snd, k, 50) / 1e3,
		       per_login_ms(atomic_load(&st->cpu_user_us), k),
		       per_login_ms(atomic_load(&st->cpu_sys_us), k),
		       per_login_ms(atomic_load(&st->cpu_user_us) + atomic_load(&st->cpu_sys_us), k),
		       atomic_load(&st->maxrss_kb), atomic_load(&st->rss_growth_kb),
		       atomic_load(&st->wall_us) ? (double)k * 1e6 / (double)atomic_load(&st->wall_us) : 0,
		       atomic_load(&st->gw_requests),
		       atomic_load(&st->gw_requests) ?
		       (double)atomic_load(&st->gw_cpu_us) / (double)atomic_load(&st->gw_requests) : 0);
		if (expect_ok && (ok != k || k == 0))
			bad = 1;
		if (replays != 0)
			bad = 1;
		free(tot);
		free(ver);
		free(snd);
		free(acc);
	}
	fflush(stdout);
	return bad;
}

/* ---------------------------------------------------------------- setup */

static void
subst(const char *spec)
{
	char in[1024], buf[65536], out[sizeof(buf) + 64], port[16];
	const char *colon = strchr(spec, ':');
	size_t n, o = 0;
	FILE *f;
	int fd;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(in)) {
		fprintf(stderr, "otp-bench: --subst IN:OUT\n");
		exit(2);
	}
	memcpy(in, spec, (size_t)(colon - spec));
	in[colon - spec] = '\0';
	if ((f = fopen(in, "r")) == NULL)
		die(in);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(port, sizeof(port), "%d", gw_port);
	for (const char *p = buf; *p && o + 16 < sizeof(out);) {
		if (strncmp(p, "@PORT@", 6) == 0) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", port);
			p += 6;
		} else
			out[o++] = *p++;
	}
	fd = open(colon + 1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, out, o) != (ssize_t)o || close(fd) != 0)
		die(colon + 1);
}

static void
map_steps(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	size_t len = MAX_USERS * sizeof(int64_t);

	if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
		die(path);
	steps = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (steps == MAP_FAILED)
		die("mmap steps");
	close(fd);
}

static void
usage(void)
{
	fprintf(stderr, "usage: otp-bench --pamdir DIR --stack KIND:SERVICE [--stack ...] [--logins N] "
		"[--conc C] [--rounds R] [--users U] [--first I] [--prefix P] [--same-user] "
		"[--subst IN:OUT] [--steps FILE] [--exec PROG] [--expect-ok] [--raw FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *substs[64], *raw_path = NULL, *steps_path = NULL;
	int nsubst = 0, one_si = -1, one_fd = -1, shm_fd = -1, ctl = -1, rc;
	unsigned one_idx = 0;
	FILE *raw = NULL;
	pid_t gw;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--same-user") == 0)
			same_user = true;
		else if (strcmp(a, "--expect-ok") == 0)
			expect_ok = true;
		else if (v == NULL)
			usage();
		else if (strcmp(a, "--pamdir") == 0)
			pamdir = argv[++i];
		else if (strcmp(a, "--stack") == 0) {
			const char *c = strchr(v, ':');
			if (nstacks == MAX_STACKS || c == NULL || strlen(c + 1) >= sizeof(stacks[0].service))
				usage();
			stacks[nstacks].kind = strncmp(v, "otp:", 4) == 0 ? K_OTP :
					       strncmp(v, "floor:", 6) == 0 ? K_FLOOR :
					       strncmp(v, "totp:", 5) == 0 ? K_TOTP : (usage(), K_OTP);
			snprintf(stacks[nstacks++].service, sizeof(stacks[0].service), "%s", c + 1);
			i++;
		} else if (strcmp(a, "--logins") == 0)
			logins = strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--conc") == 0)
			conc = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--rounds") == 0)
			rounds = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--users") == 0)
			nusers = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--first") == 0)
			first_user = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(a, "--prefix") == 0)
			prefix = argv[++i];
		else if (strcmp(a, "--subst") == 0 && nsubst < 64)
			substs[nsubst++] = argv[++i];
		else if (strcmp(a, "--steps") == 0)
			steps_path = argv[++i];
		else if (strcmp(a, "--exec") == 0)
			exec_prog = argv[++i];
		else if (strcmp(a, "--raw") == 0)
			raw_path = argv[++i];
		else if (strcmp(a, "--rhost") == 0)
			rhost = argv[++i];
		else if (strcmp(a, "--shm-fd") == 0)
			shm_fd = atoi(argv[++i]);
		else if (strcmp(a, "--one") == 0 && i + 3 < argc) {
			one_si = atoi(argv[++i]);
			one_idx = (unsigned)strtoul(argv[++i], NULL, 10);
			one_fd = atoi(argv[++i]);
		} else
			usage();
	}
	if (pamdir == NULL || nstacks == 0 || conc == 0 || conc > MAX_CONC || rounds == 0 ||
	    nusers == 0 || first_user + nusers > MAX_USERS)
		usage();
	if (steps_path != NULL)
		map_steps(steps_path);

	if (one_si >= 0) {
		/* --exec child: one login, the sample goes back on one_fd */
		struct sample s;
		if (shm_fd < 0 || one_si >= nstacks)
			usage();
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
		if (sh == MAP_FAILED)
			die("mmap");
		exec_prog = NULL;
		one_login(one_si, one_idx, &s);
		return write(one_fd, &s, sizeof(s)) == (ssize_t)sizeof(s) ? 0 : 1;
	}

	/* Shared with the gateway and the workers; a memfd so that --exec
	 * children can map it too. */
	shm_fd = memfd_create("otp-bench", 0);
	if (shm_fd < 0 || ftruncate(shm_fd, sizeof(*sh)) != 0)
		die("memfd");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	if (exec_prog != NULL) {
		/* children re-run this command line with --one SI IDX --shm-fd FD */
		static char fdarg[16];
		char **nargv = calloc((size_t)argc + 10, sizeof(char *));
		int k = 0;
		if (nargv == NULL)
			die("calloc");
		snprintf(fdarg, sizeof(fdarg), "%d", shm_fd);
		for (int i = 0; i < argc; i++) {
			if (strcmp(argv[i], "--exec") == 0 || strcmp(argv[i], "--subst") == 0 ||
			    strcmp(argv[i], "--raw") == 0) {
				i++;
				continue;
			}
			nargv[k++] = argv[i];
		}
		nargv[k++] = (char *)"--shm-fd";
		nargv[k++] = fdarg;
		exec_argv = nargv;
		exec_argc = k;
	}
	signal(SIGPIPE, SIG_IGN);
	gw = gateway_start(&ctl);
	for (int i = 0; i < nsubst; i++)
		subst(substs[i]);
	if (raw_path != NULL && (raw = fopen(raw_path, "a")) == NULL)
		die(raw_path);

	for (unsigned r = 0; r < rounds; r++)
		for (int si = 0; si < nstacks; si++)
			run_batch(si, logins / rounds + (r < logins % rounds ? 1 : 0));

	close(ctl);
	waitpid(gw, NULL, 0);
	rc = report(raw);
	if (raw != NULL)
		fclose(raw);
	if (atomic_load(&sh->gw_bad) != 0) {
		fprintf(stderr, "otp-bench: the gateway got %lu requests it could not read\n",
			atomic_load(&sh->gw_bad));
		rc = 1;
	}
	return rc;
}
