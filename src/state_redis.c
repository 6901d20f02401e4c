/*
 * state_redis.c - the Redis state backend: the fleet's shared state.
 *
 * One connection per login (opened by open, closed by close): TCP with a
 * connect timeout, TLS for rediss:// (OpenSSL; peer and host name always
 * verified against the system CAs plus ca_file), every read and write
 * bounded by poll against state.redis.timeout.  Requests are RESP arrays of
 * bulk strings encoded here; replies are parsed by hiredis's reader.
 *
 * Keys: prefix + "u:<uid>" for users, prefix + "host" for the send counter
 * (so with one prefix the host cap is fleet-wide).  A transaction is
 * optimistic: begin = WATCH key + GET key; commit = MULTI, SET key blob PX
 * ttl, EXEC, and a nil EXEC (the key changed since the WATCH) is
 * OTP_STATE_CONFLICT, upon which the flow redoes its step on fresh data.
 * EXEC clears every WATCH of the connection, so a transaction committing
 * again (verify writes ahead, then the outcome) first watches its key anew
 * and checks the value is still the one it wrote: otherwise, a conflict.
 * commit_pair stores the user record and the host counter of one issue in
 * a single MULTI/EXEC.  Every write refreshes the key's expiry.
 *
 * Any I/O, TLS, authentication or protocol error makes open/begin fail and
 * marks the connection unusable: the flow fails closed, never falls back.
 */
#include "config.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "buf.h"
#include "conf.h"
#include "crypto.h"
#include "mem.h"
#include "net.h"
#include "state.h"
#include "state_backend.h"

#define REDIS_DEFAULT_PORT "6379"
#define MAX_REPLY_BYTES (256 * 1024)      /* one reply; records are ~1.2 KiB */
#define MAX_REQUEST (OTP_STATE_MAX_BLOB * 2 + 4096)
#define MAX_PIPELINE 8

struct rtxn;

struct rconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	redisReader *reader;
	long timeout_ms;
	long long ttl_ms;
	char *prefix;
	char where[300];      /* host:port, for messages */
	bool broken;          /* an I/O or protocol error: nothing more is sent */
	bool watching;        /* some key may be WATCHed on the connection */
	struct rtxn *txns;    /* open transactions */
};

struct rtxn {
	struct rconn *c;
	struct rtxn *next;
	char *key;
	size_t keylen;
	unsigned char *last;  /* the value as this transaction last saw or wrote it */
	size_t last_len;
	bool exists;
	bool lost;            /* out of memory remembering it: a re-check conflicts */
	bool watched;         /* our WATCH is still in force (no EXEC/UNWATCH since) */
};

/* ---- small helpers ---- */

static void
deadline_in(struct timespec *dl, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

static long
ms_left(const struct timespec *dl)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(dl->tv_sec - now.tv_sec) * 1000 + (dl->tv_nsec - now.tv_nsec) / 1000000L;
	return ms < 0 ? 0 : ms;
}

/* Server text in our messages: printable ASCII only, bounded. */
static void
clean_text(const char *in, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; in != NULL && i < n && k + 1 < outlen && k < 120; i++)
		out[k++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[k] = '\0';
}

static bool
owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * Read a root-only secret file whole: no symlink, a regular file owned by
 * root (or the euid of a test harness), no group/other permission bits, in
 * a directory nobody else can write.  Returns the length, or -1 with err.
 */
