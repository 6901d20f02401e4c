/* template.c - single-pass template rendering and Logto-style template lists. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "template.h"
#include "mem.h"

#define VALUE_MAX 128

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (p[0] == 0xed && p[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xf0 && p[1] < 0x90)
			return 0;
		if (p[0] == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

void
otp_sanitize_value(const char *in, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t o = 0;

	if (outlen == 0)
		return;
	while (*p && o + 1 < outlen) {
		size_t n = utf8_len(p);
		if (n == 0) {
			out[o++] = '?';
			p++;
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			out[o++] = ' ';
			p++;
			continue;
		}
		/* C1 controls U+0080..U+009F arrive as C2 80..C2 9F. */
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			out[o++] = ' ';
			p += 2;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

static int
append_value(struct otp_buf *out, const char *v, enum otp_escape esc)
{
	char clean[VALUE_MAX * 4 + 1];
	int rc = 0;

	otp_sanitize_value(v, clean, sizeof(clean));
	if (esc == OTP_ESCAPE_HTML) {
		for (const char *p = clean; *p && rc == 0; p++) {
			switch (*p) {
			case '<': rc = otp_buf_puts(out, "&lt;"); break;
			case '>': rc = otp_buf_puts(out, "&gt;"); break;
			case '&': rc = otp_buf_puts(out, "&amp;"); break;
			case '"': rc = otp_buf_puts(out, "&quot;"); break;
			case '\'': rc = otp_buf_puts(out, "&#39;"); break;
			default: rc = otp_buf_append(out, p, 1); break;
			}
		}
	} else {
		/* TEXT and HEADER: sanitising already turned CR/LF/TAB into spaces. */
		rc = otp_buf_puts(out, clean);
	}
	otp_wipe(clean, sizeof(clean));
	return rc;
}

/* Parse "{{ name }}" at p; on success set name span and return total length. */
static size_t
placeholder_at(const char *p, const char **name, size_t *namelen)
{
	const char *q;

	if (strncmp(p, "{{", 2) == 0) {
		q = p + 2;
		while (*q == ' ')
			q++;
		*name = q;
		while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		       (*q >= '0' && *q <= '9') || *q == '_' || *q == '.')
			q++;
		*namelen = (size_t)(q - *name);
		while (*q == ' ')
			q++;
		if (*namelen == 0 || strncmp(q, "}}", 2) != 0)
			return 0;
		return (size_t)(q + 2 - p);
	}
	if (strncmp(p, "@@password@@", 12) == 0) {
		*name = "code";
		*namelen = 4;
		return 12;
	}
	return 0;
}

static bool
name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncmp(name, want, len) == 0;
}

/* Resolve a placeholder; returns 1 found (value in *v or ttl), 0 unknown. */
static int
lookup(const char *name, size_t len, const struct otp_template_vars *vars,
       const char **v, char *numbuf, size_t numlen)
{
	if (name_is(name, len, "code"))
		*v = vars ? vars->code : "";
	else if (name_is(name, len, "user"))
		*v = vars ? vars->user : "";
	else if (name_is(name, len, "host"))
		*v = vars ? vars->host : "";
	else if (name_is(name, len, "service"))
		*v = vars ? vars->service : "";
	else if (name_is(name, len, "rhost"))
		*v = vars ? vars->rhost : "";
	else if (name_is(name, len, "ttl_minutes")) {
		snprintf(numbuf, numlen, "%ld", vars ? vars->ttl_minutes : 0L);
		*v = numbuf;
	} else
		return 0;
	if (*v == NULL)
		*v = "";
	return 1;
}

int
otp_template_render(const char *tpl, const struct otp_template_vars *vars,
		    enum otp_escape esc, struct otp_buf *out)
{
	const char *p = tpl;
	char num[32];

	while (*p) {
		const char *name, *v;
		size_t namelen, n = placeholder_at(p, &name, &namelen);
		if (n > 0) {
			if (!lookup(name, namelen, vars, &v, num, sizeof(num)))
				return -1;
			if (append_value(out, v, esc) != 0)
				return -1;
			p += n;
			continue;
		}
		if (esc == OTP_ESCAPE_HEADER && (*p == '\r' || *p == '\n')) {
			if (otp_buf_append(out, " ", 1) != 0)
				return -1;
		} else if (otp_buf_append(out, p, 1) != 0)
			return -1;
		p++;
		if (out->len > OTP_TEMPLATE_MAX_OUTPUT)
			return -1;
	}
	return out->len > OTP_TEMPLATE_MAX_OUTPUT ? -1 : 0;
}

char *
otp_template_render_str(const char *tpl, const struct otp_template_vars *vars,
			enum otp_escape esc)
{
	struct otp_buf b;

	otp_buf_init(&b, OTP_TEMPLATE_MAX_OUTPUT + 1);
	if (otp_template_render(tpl, vars, esc, &b) != 0) {
		otp_buf_free(&b);
		return NULL;
	}
	return otp_buf_steal(&b);
}

const char *
otp_template_check(const char *tpl, bool need_code, char *why, size_t whylen)
{
	bool has_code = false;

	for (const char *p = tpl; *p; p++) {
		const char *name, *v;
		char num[32];
		size_t namelen, n = placeholder_at(p, &name, &namelen);
		if (n == 0) {
			if (strncmp(p, "{{", 2) == 0) {
				snprintf(why, whylen, "malformed placeholder near \"%.12s\"", p);
				return why;
			}
			continue;
		}
		if (!lookup(name, namelen, NULL, &v, num, sizeof(num))) {
			snprintf(why, whylen,
				 "unknown placeholder {{%.*s}} (known: code, user, host, service, rhost, ttl_minutes)",
				 (int)(namelen > 40 ? 40 : namelen), name);
			return why;
		}
		if (name_is(name, namelen, "code"))
			has_code = true;
		p += n - 1;
	}
	if (need_code && !has_code) {
		snprintf(why, whylen, "template must contain {{code}}");
		return why;
	}
	return NULL;
}

