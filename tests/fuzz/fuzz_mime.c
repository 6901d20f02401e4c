/*
 * fuzz_mime - the SMTP message builder (src/mime.h): mailbox parsing,
 * header encoding and folding, body encodings, the whole message.
 *
 * Input: a flags byte, then NUL-separated fields: from, to, reply-to,
 * subject, custom header name, custom header value, body.
 *
 * Invariants for a message that builds: only CRLF line ends, no NUL, every
 * line within RFC 5322's 998 characters (body lines within 76); the header
 * section is exactly the header fields the builder writes plus the custom
 * one, each once, every other line a continuation (no value can start a
 * header of its own: no CR/LF injection); "To:" is exactly the recipient;
 * the body decodes (quoted-printable or base64) back to the input text
 * with CRLF line ends.  Dot-stuffing and the LF form round-trip.  A
 * mailbox that parses has a valid address and a name without CR/LF.
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include "fuzz.h"
#include "src/buf.h"
#include "src/crypto.h"
#include "src/mime.h"
#include "src/validate.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Quoted-printable decoding of the body section (strict: upper-case hex). */
static void
qp_decode(const char *s, size_t n, struct otp_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 2;
				continue;
			}
			FUZZ_CHECK(i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0, "bad QP escape");
			char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			otp_buf_append(out, &c, 1);
			i += 2;
			continue;
		}
		FUZZ_CHECK(s[i] == '\r' || s[i] == '\n' || (s[i] >= 33 && s[i] <= 126) || s[i] == ' ' ||
			   s[i] == '\t', "raw byte 0x%02x in QP", (unsigned char)s[i]);
		otp_buf_append(out, s + i, 1);
	}
}

