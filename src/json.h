/*
 * json.h - small helpers over json-c for request bodies and provider
 * answers.  Building goes through json-c's encoder (RFC 8259 escaping), so
 * no value can break out of its string.  Objects that held a code are
 * released with otp_json_put_wiped().
 */
#ifndef OTP_JSON_H
#define OTP_JSON_H

#include <stdbool.h>
#include <json-c/json.h>
#include "buf.h"

/* A json-c string; invalid UTF-8 bytes become U+FFFD so that the output
 * is always valid JSON (valid text is kept exactly).  NULL on ENOMEM. */
struct json_object *otp_json_new_str(const char *s);
/* Add a string member (NULL value: member skipped).  0/-1.  Keys and
 * values go through the same UTF-8 repair as otp_json_new_str. */
int otp_json_add_str(struct json_object *obj, const char *key, const char *value);
int otp_json_add_int(struct json_object *obj, const char *key, long long value);
int otp_json_add_bool(struct json_object *obj, const char *key, bool value);
/* Add obj under key, taking ownership of child.  0/-1 (child released on failure). */
int otp_json_add_obj(struct json_object *obj, const char *key, struct json_object *child);
/* Serialise compactly into a new malloc'd string (wipe+free it after use). */
char *otp_json_serialize(struct json_object *obj);
/* Wipe every string inside obj, then release it.  NULL is fine. */
void otp_json_put_wiped(struct json_object *obj);
/* Parse a provider answer (bounded by the HTTP cap); NULL if not JSON. */
struct json_object *otp_json_parse(const char *text, size_t len);
/* Member lookup by dotted path ("Response.Error.Code"); NULL if missing. */
struct json_object *otp_json_path(struct json_object *obj, const char *path);
/* String value at path (numbers are formatted), or NULL. */
const char *otp_json_path_str(struct json_object *obj, const char *path);

#endif
