/* What a unit says about itself: INQUIRY and its VPD pages, MODE SENSE,
 * REPORT LUNS, REQUEST SENSE, READ CAPACITY, REPORT SUPPORTED OPERATION
 * CODES and GET LBA STATUS, all as generated Data-In (scsi_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "iscsi/scsi_int.h"
#include "iscsi/scsi_sense.h"

/* Standard INQUIRY data (SPC-4 §6.6.2). */
int scsi_inquiry_std(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		     uint32_t alloc)
{
	static const uint16_t versions[] = { 0x00a0, 0x0960, 0x0460, 0x04c0 };
	uint8_t *d = scsi_gen_alloc(cmd, 74);

	if (!d)
		return -ENOMEM;
	d[0] = lu ? 0x00 : 0x7f; /* qualifier 3: no unit at this LUN */
	d[2] = 0x06; /* SPC-4 */
	d[3] = 0x12; /* HISUP, response format 2 */
	d[4] = 74 - 5;
	d[7] = 0x02; /* CMDQUE */
	memcpy(d + 8, "WUPAN   ", 8);
	memcpy(d + 16, "wupan-target    ", 16);
	memcpy(d + 32, "0001", 4);
	for (int i = 0; i < 4; i++)
		put_be16(d + 58 + 2 * i, versions[i]);
	scsi_gen_done(cmd, 74, alloc);
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
	put_be64(d + p + 4,
		 (uint64_t)3 << 60 | (lu->id & 0x0fffffffffffffffull));
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
int scsi_inquiry_vpd(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		     uint8_t page, uint32_t alloc)
{
	static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	uint8_t *d = scsi_gen_alloc(cmd, 512);
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
			put_be32(d + 20, SCSI_VPD_MAX_UNMAP_BLOCKS);
			put_be32(d + 24, SCSI_MAX_UNMAP_DESC);
			put_be32(d + 28, 1);
		}
		put_be64(d + 36, SCSI_VPD_MAX_WS_BLOCKS);
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
	scsi_gen_done(cmd, (uint32_t)len, alloc);
	return 0;
}

/* Appends mode page code to d; returns its length, or 0 if unknown. */
static int mode_page(const struct scsi_lu *lu, uint8_t code, int pc, uint8_t *d)
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
int scsi_mode_sense(const struct scsi_lu *lu, struct scsi_cmd *cmd,
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
	d = scsi_gen_alloc(cmd, 256);
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
			put_be32(d + hdr,
				 nb > 0xffffffffu ? 0xffffffffu : (uint32_t)nb);
		else
			put_be24(d + hdr + 1,
				 nb > 0xffffff ? 0xffffff : (uint32_t)nb);
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
	scsi_gen_done(cmd, (uint32_t)p, alloc);
	return 0;
}

/* REPORT LUNS (SPC-4 §6.33). */
int scsi_report_luns(const struct scsi_lun_map *map, struct scsi_cmd *cmd,
		     const uint8_t *cdb)
{
	uint32_t alloc = get_be32(cdb + 6);
	uint8_t *d;
	size_t n = map->n;

	if (cdb[2] > 2 || alloc < 16) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	d = scsi_gen_alloc(cmd, (uint32_t)(8 + 8 * n));
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
	scsi_gen_done(cmd, (uint32_t)(8 + 8 * n), alloc);
	return 0;
}

/* REQUEST SENSE: this target keeps no deferred sense (SPC-4 §6.39). */
int scsi_request_sense(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       const uint8_t *cdb)
{
	int desc = cdb[1] & 1;
	uint8_t *d = scsi_gen_alloc(cmd, SCSI_SENSE_LEN);
	uint8_t asc = lu ? 0 : 0x25;

	if (!d)
		return -ENOMEM;
	if (desc) {
		d[0] = 0x72;
		d[1] = lu ? SK_NO_SENSE : SK_ILLEGAL_REQUEST;
		d[2] = asc;
		scsi_gen_done(cmd, 8, cdb[4]);
	} else {
		d[0] = 0x70;
		d[2] = lu ? SK_NO_SENSE : SK_ILLEGAL_REQUEST;
		d[7] = SCSI_SENSE_LEN - 8;
		d[12] = asc;
		scsi_gen_done(cmd, SCSI_SENSE_LEN, cdb[4]);
	}
	return 0;
}

/* READ CAPACITY (10) and (16) (SBC-3 §5.15, §5.16). */
int scsi_read_capacity(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       int sixteen, uint32_t alloc)
{
	uint8_t *d = scsi_gen_alloc(cmd, 32);
	uint64_t last = lu->blocks ? lu->blocks - 1 : 0;

	if (!d)
		return -ENOMEM;
	if (!sixteen) {
		put_be32(d, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
		put_be32(d + 4, lu->block_size);
		scsi_gen_done(cmd, 8, 8);
		return 0;
	}
	put_be64(d, last);
	put_be32(d + 8, lu->block_size);
	if (lu->ops->punch)
		d[14] = 0xc0; /* LBPME, LBPRZ */
	scsi_gen_done(cmd, 32, alloc);
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

/* One row per opcode: the table reads as the REPORT SUPPORTED OPERATION
 * CODES answer it produces, so it is kept out of clang-format. */
/* clang-format off */
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
/* clang-format on */

/* Writes a command timeouts descriptor (SPC-4 §6.35.4): none known. */
static void put_timeouts(uint8_t *d)
{
	put_be16(d, 0x0a);
}

/* REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35). */
int scsi_report_opcodes(struct scsi_cmd *cmd, const uint8_t *cdb)
{
	int rctd = cdb[2] & 0x80, opts = cdb[2] & 0x07;
	uint32_t alloc = get_be32(cdb + 6);
	size_t n = sizeof(scsi_ops) / sizeof(scsi_ops[0]);
	uint8_t *d;
	uint32_t p = 4;

	if (opts == 0) {
		d = scsi_gen_alloc(cmd, (uint32_t)(4 + n * 20));
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
		scsi_gen_done(cmd, p, alloc);
		return 0;
	}
	if (opts > 2) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	d = scsi_gen_alloc(cmd, 4 + 16 + 12);
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
		scsi_gen_done(cmd, p, alloc);
		return 0;
	}
	scsi_gen_done(cmd, 4, alloc);
	return 0;
}

/* GET LBA STATUS (SBC-3 §5.6): holes are not tracked, so every block from
 * the one asked for is reported mapped. */
int scsi_get_lba_status(const struct scsi_lu *lu, struct scsi_cmd *cmd,
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
	d = scsi_gen_alloc(cmd, 24);
	if (!d)
		return -ENOMEM;
	left = lu->blocks - lba;
	put_be32(d, 20);
	put_be64(d + 8, lba);
	put_be32(d + 16, left > 0xffffffffu ? 0xffffffffu : (uint32_t)left);
	scsi_gen_done(cmd, 24, alloc);
	return 0;
}
