/*
 * pam_bench_floor.c - the floor a login through an SMS gateway cannot go
 * below: one libcurl POST of the same message pam_otp_sms's http-sms
 * connector sends ({"to", "type", "payload": {"code"}, "ip"}) to the same
 * gateway, and nothing else: no config, no contacts, no state, no prompt.
 * Stacked before pam_permit in the bench.  Never install this.
 *
 *   auth required pam_bench_floor.so url=http://127.0.0.1:PORT/sms
 *
 * The destination comes from the PAM environment (BENCH_TO, set by the
 * driver); the code it sent is left there as BENCH_CODE so that the
 * driver can check what the gateway got.
 */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <curl/curl.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const char *url = NULL, *to = pam_getenv(pamh, "BENCH_TO");
	const void *rhost = NULL;
	struct curl_slist *hdrs = NULL;
	char body[512], code[7], env[32];
	unsigned char rnd[4];
	long status = 0;
	CURL *c;
	CURLcode cc;

	(void)flags;
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "url=", 4) == 0)
			url = argv[i] + 4;
	if (url == NULL || to == NULL || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return PAM_SERVICE_ERR;
	snprintf(code, sizeof(code), "%06u",
		 (unsigned)(((unsigned)rnd[0] << 24 | (unsigned)rnd[1] << 16 | (unsigned)rnd[2] << 8 | rnd[3]) %
			    1000000u));
	pam_get_item(pamh, PAM_RHOST, &rhost);
	snprintf(body, sizeof(body),
		 "{ \"to\": \"%s\", \"type\": \"SignIn\", \"payload\": { \"code\": \"%s\" }, \"ip\": \"%s\" }",
		 to, code, rhost ? (const char *)rhost : "");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return PAM_SYSTEM_ERR;
	c = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (c == NULL || hdrs == NULL) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(c);
		curl_global_cleanup();
		return PAM_BUF_ERR;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (cc != CURLE_OK || status < 200 || status > 299)
		return PAM_AUTHINFO_UNAVAIL;
	snprintf(env, sizeof(env), "BENCH_CODE=%s", code);
	pam_putenv(pamh, env);
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
