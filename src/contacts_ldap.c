/*
 * contacts_ldap.c - the LDAP contacts source (OpenLDAP libldap).
 *
 * One connection per lookup: LDAPv3, no referral chasing, no alias
 * dereferencing, network/operation/server time limits from the timeout,
 * TLS by ldaps:// or by StartTLS on ldap:// (required unless the host is
 * loopback), certificate and host name always verified against the system
 * CA bundle or ca_file.  Simple bind with bind_dn and the password from a
 * root-only file, or an anonymous bind.  The filter template gets the user
 * name escaped per RFC 4515; exactly one entry must match (size limit 2):
 * none is "no contact here", two or more is an error (fail closed).
 *
 * The environment: libldap reads /etc/ldap/ldap.conf and, when the real and
 * effective uid agree, $LDAPCONF, $LDAPRC, ~/.ldaprc, ./ldaprc and LDAP*
 * variables, once per process, into its global defaults.  Nothing here can
 * stop that without touching the process environment (LDAPNOINIT), which a
 * PAM module must not do; instead every option that matters is set on our
 * own handle, overriding whatever those files said (see docs/fleet.md).
 */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <arpa/inet.h>
#include <ldap.h>
#include "buf.h"
#include "conf.h"
#include "contacts.h"
#include "mem.h"
#include "net.h"

#define MAX_VALUE 1024

bool
otp_contacts_ldap_available(void)
{
	return true;
}

/* Server text in our messages: printable ASCII only, bounded. */
static void
clean_text(const char *in, char *out, size_t outlen)
{
	size_t k = 0;

	for (size_t i = 0; in != NULL && in[i] && k + 1 < outlen && k < 160; i++)
		out[k++] = ((unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f) ? in[i] : '?';
	out[k] = '\0';
}

static void
ldap_fail(LDAP *ld, int rc, const char *what, const struct otp_ldap_config *l, char *why, size_t whylen)
{
	char *diag = NULL, text[192] = "";

	if (ld != NULL && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag) {
		clean_text(diag, text, sizeof(text));
		ldap_memfree(diag);
	}
	snprintf(why, whylen, "ldap %s: %s failed: %s%s%s", l->uri, what, ldap_err2string(rc),
		 text[0] ? ": " : "", text);
}

/* RFC 4515: the value of an assertion, with \2a \28 \29 \5c \00 (and any
 * control or non-ASCII byte) escaped as \hh. */
static int
escape_value(struct otp_buf *b, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p < 0x20 || *p >= 0x7f) {
			if (otp_buf_printf(b, "\\%02x", *p) != 0)
				return -1;
		} else if (otp_buf_append(b, p, 1) != 0)
			return -1;
	}
	return 0;
}

/* The filter template with every %u replaced by the escaped user name. */
static char *
build_filter(const char *tmpl, const char *user)
{
	struct otp_buf b;

	otp_buf_init(&b, 8192);
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			if (escape_value(&b, user) != 0)
				goto fail;
			p++;
		} else if (otp_buf_append(&b, p, 1) != 0)
			goto fail;
	}
	if (b.data == NULL && otp_buf_append(&b, "", 0) != 0)
		goto fail;
	return otp_buf_steal(&b);
fail:
	otp_buf_free(&b);
	return NULL;
}

static bool
host_is_loopback(const char *host)
{
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static int
set_opt(LDAP *ld, int opt, const void *val, const char *name, const struct otp_ldap_config *l,
	char *why, size_t whylen)
{
	if (ldap_set_option(ld, opt, val) != LDAP_OPT_SUCCESS) {
		snprintf(why, whylen, "ldap %s: cannot set %s", l->uri, name);
		return -1;
	}
	return 0;
}

/* The bind password: one line of a root-only file. */
static char *
read_password(const struct otp_ldap_config *l, size_t *plen, char *why, size_t whylen)
{
	bool gw;
	size_t len = 0;
	char *text = otp_read_secure_file(l->bind_password_file, &len, &gw, why, whylen);

	if (text == NULL)
		return NULL;
	if (gw) {
		snprintf(why, whylen, "%s: readable by group/others; it holds the bind password (chmod 0600)",
			 l->bind_password_file);
		otp_free_wiped(text, len + 1);
		return NULL;
	}
	*plen = len;
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	/* An empty password would make a "simple bind" unauthenticated (RFC 4513 5.1.2). */
	if (len == 0 || strchr(text, '\n') != NULL || strchr(text, '\r') != NULL) {
		snprintf(why, whylen, "%s: must hold the bind password on one non-empty line",
			 l->bind_password_file);
		otp_free_wiped(text, *plen + 1);
		return NULL;
	}
	return text;
}

/*
 * libldap does the TLS handshake (ldaps://, StartTLS) on a blocking socket
 * and its own handshake timeout does not hold (it polls in a loop), so a
 * server that accepts and then says nothing would hang the login.  Once
 * TCP is connected, a layer below TLS makes every read and write wait at
 * most until the lookup's deadline, then fail hard (ETIMEDOUT).
 */
static long
ms_until(const struct timespec *dl)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(dl->tv_sec - now.tv_sec) * 1000 + (dl->tv_nsec - now.tv_nsec) / 1000000L;
	return ms < 0 ? 0 : ms;
}

