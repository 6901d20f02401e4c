/* log.c - structured, escaped, capped log lines. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "log.h"

#define LOG_VALUE_MAX 128
#define LOG_LINE_MAX 1024

void
otp_log_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0, used = 0;
	bool quote = false;

	if (outlen == 0)
		return;
	if (in == NULL)
		in = "";
	for (const unsigned char *p = (const unsigned char *)in; *p; p++)
		if (*p == ' ' || *p == '=')
			quote = true;
	if (quote && o + 1 < outlen)
		out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char tmp[5];
		size_t n;
		if (used >= LOG_VALUE_MAX) {
			if (o + 3 < outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
			n = 4;
		} else {
			tmp[0] = (char)*p;
			n = 1;
		}
		if (o + n + 2 >= outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
		used++;
	}
	if (quote && o + 1 < outlen)
		out[o++] = '"';
	out[o] = '\0';
}

void
otp_log_event(const struct otp_log *log, int priority, const char *event, ...)
{
	char line[LOG_LINE_MAX], val[LOG_VALUE_MAX * 4 + 8];
	size_t len;
	va_list ap;
	const char *k;

	if (log == NULL || log->sink == NULL)
		return;
	if (priority == LOG_DEBUG && !log->debug)
		return;
	len = (size_t)snprintf(line, sizeof(line), "event=%s", event);
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		int w;
		if (v == NULL)
			continue;
		otp_log_escape(v, val, sizeof(val));
		w = snprintf(line + len, sizeof(line) - len, " %s=%s", k, val);
		if (w < 0 || (size_t)w >= sizeof(line) - len)
			break;
		len += (size_t)w;
	}
	va_end(ap);
	log->sink(log->arg, priority, line);
}
