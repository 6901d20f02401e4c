/*
 * flow.h - one login, PAM-free: exemptions, contact lookup, state and
 * policy, delivery, the prompt and verification (DESIGN §1).  The user is
 * reached only through struct otp_conv_ops; logging goes through
 * struct otp_log.  The PAM glue and the tests drive it.
 */
#ifndef OTP_FLOW_H
#define OTP_FLOW_H

#include <stdbool.h>
#include "conf.h"
#include "log.h"
#include "rc.h"

struct otp_conv_ops {
	/*
	 * One conversation call: an informational line (NULL: none, e.g. with
	 * PAM_SILENT) and an echo-off prompt together, because sshd holds back
	 * lone info messages.  0 with *answer set (malloc'd; the flow wipes and
	 * frees it), or -1 when the conversation failed (^C, no tty, sudo -n).
	 */
	int (*ask)(void *arg, const char *info, const char *prompt, char **answer);
	void *arg;
};

struct otp_request {
	const struct otp_config *cfg;
	const struct otp_log *log;
	const char *user;              /* PAM_USER: untrusted */
	const char *service;
	const char *rhost;             /* PAM_RHOST: trusted only if numeric */
	const char *authtok;           /* read only to spot OpenSSH's invalid-user dummy */
	const char *usage;             /* usage= argument, or NULL */
	enum otp_channel force_channel;/* channel= argument, or OTP_CHANNEL_NONE */
	bool nullok;
	bool silent;
	struct otp_conv_ops conv;
};

struct otp_result {
	enum otp_rc rc;
	enum otp_verdict verdict;      /* ALLOW only when a correct code was consumed */
};

void otp_flow_authenticate(const struct otp_request *req, struct otp_result *res);

/* Deliver msg through a channel's connector with the config's HTTP settings. */
int otp_flow_deliver(const struct otp_config *cfg, const struct otp_channel_conf *ch,
		     const struct otp_message *msg, struct otp_send_result *res);

/* What OpenSSH puts in PAM_AUTHTOK for an invalid user or a failed password. */
#define OTP_OPENSSH_DUMMY_PASSWORD "\b\n\r\177INCORRECT"

#endif
