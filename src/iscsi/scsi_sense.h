/* SCSI status codes, sense keys and additional sense codes (SAM-5 §5.3,
 * SPC-4 §4.5.6 and Annex D) used by the command set and the connection:
 * named here so no module writes raw numbers. */
#ifndef WUPAN_ISCSI_SCSI_SENSE_H
#define WUPAN_ISCSI_SCSI_SENSE_H

/* Status (SAM-5 §5.3.1); GOOD, CHECK CONDITION and RESERVATION CONFLICT
 * are in scsi.h, which every user includes. */
#define SCSI_STATUS_TASK_SET_FULL 0x28

/* Sense keys. */
#define SK_NO_SENSE 0x00
#define SK_NOT_READY 0x02
#define SK_MEDIUM_ERROR 0x03
#define SK_HARDWARE_ERROR 0x04
#define SK_ILLEGAL_REQUEST 0x05
#define SK_DATA_PROTECT 0x07
#define SK_MISCOMPARE 0x0e

/* Additional sense code and qualifier pairs, for scsi_sense_set's last
 * two arguments. */
#define ASC_WRITE_ERROR 0x0c, 0x00
#define ASC_READ_ERROR 0x11, 0x00
#define ASC_PARAM_LIST_LENGTH 0x1a, 0x00
#define ASC_MISCOMPARE_VERIFY 0x1d, 0x00
#define ASC_INVALID_OPCODE 0x20, 0x00
#define ASC_LBA_OUT_OF_RANGE 0x21, 0x00
#define ASC_INVALID_FIELD_CDB 0x24, 0x00
#define ASC_LUN_NOT_SUPPORTED 0x25, 0x00
#define ASC_INVALID_FIELD_PARAM 0x26, 0x00
#define ASC_INVALID_RELEASE_PR 0x26, 0x04
#define ASC_WRITE_PROTECTED 0x27, 0x00
#define ASC_SPACE_ALLOC_FAILED 0x27, 0x07 /* thin provisioning */
#define ASC_SAVING_NOT_SUPPORTED 0x39, 0x00
#define ASC_INTERNAL_FAILURE 0x44, 0x00
#define ASC_REMOVAL_PREVENTED 0x53, 0x02
#define ASC_PR_NO_ROOM 0x55, 0x04 /* insufficient registration resources */

#endif