/* No C0 control or DEL; multi-line fields may hold CR, LF and TAB. */
static bool
control_free(const char *v, bool multiline)
{
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if ((*c < 0x20 || *c == 0x7f) &&
		    !(multiline && (*c == '\n' || *c == '\r' || *c == '\t')))
			return false;
	return true;
}

static int
field_index(const struct otp_template_field *fields, const char *name)
{
	for (int i = 0; fields[i].name != NULL; i++)
		if (strcmp(fields[i].name, name) == 0)
			return i;
	return -1;
}

int
otp_template_list_parse(struct otp_settings *s, const char *key,
			const struct otp_template_field *fields, bool required,
			struct otp_template_list *out)
{
	config_setting_t *n = otp_settings_node(s, key);
	int count, bad = 0;

	memset(out, 0, sizeof(*out));
	out->fields = fields;
	if (n == NULL) {
		if (required) {
			otp_settings_fail(s, key, "required template list is missing");
			return -1;
		}
		return 0;
	}
	if (!config_setting_is_list(n) && !config_setting_is_array(n)) {
		otp_settings_fail(s, key, "must be a list ( { usageType = \"...\"; ... }, ... )");
		return -1;
	}
	count = config_setting_length(n);
	if (count == 0 && required) {
		otp_settings_fail(s, key, "needs at least one template");
		return -1;
	}
	out->items = calloc((size_t)count + 1, sizeof(*out->items));
	if (out->items == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		config_setting_t *e = config_setting_get_elem(n, (unsigned)i);
		struct otp_settings es;
		struct otp_template *t = &out->items[out->count++];
		if (!config_setting_is_group(e)) {
			otp_settings_fail(s, key, "template %d must be a group { ... }", i + 1);
			bad = 1;
			continue;
		}
		otp_settings_open(&es, e, s->errs);
		if (otp_settings_string(&es, "usageType", true, NULL, &t->usage) != 0) {
			bad = 1;
			continue;
		}
		for (int f = 0; fields[f].name != NULL && f < OTP_TEMPLATE_MAX_FIELDS; f++) {
			config_setting_t *fn = otp_settings_node(&es, fields[f].name);
			const char *v;
			char why[160];
			if (fn == NULL) {
				if (fields[f].required) {
					otp_settings_fail(&es, fields[f].name, "required in template \"%s\"", t->usage);
					bad = 1;
				}
				continue;
			}
			if (config_setting_type(fn) != CONFIG_TYPE_STRING ||
			    (v = config_setting_get_string(fn)) == NULL || v[0] == '\0') {
				otp_settings_fail(&es, fields[f].name, "must be a non-empty string");
				bad = 1;
				continue;
			}
			if (!fields[f].multiline && strpbrk(v, "\r\n") != NULL) {
				otp_settings_fail(&es, fields[f].name, "must be a single line");
				bad = 1;
				continue;
			}
			/* Like every other string setting: no control characters
			 * (line breaks and tabs only in multi-line fields). */
			if (!control_free(v, fields[f].multiline)) {
				otp_settings_fail(&es, fields[f].name, "contains a control character");
				bad = 1;
				continue;
			}
			if (fields[f].is_template &&
			    otp_template_check(v, fields[f].needs_code, why, sizeof(why)) != NULL) {
				otp_settings_fail(&es, fields[f].name, "%s", why);
				bad = 1;
				continue;
			}
			if ((t->value[f] = strdup(v)) == NULL)
				return -1;
		}
		if (otp_settings_finish(&es) != 0)
			bad = 1;
		for (size_t j = 0; j + 1 < out->count; j++)
			if (out->items[j].usage && strcmp(out->items[j].usage, t->usage) == 0) {
				otp_settings_fail(&es, "usageType", "duplicate template for \"%s\"", t->usage);
				bad = 1;
			}
	}
	return bad ? -1 : 0;
}

void
otp_template_list_free(struct otp_template_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].usage);
		for (int f = 0; f < OTP_TEMPLATE_MAX_FIELDS; f++)
			free(l->items[i].value[f]);
	}
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

const struct otp_template *
otp_template_find(const struct otp_template_list *l, const char *usage)
{
	for (size_t i = 0; usage && i < l->count; i++)
		if (l->items[i].usage && strcmp(l->items[i].usage, usage) == 0)
			return &l->items[i];
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].usage && strcmp(l->items[i].usage, "Generic") == 0)
			return &l->items[i];
	return NULL;
}

const char *
otp_template_get(const struct otp_template_list *l, const struct otp_template *t,
		 const char *field)
{
	int i;

	if (t == NULL || l->fields == NULL)
		return NULL;
	i = field_index(l->fields, field);
	return i < 0 ? NULL : t->value[i];
}

char *
otp_template_preview(const struct otp_template_list *l, const char *usage, const char *field,
		     const struct otp_template_vars *vars, enum otp_escape esc)
{
	const struct otp_template *t = otp_template_find(l, usage);
	const char *text = otp_template_get(l, t, field);

	return text == NULL ? NULL : otp_template_render_str(text, vars, esc);
}
