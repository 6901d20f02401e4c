/* json.c - json-c helpers: build, serialise, wipe, parse, path lookup. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "mem.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 (RFC 3629). */
static size_t
utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80 ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * json-c copies string bytes as they are, so invalid UTF-8 in one value
 * (a template or setting from the config) would make the whole body
 * invalid JSON (RFC 8259 8.1).  Valid text is kept exactly; each byte that
 * does not start a valid sequence becomes U+FFFD.  Returns a new string
 * (wipe+free) or NULL when s is valid as it is (or on ENOMEM: *nomem).
 */
static char *
utf8_repair(const char *s, bool *nomem)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0, n, o = 0;
	char *r;

	*nomem = false;
	for (const unsigned char *q = p; *q; q += n ? n : 1) {
		n = utf8_len(q);
		bad += n == 0;
	}
	if (bad == 0)
		return NULL;
	r = malloc(strlen(s) + 2 * bad + 1);
	if (r == NULL) {
		*nomem = true;
		return NULL;
	}
	for (; *p; p += n ? n : 1) {
		n = utf8_len(p);
		if (n == 0) {
			memcpy(r + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(r + o, p, n);
			o += n;
		}
	}
	r[o] = '\0';
	return r;
}

struct json_object *
otp_json_new_str(const char *s)
{
	struct json_object *v;
	bool nomem;
	char *fixed = utf8_repair(s, &nomem);

	if (nomem)
		return NULL;
	v = json_object_new_string(fixed ? fixed : s);
	otp_free_secret(fixed);
	return v;
}

int
otp_json_add_str(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *v;

	if (value == NULL)
		return 0;
	v = otp_json_new_str(value);
	if (v == NULL)
		return -1;
	return otp_json_add_obj(obj, key, v);
}

int
otp_json_add_int(struct json_object *obj, const char *key, long long value)
{
	struct json_object *v = json_object_new_int64(value);

	return v == NULL ? -1 : otp_json_add_obj(obj, key, v);
}

int
otp_json_add_bool(struct json_object *obj, const char *key, bool value)
{
	struct json_object *v = json_object_new_boolean(value);

	return v == NULL ? -1 : otp_json_add_obj(obj, key, v);
}

int
otp_json_add_obj(struct json_object *obj, const char *key, struct json_object *child)
{
	char *fixed;
	bool nomem;
	int rc;

	if (child == NULL)
		return -1;
	fixed = utf8_repair(key, &nomem);
	rc = nomem ? -1 : json_object_object_add(obj, fixed ? fixed : key, child);
	free(fixed);
	if (rc != 0) {
		otp_json_put_wiped(child);
		return -1;
	}
	return 0;
}

char *
otp_json_serialize(struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *copy;

	if (s == NULL)
		return NULL;
	copy = strdup(s);
	/* json-c keeps the serialised text inside obj; wipe it there too. */
	otp_wipe_str((char *)s);
	return copy;
}

static void
wipe_tree(struct json_object *obj, int depth)
{
	if (obj == NULL || depth > 32)
		return;
	switch (json_object_get_type(obj)) {
	case json_type_string:
		otp_wipe((char *)json_object_get_string(obj), (size_t)json_object_get_string_len(obj));
		break;
	case json_type_object: {
		json_object_object_foreach(obj, k, v) {
			(void)k;
			wipe_tree(v, depth + 1);
		}
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(obj); i++)
			wipe_tree(json_object_array_get_idx(obj, i), depth + 1);
		break;
	default:
		break;
	}
}

void
otp_json_put_wiped(struct json_object *obj)
{
	if (obj == NULL)
		return;
	wipe_tree(obj, 0);
	json_object_put(obj);
}

struct json_object *
otp_json_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;

	if (text == NULL || len == 0 || len > 1024 * 1024)
		return NULL;
	tok = json_tokener_new_ex(32);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

struct json_object *
otp_json_path(struct json_object *obj, const char *path)
{
	char part[128];
	const char *p = path;

	while (obj != NULL && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		struct json_object *next = NULL;
		if (n >= sizeof(part) || !json_object_is_type(obj, json_type_object))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(obj, part, &next))
			return NULL;
		obj = next;
		p += n;
		if (*p == '.')
			p++;
	}
	return obj;
}

const char *
otp_json_path_str(struct json_object *obj, const char *path)
{
	struct json_object *v = otp_json_path(obj, path);

	if (v == NULL || json_object_is_type(v, json_type_null) ||
	    json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	return json_object_get_string(v);
}
