/* Copy-on-write overlays: see overlay.h. */
#include "iscsi/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fullio.h"

/* Map header fields (big-endian), after the 8-byte magic. */
#define HDR_VERSION 8
#define HDR_BLOCK 12
#define HDR_BLOCKS 16
#define HDR_PHASE 24
#define HDR_BASE 32

/* Returns the bit of block blk; o->lock held. */
static int bit_get(const struct ovl *o, uint64_t blk)
{
	const uint8_t *pg = o->page[blk / OVL_PAGE_BLOCKS];
	uint64_t i = blk % OVL_PAGE_BLOCKS;

	return pg && (pg[i / 8] >> (i % 8) & 1);
}

/* Sets the bits of [blk, blk + n); o->lock held.  Returns 0 or -ENOMEM
 * (the bits before the failing page are set). */
static int bits_set(struct ovl *o, uint64_t blk, uint64_t n)
{
	while (n) {
		size_t pi = (size_t)(blk / OVL_PAGE_BLOCKS);
		uint64_t i = blk % OVL_PAGE_BLOCKS;
		uint64_t k = OVL_PAGE_BLOCKS - i < n ? OVL_PAGE_BLOCKS - i : n;

		if (!o->page[pi] && !(o->page[pi] = calloc(1, OVL_PAGE)))
			return -ENOMEM;
		for (uint64_t j = i; j < i + k; j++) {
			uint8_t m = (uint8_t)(1u << (j % 8));

			if (!(o->page[pi][j / 8] & m)) {
				o->page[pi][j / 8] |= m;
				o->set++;
			}
		}
		o->dirty[pi] = 1;
		blk += k;
		n -= k;
	}
	return 0;
}

/* Counts the blocks of [blk, blk + n) whose bit is clear; o->lock held. */
static uint64_t bits_clear_count(const struct ovl *o, uint64_t blk, uint64_t n)
{
	uint64_t c = 0;

	for (uint64_t j = blk; j < blk + n; j++)
		c += !bit_get(o, j);
	return c;
}

/* Returns how many blocks from blk (at most max) share blk's bit. */
static uint64_t bits_run(const struct ovl *o, uint64_t blk, uint64_t max,
			 int *bit)
{
	uint64_t n = 1;

	*bit = bit_get(o, blk);
	while (n < max && bit_get(o, blk + n) == *bit)
		n++;
	return n;
}

/* Refreshes o->used from what the data file allocates; o->lock held. */
static void used_refresh(struct ovl *o)
{
	struct stat st;
	uint64_t now;

	if (fstat(o->bf.fd, &st))
		return;
	now = (uint64_t)st.st_blocks; /* 512-byte units */
	if (o->pool) {
		pthread_mutex_lock(&o->pool->lock);
		o->pool->used = o->pool->used - o->used + now;
		pthread_mutex_unlock(&o->pool->lock);
	}
	o->used = now;
	if (o->limit && now * 100 < o->limit * 80)
		o->warned = 0;
}

/* The level (0, 80, 90) used/limit has reached. */
static unsigned level(uint64_t used, uint64_t limit)
{
	if (!limit || used * 100 < limit * 80)
		return 0;
	return used * 100 < limit * 90 ? 80 : 90;
}

/* Reserves need blocks against the overlay's and the directory's limits;
 * o->lock held.  Returns 0 or -ENOSPC. */
static int space_reserve(struct ovl *o, uint64_t need)
{
	if (o->limit && o->used + o->reserved + need > o->limit) {
		used_refresh(o);
		if (o->used + o->reserved + need > o->limit)
			return -ENOSPC;
	}
	if (o->pool) {
		struct ovl_pool *p = o->pool;
		int full;

		pthread_mutex_lock(&p->lock);
		full = p->limit && p->used + need > p->limit;
		pthread_mutex_unlock(&p->lock);
		if (full) {
			used_refresh(o);
			pthread_mutex_lock(&p->lock);
			full = p->limit && p->used + need > p->limit;
			pthread_mutex_unlock(&p->lock);
		}
		if (full)
			return -ENOSPC;
		pthread_mutex_lock(&p->lock);
		p->used += need;
		pthread_mutex_unlock(&p->lock);
	}
	o->reserved += need;
	return 0;
}

