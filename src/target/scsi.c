/* SCSI block command set: see scsi.h.  Sense codes follow SPC-4 Annex D. */
#include "target/scsi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"

/* Sense keys. */
#define SK_NO_SENSE 0x00
#define SK_NOT_READY 0x02
#define SK_MEDIUM_ERROR 0x03
#define SK_HARDWARE_ERROR 0x04
#define SK_ILLEGAL_REQUEST 0x05
#define SK_DATA_PROTECT 0x07
#define SK_MISCOMPARE 0x0e

/* Additional sense codes (ASC, ASCQ). */
#define ASC_PARAM_LIST_LENGTH 0x1a, 0x00
#define ASC_INVALID_OPCODE 0x20, 0x00
#define ASC_LBA_OUT_OF_RANGE 0x21, 0x00
#define ASC_INVALID_FIELD_CDB 0x24, 0x00
#define ASC_LUN_NOT_SUPPORTED 0x25, 0x00
#define ASC_INVALID_FIELD_PARAM 0x26, 0x00
#define ASC_WRITE_PROTECTED 0x27, 0x00
#define ASC_SAVING_NOT_SUPPORTED 0x39, 0x00
#define ASC_READ_ERROR 0x11, 0x00
#define ASC_WRITE_ERROR 0x0c, 0x00
#define ASC_SPACE_ALLOC_FAILED 0x27, 0x07
#define ASC_MISCOMPARE_VERIFY 0x1d, 0x00
#define ASC_REMOVAL_PREVENTED 0x53, 0x02

#define VPD_MAX_UNMAP_BLOCKS 0x00100000u /* libiscsi caps it at 1 Mi */
#define VPD_MAX_WS_BLOCKS (SCSI_MAX_XFER / 512)

void scsi_sense_set(struct scsi_cmd *cmd, uint8_t key, uint8_t asc,
		    uint8_t ascq)
{
	memset(cmd->sense, 0, sizeof(cmd->sense));
	cmd->sense[0] = 0x70;
	cmd->sense[2] = key;
	cmd->sense[7] = SCSI_SENSE_LEN - 8;
	cmd->sense[12] = asc;
	cmd->sense[13] = ascq;
	cmd->sense_len = SCSI_SENSE_LEN;
	cmd->status = SCSI_STATUS_CHECK;
	cmd->kind = SCSI_K_NONE;
	cmd->dir = SCSI_DIR_NONE;
	cmd->xfer_len = 0;
}

/* A failed write: a full overlay or file system says so (SBC-3 §4.7.3.6,
 * SPACE ALLOCATION FAILED WRITE PROTECT), anything else is a medium
 * error. */
static void write_failed(struct scsi_cmd *cmd, int rc)
{
	if (rc == -ENOSPC)
		scsi_sense_set(cmd, SK_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED);
	else
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

/* Reserves len zeroed bytes of generated Data-In; NULL on ENOMEM. */
static uint8_t *gen_alloc(struct scsi_cmd *cmd, uint32_t len)
{
	free(cmd->data);
	cmd->data = calloc(1, len ? len : 1);
	cmd->data_len = len;
	cmd->kind = SCSI_K_GEN;
	cmd->dir = SCSI_DIR_IN;
	return cmd->data;
}

/* Trims generated data to the allocation length (SPC-4 §4.2.5.6). */
static void gen_done(struct scsi_cmd *cmd, uint32_t used, uint32_t alloc)
{
	cmd->data_len = used;
	cmd->xfer_len = used < alloc ? used : alloc;
}

/* Blocks-to-bytes with the range and size checks every media command
 * needs; returns 0 or sets the sense and returns -1. */
static int check_range(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       uint64_t lba, uint64_t blocks)
{
	if (lba > lu->blocks || blocks > lu->blocks - lba) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return -1;
	}
	if (blocks * lu->block_size > SCSI_MAX_XFER) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return -1;
	}
	cmd->lba = lba;
	cmd->blocks = (uint32_t)blocks;
	cmd->xfer_len = (uint32_t)(blocks * lu->block_size);
	return 0;
}

/* Decodes LBA and transfer length of a 6/10/12/16-byte READ/WRITE-like CDB. */
static void rw_fields(const uint8_t *cdb, uint64_t *lba, uint64_t *blocks)
{
	switch (cdb[0] >> 5) {
	case 0: /* 6-byte: 21-bit LBA, 0 blocks means 256 (SBC-3 §5.15) */
		*lba = get_be24(cdb + 1) & 0x1fffff;
		*blocks = cdb[4] ? cdb[4] : 256;
		break;
	case 1:
	case 2:
		*lba = get_be32(cdb + 2);
		*blocks = get_be16(cdb + 7);
		break;
	case 4:
		*lba = get_be64(cdb + 2);
		*blocks = get_be32(cdb + 10);
		break;
	default:
		*lba = get_be32(cdb + 2);
		*blocks = get_be32(cdb + 6);
		break;
	}
}

