/* SCSI block command set: command dispatch, the command life cycle and
 * RESERVE (6); see scsi.h.  What a unit says about itself is in
 * scsi_info.c, medium access in scsi_media.c, persistent reservations in
 * scsi_pr.c.  Sense codes follow SPC-4 Annex D (scsi_sense.h). */
#include "iscsi/scsi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "iscsi/scsi_int.h"
#include "iscsi/scsi_sense.h"

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

/* Reserves len zeroed bytes of generated Data-In; NULL on ENOMEM. */
uint8_t *scsi_gen_alloc(struct scsi_cmd *cmd, uint32_t len)
{
	free(cmd->data);
	cmd->data = calloc(1, len ? len : 1);
	cmd->data_len = len;
	cmd->kind = SCSI_K_GEN;
	cmd->dir = SCSI_DIR_IN;
	return cmd->data;
}

/* Trims generated data to the allocation length (SPC-4 §4.2.5.6). */
void scsi_gen_done(struct scsi_cmd *cmd, uint32_t used, uint32_t alloc)
{
	cmd->data_len = used;
	cmd->xfer_len = used < alloc ? used : alloc;
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
		return cdb[1] & 1
			       ? scsi_inquiry_vpd(lu, cmd, cdb[2],
						  get_be16(cdb + 3))
			       : scsi_inquiry_std(lu, cmd, get_be16(cdb + 3));
	case 0xa0:
		return scsi_report_luns(map, cmd, cdb);
	case 0x03:
		return scsi_request_sense(lu, cmd, cdb);
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
	if (scsi_media_start(lu, cmd, cdb))
		return 0;
	switch (op) {
	case 0x00: /* TEST UNIT READY */
		return 0;
	case 0x25:
		return scsi_read_capacity(lu, cmd, 0, 8);
	case 0x9e:
		if ((cdb[1] & 0x1f) == 0x12)
			return scsi_get_lba_status(lu, cmd, cdb);
		if ((cdb[1] & 0x1f) != 0x10) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		return scsi_read_capacity(lu, cmd, 1, get_be32(cdb + 10));
	case 0xa3:
		if ((cdb[1] & 0x1f) != 0x0c) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return 0;
		}
		return scsi_report_opcodes(cmd, cdb);
	case 0x1a:
	case 0x5a:
		return scsi_mode_sense(lu, cmd, cdb);
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
			scsi_unmap_run(lu, cmd);
		else if (cmd->cdb[0] == 0x89)
			scsi_compare_and_write_run(lu, cmd);
		else if (cmd->cdb[0] == 0x5f)
			scsi_pr_out_run(lu, cmd);
		else
			scsi_write_same_run(lu, cmd);
	}
	/* SBC-3 §5.40: FUA means on the medium before GOOD. */
	if (cmd->status == SCSI_STATUS_GOOD && cmd->fua)
		scsi_cmd_sync_done(cmd, lu->ops->sync(lu->ctx));
}

int scsi_cmd_finish_sync_only(const struct scsi_cmd *cmd)
{
	return cmd->status == SCSI_STATUS_GOOD && cmd->fua &&
	       cmd->kind != SCSI_K_PARAM &&
	       !(cmd->kind == SCSI_K_COMPARE && cmd->miscompare);
}

void scsi_cmd_sync_done(struct scsi_cmd *cmd, int rc)
{
	if (rc)
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
