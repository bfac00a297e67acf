/* Unit tests for the copy-on-write overlay engine: layering, partial
 * blocks, UNMAP zeros, persistence, the sync order (bitmap after data),
 * reset, space limits with their warnings, and concurrent workers. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iscsi/overlay.h"
#include "iscsi/scsi.h"
#include "unit.h"

#define BLOCKS 100000u /* 3 bitmap pages, 51 MB sparse */

static char dir[64];
static int dirfd_, golden;

/* The golden image's byte at off: a pattern that differs per block. */
static uint8_t gbyte(uint64_t off)
{
	return (uint8_t)(off / 512 * 7 + off % 512 + 1);
}

/* Fills buf as the golden image holds [off, off + len). */
static void gfill(uint8_t *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = gbyte(off + i);
}

/* Returns 1 if [off, off + len) of o reads as golden. */
static int reads_golden(struct ovl *o, uint64_t off, size_t len)
{
	uint8_t *a = malloc(len), *b = malloc(len);
	int ok = ovl_read(o, a, len, off) == 0;

	gfill(b, len, off);
	ok = ok && memcmp(a, b, len) == 0;
	free(a);
	free(b);
	return ok;
}

/* Returns 1 if [off, off + len) of o reads as byte v. */
static int reads_byte(struct ovl *o, uint64_t off, size_t len, uint8_t v)
{
	uint8_t *a = malloc(len);
	int ok = ovl_read(o, a, len, off) == 0;

	for (size_t i = 0; ok && i < len; i++)
		ok = a[i] == v;
	free(a);
	return ok;
}

/* Writes len bytes of v at off. */
static int put(struct ovl *o, uint64_t off, size_t len, uint8_t v)
{
	uint8_t *a = malloc(len);
	int rc;

	memset(a, v, len);
	rc = ovl_write(o, a, len, off);
	free(a);
	return rc;
}

/* Returns 1 if the map file on disk has the bit of block blk set. */
static int disk_bit(const char *name, uint64_t blk)
{
	char path[128];
	uint8_t b = 0;
	int fd;

	snprintf(path, sizeof(path), "%s.map", name);
	fd = openat(dirfd_, path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, OVL_HDR_LEN + (off_t)(blk / 8)) != 1)
		b = 0;
	close(fd);
	return b >> (blk % 8) & 1;
}

static int warns[4];

/* Records warnings: [0] overlay 80, [1] overlay 90, [2] pool 80, [3] 90. */
static void on_warn(void *arg, const char *name, unsigned pct, uint64_t used,
		    uint64_t limit)
{
	(void)arg;
	(void)used;
	(void)limit;
	warns[(name ? 0 : 2) + (pct == 90)]++;
}

struct worker {
	struct ovl *o;
	int id;
	int bad;
};

/* Writes and reads back its own stripe many times. */
static void *worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 200; i++) {
		uint64_t off = ((uint64_t)(i * 4 + w->id) * 37 % BLOCKS) * 512;
		uint8_t v = (uint8_t)(w->id * 50 + 1);

		if (put(w->o, off, 1024 > (BLOCKS * 512 - off) ? 512 : 1024,
			v) ||
		    !reads_byte(w->o, off, 512, v))
			w->bad++;
		if (i % 50 == 0 && ovl_sync(w->o))
			w->bad++;
	}
	return NULL;
}

