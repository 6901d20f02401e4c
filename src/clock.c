/* clock.c - boot-time clock with boot_id, plus the test seam. */
#include "config.h"
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

static int64_t test_offset, test_boot_offset;

void
otp_clock_set_offset(int64_t offset)
{
	test_offset = offset;
}

void
otp_clock_set_boot_offset(int64_t offset)
{
	test_boot_offset = offset;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
read_boot_id(unsigned char out[16])
{
	char buf[64];
	ssize_t n;
	int fd, k = 0;

	memset(out, 0, 16);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (int i = 0; buf[i] && k < 32; i++) {
		int v = hexval(buf[i]);
		if (v < 0)
			continue;
		out[k / 2] = (unsigned char)(out[k / 2] << 4 | v);
		k++;
	}
}

int
otp_clock_now(struct otp_time *t)
{
	static unsigned char cached[16];
	static int have_cached;
	struct timespec b, w;

	if (clock_gettime(CLOCK_BOOTTIME, &b) != 0 || clock_gettime(CLOCK_REALTIME, &w) != 0)
		return -1;
	if (!have_cached) {
		read_boot_id(cached);
		have_cached = 1;
	}
	memcpy(t->boot_id, cached, 16);
	if (test_boot_offset != 0)
		t->boot_id[0] ^= 0x5a;
	t->boot = (int64_t)b.tv_sec + test_offset + test_boot_offset;
	t->wall = (int64_t)w.tv_sec + test_offset;
	return 0;
}
