/* Medium access: decoding of READ, WRITE, VERIFY, COMPARE AND WRITE,
 * ORWRITE, WRITE SAME, UNMAP, PRE-FETCH and SYNCHRONIZE CACHE, the Data-In
 * and Data-Out of those commands, and the work scsi_cmd_finish runs for the
 * buffered ones (scsi_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "iscsi/scsi_int.h"
#include "iscsi/scsi_sense.h"

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
	    (blocks > SCSI_VPD_MAX_WS_BLOCKS && !(to_end && unmap)) ||
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
int scsi_media_start(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		     const uint8_t *cdb)
{
	uint64_t lba, blocks;
	uint8_t op = cdb[0];
	int prot = cdb[1] >> 5;

	switch (op) {
	case 0x08:
	case 0x28:
	case 0xa8:
	case 0x88: /* READ */
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
	case 0x34:
	case 0x90: /* PRE-FETCH: the page cache does it anyway */
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
	case 0x0a:
	case 0x2a:
	case 0xaa:
	case 0x8a: /* WRITE */
	case 0x2e:
	case 0xae:
	case 0x8e: /* WRITE AND VERIFY */
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
	case 0x2f:
	case 0xaf:
	case 0x8f: { /* VERIFY */
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
	case 0x35:
	case 0x91: /* SYNCHRONIZE CACHE */
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
	case 0x41:
	case 0x93:
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

int scsi_cmd_medium_range(const struct scsi_lu *lu, const struct scsi_cmd *cmd,
			  int write, uint32_t off, uint32_t *len, uint64_t *at)
{
	if (write) {
		if (cmd->kind != SCSI_K_WRITE ||
		    cmd->status != SCSI_STATUS_GOOD || off >= cmd->xfer_len)
			return -1;
		if (*len > cmd->xfer_len - off)
			*len = cmd->xfer_len - off;
	} else if (cmd->kind != SCSI_K_READ || off > cmd->xfer_len ||
		   *len > cmd->xfer_len - off) {
		return -1;
	}
	*at = cmd->lba * lu->block_size + off;
	return 0;
}

int scsi_cmd_medium_done(struct scsi_cmd *cmd, int write, int rc)
{
	if (!rc)
		return 0;
	if (write)
		write_failed(cmd, rc);
	else
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_READ_ERROR);
	return -EIO;
}

int scsi_cmd_read(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
		  uint8_t *buf, uint32_t len)
{
	uint64_t at;

	if (cmd->kind == SCSI_K_GEN) {
		if (off > cmd->data_len || len > cmd->data_len - off)
			return -EINVAL;
		memcpy(buf, cmd->data + off, len);
		return 0;
	}
	if (scsi_cmd_medium_range(lu, cmd, 0, off, &len, &at))
		return -EINVAL;
	return scsi_cmd_medium_done(cmd, 0,
				    lu->ops->read(lu->ctx, buf, len, at));
}

int scsi_cmd_read_map(struct scsi_lu *lu, const struct scsi_cmd *cmd,
		      uint32_t off, uint32_t len, int *fd, uint64_t *foff)
{
	if (!lu->ops->map_cached || cmd->kind != SCSI_K_READ ||
	    off > cmd->xfer_len || len > cmd->xfer_len - off)
		return -EAGAIN;
	return lu->ops->map_cached(lu->ctx, len,
				   cmd->lba * lu->block_size + off, fd, foff)
		       ? -EAGAIN
		       : 0;
}

int scsi_cmd_read_nowait(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
			 uint8_t *buf, uint32_t len)
{
	int rc;

	if (!lu->ops->read_nowait || cmd->kind != SCSI_K_READ ||
	    off > cmd->xfer_len || len > cmd->xfer_len - off)
		return -EAGAIN;
	rc = lu->ops->read_nowait(lu->ctx, buf, len,
				  cmd->lba * lu->block_size + off);
	if (rc == -EAGAIN)
		return rc;
	if (rc) {
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
	case SCSI_K_WRITE:
		scsi_cmd_medium_done(cmd, 1,
				     lu->ops->write(lu->ctx, buf, len, at));
		break;
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
				scsi_sense_set(cmd, SK_HARDWARE_ERROR,
					       ASC_INTERNAL_FAILURE);
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
void scsi_write_same_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
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
		scsi_sense_set(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_FAILURE);
		return;
	}
	for (uint32_t i = 0; i < per; i++) {
		if (pat)
			memcpy(run + (size_t)i * bs, pat, bs);
		else
			memset(run + (size_t)i * bs, 0, bs);
	}
	for (uint32_t done = 0; done < cmd->blocks;) {
		uint32_t n = cmd->blocks - done < per ? cmd->blocks - done
						      : per;
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
void scsi_compare_and_write_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
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
			scsi_sense_set(cmd, SK_MISCOMPARE,
				       ASC_MISCOMPARE_VERIFY);
			cmd->sense[0] |=
				0x80; /* VALID: INFORMATION is the offset */
			put_be32(cmd->sense + 3, i);
			return;
		}
	}
	if (lu->ops->write(lu->ctx, cmd->data + half, half, at))
		scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
}

/* Checks an UNMAP parameter list (SBC-3 §5.28.2), every descriptor before
 * anything changes, and fills r with its non-empty ranges; returns their
 * number, or 0 with the sense set. */
static int unmap_ranges(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			struct scsi_range *r)
{
	const uint8_t *d = cmd->data;
	uint32_t len = cmd->data_len, dlen;
	int n_r = 0;

	if (len < 8) {
		if (len)
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_PARAM_LIST_LENGTH);
		return 0;
	}
	dlen = get_be16(d + 2);
	if (dlen > len - 8 || dlen % 16 || dlen / 16 > SCSI_MAX_UNMAP_DESC) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return 0;
	}
	for (uint32_t p = 8; p < 8 + dlen; p += 16) {
		uint64_t lba = get_be64(d + p);
		uint32_t n = get_be32(d + p + 8);

		if (lba > lu->blocks || n > lu->blocks - lba) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_LBA_OUT_OF_RANGE);
			return 0;
		}
		if (n > SCSI_VPD_MAX_UNMAP_BLOCKS) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_PARAM);
			return 0;
		}
		if (n) {
			r[n_r].off = lba * lu->block_size;
			r[n_r++].len = (uint64_t)n * lu->block_size;
		}
	}
	return n_r;
}

int scsi_cmd_discard_ranges(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			    struct scsi_range *r)
{
	if (cmd->status != SCSI_STATUS_GOOD || cmd->kind != SCSI_K_PARAM ||
	    cmd->fua || !lu->ops->punch)
		return -1;
	if (cmd->cdb[0] == 0x42)
		return unmap_ranges(lu, cmd, r);
	if ((cmd->cdb[0] != 0x41 && cmd->cdb[0] != 0x93) ||
	    !(cmd->cdb[1] & 0x08))
		return -1;
	/* WRITE SAME with UNMAP: as scsi_write_same_run. */
	if (cmd->dir == SCSI_DIR_OUT && cmd->data_len < lu->block_size) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	r[0].off = cmd->lba * lu->block_size;
	r[0].len = (uint64_t)cmd->blocks * lu->block_size;
	return r[0].len ? 1 : 0;
}

/* Runs an UNMAP parameter list (SBC-3 §5.28.2). */
void scsi_unmap_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	struct scsi_range r[SCSI_MAX_UNMAP_DESC];
	int n = unmap_ranges(lu, cmd, r);

	for (int i = 0; i < n; i++) {
		if (lu->ops->punch(lu->ctx, r[i].off, r[i].len)) {
			scsi_sense_set(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR);
			return;
		}
	}
}