/* Settles a reservation: need blocks were (ok) or were not written;
 * o->lock held.  Logs levels crossed, unlocking around the callback. */
static void space_settle(struct ovl *o, uint64_t need, int ok)
{
	unsigned lv, plv = 0;
	uint64_t pused = 0, plimit = 0;

	o->reserved -= need;
	if (ok)
		o->used += need;
	else if (o->pool) {
		pthread_mutex_lock(&o->pool->lock);
		o->pool->used -= need;
		pthread_mutex_unlock(&o->pool->lock);
	}
	lv = level(o->used, o->limit);
	if (lv > o->warned)
		o->warned = lv;
	else
		lv = 0;
	if (o->pool) {
		struct ovl_pool *p = o->pool;

		pthread_mutex_lock(&p->lock);
		plv = level(p->used, p->limit);
		if (plv > p->warned)
			p->warned = plv;
		else if (plv < p->warned && !level(p->used, p->limit))
			p->warned = 0, plv = 0;
		else
			plv = 0;
		pused = p->used;
		plimit = p->limit;
		pthread_mutex_unlock(&p->lock);
	}
	if (o->warn && lv)
		o->warn(o->warn_arg, o->name, lv, o->used * 512,
			o->limit * 512);
	if (o->warn && plv)
		o->warn(o->warn_arg, NULL, plv, pused * 512, plimit * 512);
}

/* Reads what lies below o: the version it was made on, else golden. */
static int lower_read(struct ovl *o, uint8_t *p, size_t len, uint64_t off)
{
	if (o->lower)
		return ovl_read(o->lower, p, len, off);
	return full_pread(o->golden_fd, p, len, off);
}

void ovl_set_lower(struct ovl *o, struct ovl *lower)
{
	o->lower = lower;
}

/* Writes whole blocks of [off, off + len) to the data file and marks
 * them. */
static int write_blocks(struct ovl *o, const uint8_t *p, size_t len,
			uint64_t off)
{
	uint64_t blk = off / OVL_BLOCK, n = len / OVL_BLOCK, need;
	int rc;

	pthread_mutex_lock(&o->lock);
	need = bits_clear_count(o, blk, n);
	rc = space_reserve(o, need);
	pthread_mutex_unlock(&o->lock);
	if (rc)
		return rc;
	rc = full_pwrite(o->bf.fd, p, len, off);
	pthread_mutex_lock(&o->lock);
	/* The bits are set only after the data is written: a sync that
	 * sees them also flushes the data (ovl_sync). */
	if (rc == 0)
		rc = bits_set(o, blk, n);
	space_settle(o, need, rc == 0);
	pthread_mutex_unlock(&o->lock);
	return rc;
}

/* Writes part of one block: a block the overlay does not hold yet starts
 * as the golden block. */
static int write_partial(struct ovl *o, const uint8_t *p, size_t len,
			 uint64_t off)
{
	uint64_t blk = off / OVL_BLOCK, boff = off % OVL_BLOCK;
	uint8_t tmp[OVL_BLOCK];
	int rc, held;

	pthread_mutex_lock(&o->rmw_lock);
	pthread_mutex_lock(&o->lock);
	held = bit_get(o, blk);
	pthread_mutex_unlock(&o->lock);
	if (held) {
		rc = full_pwrite(o->bf.fd, p, len, off);
	} else {
		rc = lower_read(o, tmp, OVL_BLOCK, blk * OVL_BLOCK);
		if (rc == 0) {
			memcpy(tmp + boff, p, len);
			rc = write_blocks(o, tmp, OVL_BLOCK, blk * OVL_BLOCK);
		}
	}
	pthread_mutex_unlock(&o->rmw_lock);
	return rc;
}

