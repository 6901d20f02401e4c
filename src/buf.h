/*
 * buf.h - a bounded, growable byte buffer that wipes old copies when it
 * grows and when it is freed (curl's dynbuf with sshbuf's recallocarray
 * habit).  Used for request bodies, provider responses and MIME messages,
 * all of which may carry a code or a credential.
 */
#ifndef OTP_BUF_H
#define OTP_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct otp_buf {
	char *data;     /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;     /* hard limit on len; appends past it fail */
};

#define OTP_BUF_DEFAULT_MAX (1024 * 1024)

void otp_buf_init(struct otp_buf *b, size_t max);
/* Append; return 0, or -1 on allocation failure or when max would be passed. */
int otp_buf_append(struct otp_buf *b, const void *p, size_t n);
int otp_buf_puts(struct otp_buf *b, const char *s);
int otp_buf_printf(struct otp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int otp_buf_vprintf(struct otp_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Hand the string over to the caller (who must free/wipe it); the buffer is reset. */
char *otp_buf_steal(struct otp_buf *b);
/* Wipe and free; the buffer can be reused after otp_buf_init. */
void otp_buf_free(struct otp_buf *b);
/* Forget contents (wiped) but keep the allocation. */
void otp_buf_reset(struct otp_buf *b);

#endif
