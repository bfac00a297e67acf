/*
 * Durability load for wupan-target (tests/target/durability.sh), built with
 * libiscsi.  "write URL BLOCKS" writes generation-stamped blocks round-robin
 * over the first BLOCKS blocks, issues SYNCHRONIZE CACHE every 16 writes and
 * FUA on every 7th, and prints "durable N" once the first N writes are
 * acknowledged as stable.  "check IMAGE BLOCKS N" verifies that each of the
 * first N writes, or a later one to the same block, is in the image.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/* Fills a block with its write number and LBA, repeated. */
static void stamp(uint8_t *blk, uint64_t seq, uint32_t lba)
{
	for (int i = 0; i < 512; i += 16) {
		memcpy(blk + i, &seq, 8);
		memcpy(blk + i + 8, &lba, 4);
		memcpy(blk + i + 12, "WUPN", 4);
	}
}

/* Tells whether a command ended with GOOD. */
static int good(struct scsi_task *t)
{
	int ok = t && t->status == SCSI_STATUS_GOOD;

	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

static int do_write(const char *url, uint32_t blocks)
{
	struct iscsi_url *u;
	struct iscsi_context *ctx =
		iscsi_create_context("iqn.2025-01.org.wupan:dura");
	uint8_t blk[512];
	uint64_t seq;

	if (!ctx || !(u = iscsi_parse_full_url(ctx, url)))
		return 2;
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_targetname(ctx, u->target);
	if (iscsi_full_connect_sync(ctx, u->portal, u->lun)) {
		fprintf(stderr, "connect: %s\n", iscsi_get_error(ctx));
		return 2;
	}
	/* Never reconnect: after the target is killed the load just ends. */
	iscsi_set_noautoreconnect(ctx, 1);
	for (seq = 0;; seq++) {
		uint32_t lba = (uint32_t)(seq % blocks);
		int fua = seq % 7 == 6;

		stamp(blk, seq, lba);
		if (!good(iscsi_write10_sync(ctx, u->lun, lba, blk, 512, 512, 0,
					     0, fua, 0, 0)))
			break;
		if (fua)
			printf("durable-fua %" PRIu64 "\n", seq);
		if (seq % 16 == 15) {
			if (!good(iscsi_synchronizecache10_sync(ctx, u->lun, 0,
								0, 0, 0)))
				break;
			printf("durable %" PRIu64 "\n", seq + 1);
		}
		fflush(stdout);
	}
	return 0;
}

static int do_check(const char *path, uint32_t blocks, uint64_t n,
		    uint64_t fua_seq)
{
	FILE *f = fopen(path, "rb");
	uint8_t blk[512];
	int bad = 0;

	if (!f)
		return 2;
	for (uint32_t lba = 0; lba < blocks; lba++) {
		uint64_t seq = 0, need = 0;
		uint32_t l = 0;
		int have;

		if (fread(blk, 1, 512, f) != 512)
			return 2;
		memcpy(&seq, blk, 8);
		memcpy(&l, blk + 8, 4);
		have = !memcmp(blk + 12, "WUPN", 4) && l == lba;
		/* The last write to this block among the first n. */
		if (n > lba) {
			need = (n - 1 - lba) / blocks * blocks + lba;
			if (!have || seq < need) {
				printf("block %u: want write >= %" PRIu64
				       ", found %s %" PRIu64 "\n",
				       lba, need, have ? "write" : "garbage",
				       seq);
				bad++;
			}
		}
		if (fua_seq != UINT64_MAX && fua_seq % blocks == lba &&
		    (!have || seq < fua_seq)) {
			printf("block %u: FUA write %" PRIu64 " lost\n", lba,
			       fua_seq);
			bad++;
		}
	}
	fclose(f);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
	if (argc == 6 && !strcmp(argv[1], "check"))
		return do_check(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
				strtoull(argv[4], NULL, 10),
				strcmp(argv[5], "none")
					? strtoull(argv[5], NULL, 10)
					: UINT64_MAX);
	fprintf(stderr,
		"usage: dura_client write URL BLOCKS | check IMAGE BLOCKS N FUA-SEQ|none\n");
	return 2;
}
