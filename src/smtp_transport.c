/* smtp_transport.c - one message over SMTP/SMTPS with libcurl, classified. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "smtp_transport.h"
#include "mem.h"
#include "mime.h"
#include "net.h"
#include "settings.h"

/*
 * What the server said to which command, from libcurl's protocol trace.
 * The first failure reply is kept: libcurl sends QUIT (and reads 221)
 * before curl_easy_perform returns.
 */
struct trace {
	char stage[12];      /* verb of the last command: EHLO, AUTH, RCPT, ...; "EOD" = the message */
	int code;            /* last complete reply code */
	bool auth_cont;      /* in an AUTH exchange: lines we send are credentials */
	bool eod_ok;         /* 250 to the message */
	char fail_stage[12]; /* first reply >= 400: to which command */
	int fail_code;
	char fail_enh[16];   /* its RFC 3463 status, if any */
};

struct upload {
	const char *data;
	size_t len, off;
};

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
	struct upload *u = userp;
	size_t n = size * nitems, left = u->len - u->off;

	if (n > left)
		n = left;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

static void
trace_reply_line(struct trace *t, const char *s, size_t n)
{
	size_t i = 4, o = 0;
	char enh[16] = "";

	if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
		return;
	if (n > 3 && s[3] == '-')
		return;               /* more lines of the same reply follow */
	t->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	/* "550 5.1.1 ..." */
	if (n > 5 && s[3] == ' ' && s[4] == s[0] && s[5] == '.') {
		while (i < n && o + 1 < sizeof(enh) && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			enh[o++] = s[i++];
		enh[o] = '\0';
		if (i < n && s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
			enh[0] = '\0';
	}
	/* libcurl answers a refused EHLO with HELO: a later failure is the real one. */
	if (t->code >= 400 && (t->fail_code == 0 || (strcmp(t->fail_stage, "EHLO") == 0 &&
						    strcmp(t->stage, "EHLO") != 0))) {
		t->fail_code = t->code;
		memcpy(t->fail_stage, t->stage, sizeof(t->fail_stage));
		memcpy(t->fail_enh, enh, sizeof(t->fail_enh));
	}
	if (t->code == 250 && strcmp(t->stage, "EOD") == 0)
		t->eod_ok = true;
	if (t->code == 334 && strcmp(t->stage, "AUTH") == 0)
		t->auth_cont = true;
	else
		t->auth_cont = false;
	if (t->code == 354 && strcmp(t->stage, "DATA") == 0)
		snprintf(t->stage, sizeof(t->stage), "EOD");
}

/*
 * libcurl's protocol trace.  Only the verb of a command is kept (never its
 * argument: AUTH lines carry credentials), and nothing is printed.
 */
static int
trace_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	struct trace *t = userp;

	(void)h;
	if (type == CURLINFO_HEADER_OUT) {
		size_t n = 0;
		if (t->auth_cont)
			return 0;
		while (n < size && n + 1 < sizeof(t->stage) && data[n] >= 'A' && data[n] <= 'Z')
			n++;
		if (n > 0 && (n == size || data[n] == ' ' || data[n] == '\r' || data[n] == '\n')) {
			memcpy(t->stage, data, n);
			t->stage[n] = '\0';
		}
	} else if (type == CURLINFO_HEADER_IN) {
		size_t start = 0;
		for (size_t i = 0; i <= size; i++) {
			if (i == size || data[i] == '\n') {
				if (i > start)
					trace_reply_line(t, data + start, i - start);
				start = i + 1;
			}
		}
	}
	return 0;
}

static enum otp_fail_class
classify_reply(const struct trace *t)
{
	const char *s = t->fail_stage;
	int c = t->fail_code;

	if (strcmp(s, "STARTTLS") == 0)
		return OTP_FAIL_TLS;
	if (c >= 400 && c <= 499)
		return OTP_FAIL_RATE_LIMIT;
	if (strcmp(s, "AUTH") == 0 || c == 530 || c == 534 || c == 535 || c == 538)
		return OTP_FAIL_AUTH;
	if (strcmp(s, "RCPT") == 0)
		return OTP_FAIL_DESTINATION;
	if (strcmp(s, "MAIL") == 0 || strcmp(s, "DATA") == 0 || strcmp(s, "EOD") == 0)
		return OTP_FAIL_PROVIDER;
	return OTP_FAIL_PROTOCOL;
}

static const char *
stage_name(const char *s)
{
	if (s[0] == '\0')
		return "greeting";
	if (strcmp(s, "EOD") == 0)
		return "message";
	return s;
}

/* Parse url; scheme "smtp"/"smtps" into scheme; path allowed only if
 * allow_path (the EHLO name).  NULL if fine, else a reason. */
static const char *
url_parse(const char *url, bool allow_path, char *scheme_out, size_t scheme_len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *part = NULL, *host = NULL;
	const char *why = NULL;

	if (u == NULL)
		return "out of memory";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			why = "contains a space, control or non-ASCII character";
			goto out;
		}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		why = "is not a valid smtp:// or smtps:// URL";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "smtp") != 0 && strcasecmp(scheme, "smtps") != 0)) {
		why = "must use smtp:// or smtps://";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		why = "has no host";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		why = "must not carry credentials (use auth = { user; pass; })";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK) {
		why = "must not have a query";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		why = "must not have a #fragment";
		goto out;
	}
	if (!allow_path && curl_url_get(u, CURLUPART_PATH, &part, 0) == CURLUE_OK &&
	    strcmp(part, "/") != 0 && part[0] != '\0') {
		why = "must be smtp://host:port with no path (the EHLO name is `name`)";
		goto out;
	}
	if (scheme_out != NULL) {
		snprintf(scheme_out, scheme_len, "%s", scheme);
		for (char *p = scheme_out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
out:
	curl_free(scheme);
	curl_free(part);
	curl_free(host);
	curl_url_cleanup(u);
	return why;
}

const char *
otp_smtp_url_check(const char *url)
{
	return url_parse(url, false, NULL, 0);
}

int
otp_smtp_send(const struct otp_send_env *env, const struct otp_smtp_request *req,
	      struct otp_send_result *res)
{
	struct curl_slist *rcpt = NULL;
	struct upload up = { req->data, req->len, 0 };
	struct trace tr = { .stage = "" };
	struct otp_sigpipe sp;
	char scheme[8], from[OTP_MIME_MAX_ADDR + 3], to[OTP_MIME_MAX_ADDR + 3], code[16];
	const char *why;
	long use_ssl;
	CURL *c = NULL;
	CURLcode cc;
	int rc = -1;

	res->http_status = 0;
	/* Checked again here: nothing with CR or LF reaches the envelope. */
	if (!otp_mime_addr_valid(req->rcpt))
		return otp_send_fail(res, OTP_FAIL_DESTINATION, "recipient is not a plain mailbox address (user at domain)");
	if (!otp_mime_addr_valid(req->mail_from))
		return otp_send_fail(res, OTP_FAIL_CONFIG, "sender is not a plain mailbox address (user at domain)");
	if ((why = url_parse(req->url, true, scheme, sizeof(scheme))) != NULL)
		return otp_send_fail(res, OTP_FAIL_CONFIG, "SMTP URL %s", why);
	if (strcmp(scheme, "smtps") == 0)
		use_ssl = (long)CURLUSESSL_ALL;
	else if (req->tls == OTP_SMTP_TLS_REQUIRE)
		use_ssl = (long)CURLUSESSL_ALL;
	else if (!otp_url_is_loopback(req->url))
		return otp_send_fail(res, OTP_FAIL_CONFIG, "SMTP without TLS is allowed only to loopback");
	else
		use_ssl = req->tls == OTP_SMTP_TLS_TRY ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_NONE;
	snprintf(from, sizeof(from), "<%s>", req->mail_from);
	snprintf(to, sizeof(to), "<%s>", req->rcpt);

	if (otp_http_global_init() != 0)
		return otp_send_fail(res, OTP_FAIL_INTERNAL, "libcurl initialisation failed");
	c = curl_easy_init();
	if (c == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "curl_easy_init failed");
		goto out;
	}
	if (otp_net_apply_common(c, env, req->url, scheme, res) != 0)
		goto out;
	if ((rcpt = curl_slist_append(NULL, to)) == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
		goto out;
	}
	if (curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_READDATA, &up) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->len) != CURLE_OK ||
	    /* A proxy can only carry SMTP through a CONNECT tunnel. */
	    curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, trace_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &tr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L) != CURLE_OK) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot configure libcurl");
		goto out;
	}
	if (req->connect_timeout_ms > 0 && env->http != NULL &&
	    req->connect_timeout_ms < env->http->connect_timeout * 1000L)
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	if (req->timeout_ms > 0 && env->http != NULL && req->timeout_ms < env->http->timeout * 1000L)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	if (req->user != NULL) {
		/* LOGIN or PLAIN, as Logto's nodemailer picks; SASL-IR saves a round trip. */
		if (curl_easy_setopt(c, CURLOPT_USERNAME, req->user) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_PASSWORD, req->pass ? req->pass : "") != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN;AUTH=LOGIN") != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_SASL_IR, 1L) != CURLE_OK) {
			otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot configure libcurl");
			goto out;
		}
	}

	otp_net_sigpipe_block(&sp);
	cc = curl_easy_perform(c);
	/* QUIT is written by curl_easy_cleanup: keep SIGPIPE blocked for it too. */
	curl_easy_cleanup(c);
	c = NULL;
	otp_net_sigpipe_restore(&sp);

	if (cc == CURLE_OK && tr.eod_ok) {
		res->fail = OTP_FAIL_NONE;
		rc = 0;
		goto out;
	}
	if (tr.fail_code >= 400) {
		snprintf(code, sizeof(code), "%d", tr.fail_code);
		otp_send_set_provider_code(res, code);
		otp_send_fail(res, classify_reply(&tr), "%s refused: %d%s%s", stage_name(tr.fail_stage),
			      tr.fail_code, tr.fail_enh[0] ? " " : "", tr.fail_enh);
		goto out;
	}
	if (cc == CURLE_OK) {
		/* libcurl saw success but not the 250 to our message. */
		otp_send_fail(res, OTP_FAIL_PROTOCOL, "no 250 reply to the message");
		goto out;
	}
	if (cc == CURLE_USE_SSL_FAILED)
		otp_send_fail(res, OTP_FAIL_TLS, "server does not offer STARTTLS and TLS is required");
	else
		/* curl_easy_strerror is a fixed text: no address, no secret. */
		otp_send_fail(res, otp_net_classify(cc), "%s", curl_easy_strerror(cc));
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	otp_http_global_cleanup();
	return rc;
}
