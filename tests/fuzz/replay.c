/*
 * replay.c - main() for running a fuzz target without libFuzzer (sudo's
 * fuzzstub): every input is passed once to LLVMFuzzerTestOneInput, in a
 * buffer of exactly its size.  Output is TAP, one test per input; an input
 * that trips an invariant aborts the process, which the TAP driver reports
 * as a failure.
 *
 *   fuzz_NAME [FILE|DIR]...
 *
 * Without arguments it replays $OTP_SRCDIR/tests/fuzz/corpus/NAME/ (the
 * seeds and the crash reproducers kept as regression inputs), NAME being
 * the program name without its "fuzz_" prefix.
 */
#include "config.h"
#ifndef OTP_LIBFUZZER   /* libFuzzer brings its own main() */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

static int ntests;

static int
run_file(const char *path, const char *label)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &sb) != 0 || sb.st_size > REPLAY_MAX_INPUT) {
		printf("not ok %d - %s: cannot read (%s)\n", ++ntests, label,
		       f ? "too large" : strerror(errno));
		if (f)
			fclose(f);
		return 1;
	}
	/* Exactly the input's size (at least 1 byte to have a pointer), as
	 * libFuzzer does, so that ASan catches a read past the end. */
	buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1);
	if (buf == NULL) {
		fclose(f);
		return 1;
	}
	got = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	printf("# %s (%zu bytes)\n", label, got);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	printf("ok %d - %s\n", ++ntests, label);
	fflush(stdout);
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_path(const char *path)
{
	struct dirent *de;
	struct stat sb;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int bad = 0;
	DIR *d;

	if (stat(path, &sb) != 0) {
		printf("not ok %d - %s: %s\n", ++ntests, path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(sb.st_mode))
		return run_file(path, path);
	if ((d = opendir(path)) == NULL) {
		printf("not ok %d - %s: %s\n", ++ntests, path, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
			if (nn == NULL)
				abort();
			names = nn;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	/* A stable order makes a failing input easy to find in the log. */
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char file[4096], label[4096];
		const char *base = strrchr(path, '/');
		snprintf(file, sizeof(file), "%s/%s", path, names[i]);
		snprintf(label, sizeof(label), "%s/%s", base ? base + 1 : path, names[i]);
		bad |= run_file(file, label);
		free(names[i]);
	}
	if (n == 0) {
		printf("not ok %d - %s: empty corpus\n", ++ntests, path);
		bad = 1;
	}
	free(names);
	return bad;
}

int
main(int argc, char **argv)
{
	int bad = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bad |= run_path(argv[i]);
	} else {
		const char *srcdir = getenv("OTP_SRCDIR");
		const char *name = strrchr(argv[0], '/');
		char dir[4096];

		name = name ? name + 1 : argv[0];
		if (strncmp(name, "lt-", 3) == 0)
			name += 3;
		if (strncmp(name, "fuzz_", 5) == 0)
			name += 5;
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".", name);
		bad |= run_path(dir);
	}
	printf("1..%d\n", ntests);
	return bad;
}
#else
typedef int otp_replay_unused;   /* not an empty translation unit */
#endif
