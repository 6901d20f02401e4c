/* rc.c - names for result codes and failure classes. */
#include "config.h"
#include "rc.h"

const char *
otp_strerror(enum otp_rc rc)
{
	switch (rc) {
	case OTP_OK: return "ok";
	case OTP_ERR_NOMEM: return "out of memory";
	case OTP_ERR_CONFIG: return "configuration error";
	case OTP_ERR_CONTACTS: return "contacts error";
	case OTP_ERR_STATE: return "state error";
	case OTP_ERR_DIRECTORY: return "directory error";
	case OTP_ERR_DESTINATION: return "bad destination";
	case OTP_ERR_SEND: return "delivery failed";
	case OTP_ERR_SEND_TRANSIENT: return "delivery failed (transient)";
	case OTP_ERR_MISMATCH: return "wrong code";
	case OTP_ERR_EXPIRED: return "no valid code";
	case OTP_ERR_MAXTRIES: return "limit reached";
	case OTP_ERR_NOUSER: return "unknown or unenrolled user";
	case OTP_IGNORE_NOCONTACT: return "no contact (nullok)";
	case OTP_IGNORE_EXEMPT: return "exempt";
	case OTP_ERR_CONV: return "conversation failed";
	case OTP_ERR_RNG: return "random generator failed";
	case OTP_ERR_INTERNAL: return "internal error";
	case OTP_RC_LAST: break;
	}
	return "unknown error";
}

const char *
otp_fail_name(enum otp_fail_class cls)
{
	switch (cls) {
	case OTP_FAIL_NONE: return "none";
	case OTP_FAIL_DNS: return "dns";
	case OTP_FAIL_CONNECT: return "connect";
	case OTP_FAIL_TIMEOUT: return "timeout";
	case OTP_FAIL_HTTP_5XX: return "http-5xx";
	case OTP_FAIL_RATE_LIMIT: return "rate-limit";
	case OTP_FAIL_TLS: return "tls";
	case OTP_FAIL_REDIRECT: return "redirect";
	case OTP_FAIL_AUTH: return "auth";
	case OTP_FAIL_HTTP_4XX: return "http-4xx";
	case OTP_FAIL_PROTOCOL: return "protocol";
	case OTP_FAIL_PROVIDER: return "provider";
	case OTP_FAIL_DESTINATION: return "destination";
	case OTP_FAIL_CONFIG: return "config";
	case OTP_FAIL_INTERNAL: return "internal";
	case OTP_FAIL_LAST: break;
	}
	return "unknown";
}

bool
otp_fail_is_transient(enum otp_fail_class cls)
{
	switch (cls) {
	case OTP_FAIL_DNS:
	case OTP_FAIL_CONNECT:
	case OTP_FAIL_TIMEOUT:
	case OTP_FAIL_HTTP_5XX:
	case OTP_FAIL_RATE_LIMIT:
		return true;
	default:
		return false;
	}
}
