/*
 * contacts.h - where a user's code goes.  Sources, in configured order:
 * the root-owned contacts file ("user phone email", '#' comments, '-' for
 * none) and, only with trust_gecos, the passwd GECOS field.  Values are
 * returned as found; the flow validates them strictly before use.
 */
#ifndef OTP_CONTACTS_H
#define OTP_CONTACTS_H

#include <pwd.h>
#include <stdbool.h>
#include "conf.h"

struct otp_contact {
	char *phone;          /* as found (validated later), or NULL */
	char *email;
	const char *source;   /* "file" or "gecos" */
};

enum otp_contact_rc {
	OTP_CONTACT_FOUND,
	OTP_CONTACT_NONE,      /* user known, no destination anywhere */
	OTP_CONTACT_ERROR,     /* file unsafe or invalid: fail closed (why filled) */
	OTP_CONTACT_UNAVAIL,   /* directory unreachable, TLS or bind failed: fail closed (why) */
	OTP_CONTACT_AMBIGUOUS, /* directory: more than one entry matches: fail closed (why) */
};

enum otp_contact_rc otp_contacts_lookup(const struct otp_config *cfg, const struct passwd *pw,
					struct otp_contact *out, char *why, size_t whylen);
void otp_contact_free(struct otp_contact *c);

/* Parse a whole contacts file text; used by lookup and by `otp-smsctl check`.
 * Calls fn for every entry; returns 0, or -1 with why = "file:line: problem". */
typedef int (*otp_contacts_each_fn)(void *arg, int line, const char *user, const char *phone,
				    const char *email);
int otp_contacts_parse(const char *path, const char *text, otp_contacts_each_fn fn, void *arg,
		       char *why, size_t whylen);
/* Is the LDAP source compiled in? */
bool otp_contacts_ldap_available(void);
/*
 * LDAP source (contacts_ldap.c, built with libldap): look up `user` with
 * the configured filter (RFC 4515-escaped), exactly one entry or an error.
 * Returns FOUND/NONE/ERROR like otp_contacts_lookup.
 */
enum otp_contact_rc otp_contacts_ldap_lookup(const struct otp_config *cfg, const char *user,
					     struct otp_contact *out, char *why, size_t whylen);
/* Connect and bind as configured (otp-smsctl check; built with libldap only).
 * 0, or -1 with why. */
int otp_contacts_ldap_check(const struct otp_config *cfg, char *why, size_t whylen);

/* The phone and email fields of a GECOS string ("Name,Room,Work,Home,Other"). */
void otp_gecos_contact(const char *gecos, char **phone, char **email);

#endif