static ssize_t
read_root_file(const char *what, const char *path, unsigned char *buf, size_t cap,
	       char *err, size_t errlen)
{
	struct stat sb, db;
	char dir[4096], *slash;
	size_t got = 0;
	int fd;

	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: must be an absolute path", what);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: cannot open: %s", what, path,
			 errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		goto fail;
	}
	if (!owner_ok(sb.st_uid) || (sb.st_mode & 0077) != 0) {
		snprintf(err, errlen, "%s %s: must be owned by root with mode 0600 or 0400 "
			 "(owner uid %u, mode %04o)", what, path, (unsigned)sb.st_uid,
			 (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	if ((size_t)sb.st_size > cap) {
		snprintf(err, errlen, "%s %s: too large", what, path);
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &db) != 0 || !owner_ok(db.st_uid) || ((db.st_mode & 0022) && !(db.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "%s %s: directory %s is not root-owned or is group/world-writable",
			 what, path, dir);
		goto fail;
	}
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s %s: read failed: %s", what, path, strerror(errno));
			otp_wipe(buf, cap);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
fail:
	close(fd);
	return -1;
}

/* ---- URL ---- */

struct rurl {
	bool tls;
	char host[256];
	char port[8];
	long db;
};

/* redis://host[:port][/db] or rediss://...; host may be [v6].  No credentials. */
static int
parse_url(const char *url, struct rurl *u, char *err, size_t errlen)
{
	const char *p, *h, *hend, *end;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (url == NULL) {
		snprintf(err, errlen, "state.redis.url is not set");
		return -1;
	}
	if (strncmp(url, "rediss://", 9) == 0) {
		u->tls = true;
		p = url + 9;
	} else if (strncmp(url, "redis://", 8) == 0)
		p = url + 8;
	else
		goto bad;
	for (const unsigned char *q = (const unsigned char *)url; *q; q++)
		if (*q <= 0x20 || *q >= 0x7f || *q == '@' || *q == '?' || *q == '#')
			goto bad;
	end = p + strcspn(p, "/");
	if (*p == '[') {
		h = p + 1;
		hend = memchr(h, ']', (size_t)(end - h));
		if (hend == NULL)
			goto bad;
		p = hend + 1;
	} else {
		h = p;
		hend = p + strcspn(p, ":/");
		p = hend;
	}
	n = (size_t)(hend - h);
	if (n == 0 || n >= sizeof(u->host))
		goto bad;
	memcpy(u->host, h, n);
	u->host[n] = '\0';
	snprintf(u->port, sizeof(u->port), "%s", REDIS_DEFAULT_PORT);
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || e != end || port < 1 || port > 65535)
			goto bad;
		snprintf(u->port, sizeof(u->port), "%ld", port);
		p = end;
	}
	if (p != end)
		goto bad;
	if (*p == '/' && p[1] != '\0') {
		char *e;
		u->db = strtol(p + 1, &e, 10);
		if (*e != '\0' || u->db < 0 || u->db > 100000 || p[1] < '0' || p[1] > '9')
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "state.redis.url: not redis[s]://host[:port][/db] "
		 "(no credentials in the URL: use user and password_file)");
	return -1;
}

static bool
host_is_loopback(const char *host)
{
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* ---- transport ---- */

static int
wait_fd(struct rconn *c, short ev, const struct timespec *dl, char *err, size_t errlen)
{
	for (;;) {
		struct pollfd pfd = { c->fd, ev, 0 };
		int n = poll(&pfd, 1, (int)ms_left(dl));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "redis %s: poll failed: %s", c->where, strerror(errno));
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, "redis %s: timed out after %ld ms", c->where, c->timeout_ms);
			return -1;
		}
		if (pfd.revents & POLLNVAL) {
			snprintf(err, errlen, "redis %s: connection lost", c->where);
			return -1;
		}
		return 0; /* ready, or POLLERR/POLLHUP: the next call reports it */
	}
}

static void
ssl_error(struct rconn *c, const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (c->ssl != NULL && SSL_get_verify_result(c->ssl) != X509_V_OK)
		snprintf(err, errlen, "redis %s: TLS %s: certificate verification failed: %s", c->where, what,
			 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
	else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "redis %s: TLS %s failed: %s", c->where, what, buf);
	} else
		snprintf(err, errlen, "redis %s: TLS %s failed (connection closed?)", c->where, what);
	ERR_clear_error();
}

/* Wait as OpenSSL asks; 0 to retry, -1 on a real error. */
static int
ssl_wait(struct rconn *c, int rc, const char *what, const struct timespec *dl, char *err, size_t errlen)
{
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c, POLLIN, dl, err, errlen);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c, POLLOUT, dl, err, errlen);
	case SSL_ERROR_ZERO_RETURN:
		snprintf(err, errlen, "redis %s: connection closed by the server", c->where);
		return -1;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			snprintf(err, errlen, "redis %s: connection %s", c->where,
				 errno != 0 ? strerror(errno) : "closed by the server");
			return -1;
		}
		/* fall through */
	default:
		ssl_error(c, what, err, errlen);
		return -1;
	}
}

