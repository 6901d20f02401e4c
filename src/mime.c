/* mime.c - RFC 5322/2045/2047 message building for the email connectors. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "mime.h"
#include "crypto.h"
#include "mem.h"
#include "connectors/connector.h"

/* Hard limit of RFC 5322 2.1.1 (998 + CRLF); custom headers may use it. */
#define LINE_HARD 998

/* ------------------------------------------------------------------ */
/* Characters, UTF-8                                                   */

static bool
is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static bool
is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t
utf8_seq(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Header text check: valid UTF-8, no C0 control (so no CR, LF, TAB), no
 * DEL, no C1 control.  Returns NULL if fine, else a reason.
 */
static const char *
header_text_check(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);
		if (n == 0)
			return "is not valid UTF-8";
		if (*p == '\r' || *p == '\n')
			return "contains CR or LF";
		if (n == 1 && (*p < 0x20 || *p == 0x7f))
			return "contains a control character";
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return "contains a control character";
		p += n;
	}
	return NULL;
}

static bool
all_printable_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

static bool
domain_valid(const char *d, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && d[n - 1] != '-';
}

bool
otp_mime_addr_valid(const char *addr)
{
	const char *at;
	size_t len, local;

	if (addr == NULL)
		return false;
	len = strlen(addr);
	if (len < 3 || len > OTP_MIME_MAX_ADDR)
		return false;
	at = strrchr(addr, '@');
	if (at == NULL)
		return false;
	local = (size_t)(at - addr);
	/* A leading '-' could be read as an option by a local MTA. */
	if (local == 0 || local > 64 || addr[0] == '-' || addr[0] == '.' || addr[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c == '.') {
			if (addr[i + 1] == '.')
				return false;
			continue;
		}
		if (!is_atext(c))
			return false;
	}
	return domain_valid(at + 1, len - local - 1);
}

void
otp_mime_mailbox_free(struct otp_mailbox *mb)
{
	free(mb->name);
	free(mb->addr);
	mb->name = NULL;
	mb->addr = NULL;
}

static char *
dup_trimmed(const char *s, size_t n)
{
	char *r;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	r = malloc(n + 1);
	if (r != NULL) {
		memcpy(r, s, n);
		r[n] = '\0';
	}
	return r;
}

int
otp_mime_mailbox_parse(const char *s, struct otp_mailbox *mb, char *why, size_t whylen)
{
	const char *lt, *reason;
	size_t n;

	mb->name = NULL;
	mb->addr = NULL;
	if (s == NULL) {
		snprintf(why, whylen, "is missing");
		return -1;
	}
	if ((reason = header_text_check(s)) != NULL) {
		snprintf(why, whylen, "%s", reason);
		return -1;
	}
	n = strlen(s);
	lt = strchr(s, '<');
	if (lt != NULL) {
		const char *gt = strchr(lt, '>');
		if (gt == NULL || gt[1] != '\0' || strchr(lt + 1, '<') != NULL) {
			snprintf(why, whylen, "must be \"address\" or \"Name <address>\"");
			return -1;
		}
		mb->addr = dup_trimmed(lt + 1, (size_t)(gt - lt - 1));
		mb->name = dup_trimmed(s, (size_t)(lt - s));
		if (mb->addr == NULL || mb->name == NULL)
			goto nomem;
		/* "Name" in quotes: drop the quotes, undo \" and \\. */
		n = strlen(mb->name);
		if (n >= 2 && mb->name[0] == '"' && mb->name[n - 1] == '"') {
			size_t o = 0;
			for (size_t i = 1; i + 1 < n; i++) {
				if (mb->name[i] == '\\' && i + 2 < n)
					i++;
				mb->name[o++] = mb->name[i];
			}
			mb->name[o] = '\0';
		}
		if (mb->name[0] == '\0') {
			free(mb->name);
			mb->name = NULL;
		}
	} else if ((mb->addr = dup_trimmed(s, n)) == NULL)
		goto nomem;
	if (!otp_mime_addr_valid(mb->addr)) {
		snprintf(why, whylen, "is not a plain local@domain address (ASCII, no quotes, comments or spaces)");
		otp_mime_mailbox_free(mb);
		return -1;
	}
	return 0;
nomem:
	otp_mime_mailbox_free(mb);
	snprintf(why, whylen, "out of memory");
	return -1;
}

