/* config.c - load and validate /etc/security/pam_otp_sms.conf. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libconfig.h>
#include "conf.h"
#include "contacts.h"
#include "mem.h"

#define CONFIG_MAX_SIZE (1024 * 1024)

static bool
owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

char *
otp_read_secure_file(const char *path, size_t *len, bool *gw_readable, char *why, size_t whylen)
{
	struct stat sb, db;
	char *dir = NULL, *slash, *buf = NULL;
	size_t got = 0;
	int fd = -1;

	*gw_readable = false;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, whylen, "%s: cannot open: %s", path,
			 errno == ELOOP ? "is a symbolic link" : strerror(errno));
		goto fail;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		goto fail;
	}
	if (!owner_ok(sb.st_uid)) {
		snprintf(why, whylen, "%s: owned by uid %u, must be owned by root", path, (unsigned)sb.st_uid);
		goto fail;
	}
	if (sb.st_mode & 0022) {
		snprintf(why, whylen, "%s: mode %04o is group/world-writable", path,
			 (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	if (sb.st_size > CONFIG_MAX_SIZE) {
		snprintf(why, whylen, "%s: larger than %d bytes", path, CONFIG_MAX_SIZE);
		goto fail;
	}
	*gw_readable = (sb.st_mode & 0044) != 0;
	/* Whoever can write the directory can replace the file. */
	dir = strdup(path);
	if (dir == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (stat(dir, &db) != 0 || !owner_ok(db.st_uid) || ((db.st_mode & 0022) && !(db.st_mode & S_ISVTX))) {
		snprintf(why, whylen, "%s: directory %s is not root-owned or is group/world-writable", path, dir);
		goto fail;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, whylen, "%s: read failed", path);
			otp_free_wiped(buf, (size_t)sb.st_size + 1);
			buf = NULL;
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	if (memchr(buf, '\0', got) != NULL) {
		snprintf(why, whylen, "%s: contains a NUL byte", path);
		otp_free_wiped(buf, got + 1);
		buf = NULL;
	}
fail:
	if (fd >= 0)
		close(fd);
	free(dir);
	return buf;
}

static void
config_error(struct otp_config *cfg, int line, const char *what)
{
	if (cfg->errs.count >= OTP_SETTINGS_MAX_ERRORS)
		return;
	if (line > 0)
		snprintf(cfg->errs.msg[cfg->errs.count++], 384, "%s:%d: %s", cfg->path, line, what);
	else
		snprintf(cfg->errs.msg[cfg->errs.count++], 384, "%s", what);
}

/* libconfig keeps copies of every string, secrets included: wipe them. */
static void
wipe_settings(config_setting_t *n, int depth)
{
	if (n == NULL || depth > 64)
		return;
	if (config_setting_type(n) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(n);
		if (v != NULL)
			otp_wipe_str((char *)v);
	} else if (config_setting_is_aggregate(n)) {
		for (int i = 0; i < config_setting_length(n); i++)
			wipe_settings(config_setting_get_elem(n, (unsigned)i), depth + 1);
	}
}

static int
parse_channel(const char *name, enum otp_channel *out)
{
	if (strcmp(name, "sms") == 0)
		*out = OTP_CHANNEL_SMS;
	else if (strcmp(name, "email") == 0)
		*out = OTP_CHANNEL_EMAIL;
	else
		return -1;
	return 0;
}

static void
load_code(struct otp_config *cfg, struct otp_settings *root)
{
	struct otp_settings s;
	long len, ttl, att, resend;

	otp_settings_group(root, "code", false, &s);
	otp_settings_int(&s, "length", 6, OTP_CODE_MIN_DIGITS, OTP_CODE_MAX_DIGITS, &len);
	otp_settings_int(&s, "ttl", 300, 30, 3600, &ttl);
	otp_settings_int(&s, "max_attempts", 3, 1, 10, &att);
	otp_settings_int(&s, "resend_after", 60, 0, 3600, &resend);
	otp_settings_bool(&s, "allow_resend", true, &cfg->allow_resend);
	otp_settings_finish(&s);
	cfg->policy.code_length = (unsigned)len;
	cfg->policy.ttl = ttl;
	cfg->policy.max_attempts = (unsigned)att;
	cfg->policy.resend_after = resend;
}

