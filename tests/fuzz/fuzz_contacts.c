/*
 * fuzz_contacts - the contacts file parser and the GECOS contact reader
 * (security.md F3).
 *
 * Input: first byte selects the parser (even: contacts file, odd: GECOS),
 * the rest is the text.  Invariants: every entry handed to the callback
 * has three non-empty fields without blanks or control characters, the
 * user is not "-", line numbers only grow; a refusal names file:line; a
 * GECOS phone is "+" and digits only, a GECOS email has no blank at either
 * end and no comma.
 */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "src/contacts.h"

struct seen {
	int last_line;
	int entries;
	bool dup_user;
	char first_user[1024];
};

static void
check_field(const char *f, const char *what)
{
	FUZZ_CHECK(f[0] != '\0', "empty %s", what);
	for (const unsigned char *p = (const unsigned char *)f; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != ' ' && *p != '#', "%s has byte 0x%02x", what, *p);
}

static int
each(void *arg, int line, const char *user, const char *phone, const char *email)
{
	struct seen *s = arg;

	FUZZ_CHECK(line > s->last_line, "line %d after %d", line, s->last_line);
	s->last_line = line;
	check_field(user, "user");
	if (phone != NULL) {
		check_field(phone, "phone");
		FUZZ_CHECK(strcmp(phone, "-") != 0, "'-' passed as a phone");
	}
	if (email != NULL) {
		check_field(email, "email");
		FUZZ_CHECK(strcmp(email, "-") != 0, "'-' passed as an email");
	}
	if (s->entries++ == 0) {
		snprintf(s->first_user, sizeof(s->first_user), "%s", user);
	} else if (strcmp(s->first_user, user) == 0) {
		/* Refusing a second line for the same user is the caller's job
		 * (find_user); exercise that path too. */
		s->dup_user = true;
		return -1;
	}
	return 0;
}

static void
fuzz_file(const char *text)
{
	struct seen s = { 0 };
	char why[256];
	int rc;

	why[0] = '\0';
	rc = otp_contacts_parse("/etc/users", text, each, &s, why, sizeof(why));
	if (rc != 0) {
		FUZZ_CHECK(strncmp(why, "/etc/users:", 11) == 0, "reason without file:line: %s", why);
		FUZZ_CHECK(memchr(why, '\n', strlen(why)) == NULL, "newline in reason");
	} else {
		FUZZ_CHECK(!s.dup_user, "duplicate accepted");
	}
}

static void
fuzz_gecos(const char *text)
{
	char *phone = NULL, *email = NULL;

	otp_gecos_contact(text, &phone, &email);
	if (phone != NULL) {
		size_t n = strlen(phone);
		FUZZ_CHECK(phone[0] == '+', "phone %s", phone);
		FUZZ_CHECK(n >= 2 && strspn(phone + 1, "0123456789") == n - 1, "phone %s", phone);
	}
	if (email != NULL) {
		size_t n = strlen(email);
		FUZZ_CHECK(n > 0 && strchr(email, '@') != NULL, "email %s", email);
		FUZZ_CHECK(strchr(email, ',') == NULL, "comma in email %s", email);
		FUZZ_CHECK(email[0] != ' ' && email[0] != '\t' && email[n - 1] != ' ' &&
			   email[n - 1] != '\t', "blank around email");
	}
	free(phone);
	free(email);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	unsigned mode;
	char *text;

	fz_init(&f, data, size);
	mode = fz_byte(&f);
	text = fz_rest(&f);
	if (mode & 1)
		fuzz_gecos(text);
	else
		fuzz_file(text);
	free(text);
	return 0;
}
