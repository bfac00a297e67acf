/* Memory storage for tests and fuzzers: see backend.h. */
#include "iscsi/backend.h"

#include <errno.h>
#include <string.h>

/* Checks a range against the image. */
static int mem_range(const struct backend_mem *bm, size_t len, uint64_t off)
{
	if (bm->fail)
		return -EIO;
	return off > bm->size || len > bm->size - off ? -EINVAL : 0;
}

/* Backend read from the image. */
static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct backend_mem *bm = ctx;
	int rc = mem_range(bm, len, off);

	if (!rc)
		memcpy(buf, bm->data + off, len);
	return rc;
}

/* Backend write to the image. */
static int mem_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct backend_mem *bm = ctx;
	int rc = mem_range(bm, len, off);

	if (!rc)
		memcpy(bm->data + off, buf, len);
	return rc;
}

/* Backend sync: counts calls so tests can see FUA and SYNCHRONIZE CACHE. */
static int mem_sync(void *ctx)
{
	struct backend_mem *bm = ctx;

	bm->syncs++;
	return bm->fail ? -EIO : 0;
}

/* Backend punch: zeroes the range. */
static int mem_punch(void *ctx, uint64_t off, uint64_t len)
{
	struct backend_mem *bm = ctx;
	int rc = mem_range(bm, (size_t)len, off);

	if (!rc)
		memset(bm->data + off, 0, (size_t)len);
	return rc;
}

/* Backend read_nowait: a read, when the test says the data is cached. */
static int mem_read_nowait(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct backend_mem *bm = ctx;

	return bm->cached ? mem_read(ctx, buf, len, off) : -EAGAIN;
}

static const struct scsi_backend_ops mem_ops_thin = {
	mem_read, mem_write, mem_sync, mem_punch, mem_read_nowait, NULL,
};

static const struct scsi_backend_ops mem_ops_thick = {
	mem_read, mem_write, mem_sync, NULL, mem_read_nowait, NULL,
};

void backend_mem_attach(struct backend_mem *bm, struct scsi_lu *lu, int thin)
{
	lu->ops = thin ? &mem_ops_thin : &mem_ops_thick;
	lu->ctx = bm;
	lu->block_size = 512;
	lu->blocks = bm->size / 512;
}