static int
io_wait(Sockbuf_IO_Desc *sbiod, short ev)
{
	ber_socket_t fd = -1;

	if (ber_sockbuf_ctrl(sbiod->sbiod_sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0) {
		errno = EBADF;
		return -1;
	}
	for (;;) {
		struct pollfd pfd = { fd, ev, 0 };
		int n = poll(&pfd, 1, (int)ms_until(sbiod->sbiod_pvt));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ETIMEDOUT;
		return n > 0 ? 0 : -1;
	}
}

static int
io_setup(Sockbuf_IO_Desc *sbiod, void *arg)
{
	sbiod->sbiod_pvt = arg;   /* the deadline, owned by the caller of connect_bind */
	return 0;
}

static int
io_remove(Sockbuf_IO_Desc *sbiod)
{
	(void)sbiod;
	return 0;
}

static int
io_ctrl(Sockbuf_IO_Desc *sbiod, int opt, void *arg)
{
	return LBER_SBIOD_CTRL_NEXT(sbiod, opt, arg);
}

static ber_slen_t
io_read(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	if (io_wait(sbiod, POLLIN) != 0)
		return -1;
	return LBER_SBIOD_READ_NEXT(sbiod, buf, len);
}

static ber_slen_t
io_write(Sockbuf_IO_Desc *sbiod, void *buf, ber_len_t len)
{
	if (io_wait(sbiod, POLLOUT) != 0)
		return -1;
	return LBER_SBIOD_WRITE_NEXT(sbiod, buf, len);
}

static int
io_close(Sockbuf_IO_Desc *sbiod)
{
	(void)sbiod;
	return 0;
}

static Sockbuf_IO deadline_io = { io_setup, io_remove, io_ctrl, io_read, io_write, io_close };

static int
on_connect(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr, struct ldap_conncb *ctx)
{
	(void)ld;
	(void)srv;
	(void)addr;
	return ber_sockbuf_add_io(sb, &deadline_io, LBER_SBIOD_LEVEL_PROVIDER + 5, ctx->lc_arg) == 0 ? 0 : LDAP_OTHER;
}

static void
on_disconnect(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	(void)ld;
	(void)sb;
	(void)ctx;
}

/* What one lookup keeps alive until its unbind. */
struct session {
	struct timespec deadline;
	struct ldap_conncb cb;
};

/* Connect, secure and bind.  Returns a bound handle, or NULL with why and
 * *cls: OTP_CONTACT_ERROR (our configuration) or OTP_CONTACT_UNAVAIL. */
static LDAP *
connect_bind(const struct otp_config *cfg, struct session *ss, enum otp_contact_rc *cls, char *why,
	     size_t whylen)
{
	const struct otp_ldap_config *l = &cfg->ldap;
	LDAPURLDesc *lud = NULL;
	LDAP *ld = NULL;
	struct timeval tv = { l->timeout, 0 };
	struct berval cred = { 0, NULL };
	char *pw = NULL;
	size_t pwcap = 0;
	int v3 = LDAP_VERSION3, hard = LDAP_OPT_X_TLS_HARD, allow = LDAP_OPT_X_TLS_ALLOW;
	int tlsmin = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, deref = LDAP_DEREF_NEVER, zero = 0;
	int timelimit = (int)l->timeout, sizelimit = 2, rc;
	unsigned int user_timeout = (unsigned int)l->timeout * 1000u;
	bool tls, loop;

	*cls = OTP_CONTACT_ERROR;
	/* Connect, TLS, bind and search, all together: 3 x timeout at most. */
	clock_gettime(CLOCK_MONOTONIC, &ss->deadline);
	ss->deadline.tv_sec += 3 * l->timeout;
	ss->cb.lc_add = on_connect;
	ss->cb.lc_del = on_disconnect;
	ss->cb.lc_arg = &ss->deadline;
	if (l->uri == NULL || l->base == NULL) {
		snprintf(why, whylen, "contacts.ldap: uri and base are required");
		return NULL;
	}
	if (ldap_url_parse(l->uri, &lud) != LDAP_URL_SUCCESS || lud->lud_host == NULL ||
	    lud->lud_host[0] == '\0' ||
	    (strcmp(lud->lud_scheme, "ldap") != 0 && strcmp(lud->lud_scheme, "ldaps") != 0)) {
		/* An empty host would mean "whatever ldap.conf says". */
		snprintf(why, whylen, "ldap %s: not ldap[s]://host[:port]", l->uri);
		if (lud != NULL)
			ldap_free_urldesc(lud);
		return NULL;
	}
	tls = strcmp(lud->lud_scheme, "ldaps") == 0;
	loop = host_is_loopback(lud->lud_host);
	ldap_free_urldesc(lud);
	if (l->bind_dn != NULL && (pw = read_password(l, &pwcap, why, whylen)) == NULL)
		return NULL;
	rc = ldap_initialize(&ld, l->uri);
	if (rc != LDAP_SUCCESS || ld == NULL) {
		ldap_fail(NULL, rc, "initialisation", l, why, whylen);
		goto fail;
	}
	/* Everything that matters is set here, whatever ldap.conf/ldaprc said. */
	if (set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &v3, "protocol version", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_DEREF, &deref, "deref", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv, "network timeout", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_TIMEOUT, &tv, "timeout", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_TIMELIMIT, &timelimit, "time limit", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_SIZELIMIT, &sizelimit, "size limit", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_TCP_USER_TIMEOUT, &user_timeout, "tcp user timeout", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &hard, "TLS require cert", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_SAN, &allow, "TLS require SAN", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tlsmin, "TLS protocol min", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, l->ca_file ? l->ca_file : OTP_SYSTEM_CA_FILE,
		    "TLS CA file", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_CACERTDIR, NULL, "TLS CA dir", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_CERTFILE, NULL, "TLS cert file", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_KEYFILE, NULL, "TLS key file", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_CIPHER_SUITE, NULL, "TLS cipher suite", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &zero, "TLS context", l, why, whylen) ||
	    set_opt(ld, LDAP_OPT_CONNECT_CB, &ss->cb, "connect callback", l, why, whylen))
		goto fail;
	/* From here on, failures are the directory's (or the network's). */
	*cls = OTP_CONTACT_UNAVAIL;
	if (!tls && !loop) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			ldap_fail(ld, rc, "StartTLS (required off loopback)", l, why, whylen);
			goto fail;
		}
	}
	if (pw != NULL) {
		cred.bv_val = pw;
		cred.bv_len = strlen(pw);
	}
	/* An anonymous bind too: it connects (and verifies TLS) before any filter is sent. */
	rc = ldap_sasl_bind_s(ld, l->bind_dn ? l->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		ldap_fail(ld, rc, l->bind_dn ? "bind" : "anonymous bind", l, why, whylen);
		goto fail;
	}
	otp_free_wiped(pw, pwcap + 1);
	return ld;