/* Standard INQUIRY data (SPC-4 §6.6.2). */
static int inquiry_std(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       uint32_t alloc)
{
	static const uint16_t versions[] = {0x00a0, 0x0960, 0x0460, 0x04c0};
	uint8_t *d = gen_alloc(cmd, 74);

	if (!d)
		return -ENOMEM;
	d[0] = lu ? 0x00 : 0x7f; /* qualifier 3: no unit at this LUN */
	d[2] = 0x06;             /* SPC-4 */
	d[3] = 0x12;             /* HISUP, response format 2 */
	d[4] = 74 - 5;
	d[7] = 0x02;             /* CMDQUE */
	memcpy(d + 8, "WUPAN   ", 8);
	memcpy(d + 16, "wupan-target    ", 16);
	memcpy(d + 32, "0001", 4);
	for (int i = 0; i < 4; i++)
		put_be16(d + 58 + 2 * i, versions[i]);
	gen_done(cmd, 74, alloc);
	return 0;
}

/* Formats the unit serial number from its id: 16 hex digits. */
static void lu_serial(const struct scsi_lu *lu, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++)
		out[i] = hex[(lu->id >> (60 - 4 * i)) & 15];
}

/* Device identification VPD page (SPC-4 §7.8.6). */
static int vpd_devid(const struct scsi_lu *lu, uint8_t *d)
{
	size_t tlen = strlen(lu->target), nlen;
	int p = 4;

	/* NAA locally assigned (type 3, NAA 3): what Windows keys disks on. */
	d[p] = 0x01;
	d[p + 1] = 0x03;
	d[p + 3] = 8;
	put_be64(d + p + 4, (uint64_t)3 << 60 | (lu->id & 0x0fffffffffffffffull));
	p += 12;
	/* T10 vendor ID (type 1). */
	d[p] = 0x02;
	d[p + 1] = 0x01;
	d[p + 3] = 24;
	memcpy(d + p + 4, "WUPAN   ", 8);
	lu_serial(lu, (char *)d + p + 12);
	p += 28;
	/* Relative target port 1 (type 4, associated with the port). */
	d[p] = 0x51;
	d[p + 1] = 0x94;
	d[p + 3] = 4;
	put_be16(d + p + 6, 1);
	p += 8;
	/* SCSI name string of the target device (type 8, UTF-8). */
	if (tlen > 223)
		tlen = 223;
	nlen = (tlen + 1 + 3) & ~(size_t)3;
	d[p] = 0x53;
	d[p + 1] = 0xa8;
	d[p + 3] = (uint8_t)nlen;
	memcpy(d + p + 4, lu->target, tlen);
	p += 4 + (int)nlen;
	put_be16(d + 2, (uint16_t)(p - 4));
	return p;
}

/* VPD pages (SPC-4 §7.8, SBC-3 §6.5). */
static int inquiry_vpd(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       uint8_t page, uint32_t alloc)
{
	static const uint8_t pages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
	uint8_t *d = gen_alloc(cmd, 512);
	int len;

	if (!d)
		return -ENOMEM;
	d[1] = page;
	switch (page) {
	case 0x00:
		memcpy(d + 4, pages, sizeof(pages));
		len = 4 + (int)sizeof(pages);
		break;
	case 0x80:
		lu_serial(lu, (char *)d + 4);
		len = 4 + 16;
		break;
	case 0x83:
		len = vpd_devid(lu, d);
		break;
	case 0xb0: /* block limits */
		d[5] = SCSI_MAX_CAW;
		put_be16(d + 6, 1);
		put_be32(d + 8, SCSI_MAX_XFER / lu->block_size);
		put_be32(d + 12, (128u << 10) / lu->block_size);
		if (lu->ops->punch) {
			put_be32(d + 20, VPD_MAX_UNMAP_BLOCKS);
			put_be32(d + 24, SCSI_MAX_UNMAP_DESC);
			put_be32(d + 28, 1);
		}
		put_be64(d + 36, VPD_MAX_WS_BLOCKS);
		len = 64;
		break;
	case 0xb1: /* block device characteristics: non-rotating */
		put_be16(d + 4, 1);
		len = 64;
		break;
	case 0xb2: /* logical block provisioning */
		if (lu->ops->punch) {
			d[5] = 0xe4; /* LBPU, LBPWS, LBPWS10, LBPRZ */
			d[6] = 0x02; /* thin provisioned */
		}
		len = 8;
		break;
	default:
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	if (page != 0x83)
		put_be16(d + 2, (uint16_t)(len - 4));
	gen_done(cmd, (uint32_t)len, alloc);
	return 0;
}

/* Appends mode page code to d; returns its length, or 0 if unknown. */
static int mode_page(const struct scsi_lu *lu, uint8_t code, int pc,
		     uint8_t *d)
{
	int changeable = pc == 1;

	switch (code) {
	case 0x08: /* caching: the page cache is a volatile write cache */
		memset(d, 0, 20);
		d[0] = 0x08;
		d[1] = 0x12;
		if (!changeable)
			d[2] = 0x04; /* WCE */
		return 20;
	case 0x0a: /* control */
		memset(d, 0, 12);
		d[0] = 0x0a;
		d[1] = 0x0a;
		if (!changeable) {
			d[3] = 0x10; /* unrestricted reordering */
			if (lu->ro)
				d[4] = 0x08; /* SWP */
			put_be16(d + 8, 0xffff);
		}
		return 12;
	case 0x1c: /* informational exceptions control */
		memset(d, 0, 12);
		d[0] = 0x1c;
		d[1] = 0x0a;
		return 12;
	default:
		return 0;
	}
}

/* MODE SENSE (6) and (10) (SPC-4 §6.11, §6.12). */
static int mode_sense(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		      const uint8_t *cdb)
{
	int ten = cdb[0] == 0x5a;
	int dbd = cdb[1] & 0x08, llbaa = ten && (cdb[1] & 0x10);
	int pc = cdb[2] >> 6;
	uint8_t code = cdb[2] & 0x3f, sub = cdb[3];
	uint32_t alloc = ten ? get_be16(cdb + 7) : cdb[4];
	int hdr = ten ? 8 : 4, bdl = dbd ? 0 : (llbaa ? 16 : 8), p;
	uint8_t *d;

	if (pc == 3) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
			       ASC_SAVING_NOT_SUPPORTED);
		return 0;
	}
	if (sub != 0 && !(code == 0x3f && sub == 0xff)) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	d = gen_alloc(cmd, 256);
	if (!d)
		return -ENOMEM;
	p = hdr + bdl;
	if (code == 0x3f) {
		p += mode_page(lu, 0x08, pc, d + p);
		p += mode_page(lu, 0x0a, pc, d + p);
		p += mode_page(lu, 0x1c, pc, d + p);
	} else {
		int n = mode_page(lu, code, pc, d + p);

		if (!n) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		p += n;
	}
	if (bdl == 8) {
		uint64_t nb = lu->blocks;

		if (ten)
			put_be32(d + hdr, nb > 0xffffffffu ? 0xffffffffu
							    : (uint32_t)nb);
		else
			put_be24(d + hdr + 1, nb > 0xffffff ? 0xffffff
							    : (uint32_t)nb);
		put_be24(d + hdr + 5, lu->block_size);
	} else if (bdl == 16) {
		put_be64(d + hdr, lu->blocks);
		put_be32(d + hdr + 12, lu->block_size);
	}
	if (ten) {
		put_be16(d, (uint16_t)(p - 2));
		d[3] = (uint8_t)((lu->ro ? 0x80 : 0) | 0x10);
		d[4] = llbaa && bdl ? 1 : 0;
		put_be16(d + 6, (uint16_t)bdl);
	} else {
		d[0] = (uint8_t)(p - 1);
		d[2] = (uint8_t)((lu->ro ? 0x80 : 0) | 0x10); /* WP, DPOFUA */
		d[3] = (uint8_t)bdl;
	}
	gen_done(cmd, (uint32_t)p, alloc);
	return 0;
}

