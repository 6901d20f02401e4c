/* Unit tests: state record codec (round trip, MACs, corruption) and policy. */
#include "config.h"
#include <string.h>
#include "tap.h"
#include "src/state_record.h"

static struct otp_time
at(int64_t boot, int64_t wall, unsigned char id)
{
	struct otp_time t;

	memset(&t, 0, sizeof(t));
	memset(t.boot_id, id, 16);
	t.boot = boot;
	t.wall = wall;
	return t;
}

int
main(void)
{
	struct otp_policy p = { .code_length = 6, .ttl = 300, .max_attempts = 3, .resend_after = 60,
				.sends_per_hour = 3, .sends_per_day = 5, .host_sends_per_hour = 4,
				.lockout_after = 5, .lockout_time = 900 };
	unsigned char key[OTP_STATE_KEY_LEN], buf[4096], hash[32];
	struct otp_state_record r, d;
	struct otp_host_record h;
	struct otp_time now = at(1000, 1700000000, 1);
	size_t n = otp_state_record_size();

	memset(key, 9, sizeof(key));
	memset(&r, 0, sizeof(r));
	memset(&h, 0, sizeof(h));
	memset(hash, 0xab, sizeof(hash));
	is_int(n, 1237, "record size is fixed (STATEFORMAT)");
	is_int(otp_host_record_size(), 776, "host record size is fixed (STATEFORMAT)");

	otp_state_record_rebase(&r, &now);
	otp_policy_issue(&p, &r, &h, &now, hash);
	r.consecutive_failures = 2;
	otp_state_record_encode(&r, 1000, key, buf);
	is_int(otp_state_record_decode(buf, n, 1000, key, &d), OTP_DECODE_OK, "round trip decodes");
	ok(d.code_active && memcmp(d.code_hash, hash, 32) == 0 && d.code_expires == 1300 &&
	   d.nsends == 1 && d.consecutive_failures == 2, "round trip keeps every field");
	is_int(otp_state_record_decode(buf, 0, 1000, key, &d), OTP_DECODE_EMPTY, "empty file is empty");
	is_int(otp_state_record_decode(buf, n, 1001, key, &d), OTP_DECODE_LOCKOUT_BAD,
	       "record copied to another uid does not verify");
	buf[n - 40] ^= 1;
	is_int(otp_state_record_decode(buf, n, 1000, key, &d), OTP_DECODE_PARTIAL,
	       "corrupt main section: lockout kept, rest reset");
	ok(d.consecutive_failures == 2 && !d.code_active, "partial decode keeps failures, drops the code");
	buf[n - 40] ^= 1;
	buf[14] ^= 1;
	is_int(otp_state_record_decode(buf, n, 1000, key, &d), OTP_DECODE_LOCKOUT_BAD,
	       "corrupt lockout section fails closed");
	buf[14] ^= 1;
	is_int(otp_state_record_decode(buf, 50, 1000, key, &d), OTP_DECODE_LOCKOUT_BAD,
	       "truncated inside the lockout section fails closed");
	is_int(otp_state_record_decode(buf, 600, 1000, key, &d), OTP_DECODE_PARTIAL,
	       "truncated main section keeps the lockout");

	/* cooldown and caps */
	{
		struct otp_time t2 = at(1030, 1700000030, 1), t3 = at(1061, 1700000061, 1);
		ok(otp_policy_in_cooldown(&p, &r, &t2), "30 s after a send: cooldown");
		ok(!otp_policy_in_cooldown(&p, &r, &t3), "61 s after a send: no cooldown");
		otp_policy_issue(&p, &r, &h, &t3, hash);
		otp_policy_issue(&p, &r, &h, &t3, hash);
		is_int(otp_policy_check_caps(&p, &r, &h, &t3), OTP_CAP_USER_HOUR, "3 sends in an hour hit the cap");
		{
			struct otp_time later = at(1061 + 3601, 1700003662, 1);
			otp_state_record_rebase(&r, &later);
			is_int(otp_policy_check_caps(&p, &r, &h, &later), OTP_CAP_OK, "an hour later the hourly window is clear");
			otp_policy_issue(&p, &r, &h, &later, hash);
			otp_policy_issue(&p, &r, &h, &later, hash);
			is_int(otp_policy_check_caps(&p, &r, &h, &later), OTP_CAP_USER_DAY, "5 sends in a day hit the daily cap");
		}
	}
	/* host cap */
	{
		struct otp_host_record hh;
		struct otp_state_record a;
		struct otp_time t = at(5000, 1700005000, 1);
		memset(&hh, 0, sizeof(hh));
		memset(&a, 0, sizeof(a));
		otp_host_record_rebase(&hh, &t);
		for (int i = 0; i < 4; i++) {
			memset(&a, 0, sizeof(a));
			otp_policy_issue(&p, &a, &hh, &t, hash);
		}
		memset(&a, 0, sizeof(a));
		is_int(otp_policy_check_caps(&p, &a, &hh, &t), OTP_CAP_HOST_HOUR, "host cap counts all users");
		t = at(5000 + 3600 + 60, 1700008660, 1);
		is_int(otp_policy_check_caps(&p, &a, &hh, &t), OTP_CAP_OK, "host window slides");
		otp_host_record_encode(&hh, key, buf);
		{
			struct otp_host_record back;
			otp_host_record_decode(buf, otp_host_record_size(), key, &back);
			ok(memcmp(&back, &hh, sizeof(hh)) == 0, "host record round trip");
			buf[30] ^= 1;
			otp_host_record_decode(buf, otp_host_record_size(), key, &back);
			ok(back.bucket_count[0] == 0 && back.bucket_count[1] == 0, "corrupt host record reads empty");
		}
	}
	/* verify: write-ahead counting, max attempts, lockout, expiry, clock */
	{
		struct otp_state_record v;
		struct otp_time t = at(2000, 1700002000, 1);
		memset(&v, 0, sizeof(v));
		otp_policy_issue(&p, &v, NULL, &t, hash);
		is_int(otp_policy_verify_begin(&p, &v, &t), OTP_VERIFY_GO, "live code: go");
		ok(v.code_attempts == 1 && v.consecutive_failures == 1, "attempt counted before comparing");
		ok(!otp_policy_verify_failure(&p, &v, &t), "first failure: code still live");
		otp_policy_verify_begin(&p, &v, &t);
		otp_policy_verify_failure(&p, &v, &t);
		otp_policy_verify_begin(&p, &v, &t);
		ok(otp_policy_verify_failure(&p, &v, &t) && !v.code_active, "third failure voids the code");
		is_int(otp_policy_verify_begin(&p, &v, &t), OTP_VERIFY_NO_CODE, "no code after max attempts");
		otp_policy_issue(&p, &v, NULL, &t, hash);
		otp_policy_verify_begin(&p, &v, &t);
		otp_policy_verify_success(&v, &t);
		ok(!v.code_active && v.consecutive_failures == 0, "success consumes and resets failures");
		is_int(otp_policy_verify_begin(&p, &v, &t), OTP_VERIFY_NO_CODE, "replay after success refused");
		otp_policy_issue(&p, &v, NULL, &t, hash);
		{
			struct otp_time late = at(2300, 1700002300, 1);
			is_int(otp_policy_verify_begin(&p, &v, &late), OTP_VERIFY_EXPIRED, "code at ttl is expired");
		}
		otp_policy_issue(&p, &v, NULL, &t, hash);
		{
			/* The wall clock jumps back an hour: boot time is unaffected. */
			struct otp_time stepped = at(2010, 1700002000 - 3600, 1);
			is_int(otp_policy_verify_begin(&p, &v, &stepped), OTP_VERIFY_GO, "wall-clock step back changes nothing");
		}
		memset(&v, 0, sizeof(v));
		for (int i = 0; i < 5; i++) {
			otp_policy_issue(&p, &v, NULL, &t, hash);
			otp_policy_verify_begin(&p, &v, &t);
			otp_policy_verify_failure(&p, &v, &t);
		}
		ok(v.lockout_until == t.boot + 900, "five failures in a row lock for lockout_time");
		is_int(otp_policy_verify_begin(&p, &v, &t), OTP_VERIFY_LOCKED, "locked user refused");
		{
			struct otp_time after = at(2000 + 900, 1700002900, 1);
			ok(!otp_policy_locked(&p, &v, &after), "lockout ends");
		}
		/* A process killed after the write-ahead left failures >= threshold. */
		memset(&v, 0, sizeof(v));
		v.consecutive_failures = 5;
		ok(otp_policy_locked(&p, &v, &t), "write-ahead failures at the threshold lock on next read");
	}
	/* reboot */
	{
		struct otp_state_record b;
		struct otp_time t = at(100000, 1700100000, 1), boot2 = at(30, 1700100600, 2);
		memset(&b, 0, sizeof(b));
		otp_state_record_rebase(&b, &t);
		otp_policy_issue(&p, &b, NULL, &t, hash);
		b.lockout_until = t.boot + 900;
		otp_state_record_rebase(&b, &boot2);
		ok(!b.code_active, "a reboot drops the pending code");
		is_int(b.sends[0], 30 - 600, "send time carried over by elapsed wall time");
		is_int(b.lockout_until, 30 - 600 + 900, "lockout carried over, not lifted");
		is_int(otp_policy_sends_within(&b, &boot2, 3600), 1, "the send still counts in the hourly window");
	}
	return tap_done();
}
