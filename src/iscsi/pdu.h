/* iSCSI PDU layout (RFC 7143 §11): opcodes, field offsets and the small
 * helpers that frame, parse and build Basic Header Segments. */
#ifndef WUPAN_ISCSI_PDU_H
#define WUPAN_ISCSI_PDU_H

#include <stddef.h>
#include <stdint.h>

#define ISCSI_BHS_LEN 48
#define ISCSI_RSVD_TAG 0xffffffffu

/* Initiator opcodes (RFC 7143 §11.1.1). */
#define ISCSI_OP_NOP_OUT 0x00
#define ISCSI_OP_SCSI_CMD 0x01
#define ISCSI_OP_TMF_REQ 0x02
#define ISCSI_OP_LOGIN_REQ 0x03
#define ISCSI_OP_TEXT_REQ 0x04
#define ISCSI_OP_DATA_OUT 0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
#define ISCSI_OP_SNACK 0x10

/* Target opcodes. */
#define ISCSI_OP_NOP_IN 0x20
#define ISCSI_OP_SCSI_RSP 0x21
#define ISCSI_OP_TMF_RSP 0x22
#define ISCSI_OP_LOGIN_RSP 0x23
#define ISCSI_OP_TEXT_RSP 0x24
#define ISCSI_OP_DATA_IN 0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T 0x31
#define ISCSI_OP_ASYNC 0x32
#define ISCSI_OP_REJECT 0x3f

#define ISCSI_IMMEDIATE 0x40
#define ISCSI_FLAG_FINAL 0x80
#define ISCSI_FLAG_CONT 0x40

/* SCSI Command flags (byte 1). */
#define ISCSI_CMD_READ 0x40
#define ISCSI_CMD_WRITE 0x20

/* Data-In / SCSI Response flags (byte 1). */
#define ISCSI_DATAIN_ACK 0x40
#define ISCSI_FLAG_OVERFLOW 0x04
#define ISCSI_FLAG_UNDERFLOW 0x02
#define ISCSI_DATAIN_STATUS 0x01

/* Login flags (byte 1). */
#define ISCSI_LOGIN_TRANSIT 0x80
#define ISCSI_LOGIN_CONT 0x40
#define ISCSI_STAGE_SECURITY 0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL 3

/* Reject reasons (RFC 7143 §11.17.1). */
#define ISCSI_REJECT_DIGEST 0x02
#define ISCSI_REJECT_SNACK 0x03
#define ISCSI_REJECT_PROTOCOL 0x04
#define ISCSI_REJECT_UNSUPPORTED 0x05
#define ISCSI_REJECT_IMMEDIATE 0x06
#define ISCSI_REJECT_INVALID_FIELD 0x09
#define ISCSI_REJECT_WAITING_LOGOUT 0x0c

/* Task management functions and responses (RFC 7143 §11.5, §11.6). */
#define ISCSI_TMF_ABORT_TASK 1
#define ISCSI_TMF_ABORT_TASK_SET 2
#define ISCSI_TMF_CLEAR_ACA 3
#define ISCSI_TMF_CLEAR_TASK_SET 4
#define ISCSI_TMF_LUN_RESET 5
#define ISCSI_TMF_TARGET_WARM_RESET 6
#define ISCSI_TMF_TARGET_COLD_RESET 7
#define ISCSI_TMF_TASK_REASSIGN 8
#define ISCSI_TMF_RSP_COMPLETE 0
#define ISCSI_TMF_RSP_NO_TASK 1
#define ISCSI_TMF_RSP_NO_LUN 2
#define ISCSI_TMF_RSP_NOT_SUPPORTED 5
#define ISCSI_TMF_RSP_REJECTED 255

/* The length fields of a BHS, bounded by what the caller will accept. */
struct iscsi_pdu_lens {
	size_t ahs_len; /* bytes of AHS */
	size_t data_len; /* DataSegmentLength, without padding */
	size_t total; /* whole PDU on the wire, digests included */
};

/* Opcode of a BHS, without the immediate bit. */
static inline uint8_t iscsi_pdu_opcode(const uint8_t *bhs)
{
	return bhs[0] & 0x3f;
}

/* Data segment length padded to a 4-byte boundary. */
static inline size_t iscsi_pad4(size_t len)
{
	return (len + 3) & ~(size_t)3;
}

/*
 * Computes the wire size of the PDU whose BHS is bhs.  Returns 0, or -EMSGSIZE
 * if its data segment is larger than max_data or its AHS larger than max_ahs.
 */
int iscsi_pdu_lens_parse(const uint8_t *bhs, size_t max_ahs, size_t max_data,
			 int header_digest, int data_digest,
			 struct iscsi_pdu_lens *out);

/* Clears bhs and sets its opcode, flags and DataSegmentLength. */
void iscsi_pdu_init(uint8_t *bhs, uint8_t opcode, uint8_t flags,
		    size_t data_len);

/* Decodes an 8-byte LUN field (SAM-5 peripheral or flat addressing);
 * returns the LUN number or -1 for a format this target does not use. */
int iscsi_lun_parse(const uint8_t *p);

/* Encodes a LUN number below 16384 into an 8-byte LUN field. */
void iscsi_lun_build(uint8_t *p, unsigned lun);

/* Serial number arithmetic (RFC 1982 with SERIAL_BITS 32): a < b. */
static inline int iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}

#endif
