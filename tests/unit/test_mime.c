/*
 * Unit tests: addresses, header folding and RFC 2047 encoded-words (with
 * Japanese and Korean subjects), CRLF normalisation, quoted-printable,
 * dot-stuffing, the whole message, header/envelope injection attempts, and
 * the shared email settings.  The decoders below are independent of the
 * encoders under test.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libconfig.h>
#include <json-c/json.h>
#include "tap.h"
#include "src/crypto.h"
#include "src/mem.h"
#include "src/mime.h"
#include "src/connectors/connector.h"

/* ---- independent helpers ---------------------------------------------- */

static char *
header_str(const char *name, const char *value, int *rc)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	*rc = otp_mime_header_append(&b, name, value);
	if (b.data == NULL)
		return strdup("");
	return otp_buf_steal(&b);
}

/* Every line ends in CRLF, no bare CR or LF anywhere. */
static int
crlf_only(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\r' && p[1] != '\n')
			return 0;
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			return 0;
	}
	return 1;
}

static size_t
longest_line(const char *s)
{
	size_t best = 0, cur = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '\r' && p[1] == '\n') {
			p++;
			cur = 0;
			continue;
		}
		if (++cur > best)
			best = cur;
	}
	return best;
}

/* Longest "=?...?=" token. */
static size_t
longest_encoded_word(const char *s)
{
	size_t best = 0;

	for (const char *p = strstr(s, "=?"); p != NULL; p = strstr(p + 2, "=?")) {
		const char *q = strstr(p + 2, "?B?");
		const char *e = q ? strstr(q + 3, "?=") : NULL;
		if (e == NULL)
			break;
		if ((size_t)(e + 2 - p) > best)
			best = (size_t)(e + 2 - p);
		p = e;
	}
	return best;
}

/*
 * Unfold a header ("Name: value\r\n continuation") and decode encoded-words
 * (whitespace between two encoded-words is dropped, RFC 2047 6.2).  Each
 * word must decode to whole UTF-8 characters on its own.  Returns the
 * value, or NULL if anything is malformed.
 */
static char *
decode_header(const char *h, int *words_ok)
{
	struct otp_buf out, unf;
	const char *p;
	int prev_word = 0;

	*words_ok = 1;
	otp_buf_init(&unf, 0);
	for (p = h; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		otp_buf_append(&unf, p, 1);
	}
	p = strchr(unf.data, ':');
	if (p == NULL)
		return NULL;
	p++;
	if (*p == ' ')
		p++;
	otp_buf_init(&out, 0);
	otp_buf_puts(&out, "");
	while (*p) {
		if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
			const char *e = strstr(p + 10, "?=");
			char tmp[128];
			struct otp_buf dec;
			if (e == NULL || (size_t)(e - p - 10) >= sizeof(tmp))
				return NULL;
			memcpy(tmp, p + 10, (size_t)(e - p - 10));
			tmp[e - p - 10] = '\0';
			otp_buf_init(&dec, 0);
			if (otp_base64_decode(tmp, &dec) != 0)
				return NULL;
			/* whole characters: the decoded bytes are valid UTF-8 alone */
			for (size_t i = 0; i < dec.len;) {
				unsigned char c = (unsigned char)dec.data[i];
				size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
				if (i + n > dec.len)
					*words_ok = 0;
				for (size_t k = 1; k < n && i + k < dec.len; k++)
					if (((unsigned char)dec.data[i + k] & 0xc0) != 0x80)
						*words_ok = 0;
				i += n;
			}
			if (dec.len)
				otp_buf_append(&out, dec.data, dec.len);
			otp_buf_free(&dec);
			p = e + 2;
			prev_word = 1;
			continue;
		}
		if (*p == ' ' && prev_word) {
			const char *q = p;
			while (*q == ' ')
				q++;
			if (strncmp(q, "=?", 2) == 0) {
				p = q;
				continue;
			}
		}
		prev_word = 0;
		otp_buf_append(&out, p, 1);
		p++;
	}
	/* drop the trailing CRLF-less end */
	otp_buf_free(&unf);
	return otp_buf_steal(&out);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Quoted-printable decoder (soft breaks removed). */
static char *
qp_decode(const char *s)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	otp_buf_puts(&b, "");
	for (const char *p = s; *p; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
			continue;
		}
		if (p[0] == '=' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			char c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			otp_buf_append(&b, &c, 1);
			p += 2;
			continue;
		}
		otp_buf_append(&b, p, 1);
	}
	return otp_buf_steal(&b);
}

