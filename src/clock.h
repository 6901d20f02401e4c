/*
 * clock.h - time for codes, rate windows and lockouts.
 *
 * Deadlines are kept in CLOCK_BOOTTIME seconds tagged with the kernel's
 * boot_id, so stepping the wall clock (date -s, NTP) can neither extend a
 * code nor reset a window.  The wall clock is only used to carry windows
 * and lockouts across a reboot (see STATEFORMAT) and for provider
 * signatures.
 */
#ifndef OTP_CLOCK_H
#define OTP_CLOCK_H

#include <stdint.h>

struct otp_time {
	unsigned char boot_id[16];
	int64_t boot;      /* seconds since boot (CLOCK_BOOTTIME) */
	int64_t wall;      /* seconds since the epoch (CLOCK_REALTIME) */
};

/* 0, or -1 if the clocks cannot be read. */
int otp_clock_now(struct otp_time *t);
/*
 * Test seam: shift both clocks by offset seconds.  Only the test build of
 * the PAM glue calls it (from OTP_TEST_CLOCK_OFFSET); the production
 * module exports nothing but pam_sm_*.
 */
void otp_clock_set_offset(int64_t offset);
/* Test seam: another machine's boot clock (shifted by offset, another
 * boot_id when offset is not 0), to stand for a second host. */
void otp_clock_set_boot_offset(int64_t offset);

#endif
