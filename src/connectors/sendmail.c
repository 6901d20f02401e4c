/*
 * sendmail.c - hand the message to the local MTA: `path -t -oi -f FROM`.
 *
 * `path` (default /usr/sbin/sendmail) must be absolute and resolve to a
 * regular, executable file owned by root (or by the effective user, for
 * test harnesses) that nobody else can write, in directories nobody else
 * can write (sticky directories such as /tmp excepted).  The program runs
 * through fork+execve with an empty environment (no shell), its own
 * process group, stdout/stderr on /dev/null and no other descriptors; the
 * message goes to its stdin with LF line endings (-oi: a lone "." is data,
 * no dot-stuffing).  The whole exchange is bounded by http.timeout: on
 * expiry the process group is killed and the child reaped.  No SIGCHLD
 * handler is installed and no signal disposition of the host process is
 * touched; writes use MSG_NOSIGNAL on a socketpair so SIGPIPE cannot occur.
 * Exit status 0 is success; anything else is `provider` with the status.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include "connector.h"
#include "../mem.h"
#include "../mime.h"

#define SENDMAIL_DEFAULT "/usr/sbin/sendmail"
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct sendmail {
	char *path;        /* as configured: argv[0] */
	char *exe;         /* the checked real path that is executed */
	struct otp_mail_config mail;
};

static bool
owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Resolve path and check the file and every directory above it.  0, or -1
 * with a reason in why. */
static int
check_exe(const char *path, char **real, char *why, size_t whylen)
{
	struct stat st;
	char *dir;

	*real = NULL;
	if (path[0] != '/') {
		snprintf(why, whylen, "must be an absolute path");
		return -1;
	}
	if ((*real = realpath(path, NULL)) == NULL) {
		snprintf(why, whylen, "cannot be resolved: %s", strerror(errno));
		return -1;
	}
	if (stat(*real, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		goto bad;
	}
	if (!owner_ok(&st) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whylen, "must be owned by root and not group/world-writable");
		goto bad;
	}
	if ((st.st_mode & S_IXUSR) == 0) {
		snprintf(why, whylen, "is not executable");
		goto bad;
	}
	if ((dir = strdup(*real)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto bad;
	}
	for (char *slash = strrchr(dir, '/'); slash != NULL; slash = strrchr(dir, '/')) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !owner_ok(&st) ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)) {
			snprintf(why, whylen, "lies in a directory (%.80s) that is not root-owned or is writable by others",
				 dir);
			free(dir);
			goto bad;
		}
		if (slash == dir)
			break;
	}
	free(dir);
	return 0;
bad:
	free(*real);
	*real = NULL;
	return -1;
}