/* REPORT LUNS (SPC-4 §6.33). */
static int report_luns(const struct scsi_lun_map *map, struct scsi_cmd *cmd,
		       const uint8_t *cdb)
{
	uint32_t alloc = get_be32(cdb + 6);
	uint8_t *d;
	size_t n = map->n;

	if (cdb[2] > 2 || alloc < 16) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	d = gen_alloc(cmd, (uint32_t)(8 + 8 * n));
	if (!d)
		return -ENOMEM;
	put_be32(d, (uint32_t)(8 * n));
	for (size_t i = 0; i < n; i++) {
		if (i < 256) {
			d[8 + 8 * i + 1] = (uint8_t)i;
		} else {
			d[8 + 8 * i] = (uint8_t)(0x40 | i >> 8);
			d[8 + 8 * i + 1] = (uint8_t)i;
		}
	}
	gen_done(cmd, (uint32_t)(8 + 8 * n), alloc);
	return 0;
}

/* REQUEST SENSE: this target keeps no deferred sense (SPC-4 §6.39). */
static int request_sense(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			 const uint8_t *cdb)
{
	int desc = cdb[1] & 1;
	uint8_t *d = gen_alloc(cmd, SCSI_SENSE_LEN);
	uint8_t asc = lu ? 0 : 0x25;

	if (!d)
		return -ENOMEM;
	if (desc) {
		d[0] = 0x72;
		d[1] = lu ? SK_NO_SENSE : SK_ILLEGAL_REQUEST;
		d[2] = asc;
		gen_done(cmd, 8, cdb[4]);
	} else {
		d[0] = 0x70;
		d[2] = lu ? SK_NO_SENSE : SK_ILLEGAL_REQUEST;
		d[7] = SCSI_SENSE_LEN - 8;
		d[12] = asc;
		gen_done(cmd, SCSI_SENSE_LEN, cdb[4]);
	}
	return 0;
}

