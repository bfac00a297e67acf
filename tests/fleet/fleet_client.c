/*
 * A scripted initiator for tests/fleet/run.sh, built with libiscsi: one
 * session of INITIATOR to URL whose ISID is iPXE's (IANA format, enterprise
 * number 10019, as iPXE's firmware logs in) or an operating system's (OUI
 * format 00:02:3d, as open-iscsi), then the steps in order:
 *   w:LBA:BYTE     WRITE(10) one block of BYTE, then SYNCHRONIZE CACHE
 *   f:LBA:BYTE     WRITE(10) one block of BYTE with FUA
 *   u:LBA:N        UNMAP N blocks
 *   r:LBA:BYTE     READ(10) one block: it must be all BYTE
 *   g:LBA          READ(10) one block: it must be the golden pattern
 *   fill:LBA       64 KiB writes from LBA until one fails: prints its sense
 *   load:LBA:N     N synced one-block writes of (i % 250) + 1, printing
 *                  "durable I" after each is acknowledged
 *   plain:LBA:N[:STEP]  N one-block WRITE(10)s of (i % 250) + 1 at
 *                  LBA + i * STEP (1), neither FUA nor SYNCHRONIZE CACHE:
 *                  acknowledged only
 *   check:LBA:N[:STEP]  READ(10)s: block LBA + i * STEP must be all
 *                  (i % 250) + 1
 *   kill:PID       SIGKILL to PID (a gateway) at once: nothing it has
 *                  acknowledged may be lost
 *   s:SEC          sleeps
 * "fleet_client golden FILE BLOCKS" writes a golden image of that pattern.
 * Prints one line per failed step and exits 1 if any failed.  The golden
 * pattern of block b is the byte (b * 7 + i + 1) % 256 at offset i.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static struct iscsi_context *ctx;
static int lun;

/* Returns 1 if t ended GOOD, printing its sense otherwise; frees t. */
static int good(struct scsi_task *t, const char *what)
{
	int ok = t && t->status == SCSI_STATUS_GOOD;

	if (!ok)
		printf("%s: %s sense=%x/%02x/%02x\n", what,
		       t ? "check" : iscsi_get_error(ctx), t ? t->sense.key : 0,
		       t ? t->sense.ascq >> 8 : 0,
		       t ? t->sense.ascq & 0xff : 0);
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* Reads block lba into blk. */
static int read_block(uint32_t lba, uint8_t *blk)
{
	struct scsi_task *t =
		iscsi_read10_sync(ctx, lun, lba, 512, 512, 0, 0, 0, 0, 0);

	if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != 512) {
		good(t, "read");
		return -1;
	}
	memcpy(blk, t->datain.data, 512);
	scsi_free_scsi_task(t);
	return 0;
}

