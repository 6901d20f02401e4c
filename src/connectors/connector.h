/*
 * connector.h - the one interface every delivery provider implements.
 *
 * A connector is a constant struct otp_connector (one per source file,
 * named otp_connector_<name>) listed in the registry.  The core allocates
 * ctx_size bytes of zeroed state, calls configure() with the connector's
 * settings group (Logto field names, plus `endpoint`), then send() once per
 * code, and cleanup() to wipe and free what configure() allocated.
 *
 * send() must never log: it describes the outcome in struct otp_send_result
 * (failure class, HTTP status, provider code) and the core logs one line.
 * It must judge success by the provider's real success signal.
 */
#ifndef OTP_CONNECTOR_H
#define OTP_CONNECTOR_H

#include <stdio.h>
#include "../http.h"
#include "../settings.h"
#include "../template.h"

struct json_object;

enum otp_channel {
	OTP_CHANNEL_NONE = 0,
	OTP_CHANNEL_SMS = 1,
	OTP_CHANNEL_EMAIL = 2,
};

const char *otp_channel_name(enum otp_channel ch);

struct otp_message {
	enum otp_channel channel;
	const char *to;            /* validated: "+819012345678" or "user@example.jp" */
	const char *code;          /* the plain code (a secret) */
	const char *usage;         /* template usage type: "SignIn", "Generic", ... */
	const struct otp_template_vars *vars;   /* includes code; for rendering */
	const char *client_ip;     /* numeric PAM_RHOST or NULL */
};

struct otp_connector {
	const char *id;                  /* config id, e.g. "twilio-sms" */
	enum otp_channel channel;
	size_t ctx_size;
	/* Parse and validate the settings group; report problems through s.  0/-1. */
	int (*configure)(void *ctx, struct otp_settings *s);
	/* Deliver msg.  0 on the provider's success signal, else -1 with res filled. */
	int (*send)(void *ctx, const struct otp_send_env *env, const struct otp_message *msg,
		    struct otp_send_result *res);
	/* Wipe secrets and free everything configure() allocated (ctx itself is the core's). */
	void (*cleanup)(void *ctx);
	/*
	 * Optional: texts this connector would send for a usage type, for
	 * `otp-smsctl check` (SMS segment warnings).  Returns a malloc'd
	 * rendered body or NULL if the text lives at the provider.
	 */
	char *(*preview)(void *ctx, const char *usage, const struct otp_template_vars *vars);
	/*
	 * Optional: print the libconfig block for a Logto connector config JSON
	 * (`otp-smsctl import-logto`).  0, or -1 with a reason in why.
	 */
	int (*import_logto)(struct json_object *logto, FILE *out, char *why, size_t whylen);
};

/* NULL-terminated registry. */
extern const struct otp_connector *const otp_connectors[];
const struct otp_connector *otp_connector_find(const char *id);

#endif
