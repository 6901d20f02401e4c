/*
 * rc.h - result codes of the PAM-free core and delivery failure classes.
 *
 * The core speaks only enum otp_rc; the PAM glue maps it to a PAM code in
 * exactly one place (otp_rc_to_pam in pam_otp_sms.c).  Delivery failures
 * carry an enum otp_fail_class so that failmode="safe" can tell transient
 * outages (which may fail open to PAM_IGNORE) from everything else (which
 * always fails closed).
 */
#ifndef OTP_RC_H
#define OTP_RC_H

#include <stdbool.h>

enum otp_rc {
	OTP_OK = 0,
	OTP_ERR_NOMEM,          /* out of memory                     -> PAM_BUF_ERR */
	OTP_ERR_CONFIG,         /* config invalid/unsafe, bad arg    -> PAM_SERVICE_ERR */
	OTP_ERR_CONTACTS,       /* contacts file invalid/unsafe      -> PAM_SERVICE_ERR */
	OTP_ERR_STATE,          /* state unsafe/unreadable/lock t/o  -> PAM_AUTHINFO_UNAVAIL */
	OTP_ERR_DIRECTORY,      /* LDAP unreachable or ambiguous     -> PAM_AUTHINFO_UNAVAIL */
	OTP_ERR_DESTINATION,    /* bad or disallowed destination     -> PAM_AUTHINFO_UNAVAIL */
	OTP_ERR_SEND,           /* delivery failed, fail closed      -> PAM_AUTHINFO_UNAVAIL */
	OTP_ERR_SEND_TRANSIENT, /* delivery failed, transient class  -> UNAVAIL, or IGNORE if safe */
	OTP_ERR_MISMATCH,       /* wrong code                        -> PAM_AUTH_ERR */
	OTP_ERR_EXPIRED,        /* expired, replayed or no code      -> PAM_AUTH_ERR */
	OTP_ERR_MAXTRIES,       /* attempts/lockout/send cap         -> PAM_MAXTRIES */
	OTP_ERR_NOUSER,         /* unknown or unenrolled, after decoy-> PAM_AUTH_ERR */
	OTP_IGNORE_NOCONTACT,   /* known user without contact+nullok -> PAM_IGNORE */
	OTP_IGNORE_EXEMPT,      /* exempt group / trusted network    -> PAM_IGNORE */
	OTP_ERR_CONV,           /* conversation failed               -> PAM_CONV_ERR */
	OTP_ERR_RNG,            /* CSPRNG failure                    -> PAM_SYSTEM_ERR */
	OTP_ERR_INTERNAL,       /* anything else                     -> PAM_SYSTEM_ERR */
	OTP_RC_LAST
};

const char *otp_strerror(enum otp_rc rc);

/*
 * The final verdict of a login.  The values are far apart in Hamming
 * distance (the sudo AUTH_SUCCESS/AUTH_FAILURE idea) so that a flipped bit
 * cannot turn a denial into an approval; callers test for ALLOW positively.
 */
enum otp_verdict {
	OTP_VERDICT_DENY = 0x0ad5d6da,
	OTP_VERDICT_ALLOW = 0x052a2925,
};

/* Why a delivery failed.  Only the classes marked transient may fail open. */
enum otp_fail_class {
	OTP_FAIL_NONE = 0,
	OTP_FAIL_DNS,          /* transient: name did not resolve */
	OTP_FAIL_CONNECT,      /* transient: connection refused/unreachable */
	OTP_FAIL_TIMEOUT,      /* transient: connect or total timeout */
	OTP_FAIL_HTTP_5XX,     /* transient: provider server error */
	OTP_FAIL_RATE_LIMIT,   /* transient: HTTP 429 or provider throttling */
	OTP_FAIL_TLS,          /* certificate/handshake failure: never open */
	OTP_FAIL_REDIRECT,     /* 3xx answer: never followed, never open */
	OTP_FAIL_AUTH,         /* 401/403 or provider credential error */
	OTP_FAIL_HTTP_4XX,     /* other client error */
	OTP_FAIL_PROTOCOL,     /* malformed/oversized answer, SMTP error */
	OTP_FAIL_PROVIDER,     /* provider rejected the message in its body */
	OTP_FAIL_DESTINATION,  /* provider or validator refused the number */
	OTP_FAIL_CONFIG,       /* connector settings cannot work */
	OTP_FAIL_INTERNAL,     /* out of memory, library failure */
	OTP_FAIL_LAST
};

const char *otp_fail_name(enum otp_fail_class cls);
bool otp_fail_is_transient(enum otp_fail_class cls);

#endif
