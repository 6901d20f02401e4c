/*
 * smtp.c - Logto's `connector-smtp` settings over libcurl's SMTP.
 *
 * host/port (or `endpoint = "smtp[s]://host:port"`), `secure` = implicit
 * TLS (smtps), otherwise STARTTLS, which is mandatory for every host that
 * is not loopback (`requireTLS = false` cannot weaken that; `ignoreTLS` is
 * accepted for loopback only).  `auth = { user; pass; type = "login"; }`
 * uses AUTH PLAIN or LOGIN.  `name` is the EHLO name.  Templates, fromEmail,
 * replyTo and customHeaders are shared with sendmail (mime.h).  Success is
 * the server's 250 to the message.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "connector.h"
#include "../logto_import.h"
#include "../mem.h"
#include "../mime.h"
#include "../smtp_transport.h"

/* Logto's timeouts are milliseconds; we accept up to a day and cap them by
 * the http config. */
#define SMTP_MAX_TIMEOUT_MS (24L * 3600 * 1000)

struct smtp {
	char *url;                 /* smtp[s]://host:port[/name] */
	enum otp_smtp_tls tls;
	char *user;
	char *pass;                /* secret */
	long connect_ms;
	long total_ms;
	struct otp_mail_config mail;
};

/* A host name (LDH labels) or an IP address literal. */
static bool
host_ok(const char *h, bool *ipv6)
{
	size_t n = strlen(h);
	bool colon = strchr(h, ':') != NULL;

	*ipv6 = colon;
	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (const char *p = h; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '.' || (!colon && *p == '-') ||
			  (colon && *p == ':');
		if (!ok)
			return false;
	}
	return true;
}

static bool
ehlo_name_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return false;
	return true;
}

static void
parse_auth(struct smtp *m, struct otp_settings *s)
{
	struct otp_settings a;
	char *type = NULL;

	if (otp_settings_group(s, "auth", false, &a) != 0 || a.group == NULL)
		return;
	if (otp_settings_string(&a, "type", false, NULL, &type) == 0 && type != NULL &&
	    strcasecmp(type, "login") != 0)
		otp_settings_fail(&a, "type", "only \"login\" (user/pass) is supported; OAuth2 is not");
	otp_settings_string(&a, "user", false, NULL, &m->user);
	otp_settings_secret(&a, "pass", false, &m->pass);
	if (m->user != NULL && m->pass == NULL)
		otp_settings_fail(&a, "pass", "required when user is set");
	if (m->user == NULL && m->pass != NULL)
		otp_settings_fail(&a, "user", "required when pass is set");
	otp_settings_finish(&a);
	free(type);
}

static void
parse_misc(struct smtp *m, struct otp_settings *s)
{
	static const char *const ignored_bools[] = { "logger", "debug", "disableFileAccess",
						     "disableUrlAccess", NULL };
	struct otp_settings tg;
	long ms;
	bool b;

	/* nodemailer's logging and file/URL switches mean nothing here. */
	for (int i = 0; ignored_bools[i] != NULL; i++)
		otp_settings_bool(s, ignored_bools[i], false, &b);
	if (otp_settings_group(s, "tls", false, &tg) == 0 && tg.group != NULL) {
		otp_settings_bool(&tg, "rejectUnauthorized", true, &b);
		if (!b)
			otp_settings_fail(&tg, "rejectUnauthorized",
					  "TLS verification cannot be turned off; add the CA with http.ca_file");
		otp_settings_finish(&tg);
	}
	otp_settings_int(s, "connectionTimeout", 0, 1, SMTP_MAX_TIMEOUT_MS, &m->connect_ms);
	otp_settings_int(s, "socketTimeout", 0, 1, SMTP_MAX_TIMEOUT_MS, &m->total_ms);
	/* Bounded by the total timeout anyway. */
	otp_settings_int(s, "greetingTimeout", 0, 1, SMTP_MAX_TIMEOUT_MS, &ms);
	otp_settings_int(s, "dnsTimeout", 0, 1, SMTP_MAX_TIMEOUT_MS, &ms);
}

