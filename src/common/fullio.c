/* Whole positioned reads and writes: see fullio.h. */
#include "common/fullio.h"

#include <errno.h>
#include <unistd.h>

/* The loop both share; wbuf is NULL for a read. */
static int full_io(int fd, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
		   uint64_t off)
{
	while (len) {
		ssize_t n = wbuf ? pwrite(fd, wbuf, len, (off_t)off)
				 : pread(fd, rbuf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (wbuf)
			wbuf += n;
		else
			rbuf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int full_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return full_io(fd, buf, NULL, len, off);
}

int full_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	return full_io(fd, NULL, buf, len, off);
}