int ovl_read(struct ovl *o, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	if (off > o->blocks * OVL_BLOCK || len > o->blocks * OVL_BLOCK - off)
		return -EINVAL;
	__atomic_fetch_add(&o->read_bytes, len, __ATOMIC_RELAXED);
	while (len) {
		uint64_t blk = off / OVL_BLOCK, boff = off % OVL_BLOCK;
		uint64_t want = (boff + len + OVL_BLOCK - 1) / OVL_BLOCK;
		uint64_t run, n;
		int bit, rc;

		pthread_mutex_lock(&o->lock);
		run = bits_run(o, blk, want, &bit);
		pthread_mutex_unlock(&o->lock);
		n = run * OVL_BLOCK - boff;
		if (n > len)
			n = len;
		rc = bit ? full_pread(o->bf.fd, p, (size_t)n, off)
			 : lower_read(o, p, (size_t)n, off);
		if (rc)
			return rc;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int ovl_write(struct ovl *o, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (off > o->blocks * OVL_BLOCK || len > o->blocks * OVL_BLOCK - off)
		return -EINVAL;
	__atomic_fetch_add(&o->write_bytes, len, __ATOMIC_RELAXED);
	while (len) {
		uint64_t boff = off % OVL_BLOCK;
		size_t n;
		int rc;

		if (boff || len < OVL_BLOCK) {
			n = OVL_BLOCK - boff < len ? OVL_BLOCK - boff : len;
			rc = write_partial(o, p, n, off);
		} else {
			n = len - len % OVL_BLOCK;
			rc = write_blocks(o, p, n, off);
		}
		if (rc)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int ovl_punch(struct ovl *o, uint64_t off, uint64_t len)
{
	int rc = 0;

	if (off % OVL_BLOCK || len % OVL_BLOCK || off > o->blocks * OVL_BLOCK ||
	    len > o->blocks * OVL_BLOCK - off)
		return -EINVAL;
	if (!len)
		return 0;
	if (o->punch_ok &&
	    fallocate(o->bf.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0) {
		pthread_mutex_lock(&o->lock);
		rc = bits_set(o, off / OVL_BLOCK, len / OVL_BLOCK);
		used_refresh(o);
		pthread_mutex_unlock(&o->lock);
		return rc;
	}
	if (o->punch_ok && errno != EOPNOTSUPP)
		return -errno;
	o->punch_ok = 0;
	/* A file system without holes: zeros written count as space. */
	{
		static const uint8_t zero[65536];

		while (len && rc == 0) {
			size_t n = len < sizeof(zero) ? (size_t)len
						      : sizeof(zero);

			rc = write_blocks(o, zero, n, off);
			off += n;
			len -= n;
		}
	}
	return rc;
}

int ovl_sync(struct ovl *o)
{
	uint8_t *snap = NULL;
	size_t *idx = NULL, n = 0;
	int rc = 0;

	pthread_mutex_lock(&o->sync_lock);
	/*
	 * Which pages to write is decided BEFORE the data is flushed: every
	 * bit in the snapshot was set after its data was written, so the
	 * fdatasync below covers it, and a bitmap page on disk never points
	 * at data that is not.  Bits are only ever set, so a torn page
	 * holds old bits or new ones, each safe.
	 */
	pthread_mutex_lock(&o->lock);
	for (size_t i = 0; i < o->n_pages; i++)
		n += o->dirty[i];
	if (n) {
		snap = malloc(n * OVL_PAGE);
		idx = malloc(n * sizeof(*idx));
		if (!snap || !idx) {
			pthread_mutex_unlock(&o->lock);
			rc = -ENOMEM;
			goto out;
		}
		n = 0;
		for (size_t i = 0; i < o->n_pages; i++) {
			if (!o->dirty[i])
				continue;
			memcpy(snap + n * OVL_PAGE, o->page[i], OVL_PAGE);
			idx[n++] = i;
			o->dirty[i] = 0;
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (fdatasync(o->bf.fd))
		rc = -errno;
	for (size_t k = 0; k < n && rc == 0; k++)
		rc = full_pwrite(o->map_fd, snap + k * OVL_PAGE, OVL_PAGE,
				 OVL_HDR_LEN + (uint64_t)idx[k] * OVL_PAGE);
	if (rc == 0 && n && fdatasync(o->map_fd))
		rc = -errno;
	if (rc) {
		/* Written again by the next sync. */
		pthread_mutex_lock(&o->lock);
		for (size_t k = 0; k < n; k++)
			o->dirty[idx[k]] = 1;
		pthread_mutex_unlock(&o->lock);
	}
out:
	free(snap);
	free(idx);
	pthread_mutex_unlock(&o->sync_lock);
	return rc;
}

int ovl_set_phase(struct ovl *o, enum ovl_phase phase)
{
	uint8_t b = (uint8_t)phase;

	o->phase = phase;
	return full_pwrite(o->map_fd, &b, 1, HDR_PHASE);
}

int ovl_has(struct ovl *o, uint64_t blk)
{
	int bit;

	pthread_mutex_lock(&o->lock);
	bit = blk < o->blocks && bit_get(o, blk);
	pthread_mutex_unlock(&o->lock);
	return bit;
}

uint64_t ovl_bytes_written(struct ovl *o)
{
	uint64_t n;

	pthread_mutex_lock(&o->lock);
	n = o->set * OVL_BLOCK;
	pthread_mutex_unlock(&o->lock);
	return n;
}

uint64_t ovl_bytes_allocated(struct ovl *o)
{
	struct stat st;

	return fstat(o->bf.fd, &st) ? 0 : (uint64_t)st.st_blocks * 512;
}

void ovl_set_limit(struct ovl *o, uint64_t limit, struct ovl_pool *pool,
		   ovl_warn_fn *warn, void *warn_arg)
{
	pthread_mutex_lock(&o->lock);
	o->limit = limit / OVL_BLOCK;
	o->warn = warn;
	o->warn_arg = warn_arg;
	if (pool != o->pool) {
		if (o->pool) {
			pthread_mutex_lock(&o->pool->lock);
			o->pool->used -= o->used;
			pthread_mutex_unlock(&o->pool->lock);
		}
		if (pool) {
			pthread_mutex_lock(&pool->lock);
			pool->used += o->used;
			pthread_mutex_unlock(&pool->lock);
		}
		o->pool = pool;
	}
	o->warned = level(o->used, o->limit);
	pthread_mutex_unlock(&o->lock);
}

/* Backend ops over an overlay (struct scsi_backend_ops). */
static int ops_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return ovl_read(ctx, buf, len, off);
}

static int ops_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	return ovl_write(ctx, buf, len, off);
}

static int ops_sync(void *ctx)
{
	return ovl_sync(ctx);
}

static int ops_punch(void *ctx, uint64_t off, uint64_t len)
{
	return ovl_punch(ctx, off, len);
}

static const struct scsi_backend_ops ovl_ops = {
	.read = ops_read,
	.write = ops_write,
	.sync = ops_sync,
	.punch = ops_punch,
};

void ovl_attach(struct ovl *o, struct scsi_lu *lu)
{
	lu->ops = &ovl_ops;
	lu->ctx = o;
	lu->block_size = OVL_BLOCK;
	lu->blocks = o->blocks;
	lu->ro = 0;
}

/* Builds a header for a new overlay. */
static void hdr_build(uint8_t *h, uint64_t blocks, const char *base)
{
	memset(h, 0, OVL_HDR_LEN);
	memcpy(h, OVL_MAGIC, 8);
	put_be32(h + HDR_VERSION, OVL_VERSION);
	put_be32(h + HDR_BLOCK, OVL_BLOCK);
	put_be64(h + HDR_BLOCKS, blocks);
	h[HDR_PHASE] = OVL_PHASE_FIRMWARE;
	snprintf((char *)h + HDR_BASE, OVL_BASE_MAX, "%s", base ? base : "");
}

/* Checks a header read from disk. */
static int hdr_check(const uint8_t *h, uint64_t blocks, char *err,
		     size_t errlen, const char *name)
{
	if (memcmp(h, OVL_MAGIC, 8) ||
	    get_be32(h + HDR_VERSION) != OVL_VERSION ||
	    get_be32(h + HDR_BLOCK) != OVL_BLOCK) {
		snprintf(err, errlen, "%s.map is not a wupan overlay map",
			 name);
		return -EINVAL;
	}
	if (blocks && get_be64(h + HDR_BLOCKS) != blocks) {
		snprintf(err, errlen,
			 "%s.map is for an image of %llu blocks, not %llu",
			 name, (unsigned long long)get_be64(h + HDR_BLOCKS),
			 (unsigned long long)blocks);
		return -EINVAL;
	}
	return 0;
}

int ovl_peek(int dirfd, const char *name, enum ovl_phase *phase, char *base,
	     size_t baselen)
{
	char path[300], err[160];
	uint8_t h[OVL_HDR_LEN];
	int fd, rc;

	snprintf(path, sizeof(path), "%s.map", name);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = full_pread(fd, h, sizeof(h), 0);
	close(fd);
	if (rc == 0)
		rc = hdr_check(h, 0, err, sizeof(err), name);
	if (rc)
		return rc;
	*phase = h[HDR_PHASE] ? OVL_PHASE_OS : OVL_PHASE_FIRMWARE;
	if (base)
		snprintf(base, baselen, "%.*s", OVL_BASE_MAX - 1,
			 (const char *)h + HDR_BASE);
	return 0;
}

/* Loads the bitmap pages of an existing map. */
static int pages_load(struct ovl *o)
{
	uint8_t buf[OVL_PAGE];

	for (size_t i = 0; i < o->n_pages; i++) {
		uint64_t at = OVL_HDR_LEN + (uint64_t)i * OVL_PAGE;
		off_t data = lseek(o->map_fd, (off_t)at, SEEK_DATA);
		size_t k = 0;
		int rc;

		/* Pages never written are holes in the map file: a large
		 * image's map is read in what it holds, not its size. */
		if (data < 0 && errno == ENXIO)
			break;
		if (data > (off_t)at) {
			i = (size_t)(((uint64_t)data - OVL_HDR_LEN) / OVL_PAGE);
			if (i >= o->n_pages)
				break;
			at = OVL_HDR_LEN + (uint64_t)i * OVL_PAGE;
		}
		rc = full_pread(o->map_fd, buf, OVL_PAGE, at);
		if (rc)
			return rc;
		while (k < OVL_PAGE && !buf[k])
			k++;
		if (k == OVL_PAGE)
			continue;
		o->page[i] = malloc(OVL_PAGE);
		if (!o->page[i])
			return -ENOMEM;
		memcpy(o->page[i], buf, OVL_PAGE);
		for (k = 0; k < OVL_PAGE; k++)
			o->set += (uint64_t)__builtin_popcount(buf[k]);
	}
	return 0;
}

int ovl_open(struct ovl *o, int dirfd, const char *name, int golden_fd,
	     uint64_t blocks, int fresh, const char *base, char *err,
	     size_t errlen)
{
	char dpath[300], mpath[300];
	uint8_t h[OVL_HDR_LEN];
	struct stat st;
	int rc, created = 0;

	memset(o, 0, sizeof(*o));
	o->bf.fd = o->map_fd = -1;
	o->golden_fd = golden_fd;
	o->blocks = blocks;
	o->punch_ok = 1;
	snprintf(o->name, sizeof(o->name), "%s", name);
	snprintf(dpath, sizeof(dpath), "%s.ovl", name);
	snprintf(mpath, sizeof(mpath), "%s.map", name);
	/* The map goes first and comes last: a data file without a map is
	 * an overlay whose creation did not finish, and starts again. */
	if (fresh) {
		if (unlinkat(dirfd, mpath, 0) && errno != ENOENT)
			goto err_errno;
		if (unlinkat(dirfd, dpath, 0) && errno != ENOENT)
			goto err_errno;
	}
	o->map_fd = openat(dirfd, mpath, O_RDWR | O_CLOEXEC);
	if (o->map_fd < 0 && errno != ENOENT)
		goto err_errno;
	if (o->map_fd < 0) {
		created = 1;
		o->bf.fd = openat(dirfd, dpath,
				  O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (o->bf.fd < 0 ||
		    ftruncate(o->bf.fd, (off_t)(blocks * OVL_BLOCK)))
			goto err_errno;
		o->map_fd = openat(dirfd, mpath,
				   O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (o->map_fd < 0)
			goto err_errno;
		hdr_build(h, blocks, base);
		rc = full_pwrite(o->map_fd, h, sizeof(h), 0);
		if (rc) {
			errno = -rc;
			goto err_errno;
		}
	} else {
		rc = full_pread(o->map_fd, h, sizeof(h), 0);
		if (rc == -EIO) {
			snprintf(err, errlen, "%s: map header cut short",
				 mpath);
			rc = -EINVAL;
			goto err_close;
		}
		if (rc) {
			errno = -rc;
			goto err_errno;
		}
		rc = hdr_check(h, blocks, err, errlen, name);
		if (rc)
			goto err_close;
		o->bf.fd = openat(dirfd, dpath, O_RDWR | O_CLOEXEC);
		if (o->bf.fd < 0)
			goto err_errno;
		if (fstat(o->bf.fd, &st))
			goto err_errno;
		if ((uint64_t)st.st_size != blocks * OVL_BLOCK) {
			snprintf(err, errlen, "%s: size %lld, expected %llu",
				 dpath, (long long)st.st_size,
				 (unsigned long long)(blocks * OVL_BLOCK));
			rc = -EINVAL;
			goto err_close;
		}
	}
	o->phase = h[HDR_PHASE] ? OVL_PHASE_OS : OVL_PHASE_FIRMWARE;
	snprintf(o->base, sizeof(o->base), "%.*s", OVL_BASE_MAX - 1,
		 (const char *)h + HDR_BASE);
	o->n_pages = (size_t)((blocks + OVL_PAGE_BLOCKS - 1) / OVL_PAGE_BLOCKS);
	if (created &&
	    ftruncate(o->map_fd,
		      (off_t)(OVL_HDR_LEN + (uint64_t)o->n_pages * OVL_PAGE)))
		goto err_errno;
	o->page = calloc(o->n_pages ? o->n_pages : 1, sizeof(*o->page));
	o->dirty = calloc(o->n_pages ? o->n_pages : 1, 1);
	if (!o->page || !o->dirty) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto err_close;
	}
	if (!created) {
		rc = pages_load(o);
		if (rc) {
			snprintf(err, errlen, "%s: %s", mpath, strerror(-rc));
			goto err_close;
		}
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->sync_lock, NULL);
	pthread_mutex_init(&o->rmw_lock, NULL);
	pthread_rwlock_init(&o->bf.lock, NULL);
	o->bf.punch = 1;
	if (fstat(o->bf.fd, &st) == 0)
		o->used = (uint64_t)st.st_blocks;
	return 0;
err_errno:
	rc = -errno;
	snprintf(err, errlen, "overlay %s: %s", name, strerror(errno));
err_close:
	if (o->page)
		for (size_t i = 0; i < o->n_pages; i++)
			free(o->page[i]);
	free(o->page);
	free(o->dirty);
	if (o->bf.fd >= 0)
		close(o->bf.fd);
	if (o->map_fd >= 0)
		close(o->map_fd);
	o->bf.fd = o->map_fd = -1;
	o->page = NULL;
	o->dirty = NULL;
	return rc;
}

void ovl_close(struct ovl *o)
{
	if (o->bf.fd < 0)
		return;
	ovl_sync(o);
	ovl_set_limit(o, 0, NULL, NULL, NULL);
	for (size_t i = 0; i < o->n_pages; i++)
		free(o->page[i]);
	free(o->page);
	free(o->dirty);
	close(o->bf.fd);
	close(o->map_fd);
	o->bf.fd = o->map_fd = -1;
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->sync_lock);
	pthread_mutex_destroy(&o->rmw_lock);
	pthread_rwlock_destroy(&o->bf.lock);
}