fail:
	if (pw != NULL)
		otp_free_wiped(pw, pwcap + 1);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

/* Phone values often carry separators ("+81 90-1234-5678"): keep "+digits". */
static char *
normalize_phone(const char *v)
{
	char out[64];
	size_t n = 0;

	while (*v == ' ')
		v++;
	if (*v != '+')
		return strdup(v);
	for (const char *c = v; *c; c++) {
		if (*c == ' ' || *c == '-' || *c == '.' || *c == '(' || *c == ')')
			continue;
		if (n + 1 >= sizeof(out) || !((*c >= '0' && *c <= '9') || (*c == '+' && n == 0)))
			return strdup(v); /* not a phone number: the flow will refuse it as it is */
		out[n++] = *c;
	}
	out[n] = '\0';
	return strdup(out);
}

/* First value of attr (NULL: absent).  -1: unusable value.  *several set when more. */
static int
first_value(LDAP *ld, LDAPMessage *e, const char *attr, bool phone, char **out, bool *several,
	    const struct otp_ldap_config *l, char *why, size_t whylen)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	char buf[MAX_VALUE + 1];
	int n;

	*out = NULL;
	if (vals == NULL)
		return 0;
	n = ldap_count_values_len(vals);
	if (n <= 0) {
		ldap_value_free_len(vals);
		return 0;
	}
	if (n > 1)
		*several = true;
	if (vals[0]->bv_len == 0 || vals[0]->bv_len > MAX_VALUE ||
	    memchr(vals[0]->bv_val, '\0', vals[0]->bv_len) != NULL) {
		snprintf(why, whylen, "ldap %s: attribute %s: empty, too long or with a NUL byte", l->uri, attr);
		ldap_value_free_len(vals);
		return -1;
	}
	memcpy(buf, vals[0]->bv_val, vals[0]->bv_len);
	buf[vals[0]->bv_len] = '\0';
	ldap_value_free_len(vals);
	*out = phone ? normalize_phone(buf) : strdup(buf);
	if (*out == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

enum otp_contact_rc
otp_contacts_ldap_lookup(const struct otp_config *cfg, const char *user, struct otp_contact *out,
			 char *why, size_t whylen)
{
	const struct otp_ldap_config *l = &cfg->ldap;
	struct otp_sigpipe g;
	struct timeval tv = { l->timeout, 0 };
	char *attrs[3], *filter = NULL;
	LDAPMessage *res = NULL, *e;
	enum otp_contact_rc ret = OTP_CONTACT_UNAVAIL;
	struct session ss;
	bool several = false;
	LDAP *ld;
	int rc, n;

	memset(out, 0, sizeof(*out));
	otp_net_sigpipe_block(&g);
	ld = connect_bind(cfg, &ss, &ret, why, whylen);
	if (ld == NULL)
		goto out;
	ret = OTP_CONTACT_UNAVAIL;
	filter = build_filter(l->filter, user);
	if (filter == NULL) {
		snprintf(why, whylen, "out of memory");
		ret = OTP_CONTACT_ERROR;
		goto out;
	}
	attrs[0] = l->phone_attribute;
	attrs[1] = l->email_attribute;
	attrs[2] = NULL;
	rc = ldap_search_ext_s(ld, l->base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv, 2, &res);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_fail(ld, rc, "search", l, why, whylen);
		goto out;
	}
	/* Continuation references are not followed (and not counted). */
	n = ldap_count_entries(ld, res);
	if (rc == LDAP_SIZELIMIT_EXCEEDED || n > 1) {
		snprintf(why, whylen, "ldap %s: directory ambiguous: more than one entry matches %s under %s",
			 l->uri, l->filter, l->base);
		ret = OTP_CONTACT_AMBIGUOUS;
		goto out;
	}
	if (n <= 0) {
		ret = OTP_CONTACT_NONE;
		goto out;
	}
	e = ldap_first_entry(ld, res);
	if (first_value(ld, e, l->phone_attribute, true, &out->phone, &several, l, why, whylen) != 0 ||
	    first_value(ld, e, l->email_attribute, false, &out->email, &several, l, why, whylen) != 0) {
		otp_contact_free(out);
		goto out;
	}
	if (out->phone == NULL && out->email == NULL) {
		ret = OTP_CONTACT_NONE;
		goto out;
	}
	out->source = several ? "ldap (first of several values)" : "ldap";
	ret = OTP_CONTACT_FOUND;
out:
	if (res != NULL)
		ldap_msgfree(res);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(filter);
	otp_net_sigpipe_restore(&g);
	return ret;
}

int
otp_contacts_ldap_check(const struct otp_config *cfg, char *why, size_t whylen)
{
	enum otp_contact_rc cls;
	struct otp_sigpipe g;
	struct session ss;
	LDAP *ld;

	otp_net_sigpipe_block(&g);
	ld = connect_bind(cfg, &ss, &cls, why, whylen);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	otp_net_sigpipe_restore(&g);
	return ld != NULL ? 0 : -1;
}
