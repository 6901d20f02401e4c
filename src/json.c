/* json.c - json-c helpers: build, serialise, wipe, parse, path lookup. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "mem.h"

int
otp_json_add_str(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *v;

	if (value == NULL)
		return 0;
	v = json_object_new_string(value);
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
	if (child == NULL)
		return -1;
	if (json_object_object_add(obj, key, child) != 0) {
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
