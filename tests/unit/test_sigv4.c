/*
 * Unit tests: AWS Signature Version 4 against the published vectors
 * (providers.md §5A: awslabs/aws-c-auth v4 suite get-vanilla, post-vanilla,
 * get-vanilla-query-order-key-case, post-x-www-form-urlencoded in both its
 * aws-c-auth and 2015 forms, and the AWS signing-key derivation example),
 * plus the canonicalisation rules the spec states (path normalisation,
 * RFC 3986 encoding, query ordering, header trimming).
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "src/buf.h"
#include "src/crypto.h"
#include "src/sign_sigv4.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct otp_sigv4_credentials suite_creds = {
	.access_key_id = "AKIDEXAMPLE",
	.secret_key = SECRET,
	.region = "us-east-1",
	.service = "service",
};

static const struct otp_sigv4_header vanilla_headers[] = {
	{ "Host", "example.amazonaws.com" },
	{ "X-Amz-Date", "20150830T123600Z" },
};

/* Canonical request of r, as a new string (NULL when refused). */
static char *
creq(const struct otp_sigv4_request *r, char **signed_headers)
{
	struct otp_buf b, sh;

	otp_buf_init(&b, 0);
	otp_buf_init(&sh, 0);
	if (otp_sigv4_canonical_request(r, &b, &sh) != 0) {
		otp_buf_free(&b);
		otp_buf_free(&sh);
		return NULL;
	}
	if (signed_headers != NULL)
		*signed_headers = otp_buf_steal(&sh);
	otp_buf_free(&sh);
	return otp_buf_steal(&b);
}

static void
creq_hash(const struct otp_sigv4_request *r, char out[65])
{
	char *s = creq(r, NULL);

	if (s == NULL) {
		strcpy(out, "(refused)");
		return;
	}
	otp_sha256_hex(s, strlen(s), out);
	free(s);
}

/* Signature of r with the suite credentials, or "(refused)". */
static void
signature(const struct otp_sigv4_request *r, char out[65])
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_sigv4_authorization(&suite_creds, r, &b, out) != 0)
		strcpy(out, "(refused)");
	otp_buf_free(&b);
}

static char *
curi(const char *path, bool s3)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_sigv4_canonical_uri(path, s3, &b) != 0) {
		otp_buf_free(&b);
		return strdup("(refused)");
	}
	return otp_buf_steal(&b);
}

static char *
cquery(const char *q)
{
	struct otp_buf b;

	otp_buf_init(&b, 0);
	if (otp_sigv4_canonical_query(q, &b) != 0) {
		otp_buf_free(&b);
		return strdup("(refused)");
	}
	return otp_buf_steal(&b);
}

