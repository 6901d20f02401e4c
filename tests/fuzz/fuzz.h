/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry point's
 * prototype, an invariant check that aborts (a crash to libFuzzer and to
 * the replay driver alike), and a reader that splits the input into
 * NUL-separated fields, each returned as its own exact-size allocation so
 * that ASan sees any read past a field's end.
 *
 * A target is built twice: with clang -fsanitize=fuzzer for `make fuzz`,
 * and with replay.c (a plain main() that runs the seed corpus and the crash
 * regressions) for `make check`.
 */
#ifndef OTP_FUZZ_H
#define OTP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, \
				__LINE__, #cond);                               \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                               \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void
fz_init(struct fz *f, const uint8_t *data, size_t size)
{
	f->p = data;
	f->n = size;
}

/* One byte (0 once the input is used up). */
static inline unsigned
fz_byte(struct fz *f)
{
	unsigned v;

	if (f->n == 0)
		return 0;
	v = f->p[0];
	f->p++;
	f->n--;
	return v;
}

/* Up to 8 bytes, little endian. */
static inline uint64_t
fz_bits(struct fz *f, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && i < 8; i++)
		v |= (uint64_t)fz_byte(f) << (8 * i);
	return v;
}

/* The next field: bytes up to the next NUL (or the end), as a malloc'd
 * string of exactly that size.  NULL when the input is used up. */
static inline char *
fz_field(struct fz *f)
{
	const uint8_t *end;
	size_t len;
	char *s;

	if (f->n == 0)
		return NULL;
	end = memchr(f->p, '\0', f->n);
	len = end ? (size_t)(end - f->p) : f->n;
	s = malloc(len + 1);
	if (s == NULL)
		abort();
	memcpy(s, f->p, len);
	s[len] = '\0';
	f->p += len + (end ? 1 : 0);
	f->n -= len + (end ? 1 : 0);
	return s;
}

/* The rest of the input as one string (may contain no NUL: cut at the first). */
static inline char *
fz_rest(struct fz *f)
{
	char *s = malloc(f->n + 1);

	if (s == NULL)
		abort();
	memcpy(s, f->p, f->n);
	s[f->n] = '\0';
	f->p += f->n;
	f->n = 0;
	return s;
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs,
 * surrogates or code points past U+10FFFF), or 0. */
static inline size_t
fz_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], need, min;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else
		return 0;
	for (unsigned k = 1; k <= need; k++) {
		if (k >= n || (s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

/* Is s[0..n) valid UTF-8? */
static inline int
fz_utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = fz_utf8_seq(s + i, n - i)) == 0)
			return 0;
	return 1;
}

#endif
