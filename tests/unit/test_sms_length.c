/*
 * Unit tests: SMS segment counting (GSM-7 / UCS-2), the E.164 -> MSISDN
 * helper, provider-text summaries, and (because this area owns only this
 * C test file) the Logto import of the four sms-intl connectors, checked by
 * feeding the printed block back through each connector's configure().
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include <json-c/json.h>
#include "tap.h"
#include "src/http.h"
#include "src/sms_length.h"
#include "src/connectors/connector.h"

static char *
rep(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

static char *
cat3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* segments, encoding and units of s in one check each. */
static void
seg(const char *s, size_t want_segs, int want_enc, size_t want_units, const char *name)
{
	int enc = -1;
	size_t units = 999999;
	size_t segs = otp_sms_segments(s, &enc, &units);
	char label[160];

	snprintf(label, sizeof(label), "%s: segments", name);
	is_int(segs, want_segs, label);
	snprintf(label, sizeof(label), "%s: encoding", name);
	is_int(enc, want_enc, label);
	snprintf(label, sizeof(label), "%s: units", name);
	is_int(units, want_units, label);
}

static void
seg_free(char *s, size_t want_segs, int want_enc, size_t want_units, const char *name)
{
	seg(s, want_segs, want_enc, want_units, name);
	free(s);
}

static void
test_segments(void)
{
	/* ASCII and boundaries 160/161, 306/307 */
	seg("", 0, OTP_SMS_GSM7, 0, "empty text");
	seg("Your code is 123456", 1, OTP_SMS_GSM7, 19, "plain ASCII");
	seg_free(rep("a", 160), 1, OTP_SMS_GSM7, 160, "160 GSM chars");
	seg_free(rep("a", 161), 2, OTP_SMS_GSM7, 161, "161 GSM chars");
	seg_free(rep("a", 306), 2, OTP_SMS_GSM7, 306, "306 GSM chars (2 x 153)");
	seg_free(rep("a", 307), 3, OTP_SMS_GSM7, 307, "307 GSM chars");

	/* extension table: each costs two septets */
	seg("\xe2\x82\xac", 1, OTP_SMS_GSM7, 2, "euro sign is GSM-7, 2 septets");
	seg("\xe2\x82\xac[]{}~^\\|", 1, OTP_SMS_GSM7, 18, "all extension chars: 9 x 2 septets");
	seg("\f", 1, OTP_SMS_GSM7, 2, "form feed is an extension char");
	seg_free(rep("{", 80), 1, OTP_SMS_GSM7, 160, "80 extension chars = 160 septets");
	{
		char *braces = rep("{", 80);
		seg_free(cat3(braces, "a", ""), 2, OTP_SMS_GSM7, 161, "80 extension chars + 1");
		free(braces);
	}
	{
		/* an ESC pair is never split: 152 + [2] + 152 = 306 needs 3 parts */
		char *a = rep("a", 152);
		seg_free(cat3(a, "\xe2\x82\xac", a), 3, OTP_SMS_GSM7, 306,
			 "escape pair at a part boundary moves to the next part");
		free(a);
	}

	/* GSM default alphabet beyond ASCII, and its near misses */
	seg("@\xc2\xa3$\xc2\xa5\xc3\xa8\xc3\xa9\xc3\xb9\xc3\xac\xc3\xb2\xc3\x87\xc3\x98\xc3\xb8"
	    "\xc3\x85\xc3\xa5\xce\x94_\xce\xa6\xce\x93\xce\x9b\xce\xa9\xce\xa0\xce\xa8\xce\xa3"
	    "\xce\x98\xce\x9e\xc3\x86\xc3\xa6\xc3\x9f\xc3\x89\xc2\xa4\xc2\xa1\xc3\x84\xc3\x96"
	    "\xc3\x91\xc3\x9c\xc2\xa7\xc2\xbf\xc3\xa4\xc3\xb6\xc3\xb1\xc3\xbc\xc3\xa0\r\n",
	    1, OTP_SMS_GSM7, 44, "GSM basic alphabet letters (Greek, accents, CR LF) are 1 septet");
	seg("`", 1, OTP_SMS_UCS2, 1, "backquote is not GSM-7");
	seg("\xc3\xaa", 1, OTP_SMS_UCS2, 1, "e-circumflex is not GSM-7");
	seg("a\tb", 1, OTP_SMS_UCS2, 3, "TAB is not GSM-7");
	seg("\xff", 1, OTP_SMS_UCS2, 1, "invalid UTF-8 counts as one non-GSM char");
	seg("\xc0\xaf", 1, OTP_SMS_UCS2, 2, "overlong UTF-8 is two invalid bytes");
	seg("\xed\xa0\x80", 1, OTP_SMS_UCS2, 3, "UTF-8 encoded surrogate is invalid");

	/* CJK */
	seg("\xe8\xaa\x8d\xe8\xa8\xbc\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89\xe3\x81\xaf"
	    "123456\xe3\x81\xa7\xe3\x81\x99", 1, OTP_SMS_UCS2, 14, "Japanese text is UCS-2");
	seg("\xec\x9d\xb8\xec\xa6\x9d \xec\xbd\x94\xeb\x93\x9c: 123456", 1, OTP_SMS_UCS2, 13,
	    "Korean text is UCS-2");
	seg_free(rep("\xe3\x81\x82", 70), 1, OTP_SMS_UCS2, 70, "70 UCS-2 chars");
	seg_free(rep("\xe3\x81\x82", 71), 2, OTP_SMS_UCS2, 71, "71 UCS-2 chars");
	seg_free(rep("\xe3\x81\x82", 134), 2, OTP_SMS_UCS2, 134, "134 UCS-2 chars (2 x 67)");
	seg_free(rep("\xe3\x81\x82", 135), 3, OTP_SMS_UCS2, 135, "135 UCS-2 chars");
	{
		char *a = rep("a", 70);
		seg_free(cat3(a, "\xe3\x81\x82", ""), 2, OTP_SMS_UCS2, 71,
			 "one non-GSM char turns 70 ASCII chars into UCS-2");
		free(a);
	}

	/* emoji: outside the BMP, two UTF-16 units */
	seg("\xf0\x9f\x94\x90", 1, OTP_SMS_UCS2, 2, "emoji costs 2 UCS-2 units");
	seg("Code 123456 \xf0\x9f\x94\x90", 1, OTP_SMS_UCS2, 14, "ASCII + emoji");
	seg_free(rep("\xf0\x9f\x98\x80", 35), 1, OTP_SMS_UCS2, 70, "35 emoji = 70 units");
	seg_free(rep("\xf0\x9f\x98\x80", 36), 2, OTP_SMS_UCS2, 72, "36 emoji = 72 units");
	{
		char *a = rep("\xe3\x81\x82", 66);
		seg_free(cat3(a, "\xf0\x9f\x94\x90", a), 3, OTP_SMS_UCS2, 134,
			 "surrogate pair at a part boundary moves to the next part");
		free(a);
	}

	is_int(otp_sms_segments("abc", NULL, NULL), 1, "encoding/units may be NULL");
	ok(otp_sms_is_gsm7("Hello {world} \xe2\x82\xac"), "is_gsm7: ASCII + extension");
	ok(!otp_sms_is_gsm7("\xe3\x81\x82"), "is_gsm7: Japanese is not");
	ok(otp_sms_is_gsm7(NULL), "is_gsm7: NULL is the empty text");
}

