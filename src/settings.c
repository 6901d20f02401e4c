/* settings.c - checked libconfig reader with file:line:key errors. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include "settings.h"

static void
settings_path(config_setting_t *node, char *out, size_t outlen)
{
	char parts[16][72];
	int n = 0;
	size_t len = 0;

	out[0] = '\0';
	for (config_setting_t *p = node; p != NULL && n < 16; p = config_setting_parent(p)) {
		const char *name = config_setting_name(p);
		if (name != NULL)
			snprintf(parts[n++], sizeof(parts[0]), "%s", name);
		else if (config_setting_parent(p) != NULL)
			/* An element of a list: templates.[2].content */
			snprintf(parts[n++], sizeof(parts[0]), "[%d]", config_setting_index(p) + 1);
		else
			break; /* the root */
	}
	for (int i = n - 1; i >= 0; i--) {
		int w = snprintf(out + len, outlen - len, "%s%s", len ? "." : "", parts[i]);
		if (w < 0 || (size_t)w >= outlen - len)
			break;
		len += (size_t)w;
	}
}

static void
record(struct otp_settings *s, bool warning, const char *key, const char *fmt, va_list ap)
{
	struct otp_config_errors *e = s->errs;
	char path[256], what[256];
	config_setting_t *node = NULL;
	int line = s->line;
	char *slot;

	if (warning ? e->warnings >= OTP_SETTINGS_MAX_ERRORS : e->count >= OTP_SETTINGS_MAX_ERRORS) {
		if (!warning)
			e->count = OTP_SETTINGS_MAX_ERRORS; /* still an error */
		return;
	}
	if (s->group != NULL && key != NULL)
		node = config_setting_get_member(s->group, key);
	if (node != NULL && config_setting_source_line(node) > 0)
		line = config_setting_source_line(node);
	path[0] = '\0';
	if (s->group != NULL)
		settings_path(s->group, path, sizeof(path));
	vsnprintf(what, sizeof(what), fmt, ap);
	slot = warning ? e->warning[e->warnings++] : e->msg[e->count++];
	snprintf(slot, 384, "%s:%d: key '%s%s%s': %s", e->file ? e->file : "config", line,
		 path, (path[0] && key) ? "." : "", key ? key : "", what);
}

void
otp_settings_fail(struct otp_settings *s, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(s, false, key, fmt, ap);
	va_end(ap);
}

void
otp_settings_warn(struct otp_settings *s, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(s, true, key, fmt, ap);
	va_end(ap);
}

void
otp_settings_open(struct otp_settings *s, config_setting_t *group,
		  struct otp_config_errors *errs)
{
	memset(s, 0, sizeof(*s));
	s->group = group;
	s->errs = errs;
	s->line = group ? config_setting_source_line(group) : 0;
}

static void
mark_used(struct otp_settings *s, const char *key)
{
	for (unsigned i = 0; i < s->nused; i++)
		if (strcmp(s->used[i], key) == 0)
			return;
	if (s->nused < OTP_SETTINGS_MAX_KEYS)
		s->used[s->nused++] = key;
}

config_setting_t *
otp_settings_node(struct otp_settings *s, const char *key)
{
	mark_used(s, key);
	if (s->group == NULL)
		return NULL;
	return config_setting_get_member(s->group, key);
}

bool
otp_settings_has(struct otp_settings *s, const char *key)
{
	return otp_settings_node(s, key) != NULL;
}

bool
otp_settings_failed(const struct otp_settings *s)
{
	return s->errs->count > 0;
}

int
otp_settings_group(struct otp_settings *s, const char *key, bool required,
		   struct otp_settings *child)
{
	config_setting_t *n = otp_settings_node(s, key);

	otp_settings_open(child, NULL, s->errs);
	child->line = s->line;
	if (n == NULL) {
		if (required) {
			otp_settings_fail(s, key, "required group is missing");
			return -1;
		}
		return 0;
	}
	if (!config_setting_is_group(n)) {
		otp_settings_fail(s, key, "must be a group { ... }");
		return -1;
	}
	otp_settings_open(child, n, s->errs);
	return 0;
}

static int
get_string(struct otp_settings *s, const char *key, bool required, const char *dflt,
	   char **out, bool secret)
{
	config_setting_t *n = otp_settings_node(s, key);
	const char *v;

	*out = NULL;
	if (n == NULL) {
		if (required) {
			otp_settings_fail(s, key, "required setting is missing");
			return -1;
		}
		if (dflt != NULL && (*out = strdup(dflt)) == NULL)
			return -1;
		return 0;
	}
	if (config_setting_type(n) != CONFIG_TYPE_STRING) {
		otp_settings_fail(s, key, "must be a string");
		return -1;
	}
	v = config_setting_get_string(n);
	if (v == NULL || (required && v[0] == '\0')) {
		otp_settings_fail(s, key, "must not be empty");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			if (secret)
				otp_settings_fail(s, key, "contains a control character");
			else
				otp_settings_fail(s, key, "contains a control character (use \\n only where a template allows it)");
			return -1;
		}
	}
	if ((*out = strdup(v)) == NULL)
		return -1;
	return 0;
}

int
otp_settings_string(struct otp_settings *s, const char *key, bool required,
		    const char *dflt, char **out)
{
	return get_string(s, key, required, dflt, out, false);
}

