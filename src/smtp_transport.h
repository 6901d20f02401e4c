/*
 * smtp_transport.h - one message over SMTP with libcurl (the only file
 * besides http.c that includes <curl/curl.h>).
 *
 * Shares timeouts, TLS verification, CA handling, proxy policy and SIGPIPE
 * protection with the HTTP client (net.h).  TLS: smtps:// is TLS from the
 * first byte; smtp:// upgrades with STARTTLS, mandatory (CURLUSESSL_ALL)
 * unless the host is loopback and the caller asked for less.
 *
 * Failure classes: DNS/connect/timeout as for HTTP; no or failed STARTTLS
 * -> tls; AUTH refused (535, 530, no usable mechanism) -> auth; 5xx to
 * RCPT -> destination; 5xx to MAIL, DATA or the message -> provider; any
 * 4xx reply -> rate-limit (SMTP's "transient negative completion": try
 * again later, e.g. 421, 450 greylisting, 451, 452); anything else ->
 * protocol.  The reply code goes in provider_code.
 */
#ifndef OTP_SMTP_TRANSPORT_H
#define OTP_SMTP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "http.h"

enum otp_smtp_tls {
	OTP_SMTP_TLS_REQUIRE = 0,   /* STARTTLS or fail (smtps: implicit TLS) */
	OTP_SMTP_TLS_TRY,           /* loopback only: STARTTLS if offered */
	OTP_SMTP_TLS_NONE,          /* loopback only: never STARTTLS */
};

struct otp_smtp_request {
	const char *url;            /* smtp[s]://host:port[/ehlo-name] */
	enum otp_smtp_tls tls;
	const char *user;           /* NULL: no AUTH */
	const char *pass;
	const char *mail_from;      /* plain address */
	const char *rcpt;           /* plain address */
	const char *data;           /* the CRLF message, not dot-stuffed */
	size_t len;
	long connect_timeout_ms;    /* 0, or lower than the http config */
	long timeout_ms;            /* 0, or lower than the http config */
};

/* Deliver.  0 when the server accepted the message (250 after DATA), else
 * -1 with res filled. */
int otp_smtp_send(const struct otp_send_env *env, const struct otp_smtp_request *req,
		  struct otp_send_result *res);

/* Check an smtp:// or smtps:// base URL: host and optional port only (no
 * user-info, path, query or fragment).  NULL if fine, else a reason. */
const char *otp_smtp_url_check(const char *url);

#endif