static void
load_limits(struct otp_config *cfg, struct otp_settings *root)
{
	struct otp_settings s;
	long ph, pd, hh, la, lt;

	otp_settings_group(root, "limits", false, &s);
	otp_settings_int(&s, "sends_per_hour", 5, 1, OTP_STATE_MAX_SENDS, &ph);
	otp_settings_int(&s, "sends_per_day", 20, 1, OTP_STATE_MAX_SENDS, &pd);
	otp_settings_int(&s, "host_sends_per_hour", 200, 1, 1000000, &hh);
	/* NIST SP 800-63B §5.2.2: no more than 100 consecutive failures. */
	otp_settings_int(&s, "lockout_after", 10, 1, 100, &la);
	otp_settings_int(&s, "lockout_time", 900, 1, 30 * 86400, &lt);
	if (otp_settings_strv(&s, "allowed_country_codes", &cfg->allowed_country_codes) == 0) {
		for (char **c = cfg->allowed_country_codes; *c; c++) {
			size_t n = strlen(*c);
			bool digits = n >= 1 && n <= 3 && (*c)[0] != '0';
			for (size_t i = 0; i < n; i++)
				if ((*c)[i] < '0' || (*c)[i] > '9')
					digits = false;
			if (!digits)
				otp_settings_fail(&s, "allowed_country_codes",
						  "\"%s\" is not a country code (1-3 digits, no '+')", *c);
			else if ((int)n != otp_country_code_len(*c))
				otp_settings_fail(&s, "allowed_country_codes",
						  "\"%s\" is not a whole E.164 country code", *c);
		}
	}
	otp_settings_finish(&s);
	if (pd < ph)
		otp_settings_warn(&s, "sends_per_day", "is lower than sends_per_hour");
	cfg->policy.sends_per_hour = (unsigned)ph;
	cfg->policy.sends_per_day = (unsigned)pd;
	cfg->policy.host_sends_per_hour = (unsigned)hh;
	cfg->policy.lockout_after = (unsigned)la;
	cfg->policy.lockout_time = lt;
}

/* An absolute path to a root-only secret file (checked again when read). */
static void
check_abs(struct otp_settings *s, const char *key, const char *v)
{
	if (v != NULL && v[0] != '/')
		otp_settings_fail(s, key, "must be an absolute path");
}

static void
load_url(struct otp_settings *s, const char *key, const char *const schemes[2], char **out)
{
	const char *why;

	if (otp_settings_string(s, key, true, NULL, out) != 0 || *out == NULL)
		return;
	if (strncmp(*out, schemes[1], strlen(schemes[1])) == 0)
		return;
	if (strncmp(*out, schemes[0], strlen(schemes[0])) != 0) {
		otp_settings_fail(s, key, "must start with %s or %s", schemes[1], schemes[0]);
		return;
	}
	/* The plain scheme is for loopback only, like http:// endpoints. */
	{
		char tmp[512];
		snprintf(tmp, sizeof(tmp), "http://%s", *out + strlen(schemes[0]));
		why = otp_url_is_loopback(tmp) ? NULL : "the plain scheme is accepted only for loopback";
	}
	if (why != NULL)
		otp_settings_fail(s, key, "%s (use %s)", why, schemes[1]);
}

