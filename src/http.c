/* http.c - bounded, verified, classified HTTP POSTs on libcurl. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "http.h"
#include "mem.h"
#include "net.h"
#include "settings.h"
#include "template.h"

int
otp_send_fail(struct otp_send_result *res, enum otp_fail_class cls, const char *fmt, ...)
{
	char raw[sizeof(res->detail)];
	size_t o = 0;
	va_list ap;

	res->fail = cls;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* The detail is logged and %s arguments can be provider text: no
	 * control characters, and what looks like an echoed number (6+
	 * digits) or address (a word with '@') is masked, as in
	 * otp_provider_text (UTF-8 is kept here). */
	for (const char *p = raw; *p && o + 1 < sizeof(res->detail);) {
		size_t word = strcspn(p, " \t,;()\"'"), digits = strspn(p, "0123456789");
		const char *repl = NULL;
		if (memchr(p, '@', word) != NULL) {
			repl = "<address>";
			p += word;
		} else if (digits >= 6) {
			repl = "#";
			p += digits;
		}
		if (repl != NULL) {
			for (; *repl && o + 1 < sizeof(res->detail); repl++)
				res->detail[o++] = *repl;
			continue;
		}
		res->detail[o++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
		p++;
	}
	res->detail[o] = '\0';
	return -1;
}

