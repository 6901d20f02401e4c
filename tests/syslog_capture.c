/*
 * syslog_capture.so - LD_PRELOAD shim for the tests: every syslog() line the
 * process writes (pam_syslog ends up here) is appended to the file named by
 * OTP_SYSLOG_CAPTURE, so tests can assert what the module logged and that
 * no code, secret or full destination ever appears.
 */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

void __syslog_chk(int priority, int flag, const char *fmt, ...);
void __vsyslog_chk(int priority, int flag, const char *fmt, va_list ap);

void
vsyslog(int priority, const char *fmt, va_list ap)
{
	const char *path = getenv("OTP_SYSLOG_CAPTURE");
	FILE *f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "<%d> ", priority & LOG_PRIMASK);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fclose(f);
}

void
syslog(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
}

void
__vsyslog_chk(int priority, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(priority, fmt, ap);
}

void
__syslog_chk(int priority, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(priority, fmt, ap);
	va_end(ap);
}