static void
load_state(struct otp_config *cfg, struct otp_settings *root)
{
	static const char *const backends[] = { "file", "redis", NULL };
	static const char *const redis_schemes[2] = { "redis://", "rediss://" };
	struct otp_state_config *sc = &cfg->state;
	struct otp_settings s, r;

	otp_settings_group(root, "state", false, &s);
	otp_settings_choice(&s, "backend", "file", backends, &sc->backend);
	otp_settings_string(&s, "path", false, OTP_DEFAULT_STATE_DIR, &sc->path);
	check_abs(&s, "path", sc->path);
	otp_settings_string(&s, "key_file", false, NULL, &sc->key_file);
	check_abs(&s, "key_file", sc->key_file);
	otp_settings_group(&s, "redis", false, &r);
	if (sc->backend != NULL && strcmp(sc->backend, "redis") == 0) {
		if (!otp_state_backend_known("redis"))
			otp_settings_fail(&s, "backend", "\"redis\" is not available in this build (hiredis missing)");
		if (sc->key_file == NULL)
			otp_settings_fail(&s, "key_file", "is required with the redis backend: every host must hash with the same key");
		load_url(&r, "url", redis_schemes, &sc->url);
	} else
		otp_settings_node(&r, "url");
	otp_settings_string(&r, "user", false, NULL, &sc->user);
	otp_settings_string(&r, "password_file", false, NULL, &sc->password_file);
	check_abs(&r, "password_file", sc->password_file);
	otp_settings_string(&r, "prefix", false, "otp:", &sc->prefix);
	otp_settings_int(&r, "timeout", 2, 1, 30, &sc->timeout);
	otp_settings_string(&r, "ca_file", false, NULL, &sc->ca_file);
	check_abs(&r, "ca_file", sc->ca_file);
	otp_settings_finish(&r);
	otp_settings_finish(&s);
	/* A shared backend lets an untouched record expire once neither the
	 * day of send history nor a lockout can still matter. */
	sc->record_ttl = 86400 + (cfg->policy.lockout_time > 86400 ? cfg->policy.lockout_time : 86400);
}

static void
load_ldap(struct otp_config *cfg, struct otp_settings *parent, bool used)
{
	static const char *const ldap_schemes[2] = { "ldap://", "ldaps://" };
	struct otp_ldap_config *l = &cfg->ldap;
	struct otp_settings s;

	if (otp_settings_group(parent, "ldap", used, &s) != 0 || s.group == NULL)
		return;
	/* ldap:// is fine anywhere: the lookup insists on StartTLS off loopback. */
	otp_settings_string(&s, "uri", used, NULL, &l->uri);
	if (l->uri != NULL && strncmp(l->uri, ldap_schemes[0], strlen(ldap_schemes[0])) != 0 &&
	    strncmp(l->uri, ldap_schemes[1], strlen(ldap_schemes[1])) != 0)
		otp_settings_fail(&s, "uri", "must start with %s or %s", ldap_schemes[1], ldap_schemes[0]);
	else if (l->uri != NULL && strcspn(l->uri, " \t,") != strlen(l->uri))
		otp_settings_fail(&s, "uri", "must be one URI (no lists)");
	otp_settings_string(&s, "bind_dn", false, NULL, &l->bind_dn);
	otp_settings_string(&s, "bind_password_file", false, NULL, &l->bind_password_file);
	check_abs(&s, "bind_password_file", l->bind_password_file);
	if (l->bind_dn != NULL && l->bind_password_file == NULL)
		otp_settings_fail(&s, "bind_password_file", "is required with bind_dn");
	otp_settings_string(&s, "base", used, NULL, &l->base);
	otp_settings_string(&s, "filter", false, "(uid=%u)", &l->filter);
	if (l->filter != NULL && (strstr(l->filter, "%u") == NULL || l->filter[0] != '('))
		otp_settings_fail(&s, "filter", "must be a filter in parentheses containing %%u");
	otp_settings_string(&s, "phone_attribute", false, "mobile", &l->phone_attribute);
	otp_settings_string(&s, "email_attribute", false, "mail", &l->email_attribute);
	otp_settings_int(&s, "timeout", 5, 1, 60, &l->timeout);
	otp_settings_string(&s, "ca_file", false, NULL, &l->ca_file);
	check_abs(&s, "ca_file", l->ca_file);
	otp_settings_finish(&s);
}

