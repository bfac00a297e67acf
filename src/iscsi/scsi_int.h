/* Shared inside the SCSI command set (scsi.c, scsi_info.c,
 * scsi_media.c): not part of its interface (scsi.h). */
#ifndef WUPAN_ISCSI_SCSI_INT_H
#define WUPAN_ISCSI_SCSI_INT_H

#include <stdint.h>

#include "iscsi/scsi.h"

#define SCSI_VPD_MAX_UNMAP_BLOCKS 0x00100000u /* libiscsi caps it at 1 Mi */
#define SCSI_VPD_MAX_WS_BLOCKS (SCSI_MAX_XFER / 512)

/* Reserves len zeroed bytes of generated Data-In; NULL on ENOMEM. */
uint8_t *scsi_gen_alloc(struct scsi_cmd *cmd, uint32_t len);

/* Trims generated data to the allocation length (SPC-4 §4.2.5.6). */
void scsi_gen_done(struct scsi_cmd *cmd, uint32_t used, uint32_t alloc);

/* The commands of scsi_info.c; each returns 0 or -ENOMEM, with the
 * outcome in cmd. */
int scsi_inquiry_std(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		     uint32_t alloc);
int scsi_inquiry_vpd(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		     uint8_t page, uint32_t alloc);
int scsi_mode_sense(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		    const uint8_t *cdb);
int scsi_report_luns(const struct scsi_lun_map *map, struct scsi_cmd *cmd,
		     const uint8_t *cdb);
int scsi_request_sense(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       const uint8_t *cdb);
int scsi_read_capacity(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		       int sixteen, uint32_t alloc);
int scsi_report_opcodes(struct scsi_cmd *cmd, const uint8_t *cdb);
int scsi_get_lba_status(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			const uint8_t *cdb);

/* Decodes a medium access command (scsi_media.c); returns 1 if op is
 * one, else 0. */
int scsi_media_start(const struct scsi_lu *lu, struct scsi_cmd *cmd,
		     const uint8_t *cdb);

/* The medium work of buffered commands, run by scsi_cmd_finish. */
void scsi_write_same_run(struct scsi_lu *lu, struct scsi_cmd *cmd);
void scsi_compare_and_write_run(struct scsi_lu *lu, struct scsi_cmd *cmd);
void scsi_unmap_run(struct scsi_lu *lu, struct scsi_cmd *cmd);

#endif
