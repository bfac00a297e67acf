/* The command trace of wupan-target (--trace FILE): one text line per SCSI
 * command, written when its status is queued.  The core calls the hook
 * (iscsi_env.trace) as it takes a SCSI Command PDU and as it queues a PDU;
 * this module keeps the time, matches the two by connection and task tag,
 * and buffers the lines for a writer thread, so no reactor ever writes to
 * the file.  Format (one header line starting with '#', then):
 *   T_US SESSION LUN OP LBA BLOCKS DIR EDTL LAT_US STATUS CDB
 * T_US: microseconds from the start of the trace to the command's arrival;
 * SESSION: initiator name ",i,0x" ISID (RFC 7143 §10.1.1's initiator port);
 * OP: the command's name (or OP_xx); LBA, BLOCKS: '-' where the command has
 * none; DIR: r, w or -; EDTL: the bytes the initiator expects to move;
 * LAT_US: arrival to status queued; STATUS: GOOD, CHECK_CONDITION, ...;
 * CDB: the command descriptor block in hex. */
#ifndef WUPAN_ISCSI_TRACE_H
#define WUPAN_ISCSI_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct iscsi_conn;

/* Parts of a CDB a trace line shows. */
struct iscsi_trace_cdb {
	const char *name; /* NULL: unknown opcode */
	int has_lba; /* LBA and blocks apply */
	uint64_t lba;
	uint32_t blocks;
};

/* Decodes the opcode, LBA and block count of cdb (16 bytes). */
void iscsi_trace_cdb_parse(const uint8_t *cdb, struct iscsi_trace_cdb *out);

/* Opens path for the trace (truncating it) and starts its writer thread.
 * Returns 0, or -1 with a message in err. */
int iscsi_trace_open(const char *path, char *err, size_t errlen);

/* The core's hook (iscsi_env.trace): bhs is a SCSI Command PDU just taken,
 * or any PDU about to be queued; any thread. */
void iscsi_trace_pdu(const struct iscsi_conn *c, const uint8_t *bhs);

/* Forgets the commands of c still waiting for status (c is being freed). */
void iscsi_trace_forget(const struct iscsi_conn *c);

/* Writes what is buffered, stops the writer and closes the file. */
void iscsi_trace_close(void);

#endif
