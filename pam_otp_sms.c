/*
 * pam_otp_sms.c - the PAM glue: module arguments, the conversation adaptor,
 * logging through pam_syslog, and the single mapping from the core's result
 * to a PAM return code.  Everything else lives in the PAM-free core (src/).
 */
#include "config.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include "src/clock.h"
#include "src/conf.h"
#include "src/flow.h"
#include "src/log.h"
#include "src/mem.h"

struct args {
	const char *config;
	const char *usage;
	enum otp_channel channel;
	bool debug;
	bool nullok;
};

static void
syslog_sink(void *arg, int priority, const char *line)
{
	pam_syslog((pam_handle_t *)arg, LOG_AUTHPRIV | priority, "%s", line);
}

static int
parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->config = OTP_DEFAULT_CONFIG;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (strncmp(s, "config=", 7) == 0 && s[7] == '/')
			a->config = s + 7;
		else if (strcmp(s, "debug") == 0)
			a->debug = true;
		else if (strcmp(s, "nullok") == 0)
			a->nullok = true;
		else if (strncmp(s, "usage=", 6) == 0 && s[6] != '\0')
			a->usage = s + 6;
		else if (strcmp(s, "channel=sms") == 0)
			a->channel = OTP_CHANNEL_SMS;
		else if (strcmp(s, "channel=email") == 0)
			a->channel = OTP_CHANNEL_EMAIL;
		else {
			/* A typo such as "nulok" must not silently change behaviour. */
			pam_syslog(pamh, LOG_AUTHPRIV | LOG_ERR,
				   "event=config-error reason=\"unknown or malformed module argument\" arg=%.64s", s);
			return -1;
		}
	}
	return 0;
}

/* One conversation call carrying the info line and the echo-off prompt. */
static int
converse(void *arg, const char *info, const char *prompt, char **answer)
{
	pam_handle_t *pamh = arg;
	const struct pam_conv *conv = NULL;
	struct pam_message msgs[2];
	const struct pam_message *pmsgs[2];
	struct pam_response *resp = NULL;
	int n = 0, rc;

	*answer = NULL;
	if (pam_get_item(pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS || conv == NULL ||
	    conv->conv == NULL)
		return -1;
	if (info != NULL) {
		msgs[n].msg_style = PAM_TEXT_INFO;
		msgs[n].msg = info;
		n++;
	}
	msgs[n].msg_style = PAM_PROMPT_ECHO_OFF;
	msgs[n].msg = prompt;
	n++;
	for (int i = 0; i < n; i++)
		pmsgs[i] = &msgs[i];
	rc = conv->conv(n, pmsgs, &resp, conv->appdata_ptr);
	if (resp != NULL) {
		for (int i = 0; i < n; i++) {
			if (i == n - 1 && rc == PAM_SUCCESS && resp[i].resp != NULL &&
			    strlen(resp[i].resp) < PAM_MAX_RESP_SIZE)
				*answer = strdup(resp[i].resp);
			otp_free_secret(resp[i].resp);
		}
		free(resp);
	}
	return (rc == PAM_SUCCESS && *answer != NULL) ? 0 : -1;
}

/* The one place where core results become PAM codes (DESIGN §6). */
static int
otp_rc_to_pam(const struct otp_result *r, bool failmode_safe)
{
	if (r->rc == OTP_OK)
		return r->verdict == OTP_VERDICT_ALLOW ? PAM_SUCCESS : PAM_SYSTEM_ERR;
	switch (r->rc) {
	case OTP_ERR_NOMEM: return PAM_BUF_ERR;
	case OTP_ERR_CONFIG: return PAM_SERVICE_ERR;
	case OTP_ERR_CONTACTS: return PAM_SERVICE_ERR;
	case OTP_ERR_STATE: return PAM_AUTHINFO_UNAVAIL;
	case OTP_ERR_DIRECTORY: return PAM_AUTHINFO_UNAVAIL;
	case OTP_ERR_DESTINATION: return PAM_AUTHINFO_UNAVAIL;
	case OTP_ERR_SEND: return PAM_AUTHINFO_UNAVAIL;
	case OTP_ERR_SEND_TRANSIENT: return failmode_safe ? PAM_IGNORE : PAM_AUTHINFO_UNAVAIL;
	case OTP_ERR_MISMATCH: return PAM_AUTH_ERR;
	case OTP_ERR_EXPIRED: return PAM_AUTH_ERR;
	case OTP_ERR_MAXTRIES: return PAM_MAXTRIES;
	case OTP_ERR_NOUSER: return PAM_AUTH_ERR;
	case OTP_IGNORE_NOCONTACT: return PAM_IGNORE;
	case OTP_IGNORE_EXEMPT: return PAM_IGNORE;
	case OTP_ERR_CONV: return PAM_CONV_ERR;
	case OTP_ERR_RNG: return PAM_SYSTEM_ERR;
	default: return PAM_SYSTEM_ERR;
	}
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct otp_log log = { .sink = syslog_sink, .arg = pamh };
	struct otp_request req;
	struct otp_result res = { .rc = OTP_ERR_INTERNAL, .verdict = OTP_VERDICT_DENY };
	struct otp_config *cfg = NULL;
	const void *item;
	const char *user = NULL;
	struct args a;
	int pam_rc;

	if (parse_args(pamh, argc, argv, &a) != 0)
		return PAM_SERVICE_ERR;
	log.debug = a.debug;
#ifdef OTP_TESTING
	{
		const char *off = secure_getenv("OTP_TEST_CLOCK_OFFSET");
		if (off != NULL)
			otp_clock_set_offset(strtoll(off, NULL, 10));
		off = secure_getenv("OTP_TEST_BOOT_OFFSET");
		if (off != NULL)
			otp_clock_set_boot_offset(strtoll(off, NULL, 10));
	}
#endif
	/* Same delay for every failure, whatever the reason (pam_unix does 2 s). */
	pam_fail_delay(pamh, 2000000);
	cfg = otp_config_load(a.config);
	if (cfg == NULL)
		return PAM_BUF_ERR;
	if (cfg->errs.count > 0) {
		for (int i = 0; i < cfg->errs.count && i < 4; i++)
			otp_log_event(&log, LOG_ERR, "config-error", "reason", cfg->errs.msg[i], (char *)NULL);
		otp_config_free(cfg);
		return PAM_SERVICE_ERR;
	}
	memset(&req, 0, sizeof(req));
	req.cfg = cfg;
	req.log = &log;
	pam_rc = pam_get_user(pamh, &user, NULL);
	if (pam_rc != PAM_SUCCESS) {
		otp_config_free(cfg);
		return pam_rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_CONV_ERR;
	}
	req.user = user;
	if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS)
		req.service = item;
	if (pam_get_item(pamh, PAM_RHOST, &item) == PAM_SUCCESS)
		req.rhost = item;
	if (pam_get_item(pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS)
		req.authtok = item;
	req.usage = a.usage;
	req.force_channel = a.channel;
	req.nullok = a.nullok || cfg->nullok;
	req.silent = (flags & PAM_SILENT) != 0;
	req.conv.ask = converse;
	req.conv.arg = pamh;
	otp_flow_authenticate(&req, &res);
	pam_rc = otp_rc_to_pam(&res, cfg->failmode_safe);
	if (pam_rc == PAM_IGNORE && res.rc == OTP_ERR_SEND_TRANSIENT)
		otp_log_event(&log, LOG_WARNING, "fail-open", "user", req.user, "service", req.service,
			      "reason", "transient delivery failure with failmode=safe", (char *)NULL);
	otp_config_free(cfg);
	return pam_rc;
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
