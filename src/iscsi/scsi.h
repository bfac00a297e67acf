/* The SCSI command set of a direct-access block device (SPC-4/SBC-3 subset)
 * over a backend interface.  Pure: storage is reached only through
 * struct scsi_backend_ops, so tests and fuzzers use a memory backend. */
#ifndef WUPAN_ISCSI_SCSI_H
#define WUPAN_ISCSI_SCSI_H

#include <stddef.h>
#include <stdint.h>

#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK 0x02
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18

#define SCSI_SENSE_LEN 18
#define SCSI_MAX_XFER (16u << 20) /* largest transfer one command may ask */
#define SCSI_MAX_PARAM (64u << 10) /* largest parameter list we buffer */
#define SCSI_MAX_LUNS 256
#define SCSI_MAX_UNMAP_DESC 256
#define SCSI_MAX_CAW 16 /* blocks one COMPARE AND WRITE may cover */

/* Storage of one logical unit.  Each call returns 0 or a negative errno. */
struct scsi_backend_ops {
	int (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	int (*write)(void *ctx, const void *buf, size_t len, uint64_t off);
	/* Puts every completed write on stable storage. */
	int (*sync)(void *ctx);
	/* Deallocates a byte range so it reads back as zeros; NULL when the
	 * storage cannot (the unit is then fully provisioned). */
	int (*punch)(void *ctx, uint64_t off, uint64_t len);
	/* Reads only if that cannot block (the data is cached): -EAGAIN
	 * otherwise.  NULL when the storage cannot tell. */
	int (*read_nowait)(void *ctx, void *buf, size_t len, uint64_t off);
	/* Says where [off, off + len) lies in one file whose pages are all
	 * in the page cache, so it can be sent with sendfile(2) with neither
	 * a copy nor a wait for the disk: 0 with *fd and *foff set, -EAGAIN
	 * when not all of it is cached.  NULL when the data is not one plain
	 * file (memory, overlays). */
	int (*map_cached)(void *ctx, size_t len, uint64_t off, int *fd,
			  uint64_t *foff);
};

#define SCSI_PR_MAX_REGS 32
#define SCSI_PORT_NAME_MAX 256 /* initiator name, ",i,0x" and the ISID */

/* A persistent reservation registration (SPC-4 §5.12.6). */
struct scsi_pr_reg {
	char port[SCSI_PORT_NAME_MAX];
	uint64_t key;
};

/* Persistent reservation state of a unit (kept while the target runs;
 * APTPL is not offered). */
struct scsi_pr {
	struct scsi_pr_reg regs[SCSI_PR_MAX_REGS];
	size_t n;
	uint32_t generation;
	int held;
	uint8_t type;
	char holder[SCSI_PORT_NAME_MAX];
};

/* One logical unit. */
struct scsi_lu {
	const struct scsi_backend_ops *ops;
	void *ctx;
	uint64_t blocks;
	uint32_t block_size;
	int ro;
	int no_reservations; /* refuse RESERVE(6) and PR OUT (also when ro) */
	uint64_t id; /* unique 60-bit identifier (NAA, serial) */
	const char *target; /* target name for VPD 0x83 */
	int prevent; /* PREVENT ALLOW MEDIUM REMOVAL state */
	const void *reserved_by; /* RESERVE(6) holder, or NULL */
	struct scsi_pr pr;
};

/* What a command does with its data. */
enum scsi_kind {
	SCSI_K_NONE, /* no data */
	SCSI_K_GEN, /* Data-In generated into cmd->data */
	SCSI_K_READ, /* Data-In read from the medium */
	SCSI_K_WRITE, /* Data-Out written to the medium as it arrives */
	SCSI_K_COMPARE, /* Data-Out compared with the medium (VERIFY) */
	SCSI_K_PARAM, /* Data-Out buffered, then executed */
	SCSI_K_ORWRITE, /* Data-Out ORed into the medium */
};

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_IN, SCSI_DIR_OUT };

/* One command from CDB to status. */
struct scsi_cmd {
	uint8_t cdb[16];
	enum scsi_kind kind;
	enum scsi_dir dir;
	uint64_t lba;
	uint32_t blocks;
	uint32_t xfer_len; /* bytes the CDB moves */
	int fua;
	uint8_t status;
	uint8_t sense[SCSI_SENSE_LEN];
	uint8_t sense_len;
	uint8_t *data; /* generated Data-In or buffered Data-Out */
	uint32_t data_len;
	int miscompare;
	uint32_t miscompare_off;
	const void *nexus; /* the I_T nexus issuing it (RESERVE(6)) */
	const char *port; /* its initiator port name (persistent
			      * reservations) */
};

/* The logical units of one target, as REPORT LUNS sees them. */
struct scsi_lun_map {
	struct scsi_lu **luns;
	size_t n;
};

/*
 * Decodes a CDB for LUN lun and executes what needs no medium access.  The
 * outcome is in cmd: kind/dir/xfer_len say what data moves; a CHECK
 * CONDITION status means no data moves.  A command without Data-Out still
 * goes through scsi_cmd_finish (SYNCHRONIZE CACHE flushes there).  Returns
 * 0 or -ENOMEM.  Threads: the unit state (reservations) is read and changed
 * here, so one thread starts every command of a unit.
 */
