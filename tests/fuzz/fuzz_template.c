/*
 * fuzz_template - the template renderer and checker (security.md F5).
 *
 * Input: a mode byte (escape context, need_code), then NUL-separated
 * fields: template, user, host, service, rhost.  The code is fixed.
 *
 * Invariants: a template the checker accepts renders (unless too long);
 * rendering is single-pass: rendered with two different codes, the outputs
 * differ exactly when the template has a code placeholder (a value holding
 * "{{code}}" stays literal text); every value is cleaned (no control character from a value, no
 * C1, valid UTF-8 from values); HEADER output has no CR or LF at all; HTML
 * output carries no '<' that the template did not contain; the output is
 * capped.
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "src/buf.h"
#include "src/mem.h"
#include "src/template.h"

#define CODE "918273"
#define CODE2 "555555"

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static bool
has_code_placeholder(const char *tpl)
{
	/* What the renderer replaces with the code: {{ code }} (spaces
	 * allowed) and the Auth0 @@password@@ form. */
	for (const char *p = tpl; *p; p++) {
		if (strncmp(p, "@@password@@", 12) == 0)
			return true;
		if (strncmp(p, "{{", 2) == 0) {
			const char *q = p + 2;
			while (*q == ' ')
				q++;
			if (strncmp(q, "code", 4) == 0) {
				q += 4;
				while (*q == ' ')
					q++;
				if (strncmp(q, "}}", 2) == 0)
					return true;
			}
		}
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	unsigned mode;
	enum otp_escape esc;
	char *tpl, *user, *host, *service, *rhost;
	struct otp_template_vars vars;
	struct otp_buf out, out2;
	char why[160];
	const char *bad;
	int rc, rc2;

	fz_init(&f, data, size);
	mode = fz_byte(&f);
	esc = (enum otp_escape)(mode % 3);
	tpl = fz_field(&f);
	user = fz_field(&f);
	host = fz_field(&f);
	service = fz_field(&f);
	rhost = fz_rest(&f);
	if (tpl == NULL)
		tpl = strdup("");
	vars.code = CODE;
	vars.user = user;
	vars.host = host;
	vars.service = service;
	vars.rhost = rhost;
	vars.ttl_minutes = (long)(mode >> 2) - 8;

	bad = otp_template_check(tpl, (mode & 0x80) != 0, why, sizeof(why));
	if (bad != NULL)
		FUZZ_CHECK(bad == why && strlen(why) < sizeof(why), "reason");
	otp_buf_init(&out, OTP_TEMPLATE_MAX_OUTPUT + 1);
	otp_buf_init(&out2, OTP_TEMPLATE_MAX_OUTPUT + 1);
	rc = otp_template_render(tpl, &vars, esc, &out);
	vars.code = CODE2;
	rc2 = otp_template_render(tpl, &vars, esc, &out2);
	/* Only the length cap may stop a template the checker accepted. */
	if (bad == NULL)
		FUZZ_CHECK(rc == 0 || out.len + 8 * 1024 > OTP_TEMPLATE_MAX_OUTPUT,
			   "checked template failed to render (%zu bytes out)", out.len);
	if (rc == 0 && rc2 == 0) {
		const char *o = out.data ? out.data : "", *o2 = out2.data ? out2.data : "";
		FUZZ_CHECK(out.len <= OTP_TEMPLATE_MAX_OUTPUT, "output %zu bytes", out.len);
		FUZZ_CHECK(strlen(o) == out.len, "NUL inside the output");
		/* Single pass: the code reaches the output through the
		 * template's own placeholders only, never through a value
		 * that holds "{{code}}". */
		if (has_code_placeholder(tpl))
			FUZZ_CHECK(strcmp(o, o2) != 0, "code placeholder not rendered");
		else
			FUZZ_CHECK(strcmp(o, o2) == 0, "the code reached the output through a value");
		for (const unsigned char *p = (const unsigned char *)o; *p; p++) {
			/* Control bytes only from the template itself. */
			if (*p < 0x20 || *p == 0x7f)
				FUZZ_CHECK(memchr(tpl, *p, strlen(tpl)) != NULL, "control 0x%02x from a value", *p);
		}
		if (esc == OTP_ESCAPE_HEADER)
			FUZZ_CHECK(strpbrk(o, "\r\n") == NULL, "CR/LF in a header");
		if (esc == OTP_ESCAPE_HTML)
			FUZZ_CHECK(count(o, "<") <= count(tpl, "<"), "'<' from a value in HTML");
		if (fz_utf8_valid((const unsigned char *)tpl, strlen(tpl)))
			FUZZ_CHECK(fz_utf8_valid((const unsigned char *)o, out.len), "invalid UTF-8 from a value");
	}
	otp_buf_free(&out2);
	otp_buf_free(&out);
	{
		char clean[64];
		otp_sanitize_value(user, clean, sizeof(clean));
		FUZZ_CHECK(strlen(clean) < sizeof(clean), "sanitize overflow");
		FUZZ_CHECK(fz_utf8_valid((const unsigned char *)clean, strlen(clean)), "sanitize UTF-8");
		for (const unsigned char *p = (const unsigned char *)clean; *p; p++)
			FUZZ_CHECK(*p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] < 0xa0),
				   "control in sanitized value");
	}
	free(tpl);
	free(user);
	free(host);
	free(service);
	free(rhost);
	return 0;
}