static int
send_all(struct rconn *c, const char *p, size_t n, const struct timespec *dl, char *err, size_t errlen)
{
	while (n > 0) {
		if (c->ssl != NULL) {
			struct otp_sigpipe g;
			size_t w = 0;
			int rc;
			ERR_clear_error();
			errno = 0;
			otp_net_sigpipe_block(&g);
			rc = SSL_write_ex(c->ssl, p, n, &w);
			otp_net_sigpipe_restore(&g);
			if (rc == 1) {
				p += w;
				n -= w;
			} else if (ssl_wait(c, rc, "write", dl, err, errlen) != 0)
				return -1;
		} else {
			ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0) {
				p += w;
				n -= (size_t)w;
			} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (wait_fd(c, POLLOUT, dl, err, errlen) != 0)
					return -1;
			} else if (w < 0 && errno != EINTR) {
				snprintf(err, errlen, "redis %s: send failed: %s", c->where, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

static int
recv_some(struct rconn *c, char *buf, size_t cap, size_t *got, const struct timespec *dl,
	  char *err, size_t errlen)
{
	for (;;) {
		if (c->ssl != NULL) {
			struct otp_sigpipe g;
			int rc;
			ERR_clear_error();
			errno = 0;
			otp_net_sigpipe_block(&g); /* a read may answer a renegotiation/key update */
			rc = SSL_read_ex(c->ssl, buf, cap, got);
			otp_net_sigpipe_restore(&g);
			if (rc == 1)
				return 0;
			if (ssl_wait(c, rc, "read", dl, err, errlen) != 0)
				return -1;
		} else {
			ssize_t r = recv(c->fd, buf, cap, MSG_DONTWAIT);
			if (r > 0) {
				*got = (size_t)r;
				return 0;
			}
			if (r == 0) {
				snprintf(err, errlen, "redis %s: connection closed by the server", c->where);
				return -1;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_fd(c, POLLIN, dl, err, errlen) != 0)
					return -1;
			} else if (errno != EINTR) {
				snprintf(err, errlen, "redis %s: recv failed: %s", c->where, strerror(errno));
				return -1;
			}
		}
	}
}

static int
tcp_connect(struct rconn *c, const struct rurl *u, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timespec dl;
	int rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "redis %s: cannot resolve: %s", c->where, gai_strerror(rc));
		return -1;
	}
	deadline_in(&dl, c->timeout_ms);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		int one = 1, soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				saved = errno;
				goto next;
			}
			if (wait_fd(c, POLLOUT, &dl, err, errlen) != 0) {
				saved = ETIMEDOUT;
				goto next;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
				saved = soerr ? soerr : errno;
				goto next;
			}
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		return 0;
next:
		close(fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	snprintf(err, errlen, "redis %s: cannot connect: %s", c->where,
		 saved == ETIMEDOUT ? "timed out" : strerror(saved ? saved : ECONNREFUSED));
	return -1;
}

