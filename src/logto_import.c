/* logto_import.c - Logto connector JSON -> libconfig text. */
#include "config.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "logto_import.h"

void
otp_logto_print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static int print_value(FILE *out, struct json_object *v, int indent, char *why, size_t whylen);

static bool
valid_name(const char *k)
{
	/* libconfig setting names: [A-Za-z*][-A-Za-z0-9_*]* */
	if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '*'))
		return false;
	for (const char *p = k + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '*'))
			return false;
	return true;
}

static int
print_group(FILE *out, struct json_object *obj, int indent, const char *const *allowed,
	    char *why, size_t whylen)
{
	fputs("{\n", out);
	json_object_object_foreach(obj, k, v) {
		if (json_object_is_type(v, json_type_null))
			continue;
		if (allowed != NULL) {
			bool ok = false;
			for (int i = 0; allowed[i]; i++)
				if (strcmp(allowed[i], k) == 0)
					ok = true;
			if (!ok) {
				snprintf(why, whylen, "unsupported key \"%s\"", k);
				return -1;
			}
		}
		if (!valid_name(k)) {
			snprintf(why, whylen, "key \"%.60s\" is not a valid setting name", k);
			return -1;
		}
		fprintf(out, "%*s%s = ", indent + 2, "", k);
		if (print_value(out, v, indent + 2, why, whylen) != 0)
			return -1;
		fputs(";\n", out);
	}
	fprintf(out, "%*s}", indent, "");
	return 0;
}

static int
print_value(FILE *out, struct json_object *v, int indent, char *why, size_t whylen)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		otp_logto_print_string(out, json_object_get_string(v));
		return 0;
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "true" : "false", out);
		return 0;
	case json_type_int:
		fprintf(out, "%lld", (long long)json_object_get_int64(v));
		return 0;
	case json_type_double:
		fprintf(out, "%g", json_object_get_double(v));
		return 0;
	case json_type_object:
		return print_group(out, v, indent, NULL, why, whylen);
	case json_type_array: {
		size_t n = json_object_array_length(v);
		bool groups = n > 0 && json_object_is_type(json_object_array_get_idx(v, 0), json_type_object);
		fputs(groups ? "(\n" : "[ ", out);
		for (size_t i = 0; i < n; i++) {
			if (groups)
				fprintf(out, "%*s", indent + 2, "");
			if (print_value(out, json_object_array_get_idx(v, i), indent + 2, why, whylen) != 0)
				return -1;
			if (i + 1 < n)
				fputs(groups ? ",\n" : ", ", out);
		}
		if (groups)
			fprintf(out, "\n%*s)", indent, "");
		else
			fputs(" ]", out);
		return 0;
	}
	default:
		snprintf(why, whylen, "null or unsupported value");
		return -1;
	}
}

int
otp_logto_print_block(FILE *out, const char *id, struct json_object *obj,
		      const char *const *allowed, char *why, size_t whylen)
{
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "the Logto config must be a JSON object");
		return -1;
	}
	fprintf(out, "%s = ", id);
	if (print_group(out, obj, 0, allowed, why, whylen) != 0)
		return -1;
	fputs(";\n", out);
	return 0;
}