int scsi_cmd_start(const struct scsi_lun_map *map, unsigned lun,
		   const uint8_t *cdb, const void *nexus, const char *port,
		   struct scsi_cmd *cmd);

/* Fills buf with len bytes of Data-In at byte offset off.  Returns 0, or
 * -EIO after setting a MEDIUM ERROR status. */
int scsi_cmd_read(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
		  uint8_t *buf, uint32_t len);

/* Like scsi_cmd_read for a medium READ, but only when it cannot block:
 * -EAGAIN (command untouched) when the data is not at hand, so the caller
 * hands the read to a worker instead. */
int scsi_cmd_read_nowait(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
			 uint8_t *buf, uint32_t len);

/* Like scsi_cmd_read_nowait, but finds the data in a file instead of
 * copying it (scsi_backend_ops.map_cached): 0 with *fd and *foff set, or
 * -EAGAIN (command untouched) to read it the usual way. */
int scsi_cmd_read_map(struct scsi_lu *lu, const struct scsi_cmd *cmd,
		      uint32_t off, uint32_t len, int *fd, uint64_t *foff);

/* Takes len bytes of Data-Out at byte offset off (bounded by xfer_len). */
void scsi_cmd_write(struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t off,
		    const uint8_t *buf, uint32_t len);

/*
 * For a backend that moves data itself, asynchronously (backend_rbd.c):
 * scsi_cmd_medium_range gives the byte range [*at, *at + *len) of the
 * medium that scsi_cmd_read (write 0) or scsi_cmd_write (write 1) of len
 * bytes at off would touch, and returns 0; or -1 when that call does
 * something else (generated data, VERIFY, ORWRITE, parameter data, an
 * earlier failure): the caller then runs the call itself.  After the
 * transfer, scsi_cmd_medium_done records its outcome rc (0 or a negative
 * errno) as those calls would, and returns 0 or -EIO.
 */
int scsi_cmd_medium_range(const struct scsi_lu *lu, const struct scsi_cmd *cmd,
			  int write, uint32_t off, uint32_t *len, uint64_t *at);
int scsi_cmd_medium_done(struct scsi_cmd *cmd, int write, int rc);

/* A byte range of the medium. */
struct scsi_range {
	uint64_t off;
	uint64_t len;
};

/*
 * For a backend that discards asynchronously: when scsi_cmd_finish would
 * only punch ranges (UNMAP; WRITE SAME with UNMAP on a thin unit), checks
 * the command as it would (a bad parameter list sets the sense), puts the
 * non-empty ranges in r (room for SCSI_MAX_UNMAP_DESC) and returns their
 * number, 0 when nothing is left to do.  Returns -1 for any other command:
 * the caller runs scsi_cmd_finish.  scsi_cmd_sync_done records a failed
 * discard.
 */
int scsi_cmd_discard_ranges(const struct scsi_lu *lu, struct scsi_cmd *cmd,
			    struct scsi_range *r);

/* Returns 1 if all scsi_cmd_finish has left to do is a sync (FUA,
 * SYNCHRONIZE CACHE); scsi_cmd_sync_done then records its outcome. */
int scsi_cmd_finish_sync_only(const struct scsi_cmd *cmd);
void scsi_cmd_sync_done(struct scsi_cmd *cmd, int rc);

/* Ends a command whose Data-Out has all arrived: runs buffered commands and
 * FUA syncs, and sets the final status.  scsi_cmd_read, scsi_cmd_write and,
 * when scsi_cmd_finish_io says so, scsi_cmd_finish may run on a worker
 * thread: they touch only the command and the backend. */
void scsi_cmd_finish(struct scsi_lu *lu, struct scsi_cmd *cmd);

/* Returns 1 if scsi_cmd_finish will access the medium (a flush, WRITE
 * SAME, UNMAP, COMPARE AND WRITE), 0 if it is quick and must stay on the
 * thread that starts commands. */
int scsi_cmd_finish_io(const struct scsi_cmd *cmd);

/* Frees what a command holds. */
void scsi_cmd_release(struct scsi_cmd *cmd);

/* Sets CHECK CONDITION with fixed-format sense (SPC-4 §4.5.3). */
void scsi_sense_set(struct scsi_cmd *cmd, uint8_t key, uint8_t asc,
		    uint8_t ascq);

/* Clears state an I_T nexus holds on lu (reservation) after its loss or a
 * reset. */
void scsi_lu_nexus_gone(struct scsi_lu *lu, const void *nexus);

/* PERSISTENT RESERVE IN (scsi_pr.c); returns 0 or -ENOMEM. */
int scsi_pr_in(const struct scsi_lu *lu, struct scsi_cmd *cmd,
	       const uint8_t *cdb);

/* Checks a PERSISTENT RESERVE OUT CDB and sets up its parameter list. */
void scsi_pr_out_start(struct scsi_lu *lu, struct scsi_cmd *cmd,
		       const uint8_t *cdb);

/* Runs PERSISTENT RESERVE OUT once its parameter list is in. */
void scsi_pr_out_run(struct scsi_lu *lu, struct scsi_cmd *cmd);

/* Returns 1 if a persistent reservation keeps port from running op. */
int scsi_pr_conflict(const struct scsi_lu *lu, uint8_t op, const char *port);

/* Resets lu as a LOGICAL UNIT RESET does. */
void scsi_lu_reset(struct scsi_lu *lu);

#endif