void
otp_provider_text(const char *in, char *out, size_t outlen)
{
	char clean[512];
	size_t o = 0;

	if (outlen == 0)
		return;
	/* Control characters and invalid UTF-8 go first; valid UTF-8 (SMS Aero
	 * answers in Russian) stays, the log escapes it. */
	otp_sanitize_value(in, clean, sizeof(clean));
	for (const char *p = clean; *p && o + 1 < outlen;) {
		size_t word = strcspn(p, " ,;"), digits = strspn(p, "0123456789"), len = 1;
		const char *repl = NULL;
		if (memchr(p, '@', word) != NULL) {
			repl = "<address>";
			len = word;
		} else if (digits >= 6) {
			repl = "#";
			len = digits;
		}
		if (repl != NULL) {
			for (; *repl && o + 1 < outlen; repl++)
				out[o++] = *repl;
			p += len;
			continue;
		}
		while ((((const unsigned char *)p)[len] & 0xc0) == 0x80)
			len++; /* one UTF-8 sequence, whole or not at all */
		if (o + len >= outlen)
			break;
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = '\0';
}

void
otp_send_detail(struct otp_send_result *res, const char *prefix, const char *text)
{
	size_t n;

	snprintf(res->detail, sizeof(res->detail), "%s", prefix);
	n = strlen(res->detail);
	if (text == NULL || n + 3 >= sizeof(res->detail))
		return;
	memcpy(res->detail + n, ": ", 2);
	otp_provider_text(text, res->detail + n + 2, sizeof(res->detail) - n - 2);
}

void
otp_send_set_provider_code(struct otp_send_result *res, const char *code)
{
	size_t o = 0, run;

	/* A code is an identifier ("21211", "isv.BUSINESS_LIMIT_CONTROL"); a
	 * run of 6 or more digits would rather be an echoed phone number or
	 * one-time code, which must not reach the log: it becomes '#'; an
	 * address in its place becomes "<address>". */
	if (code != NULL && strchr(code, '@') != NULL)
		code = "<address>";
	for (const unsigned char *p = (const unsigned char *)(code ? code : "");
	     *p && o + 1 < sizeof(res->provider_code); p++) {
		if ((run = strspn((const char *)p, "0123456789")) >= 6) {
			res->provider_code[o++] = '#';
			p += run - 1;
			continue;
		}
		res->provider_code[o++] = (*p >= 0x21 && *p < 0x7f) ? (char)*p : '_';
	}
	res->provider_code[o] = '\0';
}

#ifdef OTP_FUZZING
otp_http_fuzz_fn otp_http_fuzz_answer;
#endif

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_refs;

int
otp_http_global_init(void)
{
	int rc = 0;

	pthread_mutex_lock(&global_lock);
	if (global_refs == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		rc = -1;
	if (rc == 0)
		global_refs++;
	pthread_mutex_unlock(&global_lock);
	return rc;
}

void
otp_http_global_cleanup(void)
{
	pthread_mutex_lock(&global_lock);
	if (global_refs > 0 && --global_refs == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&global_lock);
}

char *
otp_url_join(const char *base, const char *path)
{
	size_t bl = strlen(base), pl = strlen(path);
	char *s;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	s = malloc(bl + pl + 2);
	if (s == NULL)
		return NULL;
	memcpy(s, base, bl);
	if (pl > 0 && path[0] != '/')
		s[bl++] = '/';
	memcpy(s + bl, path, pl + 1);
	return s;
}

static size_t
write_capped(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct otp_buf *b = userdata;
	size_t n = size * nmemb;

	/* Returning short makes libcurl stop with CURLE_WRITE_ERROR: a huge or
	 * endless body ends the transfer here instead of filling memory. */
	if (otp_buf_append(b, ptr, n) != 0)
		return 0;
	return n;
}

enum otp_fail_class
otp_net_classify(int code)
{
	switch ((CURLcode)code) {
	case CURLE_OK:
		return OTP_FAIL_NONE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return OTP_FAIL_DNS;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return OTP_FAIL_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return OTP_FAIL_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return OTP_FAIL_TLS;
	case CURLE_URL_MALFORMAT:
		return OTP_FAIL_CONFIG;
	case CURLE_OUT_OF_MEMORY:
		return OTP_FAIL_INTERNAL;
	case CURLE_LOGIN_DENIED:
		return OTP_FAIL_AUTH;
	default:
		/* Including CURLE_UNSUPPORTED_PROTOCOL: URLs are checked before any
		 * transfer, so at this point it means the server answered in
		 * something we do not speak (an HTTP/0.9 or garbage reply). */
		return OTP_FAIL_PROTOCOL;
	}
}

int
otp_net_apply_common(void *handle, const struct otp_send_env *env, const char *url,
		     const char *protocols, struct otp_send_result *res)
{
	CURL *c = handle;
	const struct otp_http_config *h = env->http;
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	const char *ca_file = (h && h->ca_file && h->ca_file[0]) ? h->ca_file : OTP_SYSTEM_CA_FILE;

	/* Without an asynchronous resolver NOSIGNAL would leave DNS unbounded. */
	if (!(vi->features & CURL_VERSION_ASYNCHDNS))
		return otp_send_fail(res, OTP_FAIL_CONFIG,
				     "libcurl has no asynchronous resolver; DNS time cannot be bounded");
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    /* At the timeout, abandon a resolver thread stuck in getaddrinfo
	     * (a DNS server that never answers) instead of waiting for it in
	     * curl_easy_cleanup: without this the login hangs for as long as
	     * resolv.conf's timeout x attempts. */
	    curl_easy_setopt(c, CURLOPT_QUICK_EXIT, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, h ? h->timeout : 30L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h ? h->connect_timeout : 10L) != CURLE_OK ||
	    /* An empty proxy string disables the environment's http_proxy & co;
	     * an empty NOPROXY overrides the environment's no_proxy. */
	    curl_easy_setopt(c, CURLOPT_PROXY, (h && h->proxy) ? h->proxy : "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROXY, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    /* Set CA locations explicitly so SSL_CERT_FILE & co are never read.
	     * The system directory stays trusted; ca_file adds a private CA. */
	    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAPATH, OTP_SYSTEM_CA_DIR) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY_CAINFO, ca_file) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY_CAPATH, OTP_SYSTEM_CA_DIR) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, env->user_agent) != CURLE_OK)
		return otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot configure libcurl");
	return 0;
}

/*
 * SIGPIPE must not kill the host process (sshd, sudo) if a peer closes the
 * socket mid-write.  Block it around the transfer and swallow one that the
 * transfer raised, then restore the caller's mask (libpq's technique).
 */
void
otp_net_sigpipe_block(struct otp_sigpipe *sp)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	sp->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &sp->old_mask);
}

void
otp_net_sigpipe_restore(struct otp_sigpipe *sp)
{
	sigset_t pipe_set, pending;
	struct timespec zero = { 0, 0 };

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	if (!sp->was_pending && sigismember(&pending, SIGPIPE) == 1) {
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &sp->old_mask, NULL);
}

static enum otp_fail_class
classify_status(long status)
{
	if (status >= 200 && status <= 299)
		return OTP_FAIL_NONE;
	if (status >= 300 && status <= 399)
		return OTP_FAIL_REDIRECT;
	if (status == 401 || status == 403 || status == 407)
		return OTP_FAIL_AUTH;
	if (status == 429)
		return OTP_FAIL_RATE_LIMIT;
	if (status >= 500 && status <= 599)
		return OTP_FAIL_HTTP_5XX;
	if (status >= 400 && status <= 499)
		return OTP_FAIL_HTTP_4XX;
	return OTP_FAIL_PROTOCOL;
}

