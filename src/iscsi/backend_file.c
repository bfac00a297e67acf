/* File and block-device storage: see backend.h. */
#include "common/fullio.h"
#include "iscsi/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* cachestat(2), Linux 6.5: the same number on every architecture; older
 * C libraries name neither it nor its structures. */
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

struct file_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct file_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

/* Set once cachestat(2) is found missing (an older kernel): every range
 * is then read the copying way. */
static int no_cachestat;

/* Backend read: see struct scsi_backend_ops. */
static int file_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct backend_file *bf = ctx;

	return full_pread(bf->fd, buf, len, off);
}

/* Backend read_nowait: preadv2(RWF_NOWAIT) reads from the page cache only
 * and fails with EAGAIN where it would wait for the disk; the unit's lock
 * is only tried, so a COMPARE AND WRITE in progress also sends the read to
 * a worker. */
static int file_read_nowait(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct backend_file *bf = ctx;
	struct iovec iov = { buf, len };
	ssize_t n;
	int rc = 0;

	if (pthread_rwlock_tryrdlock(&bf->lock))
		return -EAGAIN;
	n = preadv2(bf->fd, &iov, 1, (off_t)off, RWF_NOWAIT);
	if (n < 0)
		rc = errno == EAGAIN || errno == EOPNOTSUPP ? -EAGAIN : -errno;
	else if ((size_t)n < len)
		rc = -EAGAIN; /* partly cached: the worker reads it all */
	pthread_rwlock_unlock(&bf->lock);
	return rc;
}

/* Backend map_cached: the range is this file's own, at the same offset;
 * cachestat(2) says whether all its pages are cached, so sendfile(2) will
 * not wait for the disk on the event loop.  Pages past the end of a file
 * cut shorter under us are not cached: such a range is read the copying
 * way, whose short read becomes a MEDIUM ERROR.  Like file_read_nowait it
 * yields to a COMPARE AND WRITE in progress. */
static int file_map_cached(void *ctx, size_t len, uint64_t off, int *fd,
			   uint64_t *foff)
{
	struct backend_file *bf = ctx;
	struct file_cachestat_range r;
	struct file_cachestat cs;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), pages;

	if (__atomic_load_n(&no_cachestat, __ATOMIC_RELAXED) || !len)
		return -EAGAIN;
	r.off = off / page * page;
	r.len = (off + len + page - 1) / page * page - r.off;
	pages = r.len / page;
	if (pthread_rwlock_tryrdlock(&bf->lock))
		return -EAGAIN;
	if (syscall(SYS_cachestat, bf->fd, &r, &cs, 0)) {
		if (errno == ENOSYS)
			__atomic_store_n(&no_cachestat, 1, __ATOMIC_RELAXED);
		pthread_rwlock_unlock(&bf->lock);
		return -EAGAIN;
	}
	pthread_rwlock_unlock(&bf->lock);
	if (cs.nr_cache < pages)
		return -EAGAIN;
	*fd = bf->fd;
	*foff = off;
	return 0;
}

/* Backend write: lands in the page cache until file_sync. */
static int file_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	/* pwrite does not write through p; the cast only shares the loop. */
	struct backend_file *bf = ctx;

	return full_pwrite(bf->fd, buf, len, off);
}

/* Backend sync: fdatasync(2) puts completed writes on stable storage. */
static int file_sync(void *ctx)
{
	struct backend_file *bf = ctx;

	return fdatasync(bf->fd) ? -errno : 0;
}

/* Backend punch: deallocates a range so it reads back as zeros. */
static int file_punch(void *ctx, uint64_t off, uint64_t len)
{
	struct backend_file *bf = ctx;

	if (fallocate(bf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	/* A file system without hole punching still has to read zeros. */
	if (errno == EOPNOTSUPP) {
		static const uint8_t zero[65536];

		while (len) {
			size_t n = len < sizeof(zero) ? len : sizeof(zero);
			int rc = file_write(ctx, zero, n, off);

			if (rc)
				return rc;
			off += n;
			len -= n;
		}
		return 0;
	}
	return -errno;
}

static const struct scsi_backend_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.sync = file_sync,
	.punch = file_punch,
	.read_nowait = file_read_nowait,
	.map_cached = file_map_cached,
};

static const struct scsi_backend_ops file_ops_thick = {
	.read = file_read,
	.write = file_write,
	.sync = file_sync,
	.punch = NULL,
	.read_nowait = file_read_nowait,
	.map_cached = file_map_cached,
};

int backend_file_open(struct backend_file *bf, struct scsi_lu *lu,
		      const char *path, int ro, char *err, size_t errlen)
{
	struct stat st;
	uint64_t size;

	bf->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (bf->fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(bf->fd, &st))
		goto err_stat;
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
		bf->punch = 1;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(bf->fd, BLKGETSIZE64, &size))
			goto err_stat;
		bf->punch = 0;
	} else {
		snprintf(err, errlen, "%s is not a file or block device", path);
		goto err_close;
	}
	if (size == 0 || size % 512) {
		snprintf(
			err, errlen,
			"%s: size %llu is not a non-zero multiple of 512 bytes",
			path, (unsigned long long)size);
		goto err_close;
	}
	pthread_rwlock_init(&bf->lock, NULL);
	lu->ops = bf->punch && !ro ? &file_ops : &file_ops_thick;
	lu->ctx = bf;
	lu->block_size = 512;
	lu->blocks = size / 512;
	lu->ro = ro;
	return 0;
err_stat:
	snprintf(err, errlen, "cannot size %s: %s", path, strerror(errno));
err_close:
	close(bf->fd);
	bf->fd = -1;
	return -1;
}

void backend_file_close(struct backend_file *bf)
{
	if (bf->fd < 0)
		return;
	fdatasync(bf->fd);
	close(bf->fd);
	bf->fd = -1;
	pthread_rwlock_destroy(&bf->lock);
}
