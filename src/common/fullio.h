/* Whole positioned reads and writes of files whose size is known. */
#ifndef WUPAN_COMMON_FULLIO_H
#define WUPAN_COMMON_FULLIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * pread(2) or pwrite(2) until all len bytes at off are done, going on after
 * EINTR and short transfers.  Returns 0 or a negative errno; reaching the
 * end of the file is -EIO, since callers check sizes up front.
 */
int full_pread(int fd, void *buf, size_t len, uint64_t off);
int full_pwrite(int fd, const void *buf, size_t len, uint64_t off);

#endif
