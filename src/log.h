/*
 * log.h - one syslog line per event with stable keys:
 *   event=sent user=alice service=sshd rhost=192.0.2.7 channel=sms dest=+81******5678 ...
 * Values are escaped (control bytes, quotes, backslash and non-ASCII become
 * \xNN; values with spaces are quoted) and capped at 128 bytes, so a hostile
 * user name cannot forge a second log line.  The sink is pam_syslog in the
 * module and stderr in the CLI.  Callers never pass a code, a secret or a
 * full destination (use otp_mask_destination for the latter).
 */
#ifndef OTP_LOG_H
#define OTP_LOG_H

#include <stdbool.h>
#include <syslog.h>

typedef void (*otp_log_sink_fn)(void *arg, int priority, const char *line);

struct otp_log {
	otp_log_sink_fn sink;
	void *arg;
	bool debug;          /* `debug` module argument: LOG_DEBUG lines are emitted */
};

/*
 * Log event with key/value pairs: otp_log_event(log, LOG_NOTICE, "sent",
 * "user", u, "channel", "sms", (char *)NULL).  NULL values are skipped.
 */
void otp_log_event(const struct otp_log *log, int priority, const char *event, ...)
	__attribute__((sentinel));
/* Escape one value into out (always NUL-terminated). */
void otp_log_escape(const char *in, char *out, size_t outlen);

#endif
