/*
 * validate.h - strict checks on everything that comes from outside:
 * destinations (E.164 phone numbers, plain email addresses), country-code
 * allow lists, numeric PAM_RHOST addresses against CIDR lists, and masking
 * of destinations for prompts and logs.
 */
#ifndef OTP_VALIDATE_H
#define OTP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

/* "+" then 7 to 15 digits, the first not 0. */
bool otp_valid_e164(const char *s);
/* Plain "local@domain": dot-atom local part (not starting with '-'), LDH labels, <= 254 bytes. */
bool otp_valid_email(const char *s);
/* Country code length (1-3 digits) of an E.164 number's digits (after '+'). */
int otp_country_code_len(const char *digits);
/* Does e164 start with one of the allowed codes (digit strings, no '+')?  Empty list: all. */
bool otp_country_allowed(const char *e164, char *const *allowed);

/* Mask for the prompt: "+81 ••• ••• 5678" / "j•••@example.jp". */
void otp_mask_display(const char *dest, char *out, size_t outlen);
/* Mask for logs (ASCII): "+81******5678" / "j***@example.jp". */
void otp_mask_log(const char *dest, char *out, size_t outlen);

struct otp_cidr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* Parse "10.0.0.0/8", "2001:db8::/32" or a bare address; 0 or -1. */
int otp_cidr_parse(const char *s, struct otp_cidr *out);
/*
 * Is ip (a NUMERIC address; hostnames never match) inside the block?
 * IPv4-mapped IPv6 (::ffff:10.0.0.1) is compared as IPv4.
 */
bool otp_cidr_match(const struct otp_cidr *c, const char *ip);
/* Is s a numeric IPv4/IPv6 address (the only PAM_RHOST we trust)? */
bool otp_ip_is_numeric(const char *s);

#endif
