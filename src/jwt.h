/*
 * jwt.h - HS256 JSON Web Tokens for the Auth0-style SMS gateway bearer.
 * Header is exactly {"alg":"HS256","typ":"JWT"}; claims are JSON-encoded;
 * base64url without padding.
 */
#ifndef OTP_JWT_H
#define OTP_JWT_H

#include <stddef.h>

struct otp_jwt_claims {
	const char *sub;        /* may be NULL: omitted */
	const char *aud;
	long long iat;
	long long exp;
	const char *jti;        /* may be NULL: omitted */
};

/* Sign; returns a malloc'd token (wipe+free after use) or NULL. */
char *otp_jwt_hs256(const struct otp_jwt_claims *claims, const unsigned char *key,
		    size_t keylen);

#endif
