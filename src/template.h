/*
 * template.h - message templates: {{code}}, {{user}}, {{host}}, {{service}},
 * {{rhost}}, {{ttl_minutes}} (and @@password@@ for the Auth0-style gateway).
 *
 * Rendering is a single pass: a value is copied into the output and never
 * scanned again, so a user name containing "{{code}}" stays literal text.
 * Values are cleaned (control characters and invalid UTF-8 replaced, length
 * capped) and escaped for the output context.  Templates are never used as
 * a printf format.
 *
 * A template list is the Logto shape: entries { usageType = "SignIn"; ... }
 * whose other fields are named per connector (content, subject,
 * contentType, templateCode, ...).  Lookup: exact usage type, then
 * "Generic", else not found.
 */
#ifndef OTP_TEMPLATE_H
#define OTP_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "settings.h"

struct otp_template_vars {
	const char *code;
	const char *user;
	const char *host;
	const char *service;
	const char *rhost;
	long ttl_minutes;
};

enum otp_escape {
	OTP_ESCAPE_TEXT,    /* plain text (SMS body, JSON string value before encoding) */
	OTP_ESCAPE_HTML,    /* values HTML-escaped; the template itself is trusted */
	OTP_ESCAPE_HEADER,  /* one header line: CR/LF/TAB in values become spaces */
};

/* Longest rendered message we produce; longer output is an error. */
#define OTP_TEMPLATE_MAX_OUTPUT 65536

/* Render tpl into out (appended).  0, or -1 (unknown placeholder, too long, ENOMEM). */
int otp_template_render(const char *tpl, const struct otp_template_vars *vars,
			enum otp_escape esc, struct otp_buf *out);
/* Same, returning a new string (caller wipes+frees with otp_free_secret). */
char *otp_template_render_str(const char *tpl, const struct otp_template_vars *vars,
			      enum otp_escape esc);
/*
 * Check a template at config time.  need_code: {{code}} must appear.
 * Returns NULL if fine, else a static reason ("unknown placeholder ...").
 */
const char *otp_template_check(const char *tpl, bool need_code, char *why, size_t whylen);

/* One field of a template entry, as a connector declares it. */
struct otp_template_field {
	const char *name;      /* e.g. "content" */
	bool required;
	bool needs_code;       /* text template that must contain {{code}} */
	bool is_template;      /* value is a template to check for placeholders */
	bool multiline;        /* allow "\n" (email bodies) */
};

#define OTP_TEMPLATE_MAX_FIELDS 6

struct otp_template {
	char *usage;                               /* usageType */
	char *value[OTP_TEMPLATE_MAX_FIELDS];      /* parallel to the field spec; may be NULL */
};

struct otp_template_list {
	size_t count;
	struct otp_template *items;
	const struct otp_template_field *fields;   /* spec, NULL-name terminated */
};

/*
 * Parse `key` (a list of groups) from s according to fields (terminated by
 * an entry with name == NULL).  Errors go to s.  required: at least one
 * entry.  0/-1.
 */
int otp_template_list_parse(struct otp_settings *s, const char *key,
			    const struct otp_template_field *fields, bool required,
			    struct otp_template_list *out);
void otp_template_list_free(struct otp_template_list *l);
/* Exact usage type, then "Generic"; NULL if neither exists. */
const struct otp_template *otp_template_find(const struct otp_template_list *l,
					     const char *usage);
/* Value of a named field in a found template (NULL if unset). */
const char *otp_template_get(const struct otp_template_list *l,
			     const struct otp_template *t, const char *field);

/*
 * What `otp-smsctl check` shows for a connector whose text is rendered
 * here: the template for usage (exact, then Generic), field `field`,
 * rendered with esc.  NULL if there is no such template.
 */
char *otp_template_preview(const struct otp_template_list *l, const char *usage, const char *field,
			   const struct otp_template_vars *vars, enum otp_escape esc);

/* Clean a value for display/logging: no control chars, valid UTF-8, capped. */
void otp_sanitize_value(const char *in, char *out, size_t outlen);

#endif