int
otp_settings_secret(struct otp_settings *s, const char *key, bool required, char **out)
{
	return get_string(s, key, required, NULL, out, true);
}

int
otp_settings_choice(struct otp_settings *s, const char *key, const char *dflt,
		    const char *const choices[], char **out)
{
	char list[256];
	size_t len = 0;

	if (get_string(s, key, false, dflt, out, false) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(*out, choices[i]) == 0)
			return 0;
	list[0] = '\0';
	for (int i = 0; choices[i] != NULL && len < sizeof(list); i++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i ? ", " : "", choices[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	otp_settings_fail(s, key, "must be one of %s", list);
	free(*out);
	*out = NULL;
	return -1;
}

int
otp_settings_int(struct otp_settings *s, const char *key, long dflt, long min, long max,
		 long *out)
{
	config_setting_t *n = otp_settings_node(s, key);
	long long v;

	*out = dflt;
	if (n == NULL)
		return 0;
	if (config_setting_type(n) == CONFIG_TYPE_INT)
		v = config_setting_get_int(n);
	else if (config_setting_type(n) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(n);
	else {
		otp_settings_fail(s, key, "must be an integer");
		return -1;
	}
	if (v < min || v > max) {
		otp_settings_fail(s, key, "%lld is out of range [%ld, %ld]", v, min, max);
		return -1;
	}
	*out = (long)v;
	return 0;
}

int
otp_settings_bool(struct otp_settings *s, const char *key, bool dflt, bool *out)
{
	config_setting_t *n = otp_settings_node(s, key);

	*out = dflt;
	if (n == NULL)
		return 0;
	if (config_setting_type(n) != CONFIG_TYPE_BOOL) {
		otp_settings_fail(s, key, "must be true or false");
		return -1;
	}
	*out = config_setting_get_bool(n) != 0;
	return 0;
}

void
otp_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t
otp_strv_len(char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

int
otp_settings_strv(struct otp_settings *s, const char *key, char ***out)
{
	config_setting_t *n = otp_settings_node(s, key);
	int count;

	*out = calloc(1, sizeof(char *));
	if (*out == NULL)
		return -1;
	if (n == NULL)
		return 0;
	if (!config_setting_is_aggregate(n) || config_setting_is_group(n)) {
		otp_settings_fail(s, key, "must be a list of strings [ \"...\", ... ]");
		return -1;
	}
	count = config_setting_length(n);
	free(*out);
	*out = calloc((size_t)count + 1, sizeof(char *));
	if (*out == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		config_setting_t *e = config_setting_get_elem(n, (unsigned)i);
		const char *v;
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    (v = config_setting_get_string(e)) == NULL || v[0] == '\0') {
			otp_settings_fail(s, key, "element %d must be a non-empty string", i + 1);
			return -1;
		}
		if (((*out)[i] = strdup(v)) == NULL)
			return -1;
	}
	return 0;
}

bool
otp_url_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	bool loop = false;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		struct in_addr a4;
		if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
			loop = true;
		else if (inet_pton(AF_INET, host, &a4) == 1)
			loop = (ntohl(a4.s_addr) >> 24) == 127;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return loop;
}

const char *
otp_url_check(const char *url, bool allow_plain_http_loopback)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *part = NULL;
	const char *why = NULL;

	if (u == NULL)
		return "out of memory";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f) {
			why = "contains a space or control character";
			goto out;
		}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		why = "is not a valid absolute URL";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		why = "has no scheme";
		goto out;
	}
	/* libcurl also takes "https:/host" and "https:host": accept only the
	 * form everyone reads the same way. */
	if (strncasecmp(url, scheme, strlen(scheme)) != 0 || strncmp(url + strlen(scheme), "://", 3) != 0) {
		why = "must start with scheme:// (e.g. https://)";
		goto out;
	}
	if (strcasecmp(scheme, "https") != 0) {
		if (strcasecmp(scheme, "http") != 0) {
			why = "must use https://";
			goto out;
		}
		if (!allow_plain_http_loopback || !otp_url_is_loopback(url)) {
			why = "must use https:// (plain http:// is accepted only for loopback)";
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		why = "must not carry credentials (user:password@)";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		why = "must not have a #fragment";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK) {
		why = "must not have a ?query (secrets in URLs end up in logs)";
		goto out;
	}
out:
	curl_free(scheme);
	curl_free(part);
	curl_url_cleanup(u);
	return why;
}

int
otp_settings_endpoint(struct otp_settings *s, const char *key, const char *dflt, char **out)
{
	const char *why;
	size_t len;

	if (otp_settings_string(s, key, dflt == NULL, dflt, out) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	why = otp_url_check(*out, true);
	if (why != NULL) {
		otp_settings_fail(s, key, "URL %s", why);
		free(*out);
		*out = NULL;
		return -1;
	}
	len = strlen(*out);
	while (len > 0 && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
	return 0;
}

int
otp_settings_finish(struct otp_settings *s)
{
	int bad = 0;

	if (s->group == NULL)
		return 0;
	for (int i = 0; i < config_setting_length(s->group); i++) {
		config_setting_t *e = config_setting_get_elem(s->group, (unsigned)i);
		const char *name = config_setting_name(e);
		bool known = false;
		for (unsigned k = 0; k < s->nused && name; k++)
			if (strcmp(s->used[k], name) == 0)
				known = true;
		if (!known) {
			otp_settings_fail(s, name, "unknown setting");
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}