/* The value of header `name` in msg (from "Name:" to the end of its
 * folded lines), as a fresh "Name: ...\r\n..." string. */
static char *
find_header(const char *msg, const char *name)
{
	size_t n = strlen(name);
	const char *p = msg, *end;

	for (;;) {
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			break;
		p = strstr(p, "\r\n");
		if (p == NULL || p[2] == '\r')
			return NULL;
		p += 2;
	}
	end = p;
	for (;;) {
		end = strstr(end, "\r\n");
		if (end == NULL)
			return NULL;
		if (end[2] != ' ' && end[2] != '\t')
			break;
		end += 2;
	}
	return strndup(p, (size_t)(end - p + 2));
}

static int
count_lines_starting(const char *msg, const char *prefix)
{
	int n = 0;
	size_t pl = strlen(prefix);
	const char *body = strstr(msg, "\r\n\r\n");

	for (const char *p = msg; p != NULL && (body == NULL || p < body); ) {
		if (strncasecmp(p, prefix, pl) == 0)
			n++;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return n;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_addresses(void)
{
	static const char *const good[] = { "alice@example.jp", "a.b+tag@sub.example.com",
					    "x_y=z@e-x.org", "root@localhost", NULL };
	static const char *const bad[] = {
		"a@x.com\r\nRCPT TO:<b@y>", "a@x.com%0d%0aDATA", "a@x.com>\r\nBcc: c@z",
		"a@x.com\n", "a@x.com\r", "a\n@x.com", "-oQ/tmp/x@example.com", "\"a\r\nb\"@x.com",
		"\"quoted\"@x.com", "a b@x.com", "a@x.com (comment)", "Alice <a@x.com>", "a@[127.0.0.1]",
		"a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com", "a@x-.com", "a@x..com", "a@", "@x.com",
		"ab", "a@x.com.", "\xe5\xb1\xb1@x.jp", "a@x.\xe6\x97\xa5\xe6\x9c\xac", "a@x@y.com",
		"a@x.com\t", "", NULL,
	};
	char long_local[80], long_addr[320];

	for (int i = 0; good[i]; i++)
		ok(otp_mime_addr_valid(good[i]), good[i]);
	for (int i = 0; bad[i]; i++) {
		char name[96];
		char clean[48];
		otp_sanitize_value(bad[i], clean, sizeof(clean));
		snprintf(name, sizeof(name), "address refused: %s", clean);
		ok(!otp_mime_addr_valid(bad[i]), name);
	}
	ok(!otp_mime_addr_valid(NULL), "NULL address refused");
	memset(long_local, 'a', 65);
	strcpy(long_local + 65, "@x.com");
	ok(!otp_mime_addr_valid(long_local), "local part over 64 characters refused");
	memset(long_addr, 'b', 300);
	memcpy(long_addr, "a@", 2);
	strcpy(long_addr + 300, ".com");
	ok(!otp_mime_addr_valid(long_addr), "300-character address refused");
}

static void
test_mailbox(void)
{
	struct otp_mailbox mb;
	char why[160];

	ok(otp_mime_mailbox_parse("noreply@example.jp", &mb, why, sizeof(why)) == 0 &&
	   mb.name == NULL && strcmp(mb.addr, "noreply@example.jp") == 0, "plain mailbox");
	otp_mime_mailbox_free(&mb);
	ok(otp_mime_mailbox_parse("Example Login <noreply@example.jp>", &mb, why, sizeof(why)) == 0 &&
	   strcmp(mb.name, "Example Login") == 0 && strcmp(mb.addr, "noreply@example.jp") == 0,
	   "Name <addr> mailbox");
	otp_mime_mailbox_free(&mb);
	ok(otp_mime_mailbox_parse("\"Ops, \\\"Team\\\"\" <ops@example.jp>", &mb, why, sizeof(why)) == 0 &&
	   strcmp(mb.name, "Ops, \"Team\"") == 0, "quoted display name unescaped");
	otp_mime_mailbox_free(&mb);
	ok(otp_mime_mailbox_parse("Bad <a@x.com>\r\nBcc: c@z", &mb, why, sizeof(why)) != 0,
	   "mailbox with CRLF refused");
	ok(otp_mime_mailbox_parse("Bad\n <a@x.com>", &mb, why, sizeof(why)) != 0,
	   "display name with LF refused");
	ok(otp_mime_mailbox_parse("A <a@x.com> <b@y.com>", &mb, why, sizeof(why)) != 0,
	   "two addresses refused");
	ok(otp_mime_mailbox_parse("A <a@x.com>, b@y.com", &mb, why, sizeof(why)) != 0,
	   "address list refused");
	ok(otp_mime_mailbox_parse("a@x.com, b@y.com", &mb, why, sizeof(why)) != 0,
	   "comma list refused");
}

static void
test_headers(void)
{
	static const char *const injections[] = {
		"Code\r\nBcc: evil@example.com", "Code\nBcc: evil@example.com", "Code\rX: y",
		"tab\there", "bell\a", "del\x7f", "c1 \xc2\x85 nel", "bad utf8 \xff", "trunc \xe8\xaa",
		"\r\n\r\nbody injection", NULL,
	};
	char *h, *d;
	int rc, words_ok;
	struct otp_buf b;

	h = header_str("Subject", "Your login code", &rc);
	is_str(h, "Subject: Your login code\r\n", "short ASCII subject verbatim");
	free(h);

	/* 認証コード */
	h = header_str("Subject", "\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89", &rc);
	ok(rc == 0 && strstr(h, "=?UTF-8?B?") != NULL, "Japanese subject is an encoded-word");
	d = decode_header(h, &words_ok);
	is_str(d, "\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89",
	       "Japanese subject round trip (認証コード)");
	ok(crlf_only(h) && longest_line(h) <= 78, "Japanese subject: CRLF, lines <= 78");
	free(d);
	free(h);

	/* 인증 코드: 1234 */
	h = header_str("Subject", "\xec\x9d\xb8\xec\xa6\x9d \xec\xbd\x94\xeb\x93\x9c: 1234", &rc);
	d = decode_header(h, &words_ok);
	is_str(d, "\xec\x9d\xb8\xec\xa6\x9d \xec\xbd\x94\xeb\x93\x9c: 1234",
	       "Korean subject round trip (인증 코드), spaces kept");
	free(d);
	free(h);

	/* A long Japanese subject: many words, none over 75, no split characters. */
	{
		struct otp_buf s;
		otp_buf_init(&s, 0);
		for (int i = 0; i < 30; i++)
			otp_buf_puts(&s, "\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89");
		otp_buf_puts(&s, " 004211 \xf0\x9f\x94\x91");   /* and a 4-byte emoji */
		h = header_str("Subject", s.data, &rc);
		ok(rc == 0, "long Japanese subject accepted");
		ok(longest_encoded_word(h) <= 75, "every encoded-word <= 75 characters");
		ok(longest_line(h) <= 78, "every folded line <= 78 characters");
		ok(crlf_only(h), "folded with CRLF only");
		ok(strstr(h, "\r\n ") != NULL, "subject was folded");
		d = decode_header(h, &words_ok);
		is_str(d, s.data, "long Japanese subject round trip");
		ok(words_ok, "no UTF-8 character split across encoded-words");
		free(d);
		free(h);
		otp_buf_free(&s);
	}

	/* Long ASCII: folded at spaces, unfolds to the original. */
	{
		const char *v = "Your one-time verification code for the production bastion host "
				"is in this message; it expires in five minutes and can be used once";
		h = header_str("Subject", v, &rc);
		ok(longest_line(h) <= 78 && strstr(h, "\r\n ") != NULL, "long ASCII subject folded <= 78");
		ok(strstr(h, "=?") == NULL, "long ASCII subject not encoded");
		d = decode_header(h, &words_ok);
		is_str(d, v, "long ASCII subject unfolds to the original");
		free(d);
		free(h);
	}
	/* "=?" in plain text would be decoded by readers: encode it. */
	h = header_str("Subject", "literal =?UTF-8?B?QQ==?= text", &rc);
	d = decode_header(h, &words_ok);
	ok(strncmp(h, "Subject: =?UTF-8?B?", 19) == 0, "ASCII containing =? is encoded");
	is_str(d, "literal =?UTF-8?B?QQ==?= text", "... and decodes literally");
	free(d);
	free(h);
	/* A 200-character word cannot fold: encoded so lines stay <= 78. */
	{
		char w[201];
		memset(w, 'x', 200);
		w[200] = '\0';
		h = header_str("Subject", w, &rc);
		ok(rc == 0 && longest_line(h) <= 78, "unbreakable long word encoded within 78");
		d = decode_header(h, &words_ok);
		is_str(d, w, "... and round trips");
		free(d);
		free(h);
	}

	for (int i = 0; injections[i]; i++) {
		char name[80], clean[40];
		otp_buf_init(&b, 0);
		otp_buf_puts(&b, "X: y\r\n");
		rc = otp_mime_header_append(&b, "Subject", injections[i]);
		otp_sanitize_value(injections[i], clean, sizeof(clean));
		snprintf(name, sizeof(name), "header value refused: %s", clean);
		ok(rc == -1 && strcmp(b.data, "X: y\r\n") == 0, name);
		otp_buf_free(&b);
	}
	otp_buf_init(&b, 0);
	ok(otp_mime_header_append(&b, "Bad Name", "x") == -1, "header name with space refused");
	ok(otp_mime_header_append(&b, "Bad:Name", "x") == -1, "header name with colon refused");
	ok(otp_mime_header_append(&b, "Bad\r\nName", "x") == -1, "header name with CRLF refused");
	otp_buf_free(&b);

	ok(otp_mime_header_name_check("X-Mailer") == NULL, "custom header X-Mailer allowed");
	ok(otp_mime_header_name_check("List-Unsubscribe") == NULL, "custom header List-Unsubscribe allowed");
	ok(otp_mime_header_name_check("bcc") != NULL, "custom Bcc refused (case-insensitive)");
	ok(otp_mime_header_name_check("To") != NULL, "custom To refused");
	ok(otp_mime_header_name_check("CC") != NULL, "custom Cc refused");
	ok(otp_mime_header_name_check("Content-Type") != NULL, "custom Content-Type refused");
	ok(otp_mime_header_name_check("Content-Transfer-Encoding") != NULL, "custom CTE refused");
	ok(otp_mime_header_name_check("Resent-To") != NULL, "custom Resent-To refused");
	ok(otp_mime_header_name_check("From") != NULL, "custom From refused");
	ok(otp_mime_header_name_check("Subject") != NULL, "custom Subject refused");
}

static void
test_mailbox_header(void)
{
	struct otp_mailbox mb = { NULL, NULL };
	struct otp_buf b;
	char *d;
	int words_ok;

	mb.addr = (char *)"noreply@example.jp";
	mb.name = (char *)"\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb5\xe3\x83\xbc\xe3\x83\x93\xe3\x82\xb9"; /* 認証サービス */
	otp_buf_init(&b, 0);
	ok(otp_mime_mailbox_header_append(&b, "From", &mb) == 0, "From with Japanese name");
	ok(strstr(b.data, "<noreply@example.jp>\r\n") != NULL, "From keeps <addr>");
	d = decode_header(b.data, &words_ok);
	is_str(d, "\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb5\xe3\x83\xbc\xe3\x83\x93\xe3\x82\xb9 <noreply@example.jp>",
	       "From display name decodes");
	free(d);
	otp_buf_free(&b);
	mb.name = (char *)"Ops, \"Team\"";
	otp_buf_init(&b, 0);
	otp_mime_mailbox_header_append(&b, "From", &mb);
	is_str(b.data, "From: \"Ops, \\\"Team\\\"\" <noreply@example.jp>\r\n", "ASCII specials quoted");
	otp_buf_free(&b);
	mb.name = (char *)"Evil\r\nBcc: x@y.com";
	otp_buf_init(&b, 0);
	ok(otp_mime_mailbox_header_append(&b, "From", &mb) != 0, "display name with CRLF refused");
	otp_buf_free(&b);
	mb.name = NULL;
	mb.addr = (char *)"a@x.com\r\nBcc: c@z";
	otp_buf_init(&b, 0);
	ok(otp_mime_mailbox_header_append(&b, "From", &mb) != 0, "address with CRLF refused in From");
	otp_buf_free(&b);
}

static void
test_body(void)
{
	struct otp_buf b;
	char *d;

	otp_buf_init(&b, 0);
	otp_mime_crlf_append(&b, "a\nb\rc\r\nd\n\ne", 12);
	is_str(b.data, "a\r\nb\r\nc\r\nd\r\n\r\ne", "bare LF and CR become CRLF, CRLF kept");
	otp_buf_free(&b);
	otp_buf_init(&b, 0);
	ok(otp_mime_crlf_append(&b, "a\0b", 3) == -1, "NUL in body refused");
	otp_buf_free(&b);

	otp_buf_init(&b, 0);
	{
		const char *in = "a=b c \r\ntrail \r\ntab\t\r\n\xc3\xa9t\xc3\xa9";
		otp_mime_qp_append(&b, in, strlen(in));
	}
	is_str(b.data, "a=3Db c=20\r\ntrail=20\r\ntab=09\r\n=C3=A9t=C3=A9", "quoted-printable basics");
	otp_buf_free(&b);
	{
		char line[301];
		for (int i = 0; i < 300; i++)
			line[i] = (i % 7 == 0) ? '=' : (char)('a' + i % 26);
		line[300] = '\0';
		otp_buf_init(&b, 0);
		otp_mime_qp_append(&b, line, 300);
		ok(longest_line(b.data) <= 76, "QP lines <= 76 with soft breaks");
		d = qp_decode(b.data);
		is_str(d, line, "QP round trip of a long line");
		free(d);
		otp_buf_free(&b);
	}
	otp_buf_init(&b, 0);
	otp_mime_qp_append(&b, ".\r\n.hidden\r\n", 12);
	is_str(b.data, ".\r\n.hidden\r\n", "QP leaves dots for the SMTP layer to stuff");
	otp_buf_free(&b);

	otp_buf_init(&b, 0);
	otp_mime_dot_stuff_append(&b, ".a\r\nb\r\n.\r\n..c\r\nx.y\r\n", 21);
	is_str(b.data, "..a\r\nb\r\n..\r\n...c\r\nx.y\r\n", "dot-stuffing: first line and after CRLF");
	otp_buf_free(&b);
	otp_buf_init(&b, 0);
	otp_mime_dot_stuff_append(&b, "a\n.b", 4);
	is_str(b.data, "a\n.b", "dot-stuffing only after CRLF (input is normalised first)");
	otp_buf_free(&b);
	otp_buf_init(&b, 0);
	otp_mime_lf_append(&b, "a\r\nb\r\n", 6);
	is_str(b.data, "a\nb\n", "CRLF -> LF for sendmail");
	otp_buf_free(&b);
	{
		char date[40];
		otp_mime_date(0, date);
		is_str(date, "Thu, 01 Jan 1970 00:00:00 +0000", "RFC 5322 date at the epoch");
		otp_mime_date(1709251200LL, date);
		is_str(date, "Fri, 01 Mar 2024 00:00:00 +0000", "RFC 5322 date, leap year");
		otp_mime_date(1798761599LL, date);
		is_str(date, "Thu, 31 Dec 2026 23:59:59 +0000", "RFC 5322 date, end of year");
	}
}

static void
test_build(void)
{
	struct otp_mailbox from = { (char *)"Login", (char *)"noreply@example.jp" };
	struct otp_mailbox reply = { NULL, (char *)"help@example.jp" };
	struct otp_mime_header hdrs[2] = { { (char *)"X-Mailer", (char *)"pam_otp_sms" },
					   { (char *)"X-Note", (char *)"\xe6\xb3\xa8\xe6\x84\x8f" } };
	struct otp_mime_message m = { 0 };
	struct otp_buf b;
	char why[160], *h, *d, *body;
	int words_ok;

	m.from = &from;
	m.to = "alice@example.com";
	m.reply_to = &reply;
	m.subject = "\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89: 004211";
	m.headers = hdrs;
	m.nheaders = 2;
	m.body = "Your code is 004211.\n.\n.hidden line\nbye";
	m.date = 1709251200LL;
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_OK, "message builds");
	ok(crlf_only(b.data), "message: CRLF line endings only");
	ok(longest_line(b.data) <= 78, "message: no line over 78");
	ok(strncmp(b.data, "Date: Fri, 01 Mar 2024 00:00:00 +0000\r\n", 39) == 0, "Date header first, UTC");
	ok(strstr(b.data, "\r\nFrom: Login <noreply@example.jp>\r\n") != NULL, "From header");
	ok(strstr(b.data, "\r\nTo: alice@example.com\r\n") != NULL, "To header");
	ok(strstr(b.data, "\r\nReply-To: help@example.jp\r\n") != NULL, "Reply-To header");
	ok(strstr(b.data, "\r\nMIME-Version: 1.0\r\n") != NULL, "MIME-Version");
	ok(strstr(b.data, "\r\nContent-Type: text/plain; charset=UTF-8\r\n") != NULL, "text/plain UTF-8");
	ok(strstr(b.data, "\r\nContent-Transfer-Encoding: quoted-printable\r\n") != NULL, "QP for ASCII text");
	ok(strstr(b.data, "\r\nX-Mailer: pam_otp_sms\r\n") != NULL, "custom header");
	h = find_header(b.data, "X-Note");
	d = h ? decode_header(h, &words_ok) : NULL;
	is_str(d, "\xe6\xb3\xa8\xe6\x84\x8f", "non-ASCII custom header encoded");
	free(d);
	free(h);
	h = find_header(b.data, "Message-ID");
	ok(h != NULL && strlen(h) == strlen("Message-ID: <@example.jp>\r\n") + 32 &&
	   strstr(h, "@example.jp>\r\n") != NULL, "Message-ID <32hex@from-domain>");
	free(h);
	h = find_header(b.data, "Subject");
	d = h ? decode_header(h, &words_ok) : NULL;
	is_str(d, m.subject, "Subject decodes to the original");
	free(d);
	free(h);
	is_int(count_lines_starting(b.data, "To:"), 1, "exactly one To");
	is_int(count_lines_starting(b.data, "Bcc:"), 0, "no Bcc");
	body = strstr(b.data, "\r\n\r\n");
	d = body ? qp_decode(body + 4) : NULL;
	is_str(d, "Your code is 004211.\r\n.\r\n.hidden line\r\nbye\r\n", "body decodes, CRLF, not dot-stuffed");
	free(d);
	otp_buf_free(&b);

	/* Mostly non-ASCII body: base64, html. */
	m.html = true;
	m.body = "<p>\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89\xe3\x81\xaf "
		 "004211 \xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82</p>";
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_OK, "HTML message builds");
	ok(strstr(b.data, "\r\nContent-Type: text/html; charset=UTF-8\r\n") != NULL, "text/html");
	ok(strstr(b.data, "\r\nContent-Transfer-Encoding: base64\r\n") != NULL, "base64 for CJK text");
	body = strstr(b.data, "\r\n\r\n");
	{
		struct otp_buf raw, dec;
		otp_buf_init(&raw, 0);
		otp_buf_init(&dec, 0);
		for (const char *p = body + 4; *p; p++)
			if (*p != '\r' && *p != '\n')
				otp_buf_append(&raw, p, 1);
		ok(otp_base64_decode(raw.data, &dec) == 0 && dec.len > 2 &&
		   strncmp(dec.data, m.body, strlen(m.body)) == 0, "base64 body decodes");
		otp_buf_free(&raw);
		otp_buf_free(&dec);
	}
	ok(longest_line(b.data) <= 78 && crlf_only(b.data), "base64 message lines <= 76, CRLF");
	otp_buf_free(&b);

	/* Every injection attempt is refused before anything is built. */
	m.html = false;
	m.body = "code 1";
	{
		static const char *const tos[] = { "a@x.com\r\nRCPT TO:<b@y.com>", "a@x.com>\r\nBcc: c@z.com",
						   "a@x.com\nDATA", "-f@x.com", "", NULL };
		for (int i = 0; tos[i]; i++) {
			otp_buf_init(&b, 0);
			m.to = tos[i];
			is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_TO, "bad recipient -> BAD_TO");
			ok(b.len == 0, "... and nothing built");
			otp_buf_free(&b);
		}
		m.to = NULL;
		otp_buf_init(&b, 0);
		is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_TO, "NULL recipient -> BAD_TO");
		otp_buf_free(&b);
	}
	m.to = "alice@example.com";
	m.subject = "Code\r\nBcc: evil@example.com";
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_HEADER, "CRLF in subject refused");
	otp_buf_free(&b);
	m.subject = "ok";
	hdrs[1].value = (char *)"x\r\nBcc: evil@example.com";
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_HEADER, "CRLF in custom header refused");
	otp_buf_free(&b);
	hdrs[1].value = (char *)"fine";
	hdrs[1].name = (char *)"Bcc";
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_HEADER, "custom Bcc refused at build");
	otp_buf_free(&b);
	hdrs[1].name = (char *)"X-Note";
	from.name = (char *)"Evil\nBcc: x@y.com";
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_HEADER, "LF in From name refused");
	otp_buf_free(&b);
	from.name = NULL;
	from.addr = (char *)"noreply@example.jp\r\nRCPT TO:<x@y.com>";
	otp_buf_init(&b, 0);
	is_int(otp_mime_build(&m, &b, why, sizeof(why)), OTP_MIME_BAD_HEADER, "CRLF in sender refused");
	otp_buf_free(&b);
}