static int
smtp_configure(void *ctx, struct otp_settings *s)
{
	struct smtp *m = ctx;
	struct otp_buf url;
	char *endpoint = NULL, *host = NULL, *name = NULL;
	const char *why;
	bool secure, require_tls, ignore_tls, has_require, implicit = false, ipv6 = false, loop;
	long port;

	otp_buf_init(&url, 1024);
	otp_settings_string(s, "endpoint", false, NULL, &endpoint);
	otp_settings_string(s, "host", endpoint == NULL, NULL, &host);
	otp_settings_bool(s, "secure", false, &secure);
	otp_settings_int(s, "port", secure ? 465 : 587, 1, 65535, &port);
	has_require = otp_settings_has(s, "requireTLS");
	otp_settings_bool(s, "requireTLS", false, &require_tls);
	otp_settings_bool(s, "ignoreTLS", false, &ignore_tls);
	if (otp_settings_string(s, "name", false, NULL, &name) == 0 && name != NULL &&
	    !ehlo_name_ok(name))
		otp_settings_fail(s, "name", "must be a host name (ASCII letters, digits, '-' and '.')");
	parse_auth(m, s);
	parse_misc(m, s);
	otp_mail_config_parse(s, &m->mail);

	if (endpoint != NULL) {
		size_t n = strlen(endpoint);
		while (n > 0 && endpoint[n - 1] == '/')
			endpoint[--n] = '\0';
		if ((why = otp_smtp_url_check(endpoint)) != NULL)
			otp_settings_fail(s, "endpoint", "URL %s", why);
		else {
			implicit = strncasecmp(endpoint, "smtps:", 6) == 0;
			if (secure && !implicit)
				otp_settings_fail(s, "secure", "is true but endpoint is smtp://; use smtps://");
			otp_buf_puts(&url, endpoint);
		}
	} else if (host != NULL) {
		if (!host_ok(host, &ipv6))
			otp_settings_fail(s, "host", "must be a host name or an IP address");
		else {
			implicit = secure;
			otp_buf_printf(&url, "%s://%s%s%s:%ld", secure ? "smtps" : "smtp", ipv6 ? "[" : "",
				       host, ipv6 ? "]" : "", port);
		}
	}
	if (otp_settings_failed(s) || url.data == NULL)
		goto out;
	loop = otp_url_is_loopback(url.data);
	if (implicit) {
		m->tls = OTP_SMTP_TLS_REQUIRE;
		if (ignore_tls)
			otp_settings_fail(s, "ignoreTLS", "contradicts secure (implicit TLS)");
	} else if (ignore_tls) {
		if (require_tls)
			otp_settings_fail(s, "ignoreTLS", "contradicts requireTLS");
		else if (!loop)
			otp_settings_fail(s, "ignoreTLS", "is accepted only for a loopback relay");
		m->tls = OTP_SMTP_TLS_NONE;
	} else if (loop) {
		m->tls = require_tls ? OTP_SMTP_TLS_REQUIRE : OTP_SMTP_TLS_TRY;
	} else {
		m->tls = OTP_SMTP_TLS_REQUIRE;
		if (has_require && !require_tls)
			otp_settings_warn(s, "requireTLS",
					  "false is ignored: STARTTLS is mandatory for a host that is not loopback");
	}
	if (name != NULL)
		otp_buf_printf(&url, "/%s", name);
	if (otp_settings_failed(s))
		goto out;
	if ((m->url = otp_buf_steal(&url)) == NULL)
		otp_settings_fail(s, "host", "out of memory");
out:
	otp_buf_free(&url);
	free(endpoint);
	free(host);
	free(name);
	return otp_settings_failed(s) ? -1 : 0;
}

static int
smtp_send(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
	  struct otp_send_result *res)
{
	struct smtp *m = ctx;
	struct otp_smtp_request req = { 0 };
	struct otp_buf data;
	int rc = -1;

	otp_buf_init(&data, OTP_MIME_MAX_MESSAGE);
	if (otp_mail_compose(&m->mail, msg, env->now, &data, res) != 0)
		goto out;
	req.url = m->url;
	req.tls = m->tls;
	req.user = m->user;
	req.pass = m->pass;
	req.mail_from = m->mail.from.addr;
	req.rcpt = msg->to;
	req.data = data.data;
	req.len = data.len;
	req.connect_timeout_ms = m->connect_ms;
	req.timeout_ms = m->total_ms;
	rc = otp_smtp_send(env, &req, res);
out:
	otp_buf_free(&data);
	return rc;
}

static void
smtp_cleanup(void *ctx)
{
	struct smtp *m = ctx;

	free(m->url);
	free(m->user);
	otp_free_secret(m->pass);
	otp_mail_config_free(&m->mail);
}

static char *
smtp_preview(void *ctx, const char *usage, const struct otp_template_vars *vars)
{
	struct smtp *m = ctx;

	return otp_mail_preview(&m->mail, usage, vars);
}

static int
smtp_import(struct json_object *logto, FILE *out, char *why, size_t whylen)
{
	static const char *const keys[] = {
		"host", "port", "auth", "fromEmail", "replyTo", "templates", "secure",
		"requireTLS", "ignoreTLS", "name", "customHeaders", "tls", "connectionTimeout",
		"greetingTimeout", "socketTimeout", "dnsTimeout", "logger", "debug",
		"disableFileAccess", "disableUrlAccess", NULL,
	};

	return otp_logto_print_block(out, "smtp", logto, keys, why, whylen);
}

const struct otp_connector otp_connector_smtp = {
	.id = "smtp",
	.channel = OTP_CHANNEL_EMAIL,
	.ctx_size = sizeof(struct smtp),
	.configure = smtp_configure,
	.send = smtp_send,
	.cleanup = smtp_cleanup,
	.preview = smtp_preview,
	.import_logto = smtp_import,
};