static void
test_vectors(void)
{
	struct otp_sigv4_request r = { 0 };
	struct otp_buf auth, sts;
	char hex[65], sig[65], *s, *sh = NULL;
	unsigned char key[32];

	/* 1. get-vanilla */
	r.method = "GET";
	r.path = "/";
	r.headers = vanilla_headers;
	r.nheaders = 2;
	s = creq(&r, &sh);
	is_str(s, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	       "host;x-amz-date\n" EMPTY_HASH, "get-vanilla: canonical request");
	is_str(sh, "host;x-amz-date", "get-vanilla: signed headers");
	otp_buf_init(&sts, 0);
	ok(s != NULL && otp_sigv4_string_to_sign("20150830T123600Z", "us-east-1", "service", s,
						 strlen(s), &sts) == 0, "get-vanilla: string to sign built");
	is_str(sts.data, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
	       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	       "get-vanilla: string to sign");
	otp_buf_free(&sts);
	free(s);
	free(sh);
	otp_buf_init(&auth, 0);
	ok(otp_sigv4_authorization(&suite_creds, &r, &auth, sig) == 0, "get-vanilla: signed");
	is_str(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	       "get-vanilla: signature");
	is_str(auth.data, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	       "SignedHeaders=host;x-amz-date, "
	       "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	       "get-vanilla: Authorization header");
	otp_buf_free(&auth);

	/* 2. post-vanilla */
	r.method = "POST";
	creq_hash(&r, hex);
	is_str(hex, "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
	       "post-vanilla: canonical request hash");
	signature(&r, sig);
	is_str(sig, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	       "post-vanilla: signature");

	/* 3. get-vanilla-query-order-key-case */
	r.method = "GET";
	r.query = "Param2=value2&Param1=value1";
	s = creq(&r, NULL);
	ok(s != NULL && strstr(s, "GET\n/\nParam1=value1&Param2=value2\n") == s,
	   "query-order-key-case: canonical query sorted");
	free(s);
	creq_hash(&r, hex);
	is_str(hex, "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
	       "query-order-key-case: canonical request hash");
	signature(&r, sig);
	is_str(sig, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
	       "query-order-key-case: signature");
	r.query = NULL;

	/* 4a. post-x-www-form-urlencoded, aws-c-auth variant (signed body hash header) */
	{
		static const struct otp_sigv4_header h[] = {
			{ "Content-Type", "application/x-www-form-urlencoded" },
			{ "Host", "example.amazonaws.com" },
			{ "Content-Length", "13" },
			{ "x-amz-content-sha256",
			  "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e" },
			{ "X-Amz-Date", "20150830T123600Z" },
		};
		r.method = "POST";
		r.headers = h;
		r.nheaders = 5;
		r.payload = "Param1=value1";
		r.payload_len = 13;
		s = creq(&r, &sh);
		is_str(sh, "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
		       "post-x-www-form-urlencoded (aws-c-auth): signed headers");
		free(s);
		free(sh);
		creq_hash(&r, hex);
		is_str(hex, "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
		       "post-x-www-form-urlencoded (aws-c-auth): canonical request hash");
		signature(&r, sig);
		is_str(sig, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
		       "post-x-www-form-urlencoded (aws-c-auth): signature");
	}
	/* 4b. the same request as in the 2015 AWS suite (three signed headers) */
	{
		static const struct otp_sigv4_header h[] = {
			{ "Content-Type", "application/x-www-form-urlencoded" },
			{ "Host", "example.amazonaws.com" },
			{ "X-Amz-Date", "20150830T123600Z" },
		};
		r.headers = h;
		r.nheaders = 3;
		creq_hash(&r, hex);
		is_str(hex, "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
		       "post-x-www-form-urlencoded (2015 suite): canonical request hash");
		signature(&r, sig);
		is_str(sig, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
		       "post-x-www-form-urlencoded (2015 suite): signature");
		/* one byte of body changed: the payload hash is really signed */
		r.payload = "Param1=value2";
		signature(&r, sig);
		ok(strcmp(sig, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a") != 0 &&
		   strlen(sig) == 64, "changing the body changes the signature");
	}

	/* 5. signing-key derivation example */
	otp_sigv4_signing_key(SECRET, "20120215", "us-east-1", "iam", key);
	otp_hex(key, 32, hex);
	is_str(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
	       "signing key example (20120215/us-east-1/iam)");
}

static void
test_canonical_parts(void)
{
	struct otp_sigv4_request r = { 0 };
	char date[OTP_SIGV4_DATE_LEN], sig[65], *s;

	ok(otp_sigv4_amz_date(1440938160LL, date) == 0, "amz date formatted");
	is_str(date, "20150830T123600Z", "amz date is UTC YYYYMMDDTHHMMSSZ");
	ok(otp_sigv4_amz_date(-1, date) != 0, "negative time refused");

	/* Canonical URI (AWS suite: get-slashes, get-slash-dot-slash, get-relative, get-space, get-utf8) */
	s = curi("//example//", false); is_str(s, "/example/", "URI: duplicate slashes collapsed"); free(s);
	s = curi("/./", false); is_str(s, "/", "URI: /./ -> /"); free(s);
	s = curi("/./example", false); is_str(s, "/example", "URI: pointless dot removed"); free(s);
	s = curi("/example/..", false); is_str(s, "/", "URI: /example/.. -> /"); free(s);
	s = curi("/example1/example2/../..", false); is_str(s, "/", "URI: relative-relative -> /"); free(s);
	s = curi("/example space/", false); is_str(s, "/example%20space/", "URI: space -> %20, trailing slash kept"); free(s);
	s = curi("/\xe1\x88\xb4", false); is_str(s, "/%E1%88%B4", "URI: UTF-8 bytes upper-case hex"); free(s);
	s = curi("/-._~0-9A-Za-z", false); is_str(s, "/-._~0-9A-Za-z", "URI: unreserved kept"); free(s);
	s = curi("", false); is_str(s, "/", "URI: empty -> /"); free(s);
	s = curi("/v2/email/outbound-emails", false);
	is_str(s, "/v2/email/outbound-emails", "URI: SES path unchanged"); free(s);
	s = curi("/a%20b", false); is_str(s, "/a%2520b", "URI: non-S3 encodes the sent path again"); free(s);
	s = curi("/a%20b//c", true); is_str(s, "/a%20b//c", "URI: S3 uses the path as sent"); free(s);
	s = curi("/a\nb", false); is_str(s, "(refused)", "URI: control character refused"); free(s);

	/* Canonical query */
	s = cquery("Param2=value2&Param1=value1"); is_str(s, "Param1=value1&Param2=value2", "query: sorted by name"); free(s);
	s = cquery("a=b&a=A"); is_str(s, "a=A&a=b", "query: equal names sorted by value"); free(s);
	s = cquery("b&a="); is_str(s, "a=&b=", "query: missing value is empty"); free(s);
	s = cquery("k=a+b%7e%2F c"); is_str(s, "k=a%2Bb~%2F%20c", "query: decoded then RFC 3986 re-encoded"); free(s);
	s = cquery("Z=1&a=1"); is_str(s, "Z=1&a=1", "query: byte order (upper case first)"); free(s);
	s = cquery("a=%zz"); is_str(s, "(refused)", "query: bad escape refused"); free(s);
	s = cquery("a=%4"); is_str(s, "(refused)", "query: truncated escape refused"); free(s);
	s = cquery(""); is_str(s, "", "query: empty"); free(s);

	/* Headers: trimming, repeated names, refusals */
	{
		static const struct otp_sigv4_header h[] = {
			{ "My-Header1", "  value1  " },
			{ "Host", "example.amazonaws.com" },
			{ "My-Header2", "\"a   b   c\"" },
			{ "X-Amz-Date", "20150830T123600Z" },
			{ "My-Header1", "value2" },
		};
		char *sh = NULL;
		r.method = "GET";
		r.path = "/";
		r.headers = h;
		r.nheaders = 5;
		s = creq(&r, &sh);
		is_str(s, "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1,value2\n"
		       "my-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\n"
		       "host;my-header1;my-header2;x-amz-date\n" EMPTY_HASH,
		       "headers: lower-cased, sorted, trimmed, runs collapsed, repeats joined");
		is_str(sh, "host;my-header1;my-header2;x-amz-date", "headers: signed list without repeats");
		free(s);
		free(sh);
	}
	{
		static const struct otp_sigv4_header h[] = {
			{ "Host", "example.amazonaws.com" },
			{ "X-Amz-Date", "20150830T123600Z" },
			{ "X-Evil", "a\r\nInjected: 1" },
		};
		r.headers = h;
		r.nheaders = 3;
		signature(&r, sig);
		is_str(sig, "(refused)", "headers: CR/LF in a value is refused");
	}
	{
		static const struct otp_sigv4_header h[] = {
			{ "Host", "example.amazonaws.com" },
			{ "Bad Name", "x" },
			{ "X-Amz-Date", "20150830T123600Z" },
		};
		r.headers = h;
		r.nheaders = 3;
		signature(&r, sig);
		is_str(sig, "(refused)", "headers: invalid header name is refused");
	}
	{
		static const struct otp_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
		r.headers = h;
		r.nheaders = 1;
		signature(&r, sig);
		is_str(sig, "(refused)", "missing x-amz-date is refused");
	}
	{
		static const struct otp_sigv4_header h[] = { { "X-Amz-Date", "20150830T123600Z" } };
		r.headers = h;
		r.nheaders = 1;
		signature(&r, sig);
		is_str(sig, "(refused)", "missing host is refused");
	}
	{
		static const struct otp_sigv4_header h[] = {
			{ "Host", "example.amazonaws.com" }, { "X-Amz-Date", "2015-08-30T12:36:00Z" },
		};
		r.headers = h;
		r.nheaders = 2;
		signature(&r, sig);
		is_str(sig, "(refused)", "malformed x-amz-date is refused");
	}
	{
		struct otp_sigv4_credentials bad = suite_creds;
		struct otp_buf b;
		r.headers = vanilla_headers;
		r.nheaders = 2;
		bad.region = "us-east-1/x";
		otp_buf_init(&b, 0);
		ok(otp_sigv4_authorization(&bad, &r, &b, NULL) != 0, "a '/' in the region is refused");
		bad = suite_creds;
		bad.access_key_id = "AKID, Signature=x";
		ok(otp_sigv4_authorization(&bad, &r, &b, NULL) != 0, "separators in the key id are refused");
		otp_buf_free(&b);
		/* a different region/service/secret signs differently */
		bad = suite_creds;
		bad.region = "us-west-2";
		otp_buf_init(&b, 0);
		ok(otp_sigv4_authorization(&bad, &r, &b, sig) == 0 &&
		   strcmp(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") != 0,
		   "the region is part of the signature");
		otp_buf_free(&b);
	}
}

int
main(void)
{
	test_vectors();
	test_canonical_parts();
	return tap_done();
}