static int
sendmail_configure(void *ctx, struct otp_settings *s)
{
	struct sendmail *m = ctx;
	char why[200];

	if (otp_settings_string(s, "path", false, SENDMAIL_DEFAULT, &m->path) == 0 &&
	    m->path != NULL && check_exe(m->path, &m->exe, why, sizeof(why)) != 0)
		otp_settings_fail(s, "path", "%s", why);
	otp_mail_config_parse(s, &m->mail);
	return otp_settings_failed(s) ? -1 : 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A descriptor >= 3 with close-on-exec, so dup2 onto 0..2 cannot clobber it. */
static int
high_fd(int fd)
{
	int n;

	if (fd < 0 || fd >= 3)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return n;
}

/* In the child, after fork: async-signal-safe calls only. */
static void
child_exec(const char *exe, char *const argv[], int in, int devnull, int errfd, int maxfd)
{
	char *const envp[] = { NULL };
	static const int sigs[] = { SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM };
	struct sigaction sa;
	sigset_t none;
	int e;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
		goto fail;
	/* Every other descriptor of the host process stays behind: mark them
	 * all close-on-exec (errfd must live until execve), or close them. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
#endif
		for (int fd = 3; fd < maxfd; fd++)
			if (fd != errfd)
				close(fd);
	execve(exe, argv, envp);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Wait for pid until deadline (ms, monotonic).  1 exited (*status set),
 * 0 still running at the deadline, -1 cannot wait (errno). */
static int
wait_until(pid_t pid, long long deadline, int *status)
{
	long delay = 2;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			return 0;
		{
			struct timespec ts = { 0, delay * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (delay < 50)
			delay *= 2;
	}
}

static void
kill_and_reap(pid_t pid)
{
	int st;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static int
run_sendmail(const char *exe, char *const argv[], const char *data, size_t len, long timeout_s,
	     struct otp_send_result *res)
{
	int sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, devnull = -1, status = 0, eno = 0, w;
	long long deadline = now_ms() + (timeout_s > 0 ? timeout_s : 30) * 1000LL;
	size_t off = 0;
	bool short_write = false;
	long maxfd = sysconf(_SC_OPEN_MAX);
	pid_t pid;
	ssize_t n;

	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot create pipes: %s", strerror(errno));
		goto fail;
	}
	sv[0] = high_fd(sv[0]);
	sv[1] = high_fd(sv[1]);
	ep[0] = high_fd(ep[0]);
	ep[1] = high_fd(ep[1]);
	devnull = high_fd(devnull);
	if (sv[0] < 0 || sv[1] < 0 || ep[0] < 0 || ep[1] < 0 || devnull < 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot create pipes");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "fork failed: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(exe, argv, sv[1], devnull, ep[1], (int)maxfd);
	setpgid(pid, pid);      /* also done by the child; whichever runs first */
	close(sv[1]);
	close(ep[1]);
	close(devnull);
	sv[1] = ep[1] = devnull = -1;

	/* execve failed?  The pipe closes on a successful exec. */
	for (;;) {
		struct pollfd pf = { ep[0], POLLIN, 0 };
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		if (poll(&pf, 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0 && errno != EINTR)
			break;
		if (pf.revents == 0)
			continue;
		n = read(ep[0], &eno, sizeof(eno));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(eno))
			eno = 0;
		break;
	}
	close(ep[0]);
	ep[0] = -1;
	if (eno != 0) {
		kill_and_reap(pid);
		otp_send_fail(res, OTP_FAIL_CONFIG, "cannot execute sendmail: %s", strerror(eno));
		goto fail;
	}

	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	while (off < len) {
		struct pollfd pf = { sv[0], POLLOUT, 0 };
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
		if (poll(&pf, 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0) {
			if (errno == EINTR)
				continue;
			short_write = true;
			break;
		}
		if (pf.revents == 0)
			continue;
		n = send(sv[0], data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			short_write = true;       /* EPIPE: the child has gone */
			break;
		}
		off += (size_t)n;
	}
	if (off < len && !short_write) {
		/* The deadline passed while writing. */
		close(sv[0]);
		kill_and_reap(pid);
		return otp_send_fail(res, OTP_FAIL_TIMEOUT, "sendmail did not read the message in time");
	}
	shutdown(sv[0], SHUT_WR);
	close(sv[0]);
	sv[0] = -1;

	w = wait_until(pid, deadline, &status);
	if (w == 0) {
		kill_and_reap(pid);
		return otp_send_fail(res, OTP_FAIL_TIMEOUT, "sendmail did not finish in time");
	}
	if (w < 0)
		return otp_send_fail(res, OTP_FAIL_INTERNAL,
				     "cannot collect sendmail's exit status (%s; is SIGCHLD ignored by the host?)",
				     strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (short_write)
			return otp_send_fail(res, OTP_FAIL_PROVIDER, "sendmail exited before reading the whole message");
		res->fail = OTP_FAIL_NONE;
		return 0;
	}
	if (WIFEXITED(status)) {
		char code[16];
		snprintf(code, sizeof(code), "%d", WEXITSTATUS(status));
		otp_send_set_provider_code(res, code);
		return otp_send_fail(res, OTP_FAIL_PROVIDER, "sendmail exited with status %d",
				     WEXITSTATUS(status));
	}
	{
		char code[24];
		snprintf(code, sizeof(code), "signal-%d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		otp_send_set_provider_code(res, code);
		return otp_send_fail(res, OTP_FAIL_PROVIDER, "sendmail was killed by signal %d",
				     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
fail:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	if (devnull >= 0)
		close(devnull);
	return -1;
}

static int
sendmail_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	      struct otp_send_result *res)
{
	struct sendmail *m = ctx;
	struct otp_buf crlf, lf;
	char *real = NULL, why[200];
	char *argv[6];
	int rc = -1;

	otp_buf_init(&crlf, OTP_MIME_MAX_MESSAGE);
	otp_buf_init(&lf, OTP_MIME_MAX_MESSAGE);
	res->http_status = 0;
	if (otp_mail_compose(&m->mail, msg, env->now, &crlf, res) != 0)
		goto out;
	if (otp_mime_lf_append(&lf, crlf.data, crlf.len) != 0) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	/* The program may have been replaced since configure(). */
	if (check_exe(m->path, &real, why, sizeof(why)) != 0 || strcmp(real, m->exe) != 0) {
		otp_send_fail(res, OTP_FAIL_CONFIG, "sendmail path %s", real ? "changed since configuration" : why);
		goto out;
	}
	argv[0] = m->path;
	argv[1] = (char *)"-t";
	argv[2] = (char *)"-oi";
	argv[3] = (char *)"-f";
	argv[4] = m->mail.from.addr;
	argv[5] = NULL;
	rc = run_sendmail(m->exe, argv, lf.data, lf.len, env->http ? env->http->timeout : 30, res);
out:
	free(real);
	otp_buf_free(&crlf);
	otp_buf_free(&lf);
	return rc;
}

static void
sendmail_cleanup(void *ctx)
{
	struct sendmail *m = ctx;

	free(m->path);
	free(m->exe);
	otp_mail_config_free(&m->mail);
}

static char *
sendmail_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct sendmail *m = ctx;

	return otp_mail_preview(&m->mail, usage, vars);
}

const struct otp_connector otp_connector_sendmail = {
	.id = "sendmail",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct sendmail),
	.configure = sendmail_configure,
	.send = sendmail_send,
	.cleanup = sendmail_cleanup,
	.preview = sendmail_preview,
};