static int
tls_start(struct rconn *c, const struct rurl *u, const char *ca_file, char *err, size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	struct timespec dl;
	X509_VERIFY_PARAM *vp;
	bool ip = inet_pton(AF_INET, u->host, &a4) == 1 || inet_pton(AF_INET6, u->host, &a6) == 1;

	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL) {
		ssl_error(c, "setup", err, errlen);
		return -1;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	/* Explicit locations: SSL_CERT_FILE/SSL_CERT_DIR in the environment never
	 * count.  The system CAs come from the hashed directory, read lazily
	 * (parsing the whole bundle would cost some 50 ms per login). */
	SSL_CTX_load_verify_locations(c->ctx, NULL, OTP_SYSTEM_CA_DIR);
	ERR_clear_error();
	if (ca_file != NULL && SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
		snprintf(err, errlen, "redis: ca_file %s cannot be loaded", ca_file);
		ERR_clear_error();
		return -1;
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		ssl_error(c, "setup", err, errlen);
		return -1;
	}
	vp = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, u->host) != 1
	       : (SSL_set1_host(c->ssl, u->host) != 1 || SSL_set_tlsext_host_name(c->ssl, u->host) != 1)) {
		ssl_error(c, "setup", err, errlen);
		return -1;
	}
	deadline_in(&dl, c->timeout_ms);
	for (;;) {
		struct otp_sigpipe g;
		int rc;
		ERR_clear_error();
		errno = 0;
		otp_net_sigpipe_block(&g);
		rc = SSL_connect(c->ssl);
		otp_net_sigpipe_restore(&g);
		if (rc == 1)
			break;
		if (ssl_wait(c, rc, "handshake", &dl, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* ---- RESP ---- */

struct arg {
	const void *p;
	size_t n;
};

#define S(str) { (str), sizeof(str) - 1 }

/* A pipelined request: n commands, each an array of bulk strings. */
struct req {
	struct otp_buf b;
	size_t n;
	bool bad;         /* an append failed: never send a partial request */
};

static void
req_init(struct req *r)
{
	otp_buf_init(&r->b, MAX_REQUEST);
	r->n = 0;
	r->bad = false;
}

static void
req_add(struct req *r, size_t argc, const struct arg *argv)
{
	if (otp_buf_printf(&r->b, "*%zu\r\n", argc) != 0)
		r->bad = true;
	for (size_t i = 0; i < argc; i++)
		if (otp_buf_printf(&r->b, "$%zu\r\n", argv[i].n) != 0 ||
		    otp_buf_append(&r->b, argv[i].p, argv[i].n) != 0 || otp_buf_append(&r->b, "\r\n", 2) != 0)
			r->bad = true;
	r->n++;
}

static int
read_reply(struct rconn *c, redisReply **out, const struct timespec *dl, char *err, size_t errlen)
{
	char buf[16384];
	size_t fed = 0;

	for (;;) {
		void *r = NULL;
		size_t got = 0;
		if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
			snprintf(err, errlen, "redis %s: protocol error: %s", c->where,
				 c->reader->errstr[0] ? c->reader->errstr : "unparsable reply");
			return -1;
		}
		if (r != NULL) {
			*out = r;
			return 0;
		}
		if (fed > MAX_REPLY_BYTES) {
			snprintf(err, errlen, "redis %s: protocol error: reply larger than %d bytes",
				 c->where, MAX_REPLY_BYTES);
			return -1;
		}
		if (recv_some(c, buf, sizeof(buf), &got, dl, err, errlen) != 0)
			return -1;
		if (redisReaderFeed(c->reader, buf, got) != REDIS_OK) {
			snprintf(err, errlen, "redis %s: out of memory", c->where);
			return -1;
		}
		fed += got;
	}
}

/*
 * Send the request (wiped afterwards: AUTH carries the password) and read
 * its replies into rep[0..n-1], all within one timeout.  On an I/O or
 * protocol failure the connection is marked broken.
 */
static int
exchange(struct rconn *c, struct req *r, redisReply **rep, char *err, size_t errlen)
{
	struct timespec dl;
	size_t i, n = r->n;

	for (i = 0; i < n; i++)
		rep[i] = NULL;
	if (c->broken) {
		snprintf(err, errlen, "redis %s: connection unusable after an earlier error", c->where);
		otp_buf_free(&r->b);
		return -1;
	}
	if (r->bad || r->b.data == NULL || n > MAX_PIPELINE) {
		snprintf(err, errlen, "out of memory");
		otp_buf_free(&r->b);
		return -1;
	}
	deadline_in(&dl, c->timeout_ms);
	if (send_all(c, r->b.data, r->b.len, &dl, err, errlen) != 0)
		goto fail;
	otp_buf_free(&r->b);
	for (i = 0; i < n; i++)
		if (read_reply(c, &rep[i], &dl, err, errlen) != 0)
			goto fail;
	return 0;
fail:
	otp_buf_free(&r->b);
	for (i = 0; i < n; i++)
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	c->broken = true;
	return -1;
}

static void
free_replies(redisReply **rep, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
		rep[i] = NULL;
	}
}

/* Describe a reply we did not expect: an error from the server, or not the protocol. */
static void
bad_reply(const struct rconn *c, const redisReply *r, const char *cmd, char *err, size_t errlen)
{
	char text[128];

	if (r->type == REDIS_REPLY_ERROR) {
		clean_text(r->str, (size_t)r->len, text, sizeof(text));
		snprintf(err, errlen, "redis %s: %s refused: %s", c->where, cmd, text);
	} else
		snprintf(err, errlen, "redis %s: protocol error: unexpected reply to %s", c->where, cmd);
}

/* Is the reply +<want> (a status)?  Otherwise describe it in err. */
static bool
is_status(const struct rconn *c, const redisReply *r, const char *want, const char *cmd, char *err,
	  size_t errlen)
{
	if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, want) == 0)
		return true;
	bad_reply(c, r, cmd, err, errlen);
	return false;
}

