/*
 * failalloc.so - LD_PRELOAD shim: once the process has set the environment
 * variable OTP_FAILALLOC_ARM (pamdrv does so right before pam_authenticate),
 * the allocation number OTP_FAILALLOC_AFTER and every one after it fails.
 * Sweeping N over a login shows that no out-of-memory path ends in
 * PAM_SUCCESS or PAM_IGNORE (security.md test 1) and none crashes.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);

static long countdown = -1;

static int
should_fail(void)
{
	static int armed;

	if (!armed) {
		const char *a = getenv("OTP_FAILALLOC_ARM"), *n;
		if (a == NULL)
			return 0;
		armed = 1;
		n = getenv("OTP_FAILALLOC_AFTER");
		countdown = n ? strtol(n, NULL, 10) : -1;
	}
	if (countdown < 0)
		return 0;
	if (countdown == 0)
		return 1;
	countdown--;
	return 0;
}

void *
malloc(size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}