static void
test_msisdn(void)
{
	char out[16];

	ok(otp_sms_msisdn("+819012345678", out, sizeof(out)) == 0 && strcmp(out, "819012345678") == 0,
	   "msisdn: +81... -> 81...");
	ok(otp_sms_msisdn("+1234567", out, sizeof(out)) == 0 && strcmp(out, "1234567") == 0,
	   "msisdn: 7 digits is the shortest");
	ok(otp_sms_msisdn("+123456789012345", out, sizeof(out)) == 0, "msisdn: 15 digits is the longest");
	ok(otp_sms_msisdn("+1234567890123456", out, sizeof(out)) != 0 && out[0] == '\0',
	   "msisdn: 16 digits refused");
	ok(otp_sms_msisdn("+123456", out, sizeof(out)) != 0, "msisdn: 6 digits refused");
	ok(otp_sms_msisdn("819012345678", out, sizeof(out)) != 0, "msisdn: missing + refused");
	ok(otp_sms_msisdn("+0819012345", out, sizeof(out)) != 0, "msisdn: leading 0 refused");
	ok(otp_sms_msisdn("+8190 12345", out, sizeof(out)) != 0, "msisdn: space refused");
	ok(otp_sms_msisdn("+81901234567\n", out, sizeof(out)) != 0, "msisdn: trailing LF refused");
	ok(otp_sms_msisdn(NULL, out, sizeof(out)) != 0, "msisdn: NULL refused");
	ok(otp_sms_msisdn("+819012345678", out, 12) != 0, "msisdn: too small a buffer refused");
}

static void
test_summarise(void)
{
	char out[64];

	otp_provider_text("Invalid number +79031234567", out, sizeof(out));
	is_str(out, "Invalid number +#", "provider text masks a phone number");
	otp_provider_text("Balance 1234 left", out, sizeof(out));
	is_str(out, "Balance 1234 left", "summary keeps short numbers");
	otp_provider_text("a\r\nb\x1b[2J", out, sizeof(out));
	is_str(out, "a  b [2J", "summary replaces control characters");
	otp_provider_text("\xd0\x9d\xd0\xb5\xd0\xb4\xd0\xbe\xd1\x81\xd1\x82", out, sizeof(out));
	is_str(out, "\xd0\x9d\xd0\xb5\xd0\xb4\xd0\xbe\xd1\x81\xd1\x82", "summary keeps UTF-8 (Cyrillic)");
	otp_provider_text("\xd0\x9d\xd0\xb5\xd0\xb4", out, 4);
	is_str(out, "\xd0\x9d", "summary never cuts a UTF-8 sequence");
	otp_provider_text(NULL, out, sizeof(out));
	is_str(out, "", "summary of NULL is empty");
}