static int
parse_cfg(const char *text, struct otp_mail_config *mc, struct otp_config_errors *errs,
	  config_t *cfg)
{
	struct otp_settings s;
	int rc;

	memset(mc, 0, sizeof(*mc));
	memset(errs, 0, sizeof(*errs));
	config_init(cfg);
	if (config_read_string(cfg, text) != CONFIG_TRUE)
		return -2;
	otp_settings_open(&s, config_root_setting(cfg), errs);
	rc = otp_mail_config_parse(&s, mc);
	otp_settings_finish(&s);
	return errs->count > 0 ? -1 : rc;
}

static void
test_settings(void)
{
	struct otp_mail_config mc;
	struct otp_config_errors errs;
	struct otp_template_vars vars = { .code = "004211", .user = "x\r\nBcc: evil@example.com",
					  .host = "<b>host</b>", .service = "sshd", .ttl_minutes = 5 };
	struct otp_message msg = { 0 };
	struct otp_send_result res = { 0 };
	struct otp_buf b;
	config_t cfg;
	int rc;

	rc = parse_cfg("fromEmail = \"Login <noreply@example.jp>\"; replyTo = \"help@example.jp\";"
		       "customHeaders = { X-Mailer = \"pam_otp_sms\"; X-Tag = [ \"a\", \"b\" ]; };"
		       "templates = ( { usageType = \"Generic\"; contentType = \"text/html\";"
		       " subject = \"Code for {{user}}\"; content = \"<p>{{code}} on {{host}}</p>\"; } );",
		       &mc, &errs, &cfg);
	is_int(rc, 0, "mail settings parse");
	if (rc != 0)
		printf("# %s\n", errs.msg[0]);
	is_int(mc.nheaders, 3, "custom headers: string and list values");
	msg.channel = OTP_CHANNEL_EMAIL;
	msg.to = "alice@example.com";
	msg.code = "004211";
	msg.usage = "SignIn";
	msg.vars = &vars;
	otp_buf_init(&b, 0);
	is_int(otp_mail_compose(&mc, &msg, 1709251200LL, &b, &res), 0, "compose (Generic fallback)");
	ok(b.data && count_lines_starting(b.data, "Bcc:") == 0, "user value with CRLF cannot add a Bcc header");
	ok(b.data && count_lines_starting(b.data, "X-Tag:") == 2, "list header value -> two headers");
	ok(b.data && strstr(b.data, "&lt;b&gt;host&lt;/b&gt;") != NULL, "HTML-escaped value in HTML body");
	ok(b.data && crlf_only(b.data), "composed message CRLF only");
	otp_buf_free(&b);
	msg.to = "alice@example.com\r\nRCPT TO:<evil@example.com>";
	otp_buf_init(&b, 0);
	memset(&res, 0, sizeof(res));
	ok(otp_mail_compose(&mc, &msg, 0, &b, &res) == -1 && res.fail == OTP_FAIL_DESTINATION && b.len == 0,
	   "compose: CRLF recipient -> destination, nothing built");
	otp_buf_free(&b);
	{
		char *p = otp_mail_preview(&mc, "SignIn", &vars);
		ok(p && strncmp(p, "Subject: Code for x  Bcc: evil@example.com\n\n<p>004211", 51) == 0,
		   "preview shows subject and body");
		otp_free_secret(p);
	}
	otp_mail_config_free(&mc);
	config_destroy(&cfg);

	{
		static const struct { const char *cfg, *want; } bad[] = {
			{ "fromEmail = \"a@x.com\"; customHeaders = { Bcc = \"e@x.com\"; };"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\"; content = \"{{code}}\"; } );",
			  "Bcc" },
			{ "fromEmail = \"a@x.com\"; customHeaders = { X-A = \"a\\r\\nBcc: e@x.com\"; };"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\"; content = \"{{code}}\"; } );",
			  "customHeaders" },
			{ "fromEmail = \"a@x.com\\r\\nBcc: e@x.com\";"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\"; content = \"{{code}}\"; } );",
			  "fromEmail" },
			{ "fromEmail = \"not an address\";"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\"; content = \"{{code}}\"; } );",
			  "fromEmail" },
			{ "fromEmail = \"a@x.com\"; replyTo = \"b@y.com, c@z.com\";"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\"; content = \"{{code}}\"; } );",
			  "replyTo" },
			{ "fromEmail = \"a@x.com\";"
			  "templates = ( { usageType = \"Generic\"; contentType = \"text/markdown\"; subject = \"s\"; content = \"{{code}}\"; } );",
			  "contentType" },
			{ "fromEmail = \"a@x.com\";"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\"; content = \"no code here\"; } );",
			  "{{code}}" },
			{ "fromEmail = \"a@x.com\";"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\\nBcc: e@x.com\"; content = \"{{code}}\"; } );",
			  "subject" },
			{ "fromEmail = \"a@x.com\";"
			  "templates = ( { usageType = \"Generic\"; subject = \"s\\tx\"; content = \"{{code}}\"; } );",
			  "subject" },
			{ "fromEmail = \"a@x.com\";", "templates" },
			{ NULL, NULL },
		};
		for (int i = 0; bad[i].cfg; i++) {
			char name[120];
			rc = parse_cfg(bad[i].cfg, &mc, &errs, &cfg);
			snprintf(name, sizeof(name), "bad mail settings %d refused, message names %s", i + 1,
				 bad[i].want);
			ok(rc != 0 && errs.count > 0 && strstr(errs.msg[0], bad[i].want) != NULL, name);
			if (errs.count > 0 && strstr(errs.msg[0], bad[i].want) == NULL)
				printf("# got: %s\n", errs.msg[0]);
			otp_mail_config_free(&mc);
			config_destroy(&cfg);
		}
	}
}