static void
b64_decode(const char *s, size_t n, struct otp_buf *out)
{
	char *joined = malloc(n + 1);
	size_t k = 0;

	if (joined == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n')
			joined[k++] = s[i];
	joined[k] = '\0';
	FUZZ_CHECK(otp_base64_decode(joined, out) == 0, "body is not base64");
	free(joined);
}

static const char *const written[] = {
	"Date", "From", "To", "Reply-To", "Subject", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", NULL,
};

static void
check_message(const struct otp_buf *msg, const struct otp_mime_message *m, const char *body)
{
	const char *p = msg->data, *end = msg->data + msg->len, *hdr_end;
	int seen[16] = { 0 }, custom = 0;
	bool qp = false, b64 = false;
	struct otp_buf want, got;

	FUZZ_CHECK(strlen(p) == msg->len, "NUL in message");
	hdr_end = strstr(p, "\r\n\r\n");
	FUZZ_CHECK(hdr_end != NULL, "no header/body separator");
	/* Line structure. */
	for (const char *l = p; l < end;) {
		const char *e = memchr(l, '\n', (size_t)(end - l));
		FUZZ_CHECK(e != NULL && e > l && e[-1] == '\r', "line without CRLF");
		FUZZ_CHECK(memchr(l, '\r', (size_t)(e - 1 - l)) == NULL, "bare CR");
		FUZZ_CHECK(e - 1 - l <= 998, "line of %zu characters", (size_t)(e - 1 - l));
		if (l > hdr_end + 2)
			FUZZ_CHECK(e - 1 - l <= 76, "body line of %zu characters", (size_t)(e - 1 - l));
		l = e + 1;
	}
	/* Header fields: only ours, each once; the rest continuation lines. */
	for (const char *l = p; l < hdr_end + 2;) {
		const char *e = strstr(l, "\r\n"), *colon;
		size_t nl;
		if (l[0] == ' ' || l[0] == '\t') {
			FUZZ_CHECK(l != p, "continuation first");
			l = e + 2;
			continue;
		}
		colon = memchr(l, ':', (size_t)(e - l));
		FUZZ_CHECK(colon != NULL, "header line without a name: %.80s", l);
		nl = (size_t)(colon - l);
		bool known = false;
		for (int i = 0; written[i]; i++)
			if (strlen(written[i]) == nl && strncasecmp(l, written[i], nl) == 0) {
				FUZZ_CHECK(seen[i]++ == 0, "%s twice", written[i]);
				known = true;
			}
		for (size_t i = 0; i < m->nheaders; i++)
			if (strlen(m->headers[i].name) == nl && strncasecmp(l, m->headers[i].name, nl) == 0) {
				custom++;
				known = true;
			}
		FUZZ_CHECK(known, "unexpected header %.*s", (int)nl, l);
		if (nl == 2 && strncmp(l, "To", 2) == 0) {
			FUZZ_CHECK((size_t)(e - l) == 4 + strlen(m->to) && strncmp(l + 4, m->to, strlen(m->to)) == 0,
				   "To is not the recipient");
			FUZZ_CHECK(e[2] != ' ' && e[2] != '\t', "To continued");
		}
		if (strncmp(l, "Content-Transfer-Encoding: quoted-printable\r\n", 45) == 0)
			qp = true;
		if (strncmp(l, "Content-Transfer-Encoding: base64\r\n", 35) == 0)
			b64 = true;
		l = e + 2;
	}
	FUZZ_CHECK(seen[0] && seen[1] && seen[2] && seen[4] && seen[5] && seen[6] && seen[7] && seen[8],
		   "a header is missing");
	FUZZ_CHECK(seen[3] == (m->reply_to != NULL && m->reply_to->addr != NULL), "Reply-To");
	FUZZ_CHECK(custom == (int)m->nheaders, "custom headers %d", custom);
	FUZZ_CHECK(qp != b64, "transfer encoding");
	/* Body round trip. */
	otp_buf_init(&want, 1 << 20);
	otp_buf_init(&got, 1 << 20);
	FUZZ_CHECK(otp_mime_crlf_append(&want, body, strlen(body)) == 0, "crlf");
	if (want.len < 2 || memcmp(want.data + want.len - 2, "\r\n", 2) != 0)
		otp_buf_append(&want, "\r\n", 2);
	if (qp)
		qp_decode(hdr_end + 4, (size_t)(end - hdr_end - 4), &got);
	else
		b64_decode(hdr_end + 4, (size_t)(end - hdr_end - 4), &got);
	FUZZ_CHECK(got.len == want.len && (got.len == 0 || memcmp(got.data, want.data, got.len) == 0),
		   "body does not round-trip (%zu vs %zu bytes)", got.len, want.len);
	otp_buf_free(&want);
	otp_buf_free(&got);
	/* Transport forms. */
	{
		struct otp_buf ds, lf;
		otp_buf_init(&ds, 1 << 21);
		otp_buf_init(&lf, 1 << 21);
		FUZZ_CHECK(otp_mime_dot_stuff_append(&ds, msg->data, msg->len) == 0, "dot stuff");
		FUZZ_CHECK(otp_mime_lf_append(&lf, msg->data, msg->len) == 0, "lf");
		FUZZ_CHECK(ds.data[0] != '.' || ds.data[1] == '.', "first dot not stuffed");
		FUZZ_CHECK(strstr(ds.data, "\r\n.\r\n") == NULL, "end-of-data marker inside the message");
		FUZZ_CHECK(strchr(lf.data, '\r') == NULL && lf.len + 0 < msg->len, "LF form");
		otp_buf_free(&ds);
		otp_buf_free(&lf);
	}
}

static void
check_mailbox(const char *s)
{
	struct otp_mailbox mb;
	char why[160];

	if (otp_mime_mailbox_parse(s, &mb, why, sizeof(why)) == 0) {
		FUZZ_CHECK(otp_mime_addr_valid(mb.addr), "parsed address not valid");
		FUZZ_CHECK(mb.name == NULL || strpbrk(mb.name, "\r\n") == NULL, "CR/LF in name");
		otp_mime_mailbox_free(&mb);
	} else {
		FUZZ_CHECK(mb.addr == NULL && mb.name == NULL, "failed parse left strings");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	unsigned flags;
	char *from, *to, *reply, *subject, *hname, *hvalue, *body;
	struct otp_mailbox fmb = { 0 }, rmb = { 0 };
	struct otp_mime_header h;
	struct otp_mime_message m = { 0 };
	struct otp_buf out;
	char why[160];
	enum otp_mime_error e;

	fz_init(&f, data, size);
	flags = fz_byte(&f);
	from = fz_field(&f);
	to = fz_field(&f);
	reply = fz_field(&f);
	subject = fz_field(&f);
	hname = fz_field(&f);
	hvalue = fz_field(&f);
	body = fz_rest(&f);
	if (from == NULL || to == NULL || subject == NULL)
		goto out;
	check_mailbox(from);
	check_mailbox(reply);
	/* Both validators describe the same plain address: they must agree
	 * where the destination validator accepts. */
	if (otp_valid_email(to))
		FUZZ_CHECK(otp_mime_addr_valid(to), "validate.c accepts %s, mime.c refuses", to);
	if (otp_mime_mailbox_parse(from, &fmb, why, sizeof(why)) != 0)
		fmb.addr = strdup("no-reply@example.org");
	if (reply && (flags & 1))
		otp_mime_mailbox_parse(reply, &rmb, why, sizeof(why));
	m.from = &fmb;
	m.to = to;
	m.reply_to = rmb.addr ? &rmb : NULL;
	m.subject = subject;
	if (hname && hvalue && (flags & 2) && otp_mime_header_name_check(hname) == NULL) {
		h.name = hname;
		h.value = hvalue;
		m.headers = &h;
		m.nheaders = 1;
	}
	m.html = (flags & 4) != 0;
	m.body = body;
	m.date = (long long)(flags >> 3) * 86400 * 365;
	otp_buf_init(&out, OTP_MIME_MAX_MESSAGE);
	e = otp_mime_build(&m, &out, why, sizeof(why));
	if (e == OTP_MIME_OK)
		check_message(&out, &m, body);
	else if (e == OTP_MIME_BAD_TO)
		FUZZ_CHECK(!otp_mime_addr_valid(to), "valid recipient refused");
	otp_buf_free(&out);
	/* Header helper alone: one field, CRLF-terminated, folded lines only. */
	if (hvalue) {
		struct otp_buf hb;
		otp_buf_init(&hb, 1 << 20);
		if (otp_mime_header_append(&hb, "X-Fuzz", hvalue) == 0) {
			FUZZ_CHECK(strncmp(hb.data, "X-Fuzz:", 7) == 0, "name");
			for (const char *l = strstr(hb.data, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
				FUZZ_CHECK(l[2] == ' ' || l[2] == '\t', "value started a new header line");
				FUZZ_CHECK(strstr(l + 2, "\r\n") != NULL, "unterminated");
			}
		} else
			FUZZ_CHECK(hb.len == 0, "partial header left behind");
		otp_buf_free(&hb);
	}
out:
	otp_mime_mailbox_free(&fmb);
	otp_mime_mailbox_free(&rmb);
	free(from);
	free(to);
	free(reply);
	free(subject);
	free(hname);
	free(hvalue);
	free(body);
	return 0;
}