/* READ CAPACITY (10) and (16) (SBC-3 §5.15, §5.16). */
static int read_capacity(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			 int sixteen, uint32_t alloc)
{
	uint8_t *d = gen_alloc(cmd, 32);
	uint64_t last = lu->blocks ? lu->blocks - 1 : 0;

	if (!d)
		return -ENOMEM;
	if (!sixteen) {
		put_be32(d, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
		put_be32(d + 4, lu->block_size);
		gen_done(cmd, 8, 8);
		return 0;
	}
	put_be64(d, last);
	put_be32(d + 8, lu->block_size);
	if (lu->ops->punch)
		d[14] = 0xc0; /* LBPME, LBPRZ */
	gen_done(cmd, 32, alloc);
	return 0;
}

/* One supported command for REPORT SUPPORTED OPERATION CODES: its CDB
 * usage bitmap (SPC-4 §6.35.3), first byte the opcode. */
struct scsi_opdesc {
	uint8_t op;
	uint16_t sa;
	uint8_t has_sa;
	uint8_t len;
	uint8_t usage[16];
};

static const struct scsi_opdesc scsi_ops[] = {
	{0x00, 0, 0, 6, {0x00, 0, 0, 0, 0, 0}},
	{0x03, 0, 0, 6, {0x03, 0x01, 0, 0, 0xff, 0}},
	{0x08, 0, 0, 6, {0x08, 0x1f, 0xff, 0xff, 0xff, 0}},
	{0x0a, 0, 0, 6, {0x0a, 0x1f, 0xff, 0xff, 0xff, 0}},
	{0x12, 0, 0, 6, {0x12, 0x01, 0xff, 0xff, 0xff, 0}},
	{0x16, 0, 0, 6, {0x16, 0, 0, 0, 0, 0}},
	{0x17, 0, 0, 6, {0x17, 0, 0, 0, 0, 0}},
	{0x1a, 0, 0, 6, {0x1a, 0x08, 0xff, 0xff, 0xff, 0}},
	{0x1b, 0, 0, 6, {0x1b, 0x01, 0, 0x0f, 0xf7, 0}},
	{0x1e, 0, 0, 6, {0x1e, 0, 0, 0, 0x03, 0}},
	{0x25, 0, 0, 10, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	{0x28, 0, 0, 10, {0x28, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x2a, 0, 0, 10, {0x2a, 0x18, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x2e, 0, 0, 10, {0x2e, 0x12, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x2f, 0, 0, 10, {0x2f, 0x12, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x34, 0, 0, 10, {0x34, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x35, 0, 0, 10, {0x35, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x41, 0, 0, 10, {0x41, 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0}},
	{0x42, 0, 0, 10, {0x42, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0}},
	{0x5a, 0, 0, 10, {0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0}},
	{0x88, 0, 0, 16, {0x88, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x8a, 0, 0, 16, {0x8a, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x89, 0, 0, 16, {0x89, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0, 0, 0, 0xff, 0, 0}},
	{0x8b, 0, 0, 16, {0x8b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x8e, 0, 0, 16, {0x8e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x8f, 0, 0, 16, {0x8f, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x90, 0, 0, 16, {0x90, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x91, 0, 0, 16, {0x91, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x93, 0, 0, 16, {0x93, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x9e, 0x10, 1, 16, {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
			     0xff, 0xff, 0, 0}},
	{0x9e, 0x12, 1, 16, {0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0x5e, 0x00, 1, 10, {0x5e, 0x00, 0, 0, 0, 0, 0, 0xff, 0xff, 0}},
	{0x5e, 0x01, 1, 10, {0x5e, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, 0}},
	{0x5e, 0x02, 1, 10, {0x5e, 0x02, 0, 0, 0, 0, 0, 0xff, 0xff, 0}},
	{0x5e, 0x03, 1, 10, {0x5e, 0x03, 0, 0, 0, 0, 0, 0xff, 0xff, 0}},
	{0x5f, 0x00, 1, 10, {0x5f, 0x00, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0x5f, 0x01, 1, 10, {0x5f, 0x01, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0x5f, 0x02, 1, 10, {0x5f, 0x02, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0x5f, 0x03, 1, 10, {0x5f, 0x03, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0x5f, 0x04, 1, 10, {0x5f, 0x04, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0x5f, 0x05, 1, 10, {0x5f, 0x05, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0x5f, 0x06, 1, 10, {0x5f, 0x06, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}},
	{0xa0, 0, 0, 12, {0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0}},
	{0xa3, 0x0c, 1, 12, {0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff,
			     0xff, 0xff, 0, 0}},
	{0xa8, 0, 0, 12, {0xa8, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0, 0}},
	{0xaa, 0, 0, 12, {0xaa, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0, 0}},
	{0xae, 0, 0, 12, {0xae, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0, 0}},
	{0xaf, 0, 0, 12, {0xaf, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			  0xff, 0, 0}},
};

/* Writes a command timeouts descriptor (SPC-4 §6.35.4): none known. */
static void put_timeouts(uint8_t *d)
{
	put_be16(d, 0x0a);
}

/* REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35). */
static int report_opcodes(struct scsi_cmd *cmd, const uint8_t *cdb)
{
	int rctd = cdb[2] & 0x80, opts = cdb[2] & 0x07;
	uint32_t alloc = get_be32(cdb + 6);
	size_t n = sizeof(scsi_ops) / sizeof(scsi_ops[0]);
	uint8_t *d;
	uint32_t p = 4;

	if (opts == 0) {
		d = gen_alloc(cmd, (uint32_t)(4 + n * 20));
		if (!d)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			d[p] = scsi_ops[i].op;
			put_be16(d + p + 2, scsi_ops[i].sa);
			d[p + 5] = (uint8_t)((rctd ? 0x02 : 0) |
					     (scsi_ops[i].has_sa ? 0x01 : 0));
			put_be16(d + p + 6, scsi_ops[i].len);
			p += 8;
			if (rctd) {
				put_timeouts(d + p);
				p += 12;
			}
		}
		put_be32(d, p - 4);
		gen_done(cmd, p, alloc);
		return 0;
	}
	if (opts > 2) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	d = gen_alloc(cmd, 4 + 16 + 12);
	if (!d)
		return -ENOMEM;
	d[1] = 0x01; /* not supported, unless found below */
	for (size_t i = 0; i < n; i++) {
		const struct scsi_opdesc *o = &scsi_ops[i];

		if (o->op != cdb[3])
			continue;
		/* Option 1 names commands without service actions, 2 those
		 * with one (SPC-4 §6.35.1). */
		if (opts == 1 && o->has_sa) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		if (opts == 2 && (!o->has_sa || o->sa != get_be16(cdb + 4))) {
			if (!o->has_sa) {
				scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
					       ASC_INVALID_FIELD_CDB);
				return 0;
			}
			continue;
		}
		d[1] = (uint8_t)((rctd ? 0x80 : 0) | 0x03);
		put_be16(d + 2, o->len);
		memcpy(d + 4, o->usage, o->len);
		p = 4 + o->len;
		if (rctd) {
			put_timeouts(d + p);
			p += 12;
		}
		gen_done(cmd, p, alloc);
		return 0;
	}
	gen_done(cmd, 4, alloc);
	return 0;
}

/* GET LBA STATUS (SBC-3 §5.6): holes are not tracked, so every block from
 * the one asked for is reported mapped. */
static int get_lba_status(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			  const uint8_t *cdb)
{
	uint64_t lba = get_be64(cdb + 2);
	uint32_t alloc = get_be32(cdb + 10);
	uint64_t left;
	uint8_t *d;

	if (lba >= lu->blocks) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return 0;
	}
	d = gen_alloc(cmd, 24);
	if (!d)
		return -ENOMEM;
	left = lu->blocks - lba;
	put_be32(d, 20);
	put_be64(d + 8, lba);
	put_be32(d + 16, left > 0xffffffffu ? 0xffffffffu : (uint32_t)left);
	gen_done(cmd, 24, alloc);
	return 0;
}

/* Refuses writes to a read-only unit (SBC-3 §4.12). */
static int check_writable(const struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	if (!lu->ro)
		return 0;
	scsi_sense_set(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED);
	return -1;
}

/* Sets up a WRITE SAME (10)/(16) (SBC-3 §5.41). */
static void write_same_start(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			     const uint8_t *cdb)
{
	int sixteen = cdb[0] == 0x93;
	uint64_t lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	uint64_t blocks = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);
	int unmap = cdb[1] & 0x08, ndob = sixteen && (cdb[1] & 0x01);

	int to_end = blocks == 0;

	/* SBC-3 §5.41: 0 blocks means up to the last block (WSNZ is 0). */
	if (to_end && lba < lu->blocks)
		blocks = lu->blocks - lba;
	if ((cdb[1] & 0xe0) || (cdb[1] & 0x10) ||
	    (blocks > VPD_MAX_WS_BLOCKS && !(to_end && unmap)) ||
	    (unmap && !lu->ops->punch)) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	if (lba > lu->blocks || blocks > lu->blocks - lba) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (check_writable(lu, cmd))
		return;
	cmd->lba = lba;
	cmd->blocks = (uint32_t)blocks;
	if (ndob) {
		cmd->kind = SCSI_K_PARAM;
		cmd->dir = SCSI_DIR_NONE;
		cmd->xfer_len = 0;
		return;
	}
	cmd->kind = SCSI_K_PARAM;
	cmd->dir = SCSI_DIR_OUT;
	cmd->xfer_len = lu->block_size;
}

/* Decodes a media access command; returns 1 if op is one, else 0. */
static int media_start(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       const uint8_t *cdb)
{
	uint64_t lba, blocks;
	uint8_t op = cdb[0];
	int prot = cdb[1] >> 5;

	switch (op) {
	case 0x08: case 0x28: case 0xa8: case 0x88: /* READ */
		rw_fields(cdb, &lba, &blocks);
		if (op != 0x08 && prot) {
			/* No protection information (SBC-3 §4.22). */
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (check_range(lu, cmd, lba, blocks))
			return 1;
		cmd->kind = SCSI_K_READ;
		cmd->dir = SCSI_DIR_IN;
		return 1;
	case 0x34: case 0x90: /* PRE-FETCH: the page cache does it anyway */
		if (op == 0x34) {
			lba = get_be32(cdb + 2);
			blocks = get_be16(cdb + 7);
		} else {
			lba = get_be64(cdb + 2);
			blocks = get_be32(cdb + 10);
		}
		if (lba > lu->blocks || blocks > lu->blocks - lba)
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_LBA_OUT_OF_RANGE);
		return 1;
	case 0x89: { /* COMPARE AND WRITE (SBC-3 §5.2) */
		uint32_t n = cdb[13];

		lba = get_be64(cdb + 2);
		if (prot || n > SCSI_MAX_CAW) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (check_range(lu, cmd, lba, n) || check_writable(lu, cmd))
			return 1;
		cmd->fua = (cdb[1] & 0x08) != 0;
		cmd->kind = n ? SCSI_K_PARAM : SCSI_K_NONE;
		cmd->dir = n ? SCSI_DIR_OUT : SCSI_DIR_NONE;
		/* The data to compare, then the data to write. */
		cmd->xfer_len = 2 * n * lu->block_size;
		return 1;
	}
	case 0x8b: /* ORWRITE (16) (SBC-3 §5.9) */
		rw_fields(cdb, &lba, &blocks);
		if (prot) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (check_range(lu, cmd, lba, blocks) ||
		    check_writable(lu, cmd))
			return 1;
		cmd->fua = (cdb[1] & 0x08) != 0;
		cmd->kind = SCSI_K_ORWRITE;
		cmd->dir = SCSI_DIR_OUT;
		return 1;
	case 0x0a: case 0x2a: case 0xaa: case 0x8a: /* WRITE */
	case 0x2e: case 0xae: case 0x8e:            /* WRITE AND VERIFY */
		rw_fields(cdb, &lba, &blocks);
		if (op != 0x0a && prot) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (check_range(lu, cmd, lba, blocks) ||
		    check_writable(lu, cmd))
			return 1;
		cmd->fua = op != 0x0a && (cdb[1] & 0x08);
		/* WRITE AND VERIFY must reach the medium before it is
		 * verified: treat it as FUA. */
		if (op == 0x2e || op == 0xae || op == 0x8e)
			cmd->fua = 1;
		cmd->kind = SCSI_K_WRITE;
		cmd->dir = SCSI_DIR_OUT;
		return 1;
	case 0x2f: case 0xaf: case 0x8f: { /* VERIFY */
		int bytchk = (cdb[1] >> 1) & 3;

		rw_fields(cdb, &lba, &blocks);
		if (prot || bytchk > 1) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (check_range(lu, cmd, lba, blocks))
			return 1;
		if (bytchk) {
			cmd->kind = SCSI_K_COMPARE;
			cmd->dir = SCSI_DIR_OUT;
		} else {
			cmd->kind = SCSI_K_NONE;
			cmd->xfer_len = 0;
		}
		return 1;
	}
	case 0x35: case 0x91: /* SYNCHRONIZE CACHE */
		if (op == 0x35) {
			lba = get_be32(cdb + 2);
			blocks = get_be16(cdb + 7);
		} else {
			lba = get_be64(cdb + 2);
			blocks = get_be32(cdb + 10);
		}
		if (lba > lu->blocks || blocks > lu->blocks - lba) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_LBA_OUT_OF_RANGE);
			return 1;
		}
		/* The flush itself is disk I/O: scsi_cmd_finish does it. */
		cmd->fua = 1;
		return 1;
	case 0x41: case 0x93:
		write_same_start(lu, cmd, cdb);
		return 1;
	case 0x42: { /* UNMAP (SBC-3 §5.28) */
		uint32_t plen = get_be16(cdb + 7);

		if (!lu->ops->punch || (cdb[1] & 0x01)) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (check_writable(lu, cmd))
			return 1;
		if (plen > SCSI_MAX_PARAM) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_PARAM_LIST_LENGTH);
			return 1;
		}
		cmd->kind = plen ? SCSI_K_PARAM : SCSI_K_NONE;
		cmd->dir = plen ? SCSI_DIR_OUT : SCSI_DIR_NONE;
		cmd->xfer_len = plen;
		return 1;
	}
	default:
		return 0;
	}
}

/* Commands a unit reserved by another nexus still accepts (SPC-2 §5.5.1). */
static int allowed_when_reserved(uint8_t op)
{
	return op == 0x12 || op == 0xa0 || op == 0x03 || op == 0x17 ||
	       op == 0x25 || op == 0x9e;
}

int scsi_cmd_start(const struct scsi_lun_map *map, unsigned lun,
		   const uint8_t *cdb, const void *nexus, const char *port,
		   struct scsi_cmd *cmd)
{
	struct scsi_lu *lu = lun < map->n ? map->luns[lun] : NULL;
	uint8_t op = cdb[0];

	memset(cmd, 0, sizeof(*cmd));
	memcpy(cmd->cdb, cdb, 16);
	cmd->nexus = nexus;
	cmd->port = port ? port : "";
	switch (op) {
	case 0x12: /* INQUIRY */
		if (!(cdb[1] & 1) && cdb[2]) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		if ((cdb[1] & 1) && !lu) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_LUN_NOT_SUPPORTED);
			return 0;
		}
		return cdb[1] & 1 ? inquiry_vpd(lu, cmd, cdb[2], get_be16(cdb + 3))
				  : inquiry_std(lu, cmd, get_be16(cdb + 3));
	case 0xa0:
		return report_luns(map, cmd, cdb);
	case 0x03:
		return request_sense(lu, cmd, cdb);
	default:
		break;
	}
	if (!lu) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
		return 0;
	}
	/* A read-only unit is a base image a whole room shares: one PC's
	 * reservation would lock out every other. */
	if ((op == 0x16 || op == 0x5f) && (lu->ro || lu->no_reservations)) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return 0;
	}
	if (lu->reserved_by && lu->reserved_by != nexus &&
	    !allowed_when_reserved(op)) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return 0;
	}
	if (scsi_pr_conflict(lu, op, cmd->port)) {
		cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return 0;
	}
	if (media_start(lu, cmd, cdb))
		return 0;
	switch (op) {
	case 0x00: /* TEST UNIT READY */
		return 0;
	case 0x25:
		return read_capacity(lu, cmd, 0, 8);
	case 0x9e:
		if ((cdb[1] & 0x1f) == 0x12)
			return get_lba_status(lu, cmd, cdb);
		if ((cdb[1] & 0x1f) != 0x10) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		return read_capacity(lu, cmd, 1, get_be32(cdb + 10));
	case 0xa3:
		if ((cdb[1] & 0x1f) != 0x0c) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		return report_opcodes(cmd, cdb);
	case 0x1a:
	case 0x5a:
		return mode_sense(lu, cmd, cdb);
	case 0x1b: /* START STOP UNIT (SBC-3 §5.25) */
		if ((cdb[4] & 0x03) == 0x02 && lu->prevent)
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_REMOVAL_PREVENTED);
		return 0;
	case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL (SBC-3 §5.13) */
		lu->prevent = cdb[4] & 0x03;
		return 0;
	case 0x5e:
		return scsi_pr_in(lu, cmd, cdb);
	case 0x5f:
		scsi_pr_out_start(lu, cmd, cdb);
		return 0;
	case 0x16: /* RESERVE (6) */
		lu->reserved_by = nexus;
		return 0;
	case 0x17: /* RELEASE (6) */
		if (lu->reserved_by == nexus)
			lu->reserved_by = NULL;
		return 0;
	default:
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return 0;
	}
}

int scsi_cmd_read(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
		  uint8_t *buf, uint32_t len)
{
	if (cmd->kind == SCSI_K_GEN) {
		if (off > cmd->data_len || len > cmd->data_len - off)
			return -EINVAL;
		memcpy(buf, cmd->data + off, len);
		return 0;
	}
	if (cmd->kind != SCSI_K_READ || off > cmd->xfer_len ||
	    len > cmd->xfer_len - off)
		return -EINVAL;
	if (lu->ops->read(lu->ctx, buf, len,
			  cmd->lba * lu->block_size + off)) {
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_READ_ERROR);
		return -EIO;
	}
	return 0;
}

void scsi_cmd_write(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
		    const uint8_t *buf, uint32_t len)
{
	uint64_t at;

	if (cmd->status != SCSI_STATUS_GOOD || off >= cmd->xfer_len)
		return;
	if (len > cmd->xfer_len - off)
		len = cmd->xfer_len - off;
	at = cmd->lba * lu->block_size + off;
	switch (cmd->kind) {
	case SCSI_K_WRITE: {
		int rc = lu->ops->write(lu->ctx, buf, len, at);

		if (rc)
			write_failed(cmd, rc);
		break;
	}
	case SCSI_K_ORWRITE: {
		uint8_t tmp[4096];

		for (uint32_t done = 0; done < len;) {
			uint32_t n = len - done > sizeof(tmp) ? sizeof(tmp)
							       : len - done;

			if (lu->ops->read(lu->ctx, tmp, n, at + done)) {
				scsi_sense_set(cmd, SK_MEDIUM_ERROR,
					       ASC_READ_ERROR);
				return;
			}
			for (uint32_t i = 0; i < n; i++)
				tmp[i] |= buf[done + i];
			if (lu->ops->write(lu->ctx, tmp, n, at + done)) {
				scsi_sense_set(cmd, SK_MEDIUM_ERROR,
					       ASC_WRITE_ERROR);
				return;
			}
			done += n;
		}
		break;
	}
	case SCSI_K_COMPARE: {
		uint8_t tmp[4096];

		for (uint32_t done = 0; done < len && !cmd->miscompare;) {
			uint32_t n = len - done > sizeof(tmp) ? sizeof(tmp)
							       : len - done;

			if (lu->ops->read(lu->ctx, tmp, n, at + done)) {
				scsi_sense_set(cmd, SK_MEDIUM_ERROR,
					       ASC_READ_ERROR);
				return;
			}
			for (uint32_t i = 0; i < n; i++) {
				if (tmp[i] != buf[done + i]) {
					cmd->miscompare = 1;
					cmd->miscompare_off = off + done + i;
					break;
				}
			}
			done += n;
		}
		break;
	}
	case SCSI_K_PARAM:
		if (!cmd->data) {
			cmd->data = calloc(1, cmd->xfer_len);
			if (!cmd->data) {
				scsi_sense_set(cmd, SK_HARDWARE_ERROR, 0x44,
					       0x00);
				return;
			}
		}
		memcpy(cmd->data + off, buf, len);
		if (off + len > cmd->data_len)
			cmd->data_len = off + len;
		break;
	default:
		break;
	}
}

/* Writes one block pattern over a range, or punches it (WRITE SAME). */
static void write_same_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	uint32_t bs = lu->block_size;
	int unmap = cmd->cdb[1] & 0x08;
	uint8_t *pat;
	uint8_t *run;
	uint32_t per;

	if (cmd->dir == SCSI_DIR_OUT && cmd->data_len < bs) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	pat = cmd->data;
	/* With UNMAP the blocks are deallocated whatever the pattern, and
	 * read back as zeros (LBPRZ); libiscsi's UnmapUntilEnd checks it. */
	if (unmap && lu->ops->punch) {
		if (lu->ops->punch(lu->ctx, cmd->lba * bs,
				   (uint64_t)cmd->blocks * bs))
			scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
		return;
	}
	per = cmd->blocks < 256 ? cmd->blocks : 256;
	run = malloc((size_t)per * bs);
	if (!run) {
		scsi_sense_set(cmd, SK_HARDWARE_ERROR, 0x44, 0x00);
		return;
	}
	for (uint32_t i = 0; i < per; i++) {
		if (pat)
			memcpy(run + (size_t)i * bs, pat, bs);
		else
			memset(run + (size_t)i * bs, 0, bs);
	}
	for (uint32_t done = 0; done < cmd->blocks;) {
		uint32_t n = cmd->blocks - done < per ? cmd->blocks - done : per;
		int rc = lu->ops->write(lu->ctx, run, (size_t)n * bs,
					(cmd->lba + done) * bs);

		if (rc) {
			write_failed(cmd, rc);
			break;
		}
		done += n;
	}
	free(run);
}

/* Compares the first half of the data with the medium and, if equal,
 * writes the second half (SBC-3 §5.2); one thread makes it atomic. */
static void compare_and_write_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	uint32_t half = cmd->blocks * lu->block_size;
	uint64_t at = cmd->lba * lu->block_size;
	uint8_t cur[SCSI_MAX_CAW * 512];

	if (cmd->data_len < 2 * half || half > sizeof(cur)) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	if (lu->ops->read(lu->ctx, cur, half, at)) {
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_READ_ERROR);
		return;
	}
	for (uint32_t i = 0; i < half; i++) {
		if (cur[i] != cmd->data[i]) {
			scsi_sense_set(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
			cmd->sense[0] |= 0x80; /* VALID: INFORMATION is the offset */
			put_be32(cmd->sense + 3, i);
			return;
		}
	}
	if (lu->ops->write(lu->ctx, cmd->data + half, half, at))
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

/* Runs an UNMAP parameter list (SBC-3 §5.28.2). */
static void unmap_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	const uint8_t *d = cmd->data;
	uint32_t len = cmd->data_len, dlen;

	if (len < 8) {
		if (len)
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_PARAM_LIST_LENGTH);
		return;
	}
	dlen = get_be16(d + 2);
	if (dlen > len - 8 || dlen % 16 || dlen / 16 > SCSI_MAX_UNMAP_DESC) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return;
	}
	/* Check every descriptor before changing anything. */
	for (uint32_t p = 8; p < 8 + dlen; p += 16) {
		uint64_t lba = get_be64(d + p);
		uint32_t n = get_be32(d + p + 8);

		if (lba > lu->blocks || n > lu->blocks - lba) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_LBA_OUT_OF_RANGE);
			return;
		}
		if (n > VPD_MAX_UNMAP_BLOCKS) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_PARAM);
			return;
		}
	}
	for (uint32_t p = 8; p < 8 + dlen; p += 16) {
		uint64_t lba = get_be64(d + p);
		uint32_t n = get_be32(d + p + 8);

		if (n && lu->ops->punch(lu->ctx, lba * lu->block_size,
					(uint64_t)n * lu->block_size)) {
			scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
			return;
		}
	}
}