extern const struct otp_connector otp_connector_smtp;

/* import-logto: Logto's connector-smtp JSON -> our block -> configure(). */
static void
test_import_logto(void)
{
	static const char *json =
		"{\"host\":\"smtp.gmail.com\",\"port\":587,"
		"\"auth\":{\"user\":\"me@gmail.com\",\"pass\":\"app \\\"pass\\\"\",\"type\":\"login\"},"
		"\"fromEmail\":\"me@gmail.com\",\"replyTo\":\"help@example.jp\",\"secure\":false,"
		"\"requireTLS\":true,\"tls\":{},\"customHeaders\":{\"X-Tag\":[\"a\",\"b\"]},"
		"\"connectionTimeout\":120000,\"greetingTimeout\":30000,\"socketTimeout\":600000,"
		"\"dnsTimeout\":30000,\"logger\":false,\"debug\":false,"
		"\"templates\":[{\"usageType\":\"SignIn\",\"contentType\":\"text/plain\","
		"\"subject\":\"Sign-in code\",\"content\":\"Your code is {{code}}\\nBye\"},"
		"{\"usageType\":\"Generic\",\"contentType\":\"text/html\",\"subject\":\"Code\","
		"\"content\":\"<p>{{code}}</p>\"}]}";
	struct json_object *j = json_tokener_parse(json);
	char *text = NULL, why[160] = "";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_t cfg;
	struct otp_config_errors errs = { 0 };
	struct otp_settings root, grp;
	void *ctx;
	char *pv;
	struct otp_template_vars vars = { .code = "123456" };

	ok(j != NULL, "Logto JSON parses");
	is_int(otp_connector_smtp.import_logto(j, f, why, sizeof(why)), 0, "smtp import_logto succeeds");
	fclose(f);
	config_init(&cfg);
	ok(text && config_read_string(&cfg, text) == CONFIG_TRUE, "imported block is valid libconfig");
	if (text)
		ok(strncmp(text, "smtp = {", 8) == 0, "imported block is named smtp");
	otp_settings_open(&root, config_root_setting(&cfg), &errs);
	otp_settings_group(&root, "smtp", true, &grp);
	ctx = calloc(1, otp_connector_smtp.ctx_size);
	is_int(otp_connector_smtp.configure(ctx, &grp), 0, "imported Logto config configures the smtp connector");
	otp_settings_finish(&grp);
	is_int(errs.count, 0, "no unknown or bad keys after import");
	if (errs.count)
		printf("# %s\n", errs.msg[0]);
	pv = otp_connector_smtp.preview(ctx, "SignIn", &vars);
	is_str(pv, "Subject: Sign-in code\n\nYour code is 123456\nBye", "preview of the imported SignIn template");
	otp_free_secret(pv);
	otp_connector_smtp.cleanup(ctx);
	free(ctx);
	config_destroy(&cfg);
	free(text);
	json_object_put(j);

	j = json_tokener_parse("{\"host\":\"h\",\"localAddress\":\"10.0.0.1\",\"fromEmail\":\"a@b.jp\",\"templates\":[]}");
	text = NULL;
	f = open_memstream(&text, &len);
	ok(otp_connector_smtp.import_logto(j, f, why, sizeof(why)) != 0 && strstr(why, "localAddress") != NULL,
	   "import refuses a Logto key we cannot honour (localAddress)");
	fclose(f);
	free(text);
	json_object_put(j);
}

int
main(void)
{
	test_addresses();
	test_mailbox();
	test_headers();
	test_mailbox_header();
	test_body();
	test_build();
	test_settings();
	test_import_logto();
	return tap_done();
}
