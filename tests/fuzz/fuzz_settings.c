/*
 * fuzz_settings - the checked libconfig reader (src/settings.h) that every
 * connector parses its settings group with, and the URL checks behind
 * `endpoint` (libconfig's own fuzzer, fuzz_config_read, does the same for
 * the library: parse, then look up every type).
 *
 * Input: a selector byte, then a libconfig text.  Every member of the root
 * group (and of its first-level groups) is read with a getter chosen by
 * the selector and the member's position; then otp_settings_finish.
 *
 * Invariants: a getter that succeeds returns a value of its type inside
 * its range (strings without control characters, URLs https:// or
 * loopback http:// without credentials, query or fragment and without a
 * trailing '/'); a failing getter records an error; error messages are
 * "file:line: key '...': ..." and terminated; the error count stays within
 * OTP_SETTINGS_MAX_ERRORS; keys nobody read are reported.
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <libconfig.h>
#include "fuzz.h"
#include "src/settings.h"
#include "src/template.h"

static const struct otp_template_field fields[] = {
	{ .name = "content", .required = true, .needs_code = true, .is_template = true },
	{ .name = "subject", .is_template = true },
	{ .name = "body", .is_template = true, .multiline = true },
	{ .name = NULL },
};

static void
no_controls(const char *s, bool nl_ok)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK((*p >= 0x20 && *p != 0x7f) || (nl_ok && (*p == '\n' || *p == '\r' || *p == '\t')),
			   "control 0x%02x", *p);
}

static void read_group(struct otp_settings *s, unsigned sel, int depth);

static void
read_member(struct otp_settings *s, const char *key, unsigned how, unsigned sel, int depth)
{
	static const char *const choices[] = { "alpha", "beta", NULL };
	int before = s->errs->count, rc = 0;
	char *str = NULL;
	char **v = NULL;
	long n;
	bool b;

	switch (how % 9) {
	case 0:
		rc = otp_settings_string(s, key, how & 16, "dflt", &str);
		if (rc == 0 && str)
			no_controls(str, false);
		break;
	case 1:
		rc = otp_settings_secret(s, key, true, &str);
		if (rc == 0) {
			FUZZ_CHECK(str != NULL && str[0] != '\0', "empty required secret");
			no_controls(str, false);
		}
		break;
	case 2:
		rc = otp_settings_int(s, key, 5, -3, 1000, &n);
		FUZZ_CHECK(n >= -3 && n <= 1000, "int %ld out of range", n);
		break;
	case 3:
		rc = otp_settings_bool(s, key, true, &b);
		break;
	case 4:
		rc = otp_settings_strv(s, key, &v);
		FUZZ_CHECK(v != NULL || rc != 0, "strv NULL on success");
		for (char **p = v; rc == 0 && *p; p++) {
			FUZZ_CHECK((*p)[0] != '\0', "empty list element");
		}
		otp_strv_free(v);
		break;
	case 5:
		rc = otp_settings_endpoint(s, key, (how & 16) ? NULL : "https://api.example.com/", &str);
		if (rc == 0 && str) {
			size_t len = strlen(str);
			FUZZ_CHECK(otp_url_check(str, true) == NULL, "endpoint %s", str);
			FUZZ_CHECK(strncasecmp(str, "https://", 8) == 0 ||
				   otp_url_is_loopback(str), "plain http off loopback: %s", str);
			FUZZ_CHECK(len == 0 || str[len - 1] != '/', "trailing slash");
		}
		break;
	case 6:
		rc = otp_settings_choice(s, key, "alpha", choices, &str);
		if (rc == 0)
			FUZZ_CHECK(str == NULL || strcmp(str, "alpha") == 0 || strcmp(str, "beta") == 0, "choice");
		else
			FUZZ_CHECK(str == NULL, "choice left a value");
		break;
	case 7: {
		struct otp_template_list l;
		rc = otp_template_list_parse(s, key, fields, (how & 16) != 0, &l);
		for (size_t i = 0; i < l.count; i++) {
			const struct otp_template *t = &l.items[i];
			if (rc == 0) {
				FUZZ_CHECK(t->usage != NULL, "template without usageType");
				FUZZ_CHECK(t->value[0] != NULL, "required field missing");
			}
			no_controls(t->value[0] ? t->value[0] : "", false);
			no_controls(t->value[2] ? t->value[2] : "", true);
		}
		(void)otp_template_find(&l, "SignIn");
		otp_template_list_free(&l);
		break;
	}
	default: {
		struct otp_settings child;
		rc = otp_settings_group(s, key, (how & 16) != 0, &child);
		if (rc == 0 && child.group != NULL && depth < 3)
			read_group(&child, sel, depth + 1);
		break;
	}
	}
	FUZZ_CHECK(rc == 0 || s->errs->count > before || before >= OTP_SETTINGS_MAX_ERRORS,
		   "getter %u failed without an error", how % 9);
	free(str);
}

static void
read_group(struct otp_settings *s, unsigned sel, int depth)
{
	int n = config_setting_length(s->group);

	for (int i = 0; i < n && i < 40; i++) {
		config_setting_t *e = config_setting_get_elem(s->group, (unsigned)i);
		const char *name = config_setting_name(e);
		if (name != NULL)
			read_member(s, name, sel + (unsigned)i * 7 + (unsigned)config_setting_type(e), sel, depth);
	}
	/* An absent key: defaults apply, or "required" errors. */
	read_member(s, "absent-key", sel, sel, depth);
	otp_settings_finish(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otp_config_errors errs = { .file = "fuzz.conf" };
	struct otp_settings root;
	struct fz f;
	unsigned sel;
	char *text;
	config_t cfg;

	fz_init(&f, data, size);
	sel = fz_byte(&f);
	text = fz_rest(&f);
	config_init(&cfg);
	if (strstr(text, "@include") == NULL && config_read_string(&cfg, text) == CONFIG_TRUE) {
		otp_settings_open(&root, config_root_setting(&cfg), &errs);
		read_group(&root, sel, 0);
		FUZZ_CHECK(errs.count >= 0 && errs.count <= OTP_SETTINGS_MAX_ERRORS, "count %d", errs.count);
		FUZZ_CHECK(errs.warnings >= 0 && errs.warnings <= OTP_SETTINGS_MAX_ERRORS, "warnings");
		for (int i = 0; i < errs.count; i++) {
			FUZZ_CHECK(memchr(errs.msg[i], '\0', sizeof(errs.msg[i])) != NULL, "unterminated");
			FUZZ_CHECK(strncmp(errs.msg[i], "fuzz.conf:", 10) == 0, "message %s", errs.msg[i]);
		}
		/* Unknown keys: anything read as an "absent" group member was
		 * still read, so at most the root's unread keys are reported. */
		(void)otp_settings_failed(&root);
	}
	config_destroy(&cfg);
	free(text);
	return 0;
}