static void
load_contacts(struct otp_config *cfg, struct otp_settings *root)
{
	struct otp_settings s;
	char **sources = NULL;

	otp_settings_group(root, "contacts", false, &s);
	otp_settings_string(&s, "file", false, OTP_DEFAULT_CONTACTS, &cfg->contacts_file);
	otp_settings_bool(&s, "trust_gecos", false, &cfg->trust_gecos);
	if (otp_settings_strv(&s, "sources", &sources) == 0) {
		if (sources[0] == NULL) {
			cfg->sources[cfg->nsources++] = OTP_SOURCE_FILE;
		}
		for (char **p = sources; *p; p++) {
			enum otp_contact_source src;
			if (strcmp(*p, "file") == 0)
				src = OTP_SOURCE_FILE;
			else if (strcmp(*p, "gecos") == 0) {
				src = OTP_SOURCE_GECOS;
				if (!cfg->trust_gecos)
					otp_settings_fail(&s, "sources",
						"\"gecos\" needs trust_gecos = true: users can change their own GECOS "
						"fields with chfn, so it is only safe where chfn is restricted");
			} else if (strcmp(*p, "ldap") == 0) {
				src = OTP_SOURCE_LDAP;
				if (!otp_contacts_ldap_available())
					otp_settings_fail(&s, "sources", "\"ldap\" is not available in this build (libldap missing)");
			} else {
				otp_settings_fail(&s, "sources", "unknown source \"%s\" (file, gecos, ldap)", *p);
				continue;
			}
			for (size_t i = 0; i < cfg->nsources; i++)
				if (cfg->sources[i] == src)
					otp_settings_fail(&s, "sources", "\"%s\" listed twice", *p);
			if (cfg->nsources < 3)
				cfg->sources[cfg->nsources++] = src;
		}
	}
	{
		bool ldap_used = false;
		for (size_t i = 0; i < cfg->nsources; i++)
			ldap_used |= cfg->sources[i] == OTP_SOURCE_LDAP;
		load_ldap(cfg, &s, ldap_used);
	}
	if (cfg->contacts_file && cfg->contacts_file[0] != '/')
		otp_settings_fail(&s, "file", "must be an absolute path");
	otp_settings_finish(&s);
	otp_strv_free(sources);
}

static void
load_http(struct otp_config *cfg, struct otp_settings *root)
{
	struct otp_settings s;

	otp_settings_group(root, "http", false, &s);
	otp_settings_int(&s, "timeout", 30, 1, 120, &cfg->http.timeout);
	otp_settings_int(&s, "connect_timeout", 10, 1, 120, &cfg->http.connect_timeout);
	otp_settings_string(&s, "proxy", false, "", &cfg->http.proxy);
	otp_settings_string(&s, "ca_file", false, NULL, &cfg->http.ca_file);
	if (cfg->http.ca_file != NULL && cfg->http.ca_file[0] == '\0') {
		free(cfg->http.ca_file);
		cfg->http.ca_file = NULL;
	}
	if (cfg->http.ca_file != NULL && cfg->http.ca_file[0] != '/')
		otp_settings_fail(&s, "ca_file", "must be an absolute path");
	if (cfg->http.connect_timeout > cfg->http.timeout)
		otp_settings_fail(&s, "connect_timeout", "must not exceed timeout");
	otp_settings_finish(&s);
}

static void
load_pam(struct otp_config *cfg, struct otp_settings *root)
{
	static const char *const modes[] = { "secure", "safe", NULL };
	struct otp_settings s, u;
	char *failmode = NULL;
	char **nets = NULL;

	otp_settings_group(root, "pam", false, &s);
	otp_settings_choice(&s, "failmode", "secure", modes, &failmode);
	cfg->failmode_safe = failmode != NULL && strcmp(failmode, "safe") == 0;
	otp_settings_bool(&s, "nullok", false, &cfg->nullok);
	otp_settings_strv(&s, "exempt_groups", &cfg->exempt_groups);
	if (otp_settings_strv(&s, "trusted_networks", &nets) == 0) {
		size_t n = otp_strv_len(nets);
		cfg->trusted = calloc(n + 1, sizeof(*cfg->trusted));
		for (size_t i = 0; cfg->trusted && i < n; i++) {
			if (otp_cidr_parse(nets[i], &cfg->trusted[cfg->ntrusted]) != 0)
				otp_settings_fail(&s, "trusted_networks",
						  "\"%s\" is not a numeric address or CIDR block", nets[i]);
			else
				cfg->ntrusted++;
		}
	}
	otp_settings_string(&s, "prompt", false, "Verification code: ", &cfg->prompt);
	if (otp_settings_group(&s, "usage", false, &u) == 0 && u.group != NULL) {
		int n = config_setting_length(u.group);
		cfg->usage = calloc((size_t)n + 1, sizeof(*cfg->usage));
		for (int i = 0; cfg->usage && i < n; i++) {
			config_setting_t *e = config_setting_get_elem(u.group, (unsigned)i);
			const char *name = config_setting_name(e);
			char *val = NULL;
			if (otp_settings_string(&u, name, true, NULL, &val) == 0) {
				cfg->usage[cfg->nusage].service = strdup(name);
				cfg->usage[cfg->nusage++].usage = val;
			}
		}
		/* Every member was read above; nothing is unknown here. */
	}
	otp_settings_finish(&s);
	free(failmode);
	otp_strv_free(nets);
}