void scsi_cmd_finish(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	if (cmd->status != SCSI_STATUS_GOOD)
		return;
	if (cmd->kind == SCSI_K_COMPARE && cmd->miscompare) {
		scsi_sense_set(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_VERIFY);
		cmd->sense[0] |= 0x80; /* VALID: INFORMATION holds the offset */
		put_be32(cmd->sense + 3, cmd->miscompare_off);
		return;
	}
	if (cmd->kind == SCSI_K_PARAM) {
		if (cmd->cdb[0] == 0x42)
			unmap_run(lu, cmd);
		else if (cmd->cdb[0] == 0x89)
			compare_and_write_run(lu, cmd);
		else if (cmd->cdb[0] == 0x5f)
			scsi_pr_out_run(lu, cmd);
		else
			write_same_run(lu, cmd);
	}
	/* SBC-3 §5.40: FUA means on the medium before GOOD. */
	if (cmd->status == SCSI_STATUS_GOOD && cmd->fua &&
	    lu->ops->sync(lu->ctx))
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

int scsi_cmd_finish_io(const struct scsi_cmd *cmd)
{
	if (cmd->status != SCSI_STATUS_GOOD)
		return 0;
	/* PERSISTENT RESERVE OUT changes unit state: it stays on the thread
	 * that starts commands. */
	return cmd->fua || (cmd->kind == SCSI_K_PARAM && cmd->cdb[0] != 0x5f);
}

void scsi_cmd_release(struct scsi_cmd *cmd)
{
	free(cmd->data);
	cmd->data = NULL;
	cmd->data_len = 0;
}

void scsi_lu_nexus_gone(struct scsi_lu *lu, const void *nexus)
{
	if (lu->reserved_by == nexus)
		lu->reserved_by = NULL;
}

void scsi_lu_reset(struct scsi_lu *lu)
{
	lu->reserved_by = NULL;
	lu->prevent = 0;
}
