/* mem.c - wiping secrets (OPENSSL_cleanse cannot be optimised away). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "mem.h"

void
otp_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
otp_wipe_str(char *s)
{
	if (s != NULL)
		otp_wipe(s, strlen(s));
}

void
otp_free_secret(char *s)
{
	if (s == NULL)
		return;
	otp_wipe_str(s);
	free(s);
}

void
otp_free_wiped(void *p, size_t n)
{
	if (p == NULL)
		return;
	otp_wipe(p, n);
	free(p);
}

char *
otp_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}