/* Parse `sms: { connector = "..."; <id> = {...}; ... }`: every block present
 * is validated, the named one is kept. */
static void
load_channel(struct otp_config *cfg, struct otp_settings *root, const char *key,
	     enum otp_channel ch, struct otp_channel_conf *out)
{
	struct otp_settings s;
	char *active = NULL;

	if (otp_settings_group(root, key, false, &s) != 0 || s.group == NULL)
		return;
	if (otp_settings_string(&s, "connector", true, NULL, &active) != 0)
		goto out;
	for (int i = 0; i < config_setting_length(s.group); i++) {
		config_setting_t *e = config_setting_get_elem(s.group, (unsigned)i);
		const char *name = config_setting_name(e);
		const struct otp_connector *c;
		struct otp_settings cs;
		void *ctx;

		if (strcmp(name, "connector") == 0)
			continue;
		c = otp_connector_find(name);
		if (c == NULL)
			continue; /* reported by otp_settings_finish as unknown */
		if (c->channel != ch) {
			otp_settings_fail(&s, name, "is an %s connector, not %s",
					  otp_channel_name(c->channel), key);
			otp_settings_node(&s, name);
			continue;
		}
		if (otp_settings_group(&s, name, true, &cs) != 0)
			continue;
		ctx = calloc(1, c->ctx_size ? c->ctx_size : 1);
		if (ctx == NULL)
			continue;
		c->configure(ctx, &cs);
		otp_settings_finish(&cs);
		if (strcmp(name, active) == 0) {
			out->connector = c;
			out->ctx = ctx;
		} else {
			c->cleanup(ctx);
			free(ctx);
		}
	}
	if (out->connector == NULL) {
		if (otp_connector_find(active) == NULL)
			otp_settings_fail(&s, "connector", "unknown connector \"%s\"", active);
		else if (otp_connector_find(active)->channel != ch)
			otp_settings_fail(&s, "connector", "\"%s\" is not an %s connector", active, key);
		else
			otp_settings_fail(&s, "connector", "\"%s\" is selected but has no settings block %s = { ... }",
					  active, active);
	}
out:
	otp_settings_finish(&s);
	free(active);
}

static void
load_channels(struct otp_config *cfg, struct otp_settings *root)
{
	char **names = NULL;

	load_channel(cfg, root, "sms", OTP_CHANNEL_SMS, &cfg->sms);
	load_channel(cfg, root, "email", OTP_CHANNEL_EMAIL, &cfg->email);
	if (otp_settings_strv(root, "channels", &names) != 0)
		goto out;
	if (names[0] == NULL) {
		cfg->channels[cfg->nchannels++] = OTP_CHANNEL_SMS;
		cfg->channels[cfg->nchannels++] = OTP_CHANNEL_EMAIL;
	}
	for (char **p = names; *p; p++) {
		enum otp_channel ch;
		if (parse_channel(*p, &ch) != 0) {
			otp_settings_fail(root, "channels", "unknown channel \"%s\" (sms, email)", *p);
			continue;
		}
		for (size_t i = 0; i < cfg->nchannels; i++)
			if (cfg->channels[i] == ch)
				otp_settings_fail(root, "channels", "\"%s\" listed twice", *p);
		if (cfg->nchannels < 2)
			cfg->channels[cfg->nchannels++] = ch;
	}
	if (cfg->errs.count == 0 && cfg->sms.connector == NULL && cfg->email.connector == NULL)
		otp_settings_fail(root, "sms", "no channel is configured: add an sms or email block");
out:
	otp_strv_free(names);
}

