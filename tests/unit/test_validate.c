/* Unit tests: E.164, email, country codes, masking, CIDR matching, log escaping. */
#include "config.h"
#include <string.h>
#include "tap.h"
#include "src/log.h"
#include "src/validate.h"

static const char *last_line;
static char line_buf[2048];

static void
capture(void *arg, int prio, const char *line)
{
	(void)arg;
	(void)prio;
	snprintf(line_buf, sizeof(line_buf), "%s", line);
	last_line = line_buf;
}

int
main(void)
{
	struct otp_cidr c;
	char out[128];

	ok(otp_valid_e164("+819012345678"), "E.164 Japan mobile");
	ok(otp_valid_e164("+1234567"), "E.164 7 digits");
	ok(otp_valid_e164("+123456789012345"), "E.164 15 digits");
	ok(!otp_valid_e164("+1234567890123456"), "E.164 16 digits refused");
	ok(!otp_valid_e164("+123456"), "E.164 6 digits refused");
	ok(!otp_valid_e164("+0123456789"), "E.164 leading 0 refused");
	ok(!otp_valid_e164("0044123456789"), "00 prefix refused");
	ok(!otp_valid_e164("+1 555 0100"), "spaces refused");
	ok(!otp_valid_e164("tel:+15550100"), "tel: refused");
	ok(!otp_valid_e164("+1555010\xd9\xa0"), "Unicode digit refused");
	ok(!otp_valid_e164("+15550100\n"), "trailing newline refused");

	ok(otp_valid_email("alice@example.jp"), "plain email");
	ok(otp_valid_email("a.b+tag@sub.example.co.uk"), "dots and plus");
	ok(!otp_valid_email("a@x.com\r\nRCPT TO:<b@y>"), "CRLF injection refused");
	ok(!otp_valid_email("a@x.com>"), "angle bracket refused");
	ok(!otp_valid_email("-oQ/tmp@x.com"), "leading dash refused (sendmail option)");
	ok(!otp_valid_email("\"a b\"@x.com"), "quoted local part refused");
	ok(!otp_valid_email("a..b@x.com"), "double dot refused");
	ok(!otp_valid_email("a@localhost"), "single-label domain refused");
	ok(!otp_valid_email("a@-x.com"), "label starting with '-' refused");
	ok(!otp_valid_email("a@b@c.com"), "two @ refused");
	ok(!otp_valid_email(""), "empty refused");

	is_int(otp_country_code_len("819012345678"), 2, "country code 81");
	is_int(otp_country_code_len("15551234567"), 1, "country code 1");
	is_int(otp_country_code_len("79031234567"), 1, "country code 7");
	is_int(otp_country_code_len("886912345678"), 3, "country code 886");
	{
		char *allowed[] = { "81", "82", NULL };
		char *empty[] = { NULL };
		char *one[] = { "8", NULL };
		ok(otp_country_allowed("+819012345678", allowed), "81 allowed");
		ok(!otp_country_allowed("+15551234567", allowed), "1 not allowed");
		ok(otp_country_allowed("+15551234567", empty), "empty list allows all");
		ok(!otp_country_allowed("+819012345678", one), "a prefix of a code is not the code");
		ok(!otp_country_allowed("+886912345678", allowed), "886 is not 88x/81");
	}

	otp_mask_display("+819012345678", out, sizeof(out));
	is_str(out, "+81 \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 \xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2 5678", "display mask of a phone");
	otp_mask_log("+819012345678", out, sizeof(out));
	is_str(out, "+81******5678", "log mask of a phone");
	otp_mask_display("jiro@example.jp", out, sizeof(out));
	is_str(out, "j\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@example.jp", "display mask of an email");
	otp_mask_log("jiro@example.jp", out, sizeof(out));
	ok(strstr(out, "jiro") == NULL, "log mask hides the local part");

	ok(otp_cidr_parse("10.0.0.0/8", &c) == 0 && otp_cidr_match(&c, "10.255.1.2"), "IPv4 CIDR match");
	ok(!otp_cidr_match(&c, "11.0.0.1"), "IPv4 CIDR miss");
	ok(otp_cidr_match(&c, "::ffff:10.0.0.1"), "IPv4-mapped IPv6 matches IPv4 block");
	ok(!otp_cidr_match(&c, "10.0.0.1.evil.example"), "host name never matches");
	ok(!otp_cidr_match(&c, "10.0.0.1 "), "trailing space never matches");
	ok(!otp_cidr_match(&c, ""), "empty never matches");
	ok(otp_cidr_parse("2001:db8::/32", &c) == 0 && otp_cidr_match(&c, "2001:db8:1::5"), "IPv6 CIDR match");
	ok(!otp_cidr_match(&c, "2001:db9::1"), "IPv6 CIDR miss");
	ok(otp_cidr_parse("192.0.2.7", &c) == 0 && c.prefix == 32, "bare address is /32");
	ok(otp_cidr_parse("10.0.0.0/33", &c) != 0, "prefix > 32 refused");
	ok(otp_cidr_parse("example.com/8", &c) != 0, "host name block refused");
	ok(otp_cidr_parse("10.0.0.0/", &c) != 0, "empty prefix refused");
	ok(otp_cidr_parse("10.0.0.0/8x", &c) != 0, "junk prefix refused");
	ok(otp_cidr_parse("10.1.0.0/12", &c) == 0 && otp_cidr_match(&c, "10.15.255.255") &&
	   !otp_cidr_match(&c, "10.16.0.0"), "non-octet prefix boundary");

	{
		struct otp_log log = { .sink = capture };
		otp_log_event(&log, LOG_NOTICE, "failed", "user", "eve\nevent=verified user=root", "rhost", NULL,
			      "why", "a b", (char *)NULL);
		ok(last_line && strchr(last_line, '\n') == NULL, "log: newline in a value is escaped");
		ok(last_line && strstr(last_line, "\\x0a") != NULL, "log: escape is \\x0a");
		ok(last_line && strstr(last_line, "rhost=") == NULL, "log: NULL values are skipped");
		ok(last_line && strstr(last_line, "why=\"a b\"") != NULL, "log: values with spaces are quoted");
		otp_log_event(&log, LOG_DEBUG, "debugonly", (char *)NULL);
		ok(last_line && strstr(last_line, "debugonly") == NULL, "log: debug lines need debug");
		{
			char big[600];
			memset(big, 'x', sizeof(big) - 1);
			big[sizeof(big) - 1] = '\0';
			otp_log_event(&log, LOG_NOTICE, "big", "v", big, (char *)NULL);
			ok(last_line && strlen(last_line) < 200 && strstr(last_line, "...") != NULL, "log: values capped");
		}
	}
	return tap_done();
}
