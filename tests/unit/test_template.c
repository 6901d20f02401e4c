/* Unit tests: template rendering, escaping, checking, Logto-style lists. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include "tap.h"
#include "src/template.h"

int
main(void)
{
	struct otp_template_vars v = { .code = "004211", .user = "alice", .host = "bastion",
				       .service = "sshd", .rhost = "192.0.2.1", .ttl_minutes = 5 };
	char why[160], *s;

	s = otp_template_render_str("Your code is {{code}}", &v, OTP_ESCAPE_TEXT);
	is_str(s, "Your code is 004211", "code substituted, leading zeros kept");
	free(s);
	s = otp_template_render_str("{{ user }}@{{host}} ({{service}} from {{rhost}}) {{ttl_minutes}} min",
				    &v, OTP_ESCAPE_TEXT);
	is_str(s, "alice@bastion (sshd from 192.0.2.1) 5 min", "all placeholders, spaces inside braces");
	free(s);
	s = otp_template_render_str("Code: @@password@@", &v, OTP_ESCAPE_TEXT);
	is_str(s, "Code: 004211", "Auth0 @@password@@ alias");
	free(s);

	/* Single pass: a value containing a placeholder stays literal. */
	v.user = "{{code}}";
	s = otp_template_render_str("hi {{user}}", &v, OTP_ESCAPE_TEXT);
	is_str(s, "hi {{code}}", "values are never re-expanded");
	free(s);
	v.user = "%n%s%x";
	s = otp_template_render_str("hi {{user}}", &v, OTP_ESCAPE_TEXT);
	is_str(s, "hi %n%s%x", "format directives are plain text");
	free(s);
	v.user = "a\r\nBcc: x@y";
	s = otp_template_render_str("Subject: {{user}}", &v, OTP_ESCAPE_HEADER);
	ok(s && strchr(s, '\r') == NULL && strchr(s, '\n') == NULL, "header context has no CR/LF");
	free(s);
	v.user = "<b>&\"'";
	s = otp_template_render_str("<p>{{user}}</p>", &v, OTP_ESCAPE_HTML);
	is_str(s, "<p>&lt;b&gt;&amp;&quot;&#39;</p>", "HTML escaping of values only");
	free(s);
	v.user = "bad\xff\xfeutf8";
	s = otp_template_render_str("{{user}}", &v, OTP_ESCAPE_TEXT);
	is_str(s, "bad??utf8", "invalid UTF-8 replaced");
	free(s);
	v.user = "\xe5\xb1\xb1\xe7\x94\xb0";
	s = otp_template_render_str("{{user}}", &v, OTP_ESCAPE_TEXT);
	is_str(s, "\xe5\xb1\xb1\xe7\x94\xb0", "valid UTF-8 kept");
	free(s);
	v.user = "\xc2\x9b[2J";
	s = otp_template_render_str("{{user}}", &v, OTP_ESCAPE_TEXT);
	is_str(s, " [2J", "C1 control (CSI) removed");
	free(s);
	{
		char big[4096];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		v.user = big;
		s = otp_template_render_str("{{user}}", &v, OTP_ESCAPE_TEXT);
		ok(s && strlen(s) <= 512, "values are length-capped");
		free(s);
	}
	ok(otp_template_render_str("{{nope}}", &v, OTP_ESCAPE_TEXT) == NULL, "unknown placeholder fails");

	ok(otp_template_check("Code {{code}}", true, why, sizeof(why)) == NULL, "check: fine");
	ok(otp_template_check("No code here", true, why, sizeof(why)) != NULL, "check: {{code}} required");
	ok(otp_template_check("{{cdoe}}", false, why, sizeof(why)) != NULL, "check: typo is an error");
	ok(otp_template_check("{{code", true, why, sizeof(why)) != NULL, "check: malformed placeholder");

	{
		static const struct otp_template_field fields[] = {
			{ .name = "content", .required = true, .needs_code = true, .is_template = true },
			{ .name = NULL },
		};
		struct otp_config_errors errs = { .file = "t.conf" };
		struct otp_template_list l;
		struct otp_settings s0;
		config_t cfg;
		const struct otp_template *t;

		config_init(&cfg);
		ok(config_read_string(&cfg,
			"templates = ( { usageType = \"SignIn\"; content = \"Login {{code}}\"; },"
			"              { usageType = \"Generic\"; content = \"Code {{code}}\"; } );") == CONFIG_TRUE,
		   "libconfig parses template list");
		otp_settings_open(&s0, config_root_setting(&cfg), &errs);
		ok(otp_template_list_parse(&s0, "templates", fields, true, &l) == 0, "template list parses");
		t = otp_template_find(&l, "SignIn");
		is_str(otp_template_get(&l, t, "content"), "Login {{code}}", "exact usage type wins");
		t = otp_template_find(&l, "ForgotPassword");
		is_str(otp_template_get(&l, t, "content"), "Code {{code}}", "falls back to Generic");
		otp_template_list_free(&l);
		config_destroy(&cfg);

		config_init(&cfg);
		config_read_string(&cfg,
			"templates = ( { usageType = \"SignIn\"; content = \"Login\"; extra = 1; } );");
		otp_settings_open(&s0, config_root_setting(&cfg), &errs);
		errs.count = 0;
		ok(otp_template_list_parse(&s0, "templates", fields, true, &l) != 0, "bad template list rejected");
		ok(errs.count >= 2, "both problems reported (missing {{code}}, unknown key)");
		ok(strstr(errs.msg[0], "t.conf:1:") != NULL, "error names file and line");
		t = otp_template_find(&l, "Generic");
		ok(t == NULL, "no Generic and no match -> not found");
		otp_template_list_free(&l);
		config_destroy(&cfg);
	}
	return tap_done();
}