struct otp_config *
otp_config_load(const char *path)
{
	struct otp_config *cfg = calloc(1, sizeof(*cfg));
	struct otp_settings root;
	char why[384];
	char *text = NULL;
	size_t len = 0;
	config_t lc;

	if (cfg == NULL)
		return NULL;
	cfg->path = strdup(path);
	cfg->errs.file = cfg->path;
	text = otp_read_secure_file(path, &len, &cfg->world_readable, why, sizeof(why));
	if (text == NULL) {
		config_error(cfg, 0, why);
		return cfg;
	}
	/* @include would pull in files we have not checked. */
	for (const char *p = text; (p = strstr(p, "@include")) != NULL; p++) {
		int line = 1;
		for (const char *q = text; q < p; q++)
			line += *q == '\n';
		config_error(cfg, line, "@include is not allowed");
		otp_free_wiped(text, len + 1);
		return cfg;
	}
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		config_error(cfg, config_error_line(&lc), config_error_text(&lc));
		config_destroy(&lc);
		otp_free_wiped(text, len + 1);
		return cfg;
	}
	otp_free_wiped(text, len + 1);
	otp_settings_open(&root, config_root_setting(&lc), &cfg->errs);
	load_code(cfg, &root);
	load_limits(cfg, &root);
	load_state(cfg, &root);
	load_contacts(cfg, &root);
	load_http(cfg, &root);
	load_pam(cfg, &root);
	load_channels(cfg, &root);
	otp_settings_finish(&root);
	wipe_settings(config_root_setting(&lc), 0);
	config_destroy(&lc);
	return cfg;
}

static void
channel_free(struct otp_channel_conf *c)
{
	if (c->connector != NULL && c->ctx != NULL)
		c->connector->cleanup(c->ctx);
	free(c->ctx);
	c->ctx = NULL;
	c->connector = NULL;
}

void
otp_config_free(struct otp_config *cfg)
{
	if (cfg == NULL)
		return;
	channel_free(&cfg->sms);
	channel_free(&cfg->email);
	free(cfg->path);
	otp_strv_free(cfg->allowed_country_codes);
	free(cfg->state.backend);
	free(cfg->state.path);
	free(cfg->state.key_file);
	free(cfg->state.url);
	free(cfg->state.user);
	free(cfg->state.password_file);
	free(cfg->state.prefix);
	free(cfg->state.ca_file);
	free(cfg->ldap.uri);
	free(cfg->ldap.bind_dn);
	free(cfg->ldap.bind_password_file);
	free(cfg->ldap.base);
	free(cfg->ldap.filter);
	free(cfg->ldap.phone_attribute);
	free(cfg->ldap.email_attribute);
	free(cfg->ldap.ca_file);
	free(cfg->contacts_file);
	free(cfg->http.proxy);
	free(cfg->http.ca_file);
	otp_strv_free(cfg->exempt_groups);
	free(cfg->trusted);
	free(cfg->prompt);
	for (size_t i = 0; i < cfg->nusage; i++) {
		free(cfg->usage[i].service);
		free(cfg->usage[i].usage);
	}
	free(cfg->usage);
	free(cfg);
}

const struct otp_channel_conf *
otp_config_channel(const struct otp_config *cfg, enum otp_channel ch)
{
	const struct otp_channel_conf *c = ch == OTP_CHANNEL_SMS ? &cfg->sms :
					   ch == OTP_CHANNEL_EMAIL ? &cfg->email : NULL;

	return (c != NULL && c->connector != NULL) ? c : NULL;
}

const char *
otp_config_usage_for(const struct otp_config *cfg, const char *service)
{
	for (size_t i = 0; service != NULL && i < cfg->nusage; i++)
		if (strcmp(cfg->usage[i].service, service) == 0)
			return cfg->usage[i].usage;
	return "Generic";
}
