/* contacts.c - contacts file and GECOS lookup. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contacts.h"
#include "mem.h"
#include "validate.h"

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
otp_contacts_parse(const char *path, const char *text, otp_contacts_each_fn fn, void *arg,
		   char *why, size_t whylen)
{
	const char *p = text;
	int line = 0;

	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char buf[1024], *fields[4] = { NULL, NULL, NULL, NULL };
		int nf = 0;
		char *q;

		line++;
		if (len >= sizeof(buf)) {
			snprintf(why, whylen, "%s:%d: line too long", path, line);
			return -1;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (end ? 1 : 0);
		if ((q = strchr(buf, '#')) != NULL)
			*q = '\0';
		for (q = buf; *q; q++)
			if ((unsigned char)*q < 0x20 && !is_blank(*q) && *q != '\r') {
				snprintf(why, whylen, "%s:%d: control character", path, line);
				return -1;
			}
		for (q = buf; *q;) {
			while (is_blank(*q) || *q == '\r')
				*q++ = '\0';
			if (*q == '\0')
				break;
			if (nf == 3) {
				snprintf(why, whylen, "%s:%d: too many fields (want: user phone email)", path, line);
				return -1;
			}
			fields[nf++] = q;
			while (*q && !is_blank(*q) && *q != '\r')
				q++;
		}
		if (nf == 0)
			continue;
		if (nf != 3) {
			snprintf(why, whylen, "%s:%d: want 3 fields (user phone email; '-' for none)", path, line);
			return -1;
		}
		if (fn(arg, line, fields[0], strcmp(fields[1], "-") ? fields[1] : NULL,
		       strcmp(fields[2], "-") ? fields[2] : NULL) != 0) {
			snprintf(why, whylen, "%s:%d: duplicate entry for user %s", path, line, fields[0]);
			return -1;
		}
	}
	return 0;
}

struct find_ctx {
	const char *user;
	int matches;
	char *phone, *email;
};

static int
find_user(void *arg, int line, const char *user, const char *phone, const char *email)
{
	struct find_ctx *f = arg;

	(void)line;
	if (strcmp(user, f->user) != 0)
		return 0;
	/* Two lines for one user: which one is meant?  Refuse. */
	if (f->matches++ > 0)
		return -1;
	f->phone = otp_strdup(phone);
	f->email = otp_strdup(email);
	return 0;
}

void
otp_gecos_contact(const char *gecos, char **phone, char **email)
{
	char *copy, *save = NULL, *f;
	int idx = 0;

	*phone = NULL;
	*email = NULL;
	if (gecos == NULL || (copy = strdup(gecos)) == NULL)
		return;
	/* Field 0 is the full name; phone numbers live in the room/work/home/other fields. */
	for (f = strtok_r(copy, ",", &save); f != NULL; f = strtok_r(NULL, ",", &save), idx++) {
		char norm[32];
		size_t n = 0;
		bool ok = true;
		if (idx == 0)
			continue;
		while (is_blank(*f))
			f++;
		if (*email == NULL && strchr(f, '@') != NULL) {
			char *e = f + strlen(f);
			while (e > f && is_blank(e[-1]))
				*--e = '\0';
			*email = strdup(f);
			continue;
		}
		/* Accept the usual separators in a GECOS phone, nothing else. */
		for (const char *c = f; *c && ok; c++) {
			if (*c == ' ' || *c == '-' || *c == '.' || *c == '(' || *c == ')')
				continue;
			if (n + 1 >= sizeof(norm) || !((*c >= '0' && *c <= '9') || (*c == '+' && n == 0)))
				ok = false;
			else
				norm[n++] = *c;
		}
		norm[n] = '\0';
		if (ok && *phone == NULL && n > 1 && norm[0] == '+')   /* "+" alone is no number */
			*phone = strdup(norm);
	}
	free(copy);
}

enum otp_contact_rc
otp_contacts_lookup(const struct otp_config *cfg, const struct passwd *pw, struct otp_contact *out,
		    char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cfg->nsources; i++) {
		if (cfg->sources[i] == OTP_SOURCE_FILE) {
			struct find_ctx f = { .user = pw->pw_name };
			bool gw;
			size_t len;
			char *text = otp_read_secure_file(cfg->contacts_file, &len, &gw, why, whylen);
			int rc;
			if (text == NULL)
				return OTP_CONTACT_ERROR;
			rc = otp_contacts_parse(cfg->contacts_file, text, find_user, &f, why, whylen);
			otp_free_wiped(text, len + 1);
			if (rc != 0) {
				free(f.phone);
				free(f.email);
				return OTP_CONTACT_ERROR;
			}
			if (f.matches > 0 && (f.phone != NULL || f.email != NULL)) {
				out->phone = f.phone;
				out->email = f.email;
				out->source = "file";
				return OTP_CONTACT_FOUND;
			}
		} else if (cfg->sources[i] == OTP_SOURCE_LDAP) {
			enum otp_contact_rc rc = otp_contacts_ldap_lookup(cfg, pw->pw_name, out, why, whylen);
			if (rc != OTP_CONTACT_NONE)
				return rc;
		} else if (cfg->sources[i] == OTP_SOURCE_GECOS && cfg->trust_gecos) {
			otp_gecos_contact(pw->pw_gecos, &out->phone, &out->email);
			if (out->phone != NULL || out->email != NULL) {
				out->source = "gecos";
				return OTP_CONTACT_FOUND;
			}
		}
	}
	return OTP_CONTACT_NONE;
}

void
otp_contact_free(struct otp_contact *c)
{
	free(c->phone);
	free(c->email);
	c->phone = NULL;
	c->email = NULL;
}

#ifndef HAVE_LDAP
bool
otp_contacts_ldap_available(void)
{
	return false;
}

enum otp_contact_rc
otp_contacts_ldap_lookup(const struct otp_config *cfg, const char *user, struct otp_contact *out,
			 char *why, size_t whylen)
{
	(void)cfg;
	(void)user;
	(void)out;
	/* Unreachable with a valid config (the loader refuses "ldap" in this build). */
	snprintf(why, whylen, "the ldap contacts source is not available in this build");
	return OTP_CONTACT_ERROR;
}
#endif