/* Runs one step; returns 0 or 1 (failed, printed). */
static int step(const char *s)
{
	unsigned a = 0, b = 0, step = 1;
	uint8_t blk[65536];
	char what[64];

	snprintf(what, sizeof(what), "%s", s);
	if (sscanf(s, "w:%u:%u", &a, &b) == 2 ||
	    sscanf(s, "f:%u:%u", &a, &b) == 2) {
		memset(blk, (int)b, 512);
		if (!good(iscsi_write10_sync(ctx, lun, a, blk, 512, 512, 0, 0,
					     s[0] == 'f', 0, 0),
			  what))
			return 1;
		if (s[0] == 'w' &&
		    !good(iscsi_synchronizecache10_sync(ctx, lun, 0, 0, 0, 0),
			  what))
			return 1;
		return 0;
	}
	if (sscanf(s, "u:%u:%u", &a, &b) == 2) {
		struct unmap_list l = { a, b };

		return !good(iscsi_unmap_sync(ctx, lun, 0, 0, &l, 1), what);
	}
	if (sscanf(s, "r:%u:%u", &a, &b) == 2) {
		if (read_block(a, blk))
			return 1;
		for (int i = 0; i < 512; i++) {
			if (blk[i] != (uint8_t)b) {
				printf("%s: byte %d is %u\n", what, i, blk[i]);
				return 1;
			}
		}
		return 0;
	}
	if (sscanf(s, "g:%u", &a) == 1) {
		if (read_block(a, blk))
			return 1;
		for (int i = 0; i < 512; i++) {
			if (blk[i] != (uint8_t)(a * 7 + (unsigned)i + 1)) {
				printf("%s: not golden at byte %d (%u)\n", what,
				       i, blk[i]);
				return 1;
			}
		}
		return 0;
	}
	if (sscanf(s, "fill:%u", &a) == 1) {
		memset(blk, 0x5a, sizeof(blk));
		for (uint32_t lba = a;; lba += 128) {
			struct scsi_task *t = iscsi_write10_sync(
				ctx, lun, lba, blk, sizeof(blk), 512, 0, 0, 0,
				0, 0);

			if (!t) {
				printf("fill: no answer: %s\n",
				       iscsi_get_error(ctx));
				return 1;
			}
			if (t->status != SCSI_STATUS_GOOD) {
				printf("filled %u sense=%x/%02x/%02x\n",
				       lba - a, t->sense.key,
				       t->sense.ascq >> 8,
				       t->sense.ascq & 0xff);
				scsi_free_scsi_task(t);
				return 0;
			}
			scsi_free_scsi_task(t);
		}
	}
	if (sscanf(s, "load:%u:%u", &a, &b) == 2) {
		for (unsigned i = 0; i < b; i++) {
			memset(blk, (int)(i % 250 + 1), 512);
			if (!good(iscsi_write10_sync(ctx, lun, a + i, blk, 512,
						     512, 0, 0, 0, 0, 0),
				  what) ||
			    !good(iscsi_synchronizecache10_sync(ctx, lun, 0, 0,
								0, 0),
				  what))
				return 1;
			printf("durable %u\n", i + 1);
			fflush(stdout);
		}
		return 0;
	}
	if (sscanf(s, "plain:%u:%u:%u", &a, &b, &step) >= 2) {
		for (unsigned i = 0; i < b; i++) {
			memset(blk, (int)(i % 250 + 1), 512);
			if (!good(iscsi_write10_sync(ctx, lun, a + i * step,
						     blk, 512, 512, 0, 0, 0, 0,
						     0),
				  what))
				return 1;
		}
		return 0;
	}
	if (sscanf(s, "check:%u:%u:%u", &a, &b, &step) >= 2) {
		unsigned lost = 0, first = 0;

		for (unsigned i = 0; i < b; i++) {
			int bad = read_block(a + i * step, blk) != 0;

			for (int j = 0; !bad && j < 512; j++)
				bad = blk[j] != (uint8_t)(i % 250 + 1);
			if (bad && !lost++)
				first = a + i * step;
		}
		if (lost)
			printf("%s: %u of %u acknowledged blocks lost, the "
			       "first at %u\n",
			       what, lost, b, first);
		return lost != 0;
	}
	if (sscanf(s, "kill:%u", &a) == 1) {
		if (kill((pid_t)a, SIGKILL)) {
			printf("%s: no such process\n", what);
			return 1;
		}
		return 0;
	}
	if (sscanf(s, "s:%u", &a) == 1) {
		sleep(a);
		return 0;
	}
	printf("unknown step %s\n", s);
	return 1;
}

int main(int argc, char **argv)
{
	struct iscsi_url *u;
	int failed = 0;

	/* fleet_client golden FILE BLOCKS: writes the golden pattern. */
	if (argc == 4 && !strcmp(argv[1], "golden")) {
		FILE *f = fopen(argv[2], "wb");
		uint8_t blk[512];

		for (unsigned b = 0; f && b < (unsigned)atoi(argv[3]); b++) {
			for (unsigned i = 0; i < 512; i++)
				blk[i] = (uint8_t)(b * 7 + i + 1);
			fwrite(blk, 1, 512, f);
		}
		return f && fclose(f) == 0 ? 0 : 1;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: fleet_client URL INITIATOR ipxe|os "
				"STEP...\n");
		return 2;
	}
	ctx = iscsi_create_context(argv[2]);
	if (!ctx || !(u = iscsi_parse_full_url(ctx, argv[1])))
		return 2;
	iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_targetname(ctx, u->target);
	if (!strcmp(argv[3], "ipxe"))
		iscsi_set_isid_en(ctx, 10019, (uint32_t)getpid() & 0xffff);
	else
		iscsi_set_isid_oui(ctx, 0x00023d, 1);
	if (iscsi_full_connect_sync(ctx, u->portal, u->lun)) {
		printf("connect: %s\n", iscsi_get_error(ctx));
		return 1;
	}
	iscsi_set_noautoreconnect(ctx, 1);
	lun = u->lun;
	for (int i = 4; i < argc; i++)
		failed |= step(argv[i]);
	iscsi_logout_sync(ctx);
	iscsi_destroy_url(u);
	iscsi_destroy_context(ctx);
	return failed;
}