int main(void)
{
	struct ovl o, o2, o3;
	struct ovl_pool pool = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char err[256], base[OVL_BASE_MAX];
	enum ovl_phase phase;
	uint8_t buf[4096], want[4096];
	struct scsi_lu lu = { 0 };
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/wupan-ovl-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf((char *)buf, sizeof(buf), "%s/golden.img", dir);
	golden = open((char *)buf, O_RDWR | O_CREAT, 0600);
	for (uint64_t off = 0; off < (uint64_t)BLOCKS * 512; off += 65536) {
		static uint8_t g[65536];

		gfill(g, sizeof(g), off);
		if (pwrite(golden, g, sizeof(g), (off_t)off) != sizeof(g))
			return 1;
	}

	rc = ovl_open(&o, dirfd_, "pc1", golden, BLOCKS, 0, "v1", err,
		      sizeof(err));
	CHECK("open new", rc == 0);
	CHECK("new reads golden",
	      reads_golden(&o, 0, 4096) && reads_golden(&o, 512 * 99990, 5120));
	CHECK("write 2 blocks", put(&o, 512 * 10, 1024, 0xaa) == 0);
	CHECK("written reads back", reads_byte(&o, 512 * 10, 1024, 0xaa));
	CHECK("neighbours golden", reads_golden(&o, 512 * 9, 512) &&
					   reads_golden(&o, 512 * 12, 512));
	CHECK("read across layers",
	      ovl_read(&o, buf, 2048, 512 * 9) == 0 &&
		      (gfill(want, 512, 512 * 9),
		       memcmp(buf, want, 512) == 0) &&
		      buf[512] == 0xaa && buf[1535] == 0xaa &&
		      (gfill(want, 512, 512 * 12),
		       memcmp(buf + 1536, want, 512) == 0));
	CHECK("golden untouched", pread(golden, buf, 512, 512 * 10) == 512 &&
					  (gfill(want, 512, 512 * 10),
					   memcmp(buf, want, 512) == 0));
	CHECK("bits", ovl_has(&o, 10) && ovl_has(&o, 11) && !ovl_has(&o, 12));
	CHECK("bytes written", ovl_bytes_written(&o) == 1024);

	/* A Data-Out piece that splits a block: the rest stays golden. */
	CHECK("partial write", put(&o, 512 * 20 + 100, 50, 0x55) == 0);
	CHECK("partial merged",
	      ovl_read(&o, buf, 512, 512 * 20) == 0 &&
		      (gfill(want, 512, 512 * 20), memset(want + 100, 0x55, 50),
		       memcmp(buf, want, 512) == 0));
	CHECK("partial again", put(&o, 512 * 20 + 160, 10, 0x66) == 0 &&
				       ovl_read(&o, buf, 512, 512 * 20) == 0 &&
				       buf[160] == 0x66 && buf[100] == 0x55 &&
				       buf[99] == gbyte(512 * 20 + 99));
	CHECK("unaligned span",
	      put(&o, 512 * 30 + 500, 1000, 0x77) == 0 &&
		      reads_byte(&o, 512 * 30 + 500, 1000, 0x77) &&
		      reads_golden(&o, 512 * 30, 500) &&
		      reads_golden(&o, 512 * 30 + 1500, 36));

	/* UNMAP and WRITE SAME (unmap) must read back zeros, not golden. */
	CHECK("punch", ovl_punch(&o, 512 * 40, 512 * 8) == 0);
	CHECK("punched reads zeros", reads_byte(&o, 512 * 40, 512 * 8, 0));
	CHECK("punch neighbours", reads_golden(&o, 512 * 39, 512) &&
					  reads_golden(&o, 512 * 48, 512));
	CHECK("punch written", ovl_punch(&o, 512 * 10, 512) == 0 &&
				       reads_byte(&o, 512 * 10, 512, 0) &&
				       reads_byte(&o, 512 * 11, 512, 0xaa));
	CHECK("punch unaligned refused", ovl_punch(&o, 100, 512) == -EINVAL);
	CHECK("out of range",
	      ovl_write(&o, buf, 1024, (uint64_t)BLOCKS * 512 - 512) ==
			      -EINVAL &&
		      ovl_read(&o, buf, 1, (uint64_t)BLOCKS * 512) == -EINVAL);

	/* Sync order: the bitmap reaches the disk at sync, not before. */
	CHECK("unsynced bit not on disk", disk_bit("pc1", 11) == 0);
	CHECK("sync", ovl_sync(&o) == 0);
	CHECK("synced bit on disk",
	      disk_bit("pc1", 11) == 1 && disk_bit("pc1", 12) == 0);
	/* A crash now: a second open sees every synced write. */
	CHECK("write after sync", put(&o, 512 * 50000, 512, 0x99) == 0);
	rc = ovl_open(&o2, dirfd_, "pc1", golden, BLOCKS, 0, "v2", err,
		      sizeof(err));
	CHECK("reopen as after a crash", rc == 0);
	CHECK("synced data back",
	      rc == 0 && reads_byte(&o2, 512 * 11, 512, 0xaa) &&
		      reads_byte(&o2, 512 * 40, 512 * 8, 0) &&
		      reads_byte(&o2, 512 * 20 + 100, 50, 0x55));
	CHECK("unsynced block reads golden, not a hole",
	      rc == 0 && reads_golden(&o2, 512 * 50000, 512));
	CHECK("base kept", rc == 0 && strcmp(o2.base, "v1") == 0);
	if (rc == 0)
		ovl_close(&o2);

	CHECK("phase firmware", o.phase == OVL_PHASE_FIRMWARE);
	CHECK("set phase", ovl_set_phase(&o, OVL_PHASE_OS) == 0);
	CHECK("peek",
	      ovl_peek(dirfd_, "pc1", &phase, base, sizeof(base)) == 0 &&
		      phase == OVL_PHASE_OS && !strcmp(base, "v1"));
	CHECK("peek missing",
	      ovl_peek(dirfd_, "nobody", &phase, NULL, 0) == -ENOENT);

	/* Reset: a fresh overlay, while the old session keeps its own. */
	rc = ovl_open(&o2, dirfd_, "pc1", golden, BLOCKS, 1, "v2", err,
		      sizeof(err));
	CHECK("fresh open", rc == 0);
	CHECK("fresh reads golden", rc == 0 &&
					    reads_golden(&o2, 512 * 11, 512) &&
					    reads_golden(&o2, 512 * 40, 512));
	CHECK("fresh base and phase", rc == 0 && !strcmp(o2.base, "v2") &&
					      o2.phase == OVL_PHASE_FIRMWARE);
	CHECK("old session keeps its data",
	      reads_byte(&o, 512 * 11, 512, 0xaa));
	ovl_close(&o);
	if (rc == 0)
		ovl_close(&o2);

	/* Another image size or a foreign file is refused. */
	rc = ovl_open(&o2, dirfd_, "pc1", golden, BLOCKS - 1, 0, NULL, err,
		      sizeof(err));
	CHECK("size mismatch refused", rc == -EINVAL && strstr(err, "blocks"));
	{
		int fd = openat(dirfd_, "junk.map", O_RDWR | O_CREAT, 0600);

		CHECK("junk map", fd >= 0 && pwrite(fd, "hello", 5, 0) == 5);
		close(fd);
		CHECK("junk refused",
		      ovl_open(&o2, dirfd_, "junk", golden, BLOCKS, 0, NULL,
			       err, sizeof(err)) == -EINVAL);
	}

	/* Space: 64 KiB per overlay, 80 % and 90 % logged once, then
	 * ENOSPC; rewriting held blocks still works. */
	rc = ovl_open(&o, dirfd_, "pc2", golden, BLOCKS, 1, NULL, err,
		      sizeof(err));
	CHECK("open pc2", rc == 0);
	ovl_set_limit(&o, 65536, NULL, on_warn, NULL);
	for (int i = 0; i < 12; i++)
		put(&o, (uint64_t)i * 4096, 4096, 1);
	CHECK("no warning below 80 %", warns[0] == 0 && warns[1] == 0);
	put(&o, 12 * 4096, 4096, 1);
	put(&o, 13 * 4096, 4096, 1);
	CHECK("80 % once", warns[0] == 1 && warns[1] == 0);
	put(&o, 14 * 4096, 4096, 1);
	CHECK("90 % once", warns[0] == 1 && warns[1] == 1);
	CHECK("full", put(&o, 15 * 4096, 4096, 1) == 0 &&
			      put(&o, 16 * 4096, 512, 1) == -ENOSPC);
	CHECK("rewrite when full",
	      put(&o, 4096, 4096, 2) == 0 && reads_byte(&o, 4096, 4096, 2));
	CHECK("failed write left golden", reads_golden(&o, 16 * 4096, 512));
	CHECK("punch frees space",
	      ovl_punch(&o, 0, 65536) == 0 && put(&o, 16 * 4096, 4096, 3) == 0);
	/* SCSI sees SPACE ALLOCATION FAILED (SBC-3 §4.7.3.6). */
	{
		struct scsi_lu *lus[1] = { &lu };
		struct scsi_lun_map map = { lus, 1 };
		struct scsi_cmd cmd = { 0 };
		uint8_t cdb[16] = { 0x2a, 0, 0, 0, 0x02, 0, 0, 0, 0x10, 0 };
		static uint8_t data[8192];

		ovl_attach(&o, &lu);
		ovl_set_limit(&o, 4096 * 2, NULL, NULL, NULL);
		scsi_cmd_start(&map, 0, cdb, NULL, "p", &cmd);
		scsi_cmd_write(&lu, &cmd, 0, data, sizeof(data));
		scsi_cmd_finish(&lu, &cmd);
		CHECK("sense 0x27/0x07", cmd.status == SCSI_STATUS_CHECK &&
						 (cmd.sense[2] & 15) == 0x07 &&
						 cmd.sense[12] == 0x27 &&
						 cmd.sense[13] == 0x07);
		scsi_cmd_release(&cmd);
	}
	ovl_set_limit(&o, 0, NULL, NULL, NULL);

	/* The directory pool: two overlays share 96 KiB. */
	memset(warns, 0, sizeof(warns));
	pool.limit = 96 * 1024 / 512;
	rc = ovl_open(&o2, dirfd_, "pc3", golden, BLOCKS, 1, NULL, err,
		      sizeof(err));
	CHECK("open pc3", rc == 0);
	rc = ovl_open(&o3, dirfd_, "pc4", golden, BLOCKS, 1, NULL, err,
		      sizeof(err));
	CHECK("open pc4", rc == 0);
	ovl_set_limit(&o2, 0, &pool, on_warn, NULL);
	ovl_set_limit(&o3, 0, &pool, on_warn, NULL);
	CHECK("pool 1", put(&o2, 0, 65536, 1) == 0);
	CHECK("pool 2", put(&o3, 0, 16384, 1) == 0);
	CHECK("pool 80 %", warns[2] == 1);
	CHECK("pool full for the other", put(&o3, 65536, 32768, 1) == -ENOSPC);
	CHECK("pool fits", put(&o3, 65536, 8192, 1) == 0);
	CHECK("pool 90 %", warns[3] == 1);
	ovl_close(&o3);
	CHECK("close leaves the pool", pool.used <= 65536 / 512 + 8);

	/* Only a later page of the bitmap holds bits: the pages before it
	 * are holes in the map file, skipped at open. */
	{
		struct ovl p1, p2;

		CHECK("page skip: open",
		      ovl_open(&p1, dirfd_, "pg", golden, BLOCKS, 1, NULL, err,
			       sizeof(err)) == 0);
		CHECK("page skip: write page 2",
		      put(&p1, 512ull * 70000, 1024, 0x3c) == 0 &&
			      ovl_sync(&p1) == 0);
		ovl_close(&p1);
		CHECK("page skip: reopen",
		      ovl_open(&p2, dirfd_, "pg", golden, BLOCKS, 0, NULL, err,
			       sizeof(err)) == 0);
		CHECK("page skip: bits loaded",
		      ovl_bytes_written(&p2) == 1024 && ovl_has(&p2, 70000) &&
			      ovl_has(&p2, 70001) && !ovl_has(&p2, 69999) &&
			      reads_byte(&p2, 512ull * 70000, 1024, 0x3c));
		ovl_close(&p2);
	}

	/* A committed version below a client: client, then version, then
	 * golden. */
	{
		struct ovl v1, c1;

		CHECK("open v1", ovl_open(&v1, dirfd_, "v1", golden, BLOCKS, 1,
					  NULL, err, sizeof(err)) == 0);
		CHECK("v1 writes", put(&v1, 512 * 60, 1024, 0x31) == 0 &&
					   ovl_sync(&v1) == 0);
		CHECK("open c1", ovl_open(&c1, dirfd_, "c1", golden, BLOCKS, 1,
					  "1", err, sizeof(err)) == 0);
		ovl_set_lower(&c1, &v1);
		CHECK("version seen", reads_byte(&c1, 512 * 60, 1024, 0x31));
		CHECK("golden below", reads_golden(&c1, 512 * 59, 512) &&
					      reads_golden(&c1, 512 * 62, 512));
		CHECK("partial over a version",
		      put(&c1, 512 * 61 + 10, 4, 0x44) == 0 &&
			      ovl_read(&c1, buf, 512, 512 * 61) == 0 &&
			      buf[9] == 0x31 && buf[10] == 0x44 &&
			      buf[14] == 0x31);
		CHECK("client over version",
		      put(&c1, 512 * 60, 512, 0x55) == 0 &&
			      reads_byte(&c1, 512 * 60, 512, 0x55) &&
			      reads_byte(&v1, 512 * 60, 512, 0x31));
		ovl_close(&c1);
		ovl_close(&v1);
	}

	/* Worker threads write and read their own stripes at once. */
	{
		pthread_t th[4];
		struct worker w[4];
		int bad = 0;

		for (int i = 0; i < 4; i++) {
			w[i] = (struct worker){ &o, i, 0 };
			pthread_create(&th[i], NULL, worker, &w[i]);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			bad += w[i].bad;
		}
		CHECK("concurrent workers", bad == 0);
	}
	ovl_close(&o);
	ovl_close(&o2);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			perror("rm");
	}
	return unit_done();
}
