/* Storage backends for scsi_lu: a file or block device (the driver's) and
 * memory (tests and fuzzers). */
#ifndef WUPAN_ISCSI_BACKEND_H
#define WUPAN_ISCSI_BACKEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/config.h"
#include "iscsi/scsi.h"

/* A backing file or block device. */
struct backend_file {
	int fd;
	int punch; /* regular file: holes can be punched */
	/* Disk work of the worker threads takes it shared; COMPARE AND
	 * WRITE takes it alone, so nothing lands between its compare and its
	 * write. */
	pthread_rwlock_t lock;
};

/*
 * Opens path for lu (read-only if ro) and fills lu's size and ops.  Returns
 * 0, or -1 with the problem in err: missing, unreadable, empty or not a
 * multiple of 512 bytes.
 */
int backend_file_open(struct backend_file *bf, struct scsi_lu *lu,
		      const char *path, int ro, char *err, size_t errlen);

/* Syncs and closes. */
void backend_file_close(struct backend_file *bf);

struct iscsi_io;
struct tcfg_ceph;

/* A Ceph RBD image or snapshot (backend_rbd.c). */
struct backend_rbd {
	/* First, as for the other units the disk workers serve: fd -1,
	 * only its lock is used. */
	struct backend_file bf;
	void *ioctx; /* rados_ioctx_t */
	void *image; /* rbd_image_t */
	/* Hands a finished asynchronous io back to its connection's loop;
	 * called on a librbd thread. */
	void (*done)(struct iscsi_io *io);
	uint64_t blocks; /* of 512 bytes */
	int ro;
	struct rbd_gcache_att *gc; /* a room's clone: rbd_gcache.h */
};

/*
 * Opens "POOL/IMAGE[@SNAP]" for lu through the cluster ceph describes
 * (loading librbd and connecting at the first one); a snapshot is always
 * read-only.  Returns 0, or -1 with the problem in err: no librbd, no
 * cluster answering within its timeout, no such pool, snapshot or (then
 * -ENOENT) image.
 */
int backend_rbd_open(struct backend_rbd *br, struct scsi_lu *lu,
		     const char *spec, int ro, const struct tcfg_ceph *ceph,
		     void (*done)(struct iscsi_io *io), char *err,
		     size_t errlen);

/* Flushes and closes; the last image closed disconnects. */
void backend_rbd_close(struct backend_rbd *br);

/* Points another unit at the open br (the sessions of overlay LUNs). */
void backend_rbd_attach(struct backend_rbd *br, struct scsi_lu *lu);

/* Loads librbd and connects as backend_rbd_open does, for the fleet's
 * own calls (fleet_rbd.c): *cluster gets the rados_t every rbd: LUN
 * shares.  Returns 0, or -1 with the problem in err; each success is
 * undone by one backend_rbd_cluster_put. */
int backend_rbd_cluster(const struct tcfg_ceph *ceph, void **cluster, char *err,
			size_t errlen);
void backend_rbd_cluster_put(void);

/* Resolves name in the loaded librbd, then librados; NULL if missing or
 * nothing is loaded yet. */
void *backend_rbd_sym(const char *name);

/* Starts io's READ of len bytes at byte at from the image itself, as
 * backend_rbd_submit does; 0, or -1 when librbd refused it. */
int backend_rbd_read_clone(struct iscsi_io *io, uint64_t at, uint32_t len);

/* Returns 1 if lu is served by backend_rbd. */
int backend_rbd_is(const struct scsi_lu *lu);

/*
 * Starts io of an rbd: unit with librbd's asynchronous calls (READ and
 * WRITE data, the flush of FUA and SYNCHRONIZE CACHE): returns 0 and the
 * unit's done() gets io later, from a librbd thread.  -EAGAIN: io is
 * other medium work (UNMAP, WRITE SAME...) for a disk worker to run.
 */
int backend_rbd_submit(struct iscsi_io *io);

/* A memory image; data must hold blocks * 512 bytes. */
struct backend_mem {
	uint8_t *data;
	size_t size;
	int fail; /* make every call fail, to test error paths */
	int cached; /* read_nowait succeeds (else it says -EAGAIN) */
	int syncs; /* number of sync calls seen */
};

/* Points lu at a memory image with 512-byte blocks. */
void backend_mem_attach(struct backend_mem *bm, struct scsi_lu *lu, int thin);

#endif
