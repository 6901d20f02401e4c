/*
 * settings.h - a checked reader over one libconfig group.
 *
 * Every getter validates type and range and, on failure, records
 * "FILE:LINE: key 'a.b.c': what is wrong" in the shared error list, so a
 * config with several mistakes is reported in one go.  Connectors parse
 * their own settings group with this reader; otp_settings_finish() then
 * rejects any key that no getter asked for (typos are errors, not silently
 * ignored settings).
 */
#ifndef OTP_SETTINGS_H
#define OTP_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <libconfig.h>

#define OTP_SETTINGS_MAX_ERRORS 16
#define OTP_SETTINGS_MAX_KEYS 64

struct otp_config_errors {
	const char *file;                 /* for messages */
	int count;
	char msg[OTP_SETTINGS_MAX_ERRORS][384];
	int warnings;
	char warning[OTP_SETTINGS_MAX_ERRORS][384];
};

struct otp_settings {
	config_setting_t *group;          /* NULL: group absent, getters give defaults */
	struct otp_config_errors *errs;
	int line;                         /* line of the group, for absent-key errors */
	unsigned nused;
	const char *used[OTP_SETTINGS_MAX_KEYS];
};

void otp_settings_open(struct otp_settings *s, config_setting_t *group,
		       struct otp_config_errors *errs);
/* Child group `key`; absent -> empty reader (error if required).  0/-1. */
int otp_settings_group(struct otp_settings *s, const char *key, bool required,
		       struct otp_settings *child);
/* Is `key` present at all?  Marks it used. */
bool otp_settings_has(struct otp_settings *s, const char *key);
/* Raw libconfig node for key (marks used), NULL when absent. */
config_setting_t *otp_settings_node(struct otp_settings *s, const char *key);

/* Strings are strdup'd into *out (caller frees); absent optional -> *out = dflt copy (may be NULL). */
int otp_settings_string(struct otp_settings *s, const char *key, bool required,
			const char *dflt, char **out);
/* Same, for secrets: the value is never echoed in an error message. */
int otp_settings_secret(struct otp_settings *s, const char *key, bool required, char **out);
/* One of a fixed set of strings. */
int otp_settings_choice(struct otp_settings *s, const char *key, const char *dflt,
			const char *const choices[], char **out);
int otp_settings_int(struct otp_settings *s, const char *key, long dflt, long min,
		     long max, long *out);
int otp_settings_bool(struct otp_settings *s, const char *key, bool dflt, bool *out);
/* Array/list of strings -> NULL-terminated vector (caller frees with otp_strv_free). */
int otp_settings_strv(struct otp_settings *s, const char *key, char ***out);
/*
 * Base URL for a connector: `endpoint` if set, else dflt.  Must be https://,
 * or http:// to a loopback host; no user-info, query or fragment.  The
 * trailing '/' is removed so callers append the provider's path.
 */
int otp_settings_endpoint(struct otp_settings *s, const char *key, const char *dflt,
			  char **out);

/* Record an error against key in this group (printf-style). */
void otp_settings_fail(struct otp_settings *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void otp_settings_warn(struct otp_settings *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reject keys nobody read.  Returns 0, or -1 if any unknown key was found. */
int otp_settings_finish(struct otp_settings *s);
/* Has any error been recorded so far? */
bool otp_settings_failed(const struct otp_settings *s);

void otp_strv_free(char **v);
size_t otp_strv_len(char *const *v);

/* Validate a URL as otp_settings_endpoint does; NULL on success, else a reason. */
const char *otp_url_check(const char *url, bool allow_plain_http_loopback);
/* Does the URL point at a loopback host (127.0.0.0/8, ::1, localhost)? */
bool otp_url_is_loopback(const char *url);

#endif
