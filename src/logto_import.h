/*
 * logto_import.h - turn a Logto connector config JSON into our libconfig
 * block.  Our settings use Logto's own field names, so the conversion is
 * structural: objects become groups, arrays of objects become lists,
 * scalars stay scalars.  Each connector names the keys it accepts so an
 * unknown key is reported instead of copied.
 */
#ifndef OTP_LOGTO_IMPORT_H
#define OTP_LOGTO_IMPORT_H

#include <stdio.h>
#include <stddef.h>

struct json_object;

/*
 * Print "<id> = { ... };" for obj.  allowed: NULL-terminated list of
 * top-level keys accepted (NULL: any).  Returns 0, or -1 with why filled.
 */
int otp_logto_print_block(FILE *out, const char *id, struct json_object *obj,
			  const char *const *allowed, char *why, size_t whylen);
/* Print one libconfig string literal with escaping. */
void otp_logto_print_string(FILE *out, const char *s);

#endif
