/* state_file.c - the file backend of the state cache: safe opens, flock, atomic writes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "crypto.h"
#include "mem.h"
#include "state.h"
#include "state_backend.h"

struct file_state {
	int dirfd;
	char *path;
};

struct file_txn {
	struct file_state *st;
	int fd;
	char name[32];
};

#define MAX_FILE (64 * 1024)

/* "root" is uid 0, or our own euid when running unprivileged under a test harness. */
static bool
owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int
check_file(int fd, const char *dir, const char *name, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s/%s: cannot stat: %s", dir, name, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s/%s: not a regular file", dir, name);
		return -1;
	}
	if (!owner_ok(sb.st_uid)) {
		snprintf(err, errlen, "%s/%s: owned by uid %u, not root", dir, name, (unsigned)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & 07777) != 0600) {
		snprintf(err, errlen, "%s/%s: mode %04o, must be 0600", dir, name,
			 (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	if (sb.st_nlink == 0) {
		/* Replaced by a rename between our open and fstat: not an attack. */
		snprintf(err, errlen, "%s/%s: replaced while being opened", dir, name);
		return -2;
	}
	if (sb.st_nlink != 1) {
		snprintf(err, errlen, "%s/%s: has %lu hard links, must have 1", dir, name,
			 (unsigned long)sb.st_nlink);
		return -1;
	}
	if (sb.st_size > MAX_FILE) {
		snprintf(err, errlen, "%s/%s: too large (%lld bytes)", dir, name, (long long)sb.st_size);
		return -1;
	}
	return 0;
}

/* Open dir/name without following links or blocking on FIFOs, then verify it. */
static int
open_checked(struct file_state *st, const char *name, int flags, char *err, size_t errlen)
{
	int fd = openat(st->dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s/%s: is a symbolic link", st->path, name);
		else if (errno != ENOENT)
			snprintf(err, errlen, "%s/%s: cannot open: %s", st->path, name, strerror(errno));
		return -1;
	}
	switch (check_file(fd, st->path, name, err, errlen)) {
	case 0:
		return fd;
	case -2:
		close(fd);
		errno = ESTALE;
		return -1;
	default:
		close(fd);
		errno = EPERM;
		return -1;
	}
}

static ssize_t
read_all(int fd, unsigned char *buf, size_t cap)
{
	size_t got = 0;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Publish `len` bytes as dir/name atomically: temp + fsync + rename + dir
 * fsync (the last one left to the caller when sync_dir is false).  The
 * rename unlinks the inode the caller's flock is on, so whoever opens the
 * name next would get a lock at once: the temp file is locked before it is
 * renamed into place and handed back in *locked_fd, and the caller keeps
 * holding that lock for the rest of its transaction.
 */
static int
atomic_replace(struct file_state *st, const char *name, const unsigned char *buf, size_t len,
	       bool sync_dir, int *locked_fd, char *err, size_t errlen)
{
	char tmp[64];
	int fd, saved;

	*locked_fd = -1;
	/* One temp name per target, only written under the target's lock; a
	 * leftover from a crash (or anything planted there) is removed first.
	 * unlinkat never follows a symlink. */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if (unlinkat(st->dirfd, tmp, 0) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s/%s: cannot remove stale temp file: %s", st->path, tmp,
			 strerror(errno));
		return -1;
	}
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: cannot create: %s", st->path, tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, buf, len) != 0 || fsync(fd) != 0 ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0) {
		saved = errno;
		close(fd);
		unlinkat(st->dirfd, tmp, 0);
		snprintf(err, errlen, "%s/%s: write failed: %s", st->path, tmp, strerror(saved));
		return -1;
	}
	if (renameat(st->dirfd, tmp, st->dirfd, name) != 0) {
		saved = errno;
		close(fd);
		unlinkat(st->dirfd, tmp, 0);
		snprintf(err, errlen, "%s/%s: rename failed: %s", st->path, name, strerror(saved));
		return -1;
	}
	*locked_fd = fd;
	if (sync_dir && fsync(st->dirfd) != 0) {
		snprintf(err, errlen, "%s: directory fsync failed: %s", st->path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Put a fresh key in place as .key.  It is written to an unnamed file
 * (O_TMPFILE) that is linked in once complete, so a crash leaves nothing
 * behind; a private name that a crash left as a second link of .key would
 * fail its link-count check for good.  Without O_TMPFILE or /proc, a
 * private name is used.  Losing the race to another process is fine (0):
 * the caller reads back whatever .key holds.
 */
static int
publish_key(struct file_state *st, const unsigned char *key, char *err, size_t errlen)
{
	char tmp[48], proc[48], hex[17];
	unsigned char rnd[8];
	int fd, rc, saved;

	fd = openat(st->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (fchmod(fd, 0600) != 0 || write_all(fd, key, OTP_STATE_KEY_LEN) != 0 || fsync(fd) != 0) {
			saved = errno;
			close(fd);
			snprintf(err, errlen, "%s/.key: cannot write: %s", st->path, strerror(saved));
			return -1;
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		rc = linkat(AT_FDCWD, proc, st->dirfd, ".key", AT_SYMLINK_FOLLOW);
		saved = errno;
		close(fd);
		if (rc == 0 || saved == EEXIST)
			return 0;
		if (saved != ENOENT) {
			snprintf(err, errlen, "%s/.key: cannot create: %s", st->path, strerror(saved));
			return -1;
		}
	} else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		snprintf(err, errlen, "%s/.key: cannot create: %s", st->path, strerror(errno));
		return -1;
	}
	if (otp_random_bytes(rnd, sizeof(rnd)) != 0) {
		snprintf(err, errlen, "random generator failed");
		return -1;
	}
	otp_hex(rnd, sizeof(rnd), hex);
	snprintf(tmp, sizeof(tmp), ".key.%s", hex);
	fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s/.key: cannot create: %s", st->path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, key, OTP_STATE_KEY_LEN) != 0 || fsync(fd) != 0) {
		saved = errno;
		close(fd);
		unlinkat(st->dirfd, tmp, 0);
		snprintf(err, errlen, "%s/.key: cannot write: %s", st->path, strerror(saved));
		return -1;
	}
	close(fd);
	if (linkat(st->dirfd, tmp, st->dirfd, ".key", 0) != 0 && errno != EEXIST) {
		saved = errno;
		unlinkat(st->dirfd, tmp, 0);
		snprintf(err, errlen, "%s/.key: cannot create: %s", st->path, strerror(saved));
		return -1;
	}
	unlinkat(st->dirfd, tmp, 0);
	return 0;
}

static int
load_or_create_key(struct file_state *st, unsigned char key[OTP_STATE_KEY_LEN], char *err, size_t errlen)
{
	unsigned char buf[OTP_STATE_KEY_LEN + 1];
	ssize_t n;
	int fd, rc;

	for (int attempt = 0; attempt < 3; attempt++) {
		fd = open_checked(st, ".key", O_RDONLY, err, errlen);
		if (fd >= 0) {
			n = read_all(fd, buf, sizeof(buf));
			close(fd);
			if (n != OTP_STATE_KEY_LEN) {
				otp_wipe(buf, sizeof(buf));
				snprintf(err, errlen, "%s/.key: must be exactly %d bytes", st->path,
					 OTP_STATE_KEY_LEN);
				return -1;
			}
			memcpy(key, buf, OTP_STATE_KEY_LEN);
			otp_wipe(buf, sizeof(buf));
			return 0;
		}
		if (errno != ENOENT)
			return -1;
		/* First use: publish a fresh key (or lose the race), read it back. */
		if (otp_random_bytes(buf, OTP_STATE_KEY_LEN) != 0) {
			snprintf(err, errlen, "random generator failed");
			return -1;
		}
		rc = publish_key(st, buf, err, errlen);
		otp_wipe(buf, sizeof(buf));
		if (rc != 0)
			return -1;
		fsync(st->dirfd);
	}
	snprintf(err, errlen, "%s/.key: cannot be created", st->path);
	return -1;
}

static int
check_dir(int fd, const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	if (!owner_ok(sb.st_uid)) {
		snprintf(err, errlen, "%s: owned by uid %u, not root", path, (unsigned)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & 0077) != 0) {
		snprintf(err, errlen, "%s: mode %04o, must be 0700", path, (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * Whoever can write the parent can rename the whole directory away and put
 * another one in its place (an empty one: no counters, no lockout).  A
 * sticky root-owned parent (/tmp) lets nobody else rename it.
 */
static int
check_parent(int fd, const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (fstatat(fd, "..", &sb, 0) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: cannot check the parent directory", path);
		return -1;
	}
	if (!owner_ok(sb.st_uid) || ((sb.st_mode & 0022) != 0 && (sb.st_mode & S_ISVTX) == 0)) {
		snprintf(err, errlen, "%s: parent directory is not root-owned or is group/world-writable (mode %04o)",
			 path, (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
create_dir(const char *path, char *err, size_t errlen)
{
	char *parent = strdup(path), *slash;
	struct stat sb;
	int pfd, rc = -1;

	if (parent == NULL)
		return -1;
	slash = strrchr(parent, '/');
	if (slash == NULL || slash[1] == '\0') {
		snprintf(err, errlen, "%s: state path must be absolute", path);
		goto out;
	}
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		snprintf(err, errlen, "%s: missing, and its parent %s cannot be opened: %s", path, parent,
			 strerror(errno));
		goto out;
	}
	/* Only create under a parent nobody else can write to. */
	if (fstat(pfd, &sb) != 0 || !owner_ok(sb.st_uid) || (sb.st_mode & 0022) != 0) {
		snprintf(err, errlen, "%s: missing, and parent %s is not root-owned and private", path, parent);
		close(pfd);
		goto out;
	}
	if (mkdirat(pfd, strrchr(path, '/') + 1, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		close(pfd);
		goto out;
	}
	close(pfd);
	rc = 0;
out:
	free(parent);
	return rc;
}

static int
file_open(const struct otp_state_config *sc, void **impl, unsigned char key[OTP_STATE_KEY_LEN],
	  char *err, size_t errlen)
{
	const char *dir = sc->path;
	struct file_state *st;
	int fd;

	*impl = NULL;
	if (dir == NULL || dir[0] != '/') {
		snprintf(err, errlen, "state path must be absolute");
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (create_dir(dir, err, errlen) != 0)
			return -1;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", dir,
			 errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a directory" : strerror(errno));
		return -1;
	}
	if (check_dir(fd, dir, err, errlen) != 0 || check_parent(fd, dir, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = strdup(dir)) == NULL) {
		free(st);
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->dirfd = fd;
	if (load_or_create_key(st, key, err, errlen) != 0) {
		close(fd);
		free(st->path);
		free(st);
		return -1;
	}
	*impl = st;
	return 0;
}

static void
file_close(void *impl)
{
	struct file_state *st = impl;

	if (st == NULL)
		return;
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->path);
	free(st);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Lock dir/name, creating it empty if missing.  Because commits replace the
 * file by rename, a lock won on an inode that has since been replaced is
 * worthless: re-check that the name still points at our inode, else retry.
 */
static int
lock_file(struct file_state *st, const char *name, int *timed_out, char *err, size_t errlen)
{
	struct timespec start, now;
	long waited;

	*timed_out = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct stat a, b;
		int fd = open_checked(st, name, O_RDWR, err, errlen);
		if (fd < 0 && errno == ENOENT) {
			fd = openat(st->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0 && errno == EEXIST)
				continue;
			if (fd < 0) {
				snprintf(err, errlen, "%s/%s: cannot create: %s", st->path, name, strerror(errno));
				return -1;
			}
			if (fchmod(fd, 0600) != 0) {
				close(fd);
				snprintf(err, errlen, "%s/%s: cannot chmod: %s", st->path, name, strerror(errno));
				return -1;
			}
		} else if (fd < 0 && errno != ESTALE)
			return -1;
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (fstat(fd, &a) == 0 && fstatat(st->dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
				return fd;
			close(fd); /* replaced under us: try the new file */
			continue;
		}
		if (fd >= 0) {
			int saved = errno;
			close(fd);
			if (saved != EWOULDBLOCK && saved != EINTR) {
				snprintf(err, errlen, "%s/%s: lock failed: %s", st->path, name, strerror(saved));
				return -1;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited >= OTP_STATE_LOCK_TIMEOUT_MS) {
			*timed_out = 1;
			snprintf(err, errlen, "%s/%s: lock timeout after %d ms", st->path, name,
				 OTP_STATE_LOCK_TIMEOUT_MS);
			return -1;
		}
		sleep_ms(5);
	}
}

static int
file_begin(void *impl, const char *name, void **txnp, unsigned char *buf, size_t cap, size_t *len,
	   int *timed_out, char *err, size_t errlen)
{
	struct file_state *st = impl;
	struct file_txn *t = calloc(1, sizeof(*t));
	ssize_t n;

	*txnp = NULL;
	*len = 0;
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->st = st;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fd = lock_file(st, name, timed_out, err, errlen);
	if (t->fd < 0) {
		free(t);
		return -1;
	}
	n = read_all(t->fd, buf, cap);
	if (n < 0) {
		snprintf(err, errlen, "%s/%s: read failed: %s", st->path, name, strerror(errno));
		close(t->fd);
		free(t);
		return -1;
	}
	*len = (size_t)n;
	*txnp = t;
	return 0;
}

static int
replace_locked(struct file_txn *t, const unsigned char *buf, size_t len, bool sync_dir, char *err, size_t errlen)
{
	int newfd, rc;

	rc = atomic_replace(t->st, t->name, buf, len, sync_dir, &newfd, err, errlen);
	if (newfd >= 0) {
		/* The name now refers to newfd's inode: hold the lock there. */
		close(t->fd);
		t->fd = newfd;
	}
	return rc;
}

static int
file_commit(void *txnp, const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	return replace_locked(txnp, buf, len, true, err, errlen);
}

/*
 * An issued code: the user record and the host counter, both under their
 * locks.  Both temp files are fsynced and renamed, then one directory fsync
 * makes both renames durable: three fsyncs instead of four, and nothing is
 * sent before this returns 0.  Not atomic as a pair (neither was one commit
 * after the other): if the second step fails, the first record may be in
 * place, and the login fails without sending.
 */
static int
file_commit_pair(void *a, const unsigned char *abuf, size_t alen, void *b, const unsigned char *bbuf,
		 size_t blen, char *err, size_t errlen)
{
	struct file_txn *ta = a, *tb = b;

	if (ta->st != tb->st) {
		/* not one directory: each needs its own directory fsync */
		if (replace_locked(ta, abuf, alen, true, err, errlen) != 0)
			return -1;
		return replace_locked(tb, bbuf, blen, true, err, errlen);
	}
	if (replace_locked(ta, abuf, alen, false, err, errlen) != 0)
		return -1;
	return replace_locked(tb, bbuf, blen, true, err, errlen);
}

static void
file_end(void *txnp)
{
	struct file_txn *t = txnp;

	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd); /* closing releases the flock */
	free(t);
}

static int
file_remove(void *impl, const char *name, char *err, size_t errlen)
{
	struct file_state *st = impl;
	struct file_txn *t;
	unsigned char buf[1];
	size_t len;
	int timed_out;

	/* Take the lock so the removal cannot interleave with a login. */
	if (file_begin(st, name, (void **)&t, buf, 0, &len, &timed_out, err, errlen) != 0)
		return -1;
	if (unlinkat(st->dirfd, name, 0) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s/%s: cannot remove: %s", st->path, name, strerror(errno));
		file_end(t);
		return -1;
	}
	fsync(st->dirfd);
	file_end(t);
	return 0;
}

const struct otp_state_backend otp_state_backend_file = {
	.name = "file",
	.open = file_open,
	.close = file_close,
	.begin = file_begin,
	.commit = file_commit,
	.commit_pair = file_commit_pair,
	.end = file_end,
	.remove = file_remove,
};
