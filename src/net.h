/*
 * net.h - what the HTTP client shares with the SMTP transport: the common
 * libcurl settings (timeouts, TLS, proxy, CA), error classification and
 * SIGPIPE protection.  Only http.c and the SMTP transport include it.
 */
#ifndef OTP_NET_H
#define OTP_NET_H

#include <signal.h>
#include <stdbool.h>
#include "http.h"

#define OTP_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define OTP_SYSTEM_CA_DIR "/etc/ssl/certs"

/* Apply timeouts, TLS verification, CA locations, proxy policy, URL and protocols to a CURL*. */
int otp_net_apply_common(void *curl_handle, const struct otp_send_env *env, const char *url,
			 const char *protocols, struct otp_send_result *res);
/* Map a CURLcode to a failure class. */
enum otp_fail_class otp_net_classify(int curlcode);

struct otp_sigpipe {
	sigset_t old_mask;
	bool was_pending;
};
void otp_net_sigpipe_block(struct otp_sigpipe *sp);
void otp_net_sigpipe_restore(struct otp_sigpipe *sp);

#endif
