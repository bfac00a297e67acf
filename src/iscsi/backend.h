/* Storage backends for scsi_lu: a file or block device (the driver's) and
 * memory (tests and fuzzers). */
#ifndef WUPAN_ISCSI_BACKEND_H
#define WUPAN_ISCSI_BACKEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/scsi.h"

/* A backing file or block device. */
struct backend_file {
	int fd;
	int punch;  /* regular file: holes can be punched */
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

/* A memory image; data must hold blocks * 512 bytes. */
struct backend_mem {
	uint8_t *data;
	size_t size;
	int fail;   /* make every call fail, to test error paths */
	int cached; /* read_nowait succeeds (else it says -EAGAIN) */
	int syncs;  /* number of sync calls seen */
};

/* Points lu at a memory image with 512-byte blocks. */
void backend_mem_attach(struct backend_mem *bm, struct scsi_lu *lu, int thin);

#endif
