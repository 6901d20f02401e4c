/*
 * otp-smsctl - the administrator's tool (DESIGN §7): check, send-test,
 * lookup, status, reset, import-logto.  Exit 0 success, 1 failure with a
 * one-line reason on stderr, 2 usage error.  It uses the same core as the
 * PAM module and prints no secrets.
 */
#include "config.h"
#include <getopt.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/code.h"
#include "src/conf.h"
#include "src/contacts.h"
#include "src/flow.h"
#include "src/log.h"
#include "src/mem.h"
#include "src/sms_length.h"
#include "src/state.h"
#include "src/validate.h"

static const char *progname = "otp-smsctl";

static int
usage(void)
{
	fprintf(stderr,
		"usage: %s [-c CONF] check\n"
		"       %s [-c CONF] send-test --to DEST [--usage TYPE]\n"
		"       %s [-c CONF] lookup USER\n"
		"       %s [-c CONF] status USER\n"
		"       %s [-c CONF] reset USER\n"
		"       %s [-c CONF] import-logto CONNECTOR FILE.json\n",
		progname, progname, progname, progname, progname, progname);
	return 2;
}

static int __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static struct otp_config *
load(const char *path, bool quiet)
{
	struct otp_config *cfg = otp_config_load(path);

	if (cfg == NULL) {
		fail("%s", "out of memory");
		return NULL;
	}
	if (cfg->errs.count > 0) {
		if (!quiet)
			for (int i = 0; i < cfg->errs.count; i++)
				fprintf(stderr, "%s: %s\n", progname, cfg->errs.msg[i]);
		else
			fprintf(stderr, "%s: %s\n", progname, cfg->errs.msg[0]);
		otp_config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct check_ctx {
	int bad;
	int entries;
};

static int
check_entry(void *arg, int line, const char *user, const char *phone, const char *email)
{
	struct check_ctx *c = arg;

	c->entries++;
	if (phone != NULL && !otp_valid_e164(phone)) {
		printf("warning: contacts line %d: user %s: phone is not E.164 (+[1-9][0-9]{6,14})\n", line, user);
		c->bad++;
	}
	if (email != NULL && !otp_valid_email(email)) {
		printf("warning: contacts line %d: user %s: email is not a plain address\n", line, user);
		c->bad++;
	}
	if (getpwnam(user) == NULL)
		printf("note: contacts line %d: user %s is unknown to NSS\n", line, user);
	return 0;
}

static int
cmd_check(const char *conf)
{
	struct otp_config *cfg = otp_config_load(conf);
	struct otp_state *st = NULL;
	char why[512];
	int rc = 0;

	if (cfg == NULL)
		return fail("%s", "out of memory");
	for (int i = 0; i < cfg->errs.count; i++)
		printf("error: %s\n", cfg->errs.msg[i]);
	for (int i = 0; i < cfg->errs.warnings; i++)
		printf("warning: %s\n", cfg->errs.warning[i]);
	if (cfg->errs.count > 0) {
		otp_config_free(cfg);
		fprintf(stderr, "%s: %s is invalid\n", progname, conf);
		return 1;
	}
	if (cfg->world_readable)
		printf("warning: %s is readable by group/others; it holds secrets: chmod 0600\n", conf);
	if (cfg->trust_gecos)
		printf("warning: trust_gecos = true: users can change their own GECOS fields with chfn "
		       "(check CHFN_RESTRICT in /etc/login.defs)\n");
	if (cfg->failmode_safe)
		printf("note: failmode = \"safe\": transient delivery failures let users through (PAM_IGNORE)\n");
	for (size_t i = 0; i < cfg->nsources; i++) {
		if (cfg->sources[i] == OTP_SOURCE_FILE) {
			struct check_ctx c = { 0 };
			size_t len;
			bool gw;
			char *text = otp_read_secure_file(cfg->contacts_file, &len, &gw, why, sizeof(why));
			if (text == NULL) {
				printf("error: %s\n", why);
				rc = 1;
				continue;
			}
			if (otp_contacts_parse(cfg->contacts_file, text, check_entry, &c, why, sizeof(why)) != 0) {
				printf("error: %s\n", why);
				rc = 1;
			} else
				printf("ok: %s: %d entries\n", cfg->contacts_file, c.entries);
			otp_free_wiped(text, len + 1);
		}
#ifdef HAVE_LDAP
		else if (cfg->sources[i] == OTP_SOURCE_LDAP) {
			if (otp_contacts_ldap_check(cfg, why, sizeof(why)) != 0) {
				printf("error: ldap: %s\n", why);
				rc = 1;
			} else
				printf("ok: ldap %s: bound as %s\n", cfg->ldap.uri,
				       cfg->ldap.bind_dn ? cfg->ldap.bind_dn : "anonymous");
		}
#endif
	}
	/* Opening a shared backend connects, authenticates and PINGs. */
	if (otp_state_open(&cfg->state, &st, why, sizeof(why)) != 0) {
		printf("error: state: %s\n", why);
		rc = 1;
	} else {
		printf("ok: state backend %s (%s)\n", cfg->state.backend, strcmp(cfg->state.backend, "file") == 0 ? cfg->state.path : cfg->state.url);
		otp_state_close(st);
	}
	for (int ch = OTP_CHANNEL_SMS; ch <= OTP_CHANNEL_EMAIL; ch++) {
		const struct otp_channel_conf *c = otp_config_channel(cfg, (enum otp_channel)ch);
		if (c == NULL)
			continue;
		printf("ok: %s connector %s\n", otp_channel_name((enum otp_channel)ch), c->connector->id);
		if (c->connector->preview != NULL) {
			struct otp_template_vars v = { .code = "000000", .user = "username", .host = "hostname",
						       .service = "sshd", .rhost = "192.0.2.1",
						       .ttl_minutes = (cfg->policy.ttl + 59) / 60 };
			const char *types[] = { "Generic", NULL, NULL };
			for (size_t k = 0; k < cfg->nusage && k < 1; k++)
				types[1] = cfg->usage[k].usage;
			for (int k = 0; types[k]; k++) {
				char *text = c->connector->preview(c->ctx, types[k], &v);
				if (text == NULL) {
					printf("error: %s: no template for usage type %s (nor Generic)\n",
					       c->connector->id, types[k]);
					rc = 1;
					continue;
				}
				if (ch == OTP_CHANNEL_SMS) {
					int enc;
					size_t units, parts = otp_sms_segments(text, &enc, &units);
					if (parts > 1)
						printf("warning: %s template %s needs %zu SMS segments (%zu %s units; "
						       "one SMS holds %d): each code costs %zu messages\n",
						       c->connector->id, types[k], parts, units,
						       enc == OTP_SMS_GSM7 ? "GSM-7" : "UCS-2",
						       enc == OTP_SMS_GSM7 ? OTP_SMS_GSM7_SINGLE : OTP_SMS_UCS2_SINGLE, parts);
					else
						printf("ok: %s template %s fits one SMS (%zu %s units)\n", c->connector->id,
						       types[k], units, enc == OTP_SMS_GSM7 ? "GSM-7" : "UCS-2");
				} else
					printf("ok: %s template %s renders %zu bytes\n", c->connector->id, types[k], strlen(text));
				otp_free_secret(text);
			}
		}
	}
	otp_config_free(cfg);
	if (rc != 0)
		fprintf(stderr, "%s: check failed\n", progname);
	return rc;
}

static int
cmd_send_test(const char *conf, const char *to, const char *usage_type)
{
	struct otp_config *cfg = load(conf, false);
	struct otp_template_vars vars = { 0 };
	struct otp_message msg = { 0 };
	struct otp_send_result res;
	const struct otp_channel_conf *ch;
	char code[OTP_CODE_MAX_DIGITS + 1], masked[96], host[256];
	enum otp_channel channel;
	int rc;

	if (cfg == NULL)
		return 1;
	if (otp_valid_e164(to))
		channel = OTP_CHANNEL_SMS;
	else if (otp_valid_email(to))
		channel = OTP_CHANNEL_EMAIL;
	else {
		otp_config_free(cfg);
		return fail("--to: %s", "neither an E.164 number (+819012345678) nor a plain email address");
	}
	if (channel == OTP_CHANNEL_SMS && !otp_country_allowed(to, cfg->allowed_country_codes)) {
		otp_config_free(cfg);
		return fail("%s", "destination country is not in limits.allowed_country_codes");
	}
	ch = otp_config_channel(cfg, channel);
	if (ch == NULL) {
		otp_config_free(cfg);
		return fail("no %s connector is configured", otp_channel_name(channel));
	}
	if (otp_code_generate(cfg->policy.code_length, code) != 0) {
		otp_config_free(cfg);
		return fail("%s", "random generator failed");
	}
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	vars.code = code;
	vars.user = "test";
	vars.host = host;
	vars.service = "otp-smsctl";
	vars.rhost = "";
	vars.ttl_minutes = (cfg->policy.ttl + 59) / 60;
	msg.channel = channel;
	msg.to = to;
	msg.code = code;
	msg.usage = usage_type ? usage_type : "Generic";
	msg.vars = &vars;
	rc = otp_flow_deliver(cfg, ch, &msg, &res);
	otp_wipe(code, sizeof(code));
	otp_mask_log(to, masked, sizeof(masked));
	if (rc == 0)
		printf("sent a test code to %s via %s\n", masked, ch->connector->id);
	else
		fprintf(stderr, "%s: delivery to %s via %s failed: class=%s http=%ld provider=%s detail=%s\n",
			progname, masked, ch->connector->id, otp_fail_name(res.fail), res.http_status,
			res.provider_code[0] ? res.provider_code : "-", res.detail);
	otp_config_free(cfg);
	return rc == 0 ? 0 : 1;
}

static int
cmd_lookup(const char *conf, const char *user)
{
	struct otp_config *cfg = load(conf, true);
	struct otp_contact c;
	struct passwd *pw;
	char why[512], m[96];
	int rc = 1;

	if (cfg == NULL)
		return 1;
	pw = getpwnam(user);
	if (pw == NULL) {
		otp_config_free(cfg);
		return fail("unknown user %s", user);
	}
	switch (otp_contacts_lookup(cfg, pw, &c, why, sizeof(why))) {
	case OTP_CONTACT_ERROR:
	case OTP_CONTACT_UNAVAIL:
	case OTP_CONTACT_AMBIGUOUS:
		fail("%s", why);
		break;
	case OTP_CONTACT_NONE:
		fail("%s has no contact in any configured source", user);
		break;
	case OTP_CONTACT_FOUND:
		for (size_t i = 0; i < cfg->nchannels; i++) {
			enum otp_channel ch = cfg->channels[i];
			const char *d = ch == OTP_CHANNEL_SMS ? c.phone : c.email;
			bool valid;
			if (d == NULL)
				continue;
			valid = ch == OTP_CHANNEL_SMS ? otp_valid_e164(d) && otp_country_allowed(d, cfg->allowed_country_codes)
						      : otp_valid_email(d);
			otp_mask_log(d, m, sizeof(m));
			printf("%s %s %s source=%s%s%s\n", user, otp_channel_name(ch), m, c.source,
			       otp_config_channel(cfg, ch) ? "" : " (channel not configured)",
			       valid ? "" : " (INVALID destination: nothing would be sent)");
			rc = 0;
		}
		if (rc != 0)
			fail("%s has no destination for the configured channels", user);
		otp_contact_free(&c);
		break;
	}
	otp_config_free(cfg);
	return rc;
}

static int
cmd_status(const char *conf, const char *user, bool reset)
{
	struct otp_config *cfg = load(conf, true);
	struct otp_state *st = NULL;
	struct otp_state_txn *t = NULL;
	struct otp_state_record rec;
	struct otp_time now;
	struct passwd *pw;
	char why[512];
	int timed_out, rc = 1;

	if (cfg == NULL)
		return 1;
	pw = getpwnam(user);
	if (pw == NULL) {
		otp_config_free(cfg);
		return fail("unknown user %s", user);
	}
	if (otp_state_open(&cfg->state, &st, why, sizeof(why)) != 0 || otp_state_now(st, &now) != 0) {
		fail("%s", why);
		goto out;
	}
	if (reset) {
		if (otp_state_reset_user(st, (uint32_t)pw->pw_uid, why, sizeof(why)) != 0) {
			fail("%s", why);
			goto out;
		}
		printf("reset %s (uid %u): pending code, counters and lockout cleared\n", user,
		       (unsigned)pw->pw_uid);
		rc = 0;
		goto out;
	}
	if (otp_state_begin_user(st, (uint32_t)pw->pw_uid, &now, &t, &rec, &timed_out, why, sizeof(why)) != 0) {
		fail("%s", why);
		goto out;
	}
	otp_policy_locked(&cfg->policy, &rec, &now);
	printf("user: %s (uid %u)\n", user, (unsigned)pw->pw_uid);
	if (rec.code_active)
		printf("pending code: yes, expires in %lld s, wrong attempts %u of %u\n",
		       (long long)(rec.code_expires - now.boot), rec.code_attempts, cfg->policy.max_attempts);
	else
		printf("pending code: none\n");
	printf("sends: %u in the last hour (cap %u), %u in the last day (cap %u)\n",
	       otp_policy_sends_within(&rec, &now, 3600), cfg->policy.sends_per_hour,
	       otp_policy_sends_within(&rec, &now, 86400), cfg->policy.sends_per_day);
	printf("consecutive failures: %u (lockout after %u)\n", rec.consecutive_failures,
	       cfg->policy.lockout_after);
	if (rec.lockout_until > now.boot)
		printf("locked: yes, %lld s left\n", (long long)(rec.lockout_until - now.boot));
	else
		printf("locked: no\n");
	otp_wipe(&rec, sizeof(rec));
	rc = 0;
out:
	otp_state_end(t);
	otp_state_close(st);
	otp_config_free(cfg);
	return rc;
}

static int
cmd_import(const char *id, const char *file)
{
	const struct otp_connector *c = otp_connector_find(id);
	struct json_object *obj;
	char why[256];

	if (c == NULL)
		return fail("unknown connector %s", id);
	if (c->import_logto == NULL)
		return fail("connector %s has no Logto counterpart to import", id);
	obj = json_object_from_file(file);
	if (obj == NULL)
		return fail("%s: not readable JSON", file);
	/* Accept either the bare config or Logto's {"config": {...}} envelope. */
	{
		struct json_object *inner;
		if (json_object_object_get_ex(obj, "config", &inner) && json_object_is_type(inner, json_type_object)) {
			json_object_get(inner);
			json_object_put(obj);
			obj = inner;
		}
	}
	printf("%s: {\n  connector = \"%s\";\n", otp_channel_name(c->channel), id);
	fflush(stdout);
	if (c->import_logto(obj, stdout, why, sizeof(why)) != 0) {
		json_object_put(obj);
		printf("};\n");
		return fail("import failed: %s", why);
	}
	printf("};\n");
	json_object_put(obj);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "to", required_argument, NULL, 't' },
		{ "usage", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = OTP_DEFAULT_CONFIG, *to = NULL, *usage_type = NULL, *cmd;
	int o;

	while ((o = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 't': to = optarg; break;
		case 'u': usage_type = optarg; break;
		default: return usage();
		}
	}
	if (optind >= argc)
		return usage();
	cmd = argv[optind++];
	/* Options may also follow the command (send-test --to X). */
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 't': to = optarg; break;
		case 'u': usage_type = optarg; break;
		default: return usage();
		}
	}
	if (strcmp(cmd, "check") == 0 && optind == argc)
		return cmd_check(conf);
	if (strcmp(cmd, "send-test") == 0 && to != NULL && optind == argc)
		return cmd_send_test(conf, to, usage_type);
	if (strcmp(cmd, "lookup") == 0 && optind + 1 == argc)
		return cmd_lookup(conf, argv[optind]);
	if (strcmp(cmd, "status") == 0 && optind + 1 == argc)
		return cmd_status(conf, argv[optind], false);
	if (strcmp(cmd, "reset") == 0 && optind + 1 == argc)
		return cmd_status(conf, argv[optind], true);
	if (strcmp(cmd, "import-logto") == 0 && optind + 2 == argc)
		return cmd_import(argv[optind], argv[optind + 1]);
	return usage();
}