int
otp_http_perform(const struct otp_send_env *env, const struct otp_http_request *req,
		 struct otp_http_response *resp, struct otp_send_result *res)
{
	struct curl_slist *hdrs = NULL, *tmp;
	struct otp_sigpipe sp;
	char line[256];
	const char *why;
	CURL *c = NULL;
	CURLcode cc;
	int rc = -1;
	bool loop;

	otp_buf_init(&resp->body, OTP_HTTP_MAX_BODY);
	resp->status = 0;
	res->http_status = 0;
	why = otp_url_check(req->url, true);
	if (why != NULL)
		return otp_send_fail(res, OTP_FAIL_CONFIG, "endpoint URL %s", why);
	loop = otp_url_is_loopback(req->url);
	if (otp_http_global_init() != 0)
		return otp_send_fail(res, OTP_FAIL_INTERNAL, "libcurl initialisation failed");
#ifdef OTP_FUZZING
	if (otp_http_fuzz_answer != NULL) {
		cc = (CURLcode)otp_http_fuzz_answer(req, &resp->status, &resp->body);
		goto answered;
	}
#endif
	c = curl_easy_init();
	if (c == NULL) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "curl_easy_init failed");
		goto out;
	}
	if (otp_net_apply_common(c, env, req->url, loop ? "http,https" : "https", res) != 0)
		goto out;
	if (req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		if ((tmp = curl_slist_append(hdrs, line)) == NULL)
			goto nomem;
		hdrs = tmp;
	}
	/* No "Expect: 100-continue" round trip. */
	if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto nomem;
	hdrs = tmp;
	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
		if ((tmp = curl_slist_append(hdrs, *h)) == NULL)
			goto nomem;
		hdrs = tmp;
	}
	if (curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_capped) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp->body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)OTP_HTTP_MAX_BODY) != CURLE_OK) {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot configure libcurl");
		goto out;
	}
	if (req->method == NULL || strcmp(req->method, "POST") == 0) {
		if (curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "") != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				     (curl_off_t)(req->body ? req->body_len : 0)) != CURLE_OK) {
			otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot configure libcurl");
			goto out;
		}
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		otp_send_fail(res, OTP_FAIL_INTERNAL, "unsupported method");
		goto out;
	}
	if (req->basic_user != NULL) {
		if (curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_USERNAME, req->basic_user) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "") != CURLE_OK) {
			otp_send_fail(res, OTP_FAIL_INTERNAL, "cannot configure libcurl");
			goto out;
		}
	}

	otp_net_sigpipe_block(&sp);
	cc = curl_easy_perform(c);
	otp_net_sigpipe_restore(&sp);

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
#ifdef OTP_FUZZING
answered:
#endif
	res->http_status = resp->status;
	if (cc != CURLE_OK) {
		enum otp_fail_class cls = otp_net_classify(cc);
		if (cc == CURLE_WRITE_ERROR || cc == CURLE_FILESIZE_EXCEEDED)
			otp_send_fail(res, OTP_FAIL_PROTOCOL, "response larger than %d bytes",
				      OTP_HTTP_MAX_BODY);
		else
			/* curl_easy_strerror is a fixed text: no URL, no secret. */
			otp_send_fail(res, cls, "%s", curl_easy_strerror(cc));
		goto out;
	}
	res->fail = classify_status(resp->status);
	if (res->fail != OTP_FAIL_NONE)
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld", resp->status);
	rc = 0;
	goto out;
nomem:
	otp_send_fail(res, OTP_FAIL_INTERNAL, "out of memory");
out:
	if (hdrs != NULL) {
		/* Header lines can carry bearer tokens. */
		for (tmp = hdrs; tmp != NULL; tmp = tmp->next)
			otp_wipe_str(tmp->data);
		curl_slist_free_all(hdrs);
	}
	if (c != NULL)
		curl_easy_cleanup(c);
	otp_http_global_cleanup();
	otp_wipe(line, sizeof(line));
	return rc;
}

void
otp_http_response_free(struct otp_http_response *resp)
{
	otp_buf_free(&resp->body);
}
