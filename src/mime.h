/*
 * mime.h - building the RFC 5322 message the email connectors (smtp,
 * sendmail) deliver, and the settings they share.
 *
 * Everything here is pure (no I/O): addresses are checked to be plain
 * local@domain, every header value is refused if it holds CR, LF, NUL or
 * another control character, non-ASCII header text becomes RFC 2047
 * encoded-words (UTF-8, "B"), lines are folded to 78 characters, the body
 * is CRLF-normalised and sent quoted-printable or base64.  The message is
 * NOT dot-stuffed: libcurl escapes leading dots of an SMTP upload itself
 * (see otp_mime_dot_stuff for transports that do not).
 */
#ifndef OTP_MIME_H
#define OTP_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "settings.h"
#include "template.h"

struct otp_message;
struct otp_send_result;

#define OTP_MIME_MAX_ADDR 254          /* RFC 5321 path limit minus <> */
#define OTP_MIME_LINE_SOFT 78          /* RFC 5322 2.1.1 "SHOULD" */
#define OTP_MIME_WORD_MAX 75           /* RFC 2047 2: encoded-word length */
#define OTP_MIME_MAX_MESSAGE (256 * 1024)

/* A plain address: ASCII local@domain, dot-atom local part, LDH domain, no
 * leading '-', at most 254 characters.  Quoted local parts, comments,
 * domain literals and UTF-8 are refused. */
bool otp_mime_addr_valid(const char *addr);

/* A mailbox from the config: "addr" or "Display Name <addr>". */
struct otp_mailbox {
	char *name;     /* display name, UTF-8, or NULL */
	char *addr;     /* plain address */
};

/* Parse s into mb (strings are the caller's: otp_mime_mailbox_free).  0, or
 * -1 with a reason in why. */
int otp_mime_mailbox_parse(const char *s, struct otp_mailbox *mb, char *why, size_t whylen);
void otp_mime_mailbox_free(struct otp_mailbox *mb);

/* Can name be a custom header?  NULL if so, else a static reason (bad
 * characters, or a header this module sets itself such as To, Bcc,
 * Content-*, Resent-*). */
const char *otp_mime_header_name_check(const char *name);

/*
 * Append "Name: value\r\n" with value as unstructured text: printable ASCII
 * is folded at spaces; text with non-ASCII (or "=?", or a word too long to
 * fold) becomes encoded-words of at most 75 characters, never splitting a
 * UTF-8 character, with every line at most 78 characters.  value must be
 * valid UTF-8 without control characters.  0, or -1 (bad value, ENOMEM).
 */
int otp_mime_header_append(struct otp_buf *out, const char *name, const char *value);

/* Append "Name: mailbox\r\n" (display name quoted or encoded). */
int otp_mime_mailbox_header_append(struct otp_buf *out, const char *name,
				   const struct otp_mailbox *mb);

/* Append text with every CR, LF and CRLF turned into CRLF.  A NUL in the n
 * bytes is refused (-1). */
int otp_mime_crlf_append(struct otp_buf *out, const char *text, size_t n);
/* Quoted-printable (RFC 2045 6.7) of CRLF text: lines of at most 76
 * characters, trailing blanks and '=' encoded, CRLF kept as line breaks. */
int otp_mime_qp_append(struct otp_buf *out, const char *crlf_text, size_t n);
/* Base64 in lines of 76 characters, each ended by CRLF. */
int otp_mime_b64_lines_append(struct otp_buf *out, const void *p, size_t n);
/* SMTP transparency (RFC 5321 4.5.2): double a '.' at the start of each
 * line of CRLF text, including the first. */
int otp_mime_dot_stuff_append(struct otp_buf *out, const char *crlf_text, size_t n);
/* CRLF -> LF, for local submission through sendmail. */
int otp_mime_lf_append(struct otp_buf *out, const char *crlf_text, size_t n);
/* "Thu, 05 Mar 2026 12:34:56 +0000": RFC 5322 date in UTC, locale-free. */
void otp_mime_date(long long t, char out[40]);

struct otp_mime_header {
	char *name;
	char *value;
};

struct otp_mime_message {
	const struct otp_mailbox *from;
	const char *to;                        /* plain address (the destination) */
	const struct otp_mailbox *reply_to;    /* NULL or addr NULL: none */
	const char *subject;                   /* UTF-8, one line */
	const struct otp_mime_header *headers; /* custom, already name-checked */
	size_t nheaders;
	bool html;                             /* text/html, else text/plain */
	const char *body;                      /* UTF-8, any line endings */
	long long date;                        /* seconds since the epoch */
};

enum otp_mime_error {
	OTP_MIME_OK = 0,
	OTP_MIME_BAD_TO,       /* the destination is not a plain address */
	OTP_MIME_BAD_HEADER,   /* a configured or rendered header is unusable */
	OTP_MIME_BAD_BODY,     /* NUL in the body */
	OTP_MIME_TOO_LARGE,
	OTP_MIME_INTERNAL,     /* out of memory, no randomness */
};

/* Build the complete message (CRLF, not dot-stuffed) into out. */
enum otp_mime_error otp_mime_build(const struct otp_mime_message *m, struct otp_buf *out,
				   char *why, size_t whylen);

/*
 * What both email connectors read from their settings: fromEmail,
 * replyTo, customHeaders and the Logto template list (usageType,
 * contentType "text/plain"|"text/html", subject, content with {{code}}).
 */
struct otp_mail_config {
	struct otp_mailbox from;
	struct otp_mailbox reply_to;           /* addr NULL: none */
	struct otp_mime_header *headers;
	size_t nheaders;
	struct otp_template_list templates;
};

int otp_mail_config_parse(struct otp_settings *s, struct otp_mail_config *mc);
void otp_mail_config_free(struct otp_mail_config *mc);
/* Render the template for msg->usage and build the message into out.  0, or
 * -1 with res filled (destination for a bad recipient). */
int otp_mail_compose(const struct otp_mail_config *mc, const struct otp_message *msg,
		     long long now, struct otp_buf *out, struct otp_send_result *res);
/* "Subject: ...\n\n<body>" for otp-smsctl check; NULL if no template. */
char *otp_mail_preview(const struct otp_mail_config *mc, const char *usage,
		       const struct otp_template_vars *vars);

#endif
