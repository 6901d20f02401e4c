/*
 * conf.h - the libconfig configuration (DESIGN §4), loaded from a file
 * that must be root-owned and not group/world-writable, validated key by
 * key (unknown keys, wrong types and out-of-range values are errors with
 * file:line:key), with every default in one place.
 */
#ifndef OTP_CONF_H
#define OTP_CONF_H

#include <stdbool.h>
#include "connectors/connector.h"
#include "http.h"
#include "settings.h"
#include "state.h"
#include "state_record.h"
#include "validate.h"

enum otp_contact_source { OTP_SOURCE_FILE = 1, OTP_SOURCE_GECOS = 2, OTP_SOURCE_LDAP = 3 };

/* `contacts.ldap = { ... }` (used when "ldap" is among the sources). */
struct otp_ldap_config {
	char *uri;                  /* ldaps://host or ldap://host (StartTLS required unless loopback) */
	char *bind_dn;              /* NULL: anonymous */
	char *bind_password_file;   /* root-only file with the bind password */
	char *base;
	char *filter;               /* "(uid=%u)": %u is the RFC 4515-escaped user name */
	char *phone_attribute;      /* default "mobile" */
	char *email_attribute;      /* default "mail" */
	long timeout;               /* seconds */
	char *ca_file;              /* extra CA for TLS, or NULL */
};

struct otp_channel_conf {
	const struct otp_connector *connector;   /* NULL: channel not configured */
	void *ctx;
};

struct otp_usage_map {
	char *service;
	char *usage;
};

struct otp_config {
	char *path;
	/* code + limits */
	struct otp_policy policy;
	bool allow_resend;
	char **allowed_country_codes;
	/* state */
	struct otp_state_config state;
	/* contacts */
	enum otp_contact_source sources[3];
	size_t nsources;
	char *contacts_file;
	bool trust_gecos;
	struct otp_ldap_config ldap;
	/* channels in preference order */
	enum otp_channel channels[2];
	size_t nchannels;
	struct otp_http_config http;
	/* pam */
	bool failmode_safe;
	bool nullok;
	char **exempt_groups;
	struct otp_cidr *trusted;
	size_t ntrusted;
	char *prompt;
	struct otp_usage_map *usage;
	size_t nusage;
	struct otp_channel_conf sms, email;
	/* problems found while loading */
	struct otp_config_errors errs;
	bool world_readable;        /* secrets readable by others: a warning for `check` */
};

/*
 * Load and validate.  Returns an otp_config in every case except ENOMEM
 * (NULL); the caller checks cfg->errs.count (0 = valid).  The file is
 * opened without following symlinks and must be a regular file owned by
 * root (or the euid under a test harness), not group/world-writable, in a
 * directory with the same properties; @include is refused.
 */
struct otp_config *otp_config_load(const char *path);
void otp_config_free(struct otp_config *cfg);

/* The connector for a channel (NULL when that channel is not configured). */
const struct otp_channel_conf *otp_config_channel(const struct otp_config *cfg, enum otp_channel ch);
/* Usage type for a PAM service: pam.usage map, else "Generic". */
const char *otp_config_usage_for(const struct otp_config *cfg, const char *service);

/*
 * Shared by the config and contacts loaders: open a root-owned, not
 * group/world-writable regular file (no symlinks) whose directory is
 * equally safe, and read it whole (<= 1 MiB).  Returns a malloc'd NUL-
 * terminated buffer (wipe it) or NULL with a reason in why.
 * *group_world_readable is set when mode has 044 bits.
 */
char *otp_read_secure_file(const char *path, size_t *len, bool *group_world_readable,
			   char *why, size_t whylen);

#endif
