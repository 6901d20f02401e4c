/*
 * conntest - drive one connector directly, for the connector test suites.
 *
 *   conntest FILE.conf DEST CODE [USAGE]
 *
 * FILE.conf holds `connector = "<id>"; settings = { ... };` and optionally
 * `http = { timeout; connect_timeout; ca_file; proxy; };`.  The connector is
 * configured from `settings` and asked to deliver CODE to DEST through the
 * real HTTP/SMTP layer.  Prints one line:
 *   ok
 *   config-error <message>
 *   fail class=<class> http=<status> provider=<code> detail=<text>
 * Exit: 0 sent, 1 failed, 2 config error or usage.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libconfig.h>
#include "src/connectors/connector.h"
#include "src/mem.h"

int
main(int argc, char **argv)
{
	struct otp_config_errors errs = { 0 };
	struct otp_settings root, set, http;
	struct otp_http_config hc = { 0 };
	struct otp_template_vars vars = { 0 };
	struct otp_send_result res = { 0 };
	struct otp_send_env env = { 0 };
	struct otp_message msg = { 0 };
	const struct otp_connector *c;
	config_t cfg;
	char *id = NULL;
	void *ctx;
	long t, ct;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: conntest FILE.conf DEST CODE [USAGE]\n");
		return 2;
	}
	config_init(&cfg);
	if (config_read_file(&cfg, argv[1]) != CONFIG_TRUE) {
		printf("config-error %s:%d: %s\n", argv[1], config_error_line(&cfg), config_error_text(&cfg));
		return 2;
	}
	errs.file = argv[1];
	otp_settings_open(&root, config_root_setting(&cfg), &errs);
	otp_settings_string(&root, "connector", true, NULL, &id);
	otp_settings_group(&root, "http", false, &http);
	otp_settings_int(&http, "timeout", 10, 1, 300, &t);
	otp_settings_int(&http, "connect_timeout", 5, 1, 300, &ct);
	otp_settings_string(&http, "ca_file", false, NULL, &hc.ca_file);
	otp_settings_string(&http, "proxy", false, "", &hc.proxy);
	otp_settings_finish(&http);
	hc.timeout = t;
	hc.connect_timeout = ct;
	c = otp_connector_find(id);
	if (c == NULL) {
		printf("config-error unknown connector %s\n", id ? id : "(none)");
		free(id);
		free(hc.ca_file);
		free(hc.proxy);
		config_destroy(&cfg);
		return 2;
	}
	otp_settings_group(&root, "settings", true, &set);
	ctx = calloc(1, c->ctx_size);
	if (ctx == NULL)
		return 2;
	c->configure(ctx, &set);
	otp_settings_finish(&set);
	otp_settings_finish(&root);
	if (errs.count > 0) {
		printf("config-error %s\n", errs.msg[0]);
		c->cleanup(ctx);
		free(ctx);
		free(id);
		free(hc.ca_file);
		free(hc.proxy);
		config_destroy(&cfg);
		return 2;
	}
	vars.code = argv[3];
	vars.user = "alice";
	vars.host = "testhost";
	vars.service = "sshd";
	vars.rhost = "192.0.2.10";
	vars.ttl_minutes = 5;
	msg.channel = c->channel;
	msg.to = argv[2];
	msg.code = argv[3];
	msg.usage = argc > 4 ? argv[4] : "SignIn";
	msg.vars = &vars;
	msg.client_ip = "192.0.2.10";
	env.http = &hc;
	env.user_agent = "pam_otp_sms/" PACKAGE_VERSION;
	env.now = (long long)time(NULL);
	rc = c->send(ctx, &env, &msg, &res);
	if (rc == 0 && res.fail == OTP_FAIL_NONE)
		printf("ok\n");
	else
		printf("fail class=%s http=%ld provider=%s detail=%s\n", otp_fail_name(res.fail),
		       res.http_status, res.provider_code[0] ? res.provider_code : "-", res.detail);
	c->cleanup(ctx);
	free(ctx);
	free(id);
	free(hc.ca_file);
	free(hc.proxy);
	config_destroy(&cfg);
	return rc == 0 && res.fail == OTP_FAIL_NONE ? 0 : 1;
}
