/*
 * A one-command iSCSI client for tests/ceph/run.sh, built with libiscsi.
 * URL is iscsi://127.0.0.1:PORT/IQN/LUN.
 *   put URL LBA FILE [fua]   WRITE(16) of FILE (whole blocks) at LBA
 *   get URL LBA BLOCKS FILE  READ(16) of BLOCKS blocks into FILE
 *   unmap URL LBA BLOCKS     UNMAP of one range
 *   sync URL                 SYNCHRONIZE CACHE(16) of the whole unit
 *   cap URL                  prints "BLOCKS BLOCK-SIZE LBPME"
 * Exits 0 when the target answered GOOD; 1 with the status and sense on
 * stderr when it did not; 2 when there is no session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define CHUNK 256 /* blocks per command */

/* Checks a task: GOOD, or says what came back. */
static int good(struct iscsi_context *iscsi, struct scsi_task *t,
		const char *what)
{
	if (t && t->status == SCSI_STATUS_GOOD)
		return 1;
	if (!t)
		fprintf(stderr, "%s: %s\n", what, iscsi_get_error(iscsi));
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		fprintf(stderr,
			"%s: CHECK CONDITION key 0x%x %s, asc/ascq 0x%04x\n",
			what, t->sense.key, scsi_sense_key_str(t->sense.key),
			t->sense.ascq);
	else
		fprintf(stderr, "%s: status 0x%02x\n", what, t->status);
	return 0;
}

int main(int argc, char **argv)
{
	struct iscsi_context *iscsi;
	struct iscsi_url *url;
	struct scsi_task *t = NULL;
	int rc = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: see the top of rbd_io.c\n");
		return 2;
	}
	iscsi = iscsi_create_context("iqn.2025-01.org.wupan:rbd-test");
	url = iscsi ? iscsi_parse_full_url(iscsi, argv[2]) : NULL;
	if (!url)
		return 2;
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun)) {
		fprintf(stderr, "connect: %s\n", iscsi_get_error(iscsi));
		return 2;
	}
	if (strcmp(argv[1], "put") == 0 && argc >= 5) {
		FILE *f = fopen(argv[4], "rb");
		uint64_t lba = strtoull(argv[3], NULL, 0);
		int fua = argc > 5 && strcmp(argv[5], "fua") == 0;
		unsigned char buf[CHUNK * 512];
		size_t n;

		rc = 0;
		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
			t = iscsi_write16_sync(iscsi, url->lun, lba, buf,
					       (uint32_t)n, 512, 0, 0, fua, 0,
					       0);
			if (!good(iscsi, t, "WRITE(16)")) {
				rc = 1;
				break;
			}
			scsi_free_scsi_task(t);
			t = NULL;
			lba += n / 512;
		}
		if (f)
			fclose(f);
		else
			rc = 1;
	} else if (strcmp(argv[1], "get") == 0 && argc == 6) {
		FILE *f = fopen(argv[5], "wb");
		uint64_t lba = strtoull(argv[3], NULL, 0);
		uint64_t left = strtoull(argv[4], NULL, 0);

		rc = f ? 0 : 1;
		while (f && left) {
			uint32_t n = left > CHUNK ? CHUNK : (uint32_t)left;

			t = iscsi_read16_sync(iscsi, url->lun, lba, n * 512,
					      512, 0, 0, 0, 0, 0);
			if (!good(iscsi, t, "READ(16)")) {
				rc = 1;
				break;
			}
			fwrite(t->datain.data, 1, n * 512, f);
			scsi_free_scsi_task(t);
			t = NULL;
			lba += n;
			left -= n;
		}
		if (f && fclose(f))
			rc = 1;
	} else if (strcmp(argv[1], "unmap") == 0 && argc == 5) {
		struct unmap_list l = { strtoull(argv[3], NULL, 0),
					(uint32_t)strtoul(argv[4], NULL, 0) };

		t = iscsi_unmap_sync(iscsi, url->lun, 0, 0, &l, 1);
		rc = !good(iscsi, t, "UNMAP");
	} else if (strcmp(argv[1], "sync") == 0) {
		t = iscsi_synchronizecache16_sync(iscsi, url->lun, 0, 0, 0, 0);
		rc = !good(iscsi, t, "SYNCHRONIZE CACHE(16)");
	} else if (strcmp(argv[1], "cap") == 0) {
		t = iscsi_readcapacity16_sync(iscsi, url->lun);
		rc = !good(iscsi, t, "READ CAPACITY(16)");
		if (!rc) {
			struct scsi_readcapacity16 *rc16 =
				scsi_datain_unmarshall(t);

			if (rc16)
				printf("%llu %u %d\n",
				       (unsigned long long)rc16->returned_lba +
					       1,
				       rc16->block_length, rc16->lbpme);
			else
				rc = 1;
		}
	} else {
		fprintf(stderr, "unknown command %s\n", argv[1]);
		rc = 2;
	}
	if (t)
		scsi_free_scsi_task(t);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return rc;
}
