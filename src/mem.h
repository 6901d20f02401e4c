/*
 * mem.h - wiping secrets.  Everything that held a code, a token or a
 * password goes through these before it is freed.
 */
#ifndef OTP_MEM_H
#define OTP_MEM_H

#include <stddef.h>

/* Overwrite n bytes so that the compiler cannot elide it. */
void otp_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string in place (NULL is fine). */
void otp_wipe_str(char *s);
/* Wipe then free a string; NULL is fine. */
void otp_free_secret(char *s);
/* strdup that returns NULL for NULL input. */
char *otp_strdup(const char *s);
/* Wipe a buffer of known size, then free it. */
void otp_free_wiped(void *p, size_t n);

#endif