/* Import a Logto JSON, then configure the connector from the printed block. */
static int
import_roundtrip(const char *id, const char *json, char *why, size_t whylen, char **printed)
{
	const struct otp_connector *c = otp_connector_find(id);
	struct json_object *obj = json_tokener_parse(json);
	struct otp_config_errors errs = { 0 };
	struct otp_settings s;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	config_t cfg;
	void *ctx;
	int rc;

	*printed = NULL;
	if (c == NULL || c->import_logto == NULL || obj == NULL) {
		snprintf(why, whylen, "setup");
		json_object_put(obj);
		return -1;
	}
	f = open_memstream(&text, &len);
	rc = c->import_logto(obj, f, why, whylen);
	fclose(f);
	json_object_put(obj);
	*printed = text;
	if (rc != 0)
		return -1;
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		snprintf(why, whylen, "libconfig: %s", config_error_text(&cfg));
		config_destroy(&cfg);
		return -2;
	}
	errs.file = "import";
	otp_settings_open(&s, config_lookup(&cfg, id), &errs);
	ctx = calloc(1, c->ctx_size);
	c->configure(ctx, &s);
	otp_settings_finish(&s);
	c->cleanup(ctx);
	free(ctx);
	config_destroy(&cfg);
	if (errs.count > 0) {
		snprintf(why, whylen, "%s", errs.msg[0]);
		return -3;
	}
	return 0;
}

#define TPL "\"templates\": [ { \"usageType\": \"SignIn\", \"content\": \"Your code is {{code}} \\\"q\\\"\" }, " \
	"{ \"usageType\": \"Generic\", \"content\": \"Code: {{code}}\" } ]"

static void
test_import(void)
{
	static const struct {
		const char *id, *json, *expect;
	} good[] = {
		{ "twilio-sms", "{ \"accountSID\": \"AC0123456789abcdef0123456789abcdef\", \"authToken\": \"t0k\", "
		  "\"fromMessagingServiceSID\": \"MG0123456789abcdef0123456789ABCDEF\", \"disableRiskCheck\": true, " TPL " }",
		  "disableRiskCheck = true;" },
		{ "vonage-sms", "{ \"apiKey\": \"abcd1234\", \"apiSecret\": \"s3cr3t\", \"brandName\": \"ACME\", " TPL " }",
		  "brandName = \"ACME\";" },
		{ "smsaero", "{ \"email\": \"ops@example.ru\", \"apiKey\": \"k\", \"senderName\": \"SMS Aero\", " TPL " }",
		  "senderName = \"SMS Aero\";" },
		{ "gatewayapi-sms", "{ \"endpoint\": \"https://gatewayapi.eu/rest/mtsms\", \"apiToken\": \"tok\", "
		  "\"sender\": \"ACME\", " TPL " }",
		  "endpoint = \"https://gatewayapi.eu/rest/mtsms\";" },
	};
	char why[400], name[160], *printed;
	int rc;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		rc = import_roundtrip(good[i].id, good[i].json, why, sizeof(why), &printed);
		snprintf(name, sizeof(name), "import-logto %s: block configures cleanly", good[i].id);
		if (!ok(rc == 0, name))
			printf("#   rc %d: %s\n#   %s\n", rc, why, printed ? printed : "");
		snprintf(name, sizeof(name), "import-logto %s: values carried over", good[i].id);
		ok(printed && strstr(printed, good[i].expect) && strstr(printed, "usageType = \"SignIn\"") &&
		   strstr(printed, "Your code is {{code}} \\\"q\\\""), name);
		free(printed);
	}
	rc = import_roundtrip("vonage-sms", "{ \"apiKey\": \"a\", \"apiSecret\": \"b\", \"brandName\": \"c\", "
			      "\"brandname\": \"typo\", " TPL " }", why, sizeof(why), &printed);
	ok(rc == -1 && strstr(why, "brandname"), "import-logto: an unknown Logto key is refused by name");
	free(printed);
	rc = import_roundtrip("twilio-sms", "{ \"accountSID\": \"AC0123\", \"authToken\": \"t\", "
			      "\"fromMessagingServiceSID\": \"MG0123456789abcdef0123456789abcdef\", " TPL " }",
			      why, sizeof(why), &printed);
	ok(rc == -3 && strstr(why, "accountSID"), "import-logto: imported block still validated (bad accountSID)");
	free(printed);
	rc = import_roundtrip("gatewayapi-sms", "{ \"endpoint\": \"https://gatewayapi.com/rest/mtsms\", "
			      "\"apiToken\": \"tok\", \"sender\": \"ACME\", \"templates\": "
			      "[ { \"usageType\": \"Generic\", \"content\": \"no code here\" } ] }",
			      why, sizeof(why), &printed);
	ok(rc == -3 && strstr(why, "{{code}}"), "import-logto: a template without {{code}} is refused");
	free(printed);
}

int
main(void)
{
	test_segments();
	test_msisdn();
	test_summarise();
	test_import();
	return tap_done();
}
