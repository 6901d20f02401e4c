/*
 * http.h - the HTTP client every connector uses; the only file that talks
 * to libcurl for HTTP (see net.h for what SMTP shares with it).
 *
 * Guarantees, whatever the caller passes: connect and total timeouts from
 * the config, TLS peer and host verification always on (http.ca_file adds
 * a private CA to the system store), no redirects followed, proxy only from
 * http.proxy (environment proxies ignored), response body capped, no
 * signals, protocols https only (http only to loopback).  Failures are
 * classified into enum otp_fail_class.
 */
#ifndef OTP_HTTP_H
#define OTP_HTTP_H

#include <stddef.h>
#include "buf.h"
#include "rc.h"

struct otp_http_config {
	long timeout;            /* total seconds */
	long connect_timeout;    /* seconds */
	char *proxy;             /* "" or NULL: no proxy at all */
	char *ca_file;           /* extra CA bundle added to the system one, or NULL */
};

/* What a connector gets to send with. */
struct otp_send_env {
	const struct otp_http_config *http;
	const char *user_agent;      /* "pam_otp_sms/VERSION" */
	long long now;               /* wall clock, seconds since the epoch, for signatures */
	int debug;
};

/* Result of one send, filled by connectors (and the HTTP layer). */
struct otp_send_result {
	enum otp_fail_class fail;    /* OTP_FAIL_NONE on success */
	long http_status;            /* 0 if no HTTP answer */
	char provider_code[64];      /* provider's own error/status code, sanitised */
	char detail[160];            /* short reason, never a secret or a destination */
};

/* Record a failure (class + printf detail) in res; returns -1 for convenience. */
int otp_send_fail(struct otp_send_result *res, enum otp_fail_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Provider error text made safe to log: control characters and invalid
 * UTF-8 replaced, words that contain '@' become "<address>" and runs of 6+
 * digits become "#" (providers echo the destination back), capped at outlen.
 */
void otp_provider_text(const char *in, char *out, size_t outlen);
/* res->detail = "prefix: <provider text made safe>" (just prefix when text is NULL). */
void otp_send_detail(struct otp_send_result *res, const char *prefix, const char *text);
/* Store a provider code (sanitised: printable ASCII, capped, runs of 6+ digits -> #). */
void otp_send_set_provider_code(struct otp_send_result *res, const char *code);

struct otp_http_request {
	const char *method;              /* "POST" (default) or "GET" */
	const char *url;
	const char *content_type;        /* NULL: none */
	const char *body;                /* may hold secrets; not copied */
	size_t body_len;
	const char *basic_user;          /* HTTP Basic auth when non-NULL */
	const char *basic_pass;
	const char *const *headers;      /* extra "Name: value" lines, NULL-terminated */
};

struct otp_http_response {
	long status;
	struct otp_buf body;             /* capped at OTP_HTTP_MAX_BODY */
};

#define OTP_HTTP_MAX_BODY (64 * 1024)

/*
 * Perform the request.  Returns 0 when an HTTP answer arrived (any status;
 * res->fail is set from the status: 2xx NONE, 3xx REDIRECT, 401/403 AUTH,
 * 429 RATE_LIMIT, 5xx HTTP_5XX, other 4xx HTTP_4XX), or -1 on transport
 * failure (res->fail = DNS/CONNECT/TIMEOUT/TLS/PROTOCOL/...).
 * resp must be released with otp_http_response_free either way.
 */
int otp_http_perform(const struct otp_send_env *env, const struct otp_http_request *req,
		     struct otp_http_response *resp, struct otp_send_result *res);
void otp_http_response_free(struct otp_http_response *resp);

#ifdef OTP_FUZZING
/*
 * Fuzz and replay builds only (tests/fuzz; never the module or the CLI):
 * when set, otp_http_perform hands the checked request to this function
 * instead of the network.  It fills *status and body (capped like a real
 * answer) and returns 0, or a nonzero CURLcode for a transport failure;
 * classification then runs exactly as for a real answer.
 */
typedef int (*otp_http_fuzz_fn)(const struct otp_http_request *req, long *status,
				struct otp_buf *body);
extern otp_http_fuzz_fn otp_http_fuzz_answer;
#endif

/* Join a base URL (no trailing '/') and a path ("/v2/sms/send"); NULL on ENOMEM. */
char *otp_url_join(const char *base, const char *path);

/* Process-wide libcurl init/cleanup (reference counted, like curl's own). */
int otp_http_global_init(void);
void otp_http_global_cleanup(void);

#endif