/* RFC 5322 field-name: printable ASCII except ':', here at most 76. */
static bool
name_syntax_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > 76)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	return true;
}

const char *
otp_mime_header_name_check(const char *name)
{
	/* Headers this module writes itself, and those that add recipients
	 * (sendmail -t reads To/Cc/Bcc and Resent-*) or change the MIME
	 * structure. */
	static const char *const reserved[] = {
		"Date", "From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject",
		"Message-ID", "MIME-Version", "Return-Path", "Received",
		"Apparently-To", "In-Reply-To", "References", NULL,
	};
	if (!name_syntax_ok(name))
		return "a header name must be 1 to 76 printable ASCII characters without ':'";
	for (int i = 0; reserved[i] != NULL; i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return "this header is set by the module and cannot be overridden";
	if (strncasecmp(name, "Content-", 8) == 0 || strncasecmp(name, "Resent-", 7) == 0)
		return "Content-* and Resent-* headers cannot be set";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Header folding and RFC 2047 encoded-words                          */

struct fold {
	struct otp_buf *b;
	size_t col;       /* characters on the current line */
};

/*
 * Put one token preceded by a space, folding before it if the line would
 * pass 78 characters.  Never fold before an empty token or twice in a row
 * (a blank line would end the header section).  A token longer than a line
 * goes alone on its own line (custom headers only; see header_append).
 */
static int
fold_put(struct fold *f, const char *tok, size_t n)
{
	if (n > 0 && f->col > 0 && f->col + 1 + n > OTP_MIME_LINE_SOFT) {
		if (otp_buf_append(f->b, "\r\n", 2) != 0)
			return -1;
		f->col = 0;
	}
	if (otp_buf_append(f->b, " ", 1) != 0 || otp_buf_append(f->b, tok, n) != 0)
		return -1;
	f->col += 1 + n;
	return 0;
}

static size_t
b64_len(size_t n)
{
	return 4 * ((n + 2) / 3);
}

/* The text as a run of "=?UTF-8?B?...?=" words, each whole characters. */
static int
fold_encoded(struct fold *f, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	struct otp_buf w;
	int rc = -1;

	otp_buf_init(&w, 128);
	while (*p) {
		size_t room, maxw, take = 0;
		/* Fold now unless a word with at least one 4-byte character fits. */
		room = f->col + 1 < OTP_MIME_LINE_SOFT ? OTP_MIME_LINE_SOFT - f->col - 1 : 0;
		if (room < 12 + 8) {
			if (otp_buf_append(f->b, "\r\n", 2) != 0)
				goto out;
			f->col = 0;
			room = OTP_MIME_LINE_SOFT - 1;
		}
		maxw = room < OTP_MIME_WORD_MAX ? room : OTP_MIME_WORD_MAX;
		while (p[take]) {
			size_t n = utf8_seq(p + take);
			if (n == 0)
				goto out;
			if (12 + b64_len(take + n) > maxw)
				break;
			take += n;
		}
		otp_buf_reset(&w);
		if (otp_buf_puts(&w, "=?UTF-8?B?") != 0 || otp_base64_append(&w, p, take) != 0 ||
		    otp_buf_puts(&w, "?=") != 0)
			goto out;
		if (fold_put(f, w.data, w.len) != 0)
			goto out;
		p += take;
	}
	rc = 0;
out:
	otp_buf_free(&w);
	return rc;
}

/* Longest space-separated word. */
static size_t
longest_word(const char *s)
{
	size_t best = 0, cur = 0;

	for (; *s; s++) {
		if (*s == ' ') {
			cur = 0;
			continue;
		}
		if (++cur > best)
			best = cur;
	}
	return best;
}

/* ASCII text folded before spaces. */
static int
fold_ascii(struct fold *f, const char *text)
{
	const char *p = text, *sp;

	for (;;) {
		sp = strchr(p, ' ');
		if (fold_put(f, p, sp ? (size_t)(sp - p) : strlen(p)) != 0)
			return -1;
		if (sp == NULL)
			return 0;
		p = sp + 1;
	}
}

/* max_word: longest ASCII word kept as is (longer: encoded). */
static int
header_append(struct otp_buf *out, const char *name, const char *value, size_t max_word)
{
	struct fold f = { out, 0 };
	size_t start = out->len;

	if (!name_syntax_ok(name))
		goto bad;
	if (value == NULL || header_text_check(value) != NULL)
		goto bad;
	if (otp_buf_puts(out, name) != 0 || otp_buf_append(out, ":", 1) != 0)
		goto bad;
	f.col = strlen(name) + 1;
	if (all_printable_ascii(value) && strstr(value, "=?") == NULL &&
	    longest_word(value) <= max_word) {
		if (fold_ascii(&f, value) != 0)
			goto bad;
	} else if (fold_encoded(&f, value) != 0)
		goto bad;
	if (otp_buf_append(out, "\r\n", 2) != 0)
		goto bad;
	return 0;
bad:
	/* Leave no partial header behind. */
	if (out->data != NULL && out->len > start) {
		otp_wipe(out->data + start, out->len - start);
		out->len = start;
		out->data[start] = '\0';
	}
	return -1;
}

int
otp_mime_header_append(struct otp_buf *out, const char *name, const char *value)
{
	/* A word of up to 77 characters still fits a continuation line. */
	return header_append(out, name, value, OTP_MIME_LINE_SOFT - 1);
}

/* Display name as a phrase: atoms, a quoted-string, or encoded-words. */
static int
put_phrase(struct fold *f, const char *name)
{
	struct otp_buf q;
	bool atoms = true;
	int rc;

	if (!all_printable_ascii(name) || strstr(name, "=?") != NULL || strlen(name) > 60)
		return fold_encoded(f, name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!is_atext(*p) && *p != ' ')
			atoms = false;
	if (atoms && strstr(name, "  ") == NULL)
		return fold_ascii(f, name);
	otp_buf_init(&q, 256);
	rc = otp_buf_append(&q, "\"", 1);
	for (const char *p = name; *p && rc == 0; p++) {
		if (*p == '"' || *p == '\\')
			rc = otp_buf_append(&q, "\\", 1);
		if (rc == 0)
			rc = otp_buf_append(&q, p, 1);
	}
	if (rc == 0)
		rc = otp_buf_append(&q, "\"", 1);
	if (rc == 0)
		rc = fold_put(f, q.data, q.len);
	otp_buf_free(&q);
	return rc;
}

int
otp_mime_mailbox_header_append(struct otp_buf *out, const char *name,
			       const struct otp_mailbox *mb)
{
	struct fold f = { out, 0 };
	char angle[OTP_MIME_MAX_ADDR + 3];

	if (!otp_mime_addr_valid(mb->addr))
		return -1;
	if (mb->name != NULL && header_text_check(mb->name) != NULL)
		return -1;
	if (otp_buf_puts(out, name) != 0 || otp_buf_append(out, ":", 1) != 0)
		return -1;
	f.col = strlen(name) + 1;
	if (mb->name == NULL)
		return fold_put(&f, mb->addr, strlen(mb->addr)) == 0 &&
		       otp_buf_append(out, "\r\n", 2) == 0 ? 0 : -1;
	if (put_phrase(&f, mb->name) != 0)
		return -1;
	snprintf(angle, sizeof(angle), "<%s>", mb->addr);
	if (fold_put(&f, angle, strlen(angle)) != 0 || otp_buf_append(out, "\r\n", 2) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Body                                                                */

int
otp_mime_crlf_append(struct otp_buf *out, const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (text[i] == '\0')
			return -1;
		if (text[i] == '\r') {
			if (i + 1 < n && text[i + 1] == '\n')
				i++;
			rc = otp_buf_append(out, "\r\n", 2);
		} else if (text[i] == '\n')
			rc = otp_buf_append(out, "\r\n", 2);
		else
			rc = otp_buf_append(out, text + i, 1);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
otp_mime_qp_append(struct otp_buf *out, const char *text, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	while (i < n) {
		size_t end = i, col = 0;
		bool crlf;
		while (end < n && !(text[end] == '\r' && end + 1 < n && text[end + 1] == '\n'))
			end++;
		crlf = end < n;
		for (size_t j = i; j < end; j++) {
			unsigned char c = (unsigned char)text[j];
			bool last = j + 1 == end;
			char enc[3];
			size_t len = 1;
			if ((c == ' ' || c == '\t') && !last)
				enc[0] = (char)c;
			else if (c >= 33 && c <= 126 && c != '=')
				enc[0] = (char)c;
			else {
				enc[0] = '=';
				enc[1] = hex[c >> 4];
				enc[2] = hex[c & 15];
				len = 3;
			}
			/* 76 characters a line, the soft break '=' included. */
			if (col + len > (last ? 76u : 75u)) {
				if (otp_buf_append(out, "=\r\n", 3) != 0)
					return -1;
				col = 0;
			}
			if (otp_buf_append(out, enc, len) != 0)
				return -1;
			col += len;
		}
		if (crlf && otp_buf_append(out, "\r\n", 2) != 0)
			return -1;
		i = crlf ? end + 2 : end;
	}
	return 0;
}

int
otp_mime_b64_lines_append(struct otp_buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;

	/* 57 input bytes make one 76-character line. */
	for (size_t i = 0; i < n; i += 57) {
		size_t k = n - i < 57 ? n - i : 57;
		if (otp_base64_append(out, s + i, k) != 0 || otp_buf_append(out, "\r\n", 2) != 0)
			return -1;
	}
	return 0;
}

int
otp_mime_dot_stuff_append(struct otp_buf *out, const char *text, size_t n)
{
	bool bol = true;

	for (size_t i = 0; i < n; i++) {
		if (bol && text[i] == '.' && otp_buf_append(out, ".", 1) != 0)
			return -1;
		if (otp_buf_append(out, text + i, 1) != 0)
			return -1;
		bol = text[i] == '\n' && i > 0 && text[i - 1] == '\r';
	}
	return 0;
}

int
otp_mime_lf_append(struct otp_buf *out, const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')
			continue;
		if (otp_buf_append(out, text + i, 1) != 0)
			return -1;
	}
	return 0;
}

void
otp_mime_date(long long t, char out[40])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

/* ------------------------------------------------------------------ */
/* The message                                                         */

static enum otp_mime_error
fail(enum otp_mime_error e, char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return e;
}

enum otp_mime_error
otp_mime_build(const struct otp_mime_message *m, struct otp_buf *out, char *why, size_t whylen)
{
	struct otp_buf body;
	unsigned char rnd[16];
	char date[40], hexid[33];
	const char *domain;
	size_t qp_cost = 0, blen;
	enum otp_mime_error e = OTP_MIME_INTERNAL;

	otp_buf_init(&body, OTP_MIME_MAX_MESSAGE);
	if (!otp_mime_addr_valid(m->to))
		return fail(OTP_MIME_BAD_TO, why, whylen, "recipient is not a plain mailbox address (user at domain)");
	if (m->from == NULL || !otp_mime_addr_valid(m->from->addr))
		return fail(OTP_MIME_BAD_HEADER, why, whylen, "sender address is not valid");
	if (m->subject == NULL || header_text_check(m->subject) != NULL)
		return fail(OTP_MIME_BAD_HEADER, why, whylen,
			    "subject holds CR, LF, a control character or invalid UTF-8");
	blen = m->body ? strlen(m->body) : 0;
	if (otp_mime_crlf_append(&body, m->body ? m->body : "", blen) != 0) {
		e = fail(OTP_MIME_TOO_LARGE, why, whylen, "body too large");
		goto out;
	}
	if (body.len < 2 || memcmp(body.data + body.len - 2, "\r\n", 2) != 0) {
		if (otp_buf_append(&body, "\r\n", 2) != 0) {
			e = fail(OTP_MIME_TOO_LARGE, why, whylen, "body too large");
			goto out;
		}
	}
	if (otp_random_bytes(rnd, sizeof(rnd)) != 0) {
		e = fail(OTP_MIME_INTERNAL, why, whylen, "random generator failed");
		goto out;
	}
	otp_hex(rnd, sizeof(rnd), hexid);
	domain = strrchr(m->from->addr, '@') + 1;
	otp_mime_date(m->date, date);

	if (otp_buf_printf(out, "Date: %s\r\n", date) != 0 ||
	    otp_mime_mailbox_header_append(out, "From", m->from) != 0 ||
	    otp_buf_printf(out, "To: %s\r\n", m->to) != 0)
		goto hdr;
	if (m->reply_to != NULL && m->reply_to->addr != NULL &&
	    otp_mime_mailbox_header_append(out, "Reply-To", m->reply_to) != 0)
		goto hdr;
	if (otp_mime_header_append(out, "Subject", m->subject) != 0)
		goto hdr;
	if (otp_buf_printf(out, "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n", hexid, domain) != 0)
		goto hdr;
	for (size_t i = 0; i < m->nheaders; i++)
		if (otp_mime_header_name_check(m->headers[i].name) != NULL ||
		    header_append(out, m->headers[i].name, m->headers[i].value, LINE_HARD - 80) != 0)
			goto hdr;
	/* Quoted-printable unless base64 is shorter (mostly non-ASCII text). */
	for (size_t i = 0; i < body.len; i++) {
		unsigned char c = (unsigned char)body.data[i];
		qp_cost += (c >= 0x80 || c == '=' || (c < 0x20 && c != '\r' && c != '\n')) ? 3 : 1;
	}
	if (otp_buf_printf(out, "Content-Type: %s; charset=UTF-8\r\n",
			   m->html ? "text/html" : "text/plain") != 0)
		goto hdr;
	if (qp_cost > b64_len(body.len) + body.len / 57 * 2) {
		if (otp_buf_puts(out, "Content-Transfer-Encoding: base64\r\n\r\n") != 0 ||
		    otp_mime_b64_lines_append(out, body.data, body.len) != 0)
			goto big;
	} else if (otp_buf_puts(out, "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != 0 ||
		   otp_mime_qp_append(out, body.data, body.len) != 0)
		goto big;
	e = OTP_MIME_OK;
	goto out;
hdr:
	e = fail(OTP_MIME_BAD_HEADER, why, whylen,
		 "a header value holds CR, LF, a control character or invalid UTF-8, or is too long");
	goto out;
big:
	e = fail(OTP_MIME_TOO_LARGE, why, whylen, "message too large");
out:
	otp_buf_free(&body);
	otp_wipe(rnd, sizeof(rnd));
	return e;
}

/* ------------------------------------------------------------------ */
/* Shared connector settings                                           */

static const struct otp_template_field mail_fields[] = {
	{ .name = "contentType" },
	{ .name = "subject", .required = true, .is_template = true },
	{ .name = "content", .required = true, .needs_code = true, .is_template = true,
	  .multiline = true },
	{ .name = NULL },
};

static int
add_header(struct otp_mail_config *mc, struct otp_settings *s, const char *name,
	   config_setting_t *v)
{
	struct otp_mime_header *h;
	struct otp_buf probe;
	const char *val;
	int rc;

	if (config_setting_type(v) != CONFIG_TYPE_STRING ||
	    (val = config_setting_get_string(v)) == NULL) {
		otp_settings_fail(s, "customHeaders", "header \"%s\" must be a string or a list of strings",
				  name);
		return -1;
	}
	/* Try it now so that a bad value is a config error, not a send error. */
	otp_buf_init(&probe, 4096);
	rc = header_append(&probe, name, val, LINE_HARD - 80);
	otp_buf_free(&probe);
	if (rc != 0) {
		otp_settings_fail(s, "customHeaders",
				  "header \"%s\": value holds a control character or invalid UTF-8, or is too long",
				  name);
		return -1;
	}
	h = realloc(mc->headers, (mc->nheaders + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	mc->headers = h;
	h = &mc->headers[mc->nheaders];
	h->name = strdup(name);
	h->value = strdup(val);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return -1;
	}
	mc->nheaders++;
	return 0;
}

static void
parse_headers(struct otp_settings *s, struct otp_mail_config *mc)
{
	config_setting_t *n = otp_settings_node(s, "customHeaders");
	const char *why;

	if (n == NULL)
		return;
	if (!config_setting_is_group(n)) {
		otp_settings_fail(s, "customHeaders", "must be a group { Header-Name = \"value\"; ... }");
		return;
	}
	for (int i = 0; i < config_setting_length(n); i++) {
		config_setting_t *e = config_setting_get_elem(n, (unsigned)i);
		const char *name = config_setting_name(e);
		if ((why = otp_mime_header_name_check(name)) != NULL) {
			otp_settings_fail(s, "customHeaders", "header \"%s\": %s", name ? name : "", why);
			continue;
		}
		if (config_setting_is_array(e) || config_setting_is_list(e)) {
			for (int j = 0; j < config_setting_length(e); j++)
				if (add_header(mc, s, name, config_setting_get_elem(e, (unsigned)j)) != 0)
					break;
		} else
			add_header(mc, s, name, e);
	}
}

static void
parse_mailbox(struct otp_settings *s, const char *key, bool required, struct otp_mailbox *mb)
{
	char *v = NULL, why[160];

	mb->name = mb->addr = NULL;
	if (otp_settings_string(s, key, required, NULL, &v) != 0 || v == NULL)
		return;
	if (otp_mime_mailbox_parse(v, mb, why, sizeof(why)) != 0)
		otp_settings_fail(s, key, "%s", why);
	free(v);
}

int
otp_mail_config_parse(struct otp_settings *s, struct otp_mail_config *mc)
{
	parse_mailbox(s, "fromEmail", true, &mc->from);
	parse_mailbox(s, "replyTo", false, &mc->reply_to);
	parse_headers(s, mc);
	if (otp_template_list_parse(s, "templates", mail_fields, true, &mc->templates) != 0)
		return -1;
	for (size_t i = 0; i < mc->templates.count; i++) {
		const struct otp_template *t = &mc->templates.items[i];
		const char *ct = otp_template_get(&mc->templates, t, "contentType");
		const char *subj = otp_template_get(&mc->templates, t, "subject");
		const char *body = otp_template_get(&mc->templates, t, "content");
		if (ct != NULL && strcmp(ct, "text/plain") != 0 && strcmp(ct, "text/html") != 0)
			otp_settings_fail(s, "templates", "template \"%s\": contentType must be \"text/plain\" or \"text/html\"",
					  t->usage ? t->usage : "");
		if (subj != NULL && header_text_check(subj) != NULL)
			otp_settings_fail(s, "templates", "template \"%s\": subject %s",
					  t->usage ? t->usage : "", header_text_check(subj));
		for (const unsigned char *p = (const unsigned char *)(body ? body : ""); *p;) {
			size_t n = utf8_seq(p);
			if (n == 0) {
				otp_settings_fail(s, "templates", "template \"%s\": content is not valid UTF-8",
						  t->usage ? t->usage : "");
				break;
			}
			p += n;
		}
	}
	return otp_settings_failed(s) ? -1 : 0;
}

void
otp_mail_config_free(struct otp_mail_config *mc)
{
	otp_mime_mailbox_free(&mc->from);
	otp_mime_mailbox_free(&mc->reply_to);
	for (size_t i = 0; i < mc->nheaders; i++) {
		free(mc->headers[i].name);
		free(mc->headers[i].value);
	}
	free(mc->headers);
	mc->headers = NULL;
	mc->nheaders = 0;
	otp_template_list_free(&mc->templates);
}

int
otp_mail_compose(const struct otp_mail_config *mc, const struct otp_message *msg,
		 long long now, struct otp_buf *out, struct otp_send_result *res)
{
	const struct otp_template *t;
	struct otp_mime_message m = { 0 };
	char *subject = NULL, *body = NULL, why[160];
	const char *ct;
	enum otp_mime_error e;
	int rc = -1;

	if (!otp_mime_addr_valid(msg->to))
		return otp_send_fail(res, OTP_FAIL_DESTINATION,
				     "recipient is not a plain mailbox address (user at domain)");
	t = otp_template_find(&mc->templates, msg->usage);
	if (t == NULL)
		return otp_send_fail(res, OTP_FAIL_CONFIG, "no template for usage type %.40s and no Generic",
				     msg->usage ? msg->usage : "");
	ct = otp_template_get(&mc->templates, t, "contentType");
	m.html = ct != NULL && strcmp(ct, "text/html") == 0;
	subject = otp_template_render_str(otp_template_get(&mc->templates, t, "subject"), msg->vars,
					  OTP_ESCAPE_HEADER);
	body = otp_template_render_str(otp_template_get(&mc->templates, t, "content"), msg->vars,
				       m.html ? OTP_ESCAPE_HTML : OTP_ESCAPE_TEXT);
	if (subject == NULL || body == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot render template");
		goto out;
	}
	m.from = &mc->from;
	m.to = msg->to;
	m.reply_to = mc->reply_to.addr ? &mc->reply_to : NULL;
	m.subject = subject;
	m.headers = mc->headers;
	m.nheaders = mc->nheaders;
	m.body = body;
	m.date = now;
	e = otp_mime_build(&m, out, why, sizeof(why));
	switch (e) {
	case OTP_MIME_OK:
		rc = 0;
		break;
	case OTP_MIME_BAD_TO:
		otp_send_fail(res, OTP_FAIL_DESTINATION, "%s", why);
		break;
	case OTP_MIME_INTERNAL:
		otp_send_fail(res, OTP_FAIL_INTERNAL, "%s", why);
		break;
	default:
		otp_send_fail(res, OTP_FAIL_CONFIG, "%s", why);
		break;
	}
out:
	otp_free_secret(subject);
	otp_free_secret(body);
	return rc;
}

char *
otp_mail_preview(const struct otp_mail_config *mc, const char *usage,
		 const struct otp_template_vars *vars)
{
	const struct otp_template *t = otp_template_find(&mc->templates, usage);
	const char *ct;
	struct otp_buf b;
	int rc;

	if (t == NULL)
		return NULL;
	ct = otp_template_get(&mc->templates, t, "contentType");
	otp_buf_init(&b, 2 * OTP_TEMPLATE_MAX_OUTPUT + 16);
	rc = otp_buf_puts(&b, "Subject: ");
	if (rc == 0)
		rc = otp_template_render(otp_template_get(&mc->templates, t, "subject"), vars,
					 OTP_ESCAPE_HEADER, &b);
	if (rc == 0)
		rc = otp_buf_puts(&b, "\n\n");
	if (rc == 0)
		rc = otp_template_render(otp_template_get(&mc->templates, t, "content"), vars,
					 (ct && strcmp(ct, "text/html") == 0) ? OTP_ESCAPE_HTML
									     : OTP_ESCAPE_TEXT, &b);
	if (rc != 0) {
		otp_buf_free(&b);
		return NULL;
	}
	return otp_buf_steal(&b);
}
