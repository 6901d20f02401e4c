/*
 * fuzz_config - the configuration loader and validator (security.md F1):
 * the input is written to a private temp file with a safe mode and loaded
 * with otp_config_load, the sudo fuzz_sudo_conf pattern.
 *
 * Invariants for an accepted config: every limit inside its documented
 * range, bounded timeouts, absolute paths, a channel with a connector of
 * the right kind; and every HTTP connector, asked to send, calls only an
 * https:// URL or plain http:// to loopback (the network is replaced by
 * the OTP_FUZZING hook in http.c; smtp and sendmail are not driven: they
 * would open a connection or run a program).
 */
#include "config.h"
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "fuzz.h"
#include "src/conf.h"
#include "src/http.h"
#include "src/mem.h"
#include "src/settings.h"

static char dir[64], path[128];
static int nrequests;

static int
answer(const struct otp_http_request *req, long *status, struct otp_buf *body)
{
	FUZZ_CHECK(otp_url_check(req->url, true) == NULL, "URL %s", req->url);
	FUZZ_CHECK(strncasecmp(req->url, "https://", 8) == 0 || otp_url_is_loopback(req->url),
		   "plain URL off loopback: %s", req->url);
	nrequests++;
	*status = 500;
	otp_buf_puts(body, "{}");
	return 0;
}

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void
setup(void)
{
	strcpy(dir, "/tmp/otp-fuzz-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/pam_otp_sms.conf", dir);
	atexit(cleanup);
	otp_http_global_init();   /* once, not per send */
	otp_http_fuzz_answer = answer;
}

static void
write_config(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n <= 0)
			abort();
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

static void
check_channel(const struct otp_config *cfg, enum otp_channel ch)
{
	const struct otp_channel_conf *c = otp_config_channel(cfg, ch);
	struct otp_template_vars vars = {
		.code = "246801", .user = "alice", .host = "host", .service = "sshd",
		.rhost = "192.0.2.7", .ttl_minutes = 5,
	};
	struct otp_message msg = {
		.channel = ch, .to = ch == OTP_CHANNEL_SMS ? "+819012345678" : "alice@example.jp",
		.code = "246801", .usage = "SignIn", .vars = &vars, .client_ip = "192.0.2.7",
	};
	struct otp_send_env env = { .http = &cfg->http, .user_agent = "pam_otp_sms/fuzz", .now = 1700000000 };
	struct otp_send_result res = { 0 };
	int rc;

	if (c == NULL)
		return;
	FUZZ_CHECK(c->connector->channel == ch, "%s on the wrong channel", c->connector->id);
	FUZZ_CHECK(c->ctx != NULL, "no context");
	if (c->connector->preview != NULL) {
		char *text = c->connector->preview(c->ctx, "SignIn", &vars);
		otp_free_secret(text);
	}
	if (strcmp(c->connector->id, "smtp") == 0 || strcmp(c->connector->id, "sendmail") == 0)
		return;
	rc = c->connector->send(c->ctx, &env, &msg, &res);
	/* The hook answered 500: never a success. */
	FUZZ_CHECK(rc != 0, "%s: success on HTTP 500", c->connector->id);
	FUZZ_CHECK(res.fail > OTP_FAIL_NONE && res.fail < OTP_FAIL_LAST, "class %d", res.fail);
	FUZZ_CHECK(memchr(res.detail, '\0', sizeof(res.detail)) != NULL, "detail not terminated");
	FUZZ_CHECK(strstr(res.detail, "246801") == NULL, "code in detail: %s", res.detail);
}

static void
check_accepted(const struct otp_config *cfg)
{
	const struct otp_policy *p = &cfg->policy;

	FUZZ_CHECK(p->code_length >= 4 && p->code_length <= 10, "length %u", p->code_length);
	FUZZ_CHECK(p->ttl >= 30 && p->ttl <= 3600, "ttl %lld", (long long)p->ttl);
	FUZZ_CHECK(p->max_attempts >= 1 && p->max_attempts <= 10, "max_attempts");
	FUZZ_CHECK(p->resend_after >= 0 && p->resend_after <= 3600, "resend_after");
	FUZZ_CHECK(p->sends_per_hour >= 1 && p->sends_per_hour <= 128, "sends_per_hour");
	FUZZ_CHECK(p->sends_per_day >= 1 && p->sends_per_day <= 128, "sends_per_day");
	FUZZ_CHECK(p->host_sends_per_hour >= 1, "host_sends_per_hour");
	FUZZ_CHECK(p->lockout_after >= 1 && p->lockout_after <= 100, "lockout_after");
	FUZZ_CHECK(p->lockout_time >= 1 && p->lockout_time <= 30 * 86400, "lockout_time");
	FUZZ_CHECK(cfg->http.timeout >= 1 && cfg->http.timeout <= 120, "timeout");
	FUZZ_CHECK(cfg->http.connect_timeout >= 1 && cfg->http.connect_timeout <= cfg->http.timeout,
		   "connect_timeout");
	FUZZ_CHECK(cfg->http.ca_file == NULL || cfg->http.ca_file[0] == '/', "ca_file");
	FUZZ_CHECK(cfg->state.path != NULL && cfg->state.path[0] == '/', "state path");
	FUZZ_CHECK(cfg->contacts_file != NULL && cfg->contacts_file[0] == '/', "contacts file");
	FUZZ_CHECK(cfg->nsources >= 1 && cfg->nsources <= 3, "sources");
	FUZZ_CHECK(cfg->nchannels >= 1 && cfg->nchannels <= 2, "channels");
	FUZZ_CHECK(cfg->sms.connector != NULL || cfg->email.connector != NULL, "no connector");
	FUZZ_CHECK(cfg->prompt != NULL, "prompt");
	FUZZ_CHECK(otp_config_usage_for(cfg, "sshd") != NULL, "usage");
	for (size_t i = 0; i < cfg->ntrusted; i++)
		FUZZ_CHECK(cfg->trusted[i].family == AF_INET ? cfg->trusted[i].prefix <= 32
							      : cfg->trusted[i].prefix <= 128, "prefix");
	check_channel(cfg, OTP_CHANNEL_SMS);
	check_channel(cfg, OTP_CHANNEL_EMAIL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otp_config *cfg;

	if (path[0] == '\0')
		setup();
	if (size > 256 * 1024)
		return 0;
	write_config(data, size);
	cfg = otp_config_load(path);
	if (cfg == NULL)
		return 0;
	FUZZ_CHECK(cfg->errs.count >= 0 && cfg->errs.count <= OTP_SETTINGS_MAX_ERRORS, "count");
	for (int i = 0; i < cfg->errs.count; i++)
		FUZZ_CHECK(memchr(cfg->errs.msg[i], '\0', sizeof(cfg->errs.msg[i])) != NULL, "msg");
	if (cfg->errs.count == 0)
		check_accepted(cfg);
	otp_config_free(cfg);
	return 0;
}
