/*
 * fuzz_connector.h - configure one connector from a libconfig settings
 * text (the way conf.c does it) for the targets that drive send() against
 * the OTP_FUZZING answer hook in http.c.
 */
#ifndef OTP_FUZZ_CONNECTOR_H
#define OTP_FUZZ_CONNECTOR_H

#include <libconfig.h>
#include "fuzz.h"
#include "src/connectors/connector.h"
#include "src/settings.h"

struct fz_connector {
	const struct otp_connector *c;
	void *ctx;
};

/* Configure connector `id` from the body of its settings group; a config
 * that does not validate is a bug in the target (abort). */
static inline void
fz_connector_setup(struct fz_connector *fc, const char *id, const char *settings)
{
	struct otp_config_errors errs = { .file = id };
	struct otp_settings root, s;
	config_t cfg;
	char *text;
	size_t n = strlen(settings) + 32;

	fc->c = otp_connector_find(id);
	FUZZ_CHECK(fc->c != NULL, "no connector %s", id);
	text = malloc(n);
	if (text == NULL)
		abort();
	snprintf(text, n, "s = { %s };", settings);
	config_init(&cfg);
	FUZZ_CHECK(config_read_string(&cfg, text) == CONFIG_TRUE, "%s: %s at line %d", id,
		   config_error_text(&cfg), config_error_line(&cfg));
	otp_settings_open(&root, config_root_setting(&cfg), &errs);
	otp_settings_group(&root, "s", true, &s);
	fc->ctx = calloc(1, fc->c->ctx_size ? fc->c->ctx_size : 1);
	if (fc->ctx == NULL)
		abort();
	fc->c->configure(fc->ctx, &s);
	otp_settings_finish(&s);
	FUZZ_CHECK(errs.count == 0, "%s: %s", id, errs.msg[0]);
	config_destroy(&cfg);
	free(text);
}

static inline void
fz_connector_free(struct fz_connector *fc)
{
	if (fc->c != NULL && fc->ctx != NULL)
		fc->c->cleanup(fc->ctx);
	free(fc->ctx);
	fc->ctx = NULL;
}

#endif