/* ---- the backend ---- */

static void
conn_free(struct rconn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		struct otp_sigpipe g;
		if (!c->broken) {
			otp_net_sigpipe_block(&g);
			SSL_shutdown(c->ssl);
			otp_net_sigpipe_restore(&g);
		}
		SSL_free(c->ssl);
	}
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	if (c->reader != NULL)
		redisReaderFree(c->reader);
	free(c->prefix);
	free(c);
}

static int
redis_open(const struct otp_state_config *sc, void **impl, unsigned char key[OTP_STATE_KEY_LEN],
	   char *err, size_t errlen)
{
	unsigned char kbuf[OTP_STATE_KEY_LEN + 1], pbuf[1024];
	ssize_t klen, plen = -1;
	struct rconn *c = NULL;
	struct req req;
	struct rurl u;
	redisReply *rep[MAX_PIPELINE] = { NULL };
	size_t i;
	char dbs[16];
	int rc = -1;

	*impl = NULL;
	if (parse_url(sc->url, &u, err, errlen) != 0)
		return -1;
	if (!u.tls && !host_is_loopback(u.host)) {
		snprintf(err, errlen, "state.redis.url: plain redis:// is accepted only for loopback (use rediss://)");
		return -1;
	}
	/* The fleet's key: every host hashes codes and MACs records with it. */
	klen = read_root_file("state.key_file", sc->key_file, kbuf, sizeof(kbuf), err, errlen);
	if (klen < 0)
		return -1;
	if (klen != OTP_STATE_KEY_LEN) {
		otp_wipe(kbuf, sizeof(kbuf));
		snprintf(err, errlen, "state.key_file %s: must be exactly %d bytes (head -c %d /dev/urandom)",
			 sc->key_file, OTP_STATE_KEY_LEN, OTP_STATE_KEY_LEN);
		return -1;
	}
	if (sc->password_file != NULL) {
		plen = read_root_file("state.redis.password_file", sc->password_file, pbuf, sizeof(pbuf) - 1,
				      err, errlen);
		if (plen < 0)
			goto out;
		/* One line; its newline is not part of the password. */
		if (plen > 0 && pbuf[plen - 1] == '\n')
			plen--;
		if (plen > 0 && pbuf[plen - 1] == '\r')
			plen--;
		if (plen == 0 || memchr(pbuf, '\n', (size_t)plen) != NULL || memchr(pbuf, '\r', (size_t)plen) != NULL) {
			snprintf(err, errlen, "state.redis.password_file %s: must hold one non-empty line",
				 sc->password_file);
			goto out;
		}
	} else if (sc->user != NULL) {
		snprintf(err, errlen, "state.redis.user needs password_file");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->prefix = strdup(sc->prefix ? sc->prefix : "otp:")) == NULL ||
	    (c->reader = redisReaderCreate()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->fd = -1;
	c->timeout_ms = (sc->timeout > 0 ? sc->timeout : 2) * 1000L;
	c->ttl_ms = (long long)(sc->record_ttl > 0 ? sc->record_ttl : 2 * 86400) * 1000LL;
	snprintf(c->where, sizeof(c->where), strchr(u.host, ':') ? "[%s]:%s" : "%s:%s", u.host, u.port);
	if (tcp_connect(c, &u, err, errlen) != 0)
		goto out;
	if (u.tls && tls_start(c, &u, sc->ca_file, err, errlen) != 0)
		goto out;
	/* AUTH, SELECT and PING in one round trip. */
	req_init(&req);
	if (plen > 0) {
		struct arg a[3] = { S("AUTH"), { sc->user, sc->user ? strlen(sc->user) : 0 }, { pbuf, (size_t)plen } };
		if (sc->user == NULL)
			a[1] = a[2];
		req_add(&req, sc->user != NULL ? 3 : 2, a);
	}
	if (u.db != 0) {
		struct arg a[2] = { S("SELECT"), { dbs, 0 } };
		a[1].n = (size_t)snprintf(dbs, sizeof(dbs), "%ld", u.db);
		req_add(&req, 2, a);
	}
	{
		struct arg a[1] = { S("PING") };
		req_add(&req, 1, a);
	}
	if (exchange(c, &req, rep, err, errlen) != 0)
		goto out;
	i = 0;
	if (plen > 0 && !is_status(c, rep[i++], "OK", "AUTH", err, errlen))
		goto out;
	if (u.db != 0 && !is_status(c, rep[i++], "OK", "SELECT", err, errlen))
		goto out;
	if (!is_status(c, rep[i], "PONG", "PING", err, errlen)) {
		if (rep[i]->type == REDIS_REPLY_ERROR && strncmp(rep[i]->str, "NOAUTH", 6) == 0)
			snprintf(err, errlen, "redis %s: the server requires authentication (set "
				 "state.redis.password_file)", c->where);
		goto out;
	}
	memcpy(key, kbuf, OTP_STATE_KEY_LEN);
	*impl = c;
	c = NULL;
	rc = 0;
out:
	free_replies(rep, MAX_PIPELINE);
	otp_wipe(kbuf, sizeof(kbuf));
	otp_wipe(pbuf, sizeof(pbuf));
	conn_free(c);
	return rc;
}

static void
redis_close(void *impl)
{
	conn_free(impl);
}

static char *
make_key(const struct rconn *c, const char *name, size_t *len)
{
	bool host = strcmp(name, "host") == 0;
	size_t n = strlen(c->prefix) + strlen(name) + 3;
	char *k = malloc(n);

	if (k == NULL)
		return NULL;
	*len = (size_t)snprintf(k, n, "%s%s%s", c->prefix, host ? "" : "u:", name);
	return k;
}

static void
txn_free(struct rtxn *t)
{
	if (t == NULL)
		return;
	if (t->last != NULL)
		otp_free_wiped(t->last, t->last_len);
	free(t->key);
	free(t);
}

/* Every open transaction's WATCH ends with an EXEC or UNWATCH. */
static void
watches_cleared(struct rconn *c)
{
	for (struct rtxn *t = c->txns; t != NULL; t = t->next)
		t->watched = false;
	c->watching = false;
}

static int
set_last(struct rtxn *t, const void *p, size_t n, bool exists)
{
	unsigned char *copy = malloc(n ? n : 1);

	if (copy == NULL)
		return -1;
	memcpy(copy, p, n);
	if (t->last != NULL)
		otp_free_wiped(t->last, t->last_len);
	t->last = copy;
	t->last_len = n;
	t->exists = exists;
	return 0;
}

static int
redis_begin(void *impl, const char *name, void **txnp, unsigned char *buf, size_t cap, size_t *len,
	    int *timed_out, char *err, size_t errlen)
{
	struct rconn *c = impl;
	struct rtxn *t = calloc(1, sizeof(*t));
	struct req req;
	redisReply *rep[MAX_PIPELINE] = { NULL }, *g;
	size_t n;
	bool unwatch;

	*txnp = NULL;
	*len = 0;
	*timed_out = 0;
	if (t == NULL || (t->key = make_key(c, name, &t->keylen)) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->c = c;
	/* Keys watched by transactions that ended: forget them first. */
	unwatch = c->txns == NULL && c->watching;
	req_init(&req);
	if (unwatch) {
		struct arg a[1] = { S("UNWATCH") };
		req_add(&req, 1, a);
	}
	{
		struct arg w[2] = { S("WATCH"), { t->key, t->keylen } };
		struct arg r[2] = { S("GET"), { t->key, t->keylen } };
		req_add(&req, 2, w);
		req_add(&req, 2, r);
	}
	n = req.n;
	if (exchange(c, &req, rep, err, errlen) != 0)
		goto fail;
	if (unwatch && !is_status(c, rep[0], "OK", "UNWATCH", err, errlen))
		goto broken;
	if (unwatch)
		watches_cleared(c);
	if (!is_status(c, rep[n - 2], "OK", "WATCH", err, errlen))
		goto broken;
	c->watching = true;
	g = rep[n - 1];
	if (g->type == REDIS_REPLY_STRING) {
		if ((size_t)g->len > cap) {
			snprintf(err, errlen, "redis %s: %s holds %zu bytes, more than a record", c->where,
				 t->key, (size_t)g->len);
			goto fail;
		}
		memcpy(buf, g->str, (size_t)g->len);
		*len = (size_t)g->len;
	} else if (g->type != REDIS_REPLY_NIL) {
		bad_reply(c, g, "GET", err, errlen);
		goto broken;
	}
	if (set_last(t, buf, *len, g->type == REDIS_REPLY_STRING) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	free_replies(rep, MAX_PIPELINE);
	t->watched = true;
	t->next = c->txns;
	c->txns = t;
	*txnp = t;
	return 0;
broken:
	c->broken = true;
fail:
	free_replies(rep, MAX_PIPELINE);
	txn_free(t);
	return -1;
}

/* A small random pause after losing a race, so racing logins spread out. */
static void
backoff(void)
{
	uint64_t r = 0;
	struct timespec ts;

	otp_random_uniform(20, &r);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(2 + r) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Store n blobs as one MULTI/EXEC.  A transaction whose WATCH an earlier
 * EXEC ended watches its key again and must still find its last value.
 */
static int
commit_many(struct rconn *c, size_t n, struct rtxn **t, const unsigned char **buf, const size_t *len,
	    char *err, size_t errlen)
{
	redisReply *rep[MAX_PIPELINE] = { NULL }, *x;
	struct req req;
	size_t i, j, k;
	char ttl[32];
	bool conflict = false;

	/* 1. Watch again where an EXEC ended our WATCH, and compare. */
	req_init(&req);
	for (i = 0; i < n; i++) {
		struct arg w[2] = { S("WATCH"), { t[i]->key, t[i]->keylen } };
		struct arg g[2] = { S("GET"), { t[i]->key, t[i]->keylen } };
		if (t[i]->watched)
			continue;
		req_add(&req, 2, w);
		req_add(&req, 2, g);
	}
	if (req.n > 0) {
		k = req.n;
		if (exchange(c, &req, rep, err, errlen) != 0)
			return -1;
		c->watching = true;
		for (i = 0, j = 0; i < n; i++) {
			const redisReply *g;
			if (t[i]->watched)
				continue;
			if (!is_status(c, rep[j], "OK", "WATCH", err, errlen))
				goto broken;
			g = rep[j + 1];
			j += 2;
			if (g->type == REDIS_REPLY_NIL)
				conflict |= t[i]->exists || t[i]->lost;
			else if (g->type == REDIS_REPLY_STRING)
				conflict |= !t[i]->exists || t[i]->lost || (size_t)g->len != t[i]->last_len ||
					    memcmp(g->str, t[i]->last, t[i]->last_len) != 0;
			else {
				bad_reply(c, g, "GET", err, errlen);
				goto broken;
			}
			t[i]->watched = true;
		}
		free_replies(rep, k);
		if (conflict) {
			struct arg a[1] = { S("UNWATCH") };
			req_init(&req);
			req_add(&req, 1, a);
			if (exchange(c, &req, rep, err, errlen) != 0)
				return -1;
			k = 1;
			if (!is_status(c, rep[0], "OK", "UNWATCH", err, errlen))
				goto broken;
			free_replies(rep, k);
			watches_cleared(c);
			backoff();
			return OTP_STATE_CONFLICT;
		}
	}
	/* 2. MULTI, SET key blob PX ttl..., EXEC. */
	snprintf(ttl, sizeof(ttl), "%lld", c->ttl_ms);
	req_init(&req);
	{
		struct arg m[1] = { S("MULTI") };
		req_add(&req, 1, m);
	}
	for (i = 0; i < n; i++) {
		struct arg a[5] = { S("SET"), { t[i]->key, t[i]->keylen }, { buf[i], len[i] }, S("PX"),
				    { ttl, strlen(ttl) } };
		req_add(&req, 5, a);
	}
	{
		struct arg e[1] = { S("EXEC") };
		req_add(&req, 1, e);
	}
	k = req.n;
	if (exchange(c, &req, rep, err, errlen) != 0)
		return -1;
	/* EXEC, aborted or not, ends every WATCH of the connection. */
	watches_cleared(c);
	if (!is_status(c, rep[0], "OK", "MULTI", err, errlen))
		goto broken;
	for (i = 0; i < n; i++)
		if (!is_status(c, rep[1 + i], "QUEUED", "SET", err, errlen))
			goto broken;
	x = rep[k - 1];
	if (x->type == REDIS_REPLY_NIL) {
		/* A watched key changed: nothing was stored. */
		free_replies(rep, k);
		backoff();
		return OTP_STATE_CONFLICT;
	}
	if (x->type != REDIS_REPLY_ARRAY || x->elements != n) {
		bad_reply(c, x, "EXEC", err, errlen);
		goto broken;
	}
	for (i = 0; i < n; i++)
		if (!is_status(c, x->element[i], "OK", "SET", err, errlen))
			goto broken;
	free_replies(rep, k);
	for (i = 0; i < n; i++)
		t[i]->lost = set_last(t[i], buf[i], len[i], true) != 0;
	return 0;
broken:
	free_replies(rep, MAX_PIPELINE);
	c->broken = true;
	return -1;
}

static int
redis_commit(void *txnp, const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	struct rtxn *t = txnp;

	return commit_many(t->c, 1, &t, &buf, &len, err, errlen);
}

static int
redis_commit_pair(void *a, const unsigned char *abuf, size_t alen, void *b, const unsigned char *bbuf,
		  size_t blen, char *err, size_t errlen)
{
	struct rtxn *t[2] = { a, b };
	const unsigned char *bufs[2] = { abuf, bbuf };
	size_t lens[2] = { alen, blen };

	if (t[0]->c != t[1]->c) {
		snprintf(err, errlen, "redis: transactions of two connections cannot commit together");
		return -1;
	}
	return commit_many(t[0]->c, 2, t, bufs, lens, err, errlen);
}

static void
redis_end(void *txnp)
{
	struct rtxn *t = txnp, **pp;

	if (t == NULL)
		return;
	for (pp = &t->c->txns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	txn_free(t);
}

static int
redis_remove(void *impl, const char *name, char *err, size_t errlen)
{
	struct rconn *c = impl;
	struct req req;
	redisReply *rep[MAX_PIPELINE] = { NULL };
	size_t klen;
	char *key = make_key(c, name, &klen);
	int rc = -1;

	if (key == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	req_init(&req);
	{
		struct arg a[2] = { S("DEL"), { key, klen } };
		req_add(&req, 2, a);
	}
	if (exchange(c, &req, rep, err, errlen) == 0) {
		if (rep[0]->type == REDIS_REPLY_INTEGER)
			rc = 0;
		else
			bad_reply(c, rep[0], "DEL", err, errlen);
	}
	free_replies(rep, MAX_PIPELINE);
	free(key);
	return rc;
}

const struct otp_state_backend otp_state_backend_redis = {
	.name = "redis",
	.wall_clock = true,
	.open = redis_open,
	.close = redis_close,
	.begin = redis_begin,
	.commit = redis_commit,
	.commit_pair = redis_commit_pair,
	.end = redis_end,
	.remove = redis_remove,
};
