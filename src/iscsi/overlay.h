/* A copy-on-write overlay over a read-only golden image: one client's
 * writes land in a sparse file at the golden image's own offsets, and a
 * persistent bitmap (one bit per 512-byte block) says which blocks the
 * overlay holds.  Reads of blocks never written come from the golden
 * image.  Format and crash-safety rules: wupan-target(8), "A ROOM FROM ONE
 * IMAGE". */
#ifndef WUPAN_ISCSI_OVERLAY_H
#define WUPAN_ISCSI_OVERLAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/backend.h"

#define OVL_BLOCK 512u
#define OVL_PAGE 4096u /* bitmap page: 32768 blocks, 16 MiB of disk */
#define OVL_PAGE_BLOCKS (OVL_PAGE * 8u)
#define OVL_HDR_LEN OVL_PAGE /* the map file's header; pages follow */
#define OVL_MAGIC "WUPANOVL"
#define OVL_VERSION 1
#define OVL_BASE_MAX 64 /* golden version an overlay was made on */

/* What a client last did, kept in the map header (fleet.c's boot rule). */
enum ovl_phase {
	OVL_PHASE_FIRMWARE = 0, /* logins so far came from boot firmware */
	OVL_PHASE_OS = 1, /* an operating system has logged in */
};

/* Space shared by the overlays of one directory: blocks allocated to
 * overlay data, and the limit (0: none). */
struct ovl_pool {
	pthread_mutex_t lock;
	uint64_t used; /* 512-byte units, an upper bound */
	uint64_t limit;
	unsigned warned; /* 0, 80 or 90: the last level logged */
};

/* Says that used/limit crossed pct (80 or 90) for one overlay (name) or a
 * directory (name NULL); called on a worker thread. */
typedef void ovl_warn_fn(void *arg, const char *name, unsigned pct,
			 uint64_t used, uint64_t limit);

/* One client's overlay. */
struct ovl {
	/* First: the driver's workers take bf.lock around each disk call
	 * of a unit (COMPARE AND WRITE alone); bf.fd is the data file. */
	struct backend_file bf;
	int golden_fd; /* shared, read-only */
	struct ovl *lower; /* a committed version below, or NULL: golden */
	int map_fd;
	uint64_t blocks; /* of the golden image and the overlay */
	char name[256];
	/* The bitmap: pages allocated on the first bit they hold, dirty
	 * until a sync writes them. */
	pthread_mutex_t lock;
	uint8_t **page;
	uint8_t *dirty;
	size_t n_pages;
	uint64_t set; /* bits set */
	/* Space: blocks allocated to the data file (an upper bound between
	 * fstat refreshes) and in flight. */
	uint64_t used;
	uint64_t reserved;
	uint64_t limit; /* 0: none */
	unsigned warned;
	struct ovl_pool *pool;
	ovl_warn_fn *warn;
	void *warn_arg;
	/* One sync at a time: an older bitmap page must never overwrite a
	 * newer one. */
	pthread_mutex_t sync_lock;
	/* Partial-block writes of blocks not in the overlay read the golden
	 * block, merge and write: one at a time. */
	pthread_mutex_t rmw_lock;
	enum ovl_phase phase;
	char base[OVL_BASE_MAX]; /* golden version it was made on */
	/* Bytes read and written through this overlay since it was opened
	 * (updated atomically; the control socket shows them). */
	uint64_t read_bytes;
	uint64_t write_bytes;
	int punch_ok;
};

/*
 * Opens the overlay NAME.ovl and NAME.map in directory dirfd over the
 * golden image golden_fd of blocks 512-byte blocks, creating them if
 * missing or if fresh is set (the old files are unlinked first; sessions
 * that still hold them keep their own).  base names the golden version a
 * new overlay starts from; an existing one keeps its own.  Returns 0, or a
 * negative errno with the problem in err (-EINVAL: a map file of another
 * format or size).
 */
int ovl_open(struct ovl *o, int dirfd, const char *name, int golden_fd,
	     uint64_t blocks, int fresh, const char *base, char *err,
	     size_t errlen);

/* Syncs and frees everything o holds. */
void ovl_close(struct ovl *o);

/* Reads len bytes at byte offset off, block by block from the layer that
 * holds it.  Returns 0 or a negative errno. */
int ovl_read(struct ovl *o, void *buf, size_t len, uint64_t off);

/* Writes len bytes at off into the overlay.  Returns 0, -ENOSPC when the
 * overlay's or the directory's limit (or the file system) is full, or
 * another negative errno.  Nothing is durable before ovl_sync. */
int ovl_write(struct ovl *o, const void *buf, size_t len, uint64_t off);

/* Makes [off, off + len) (whole blocks) read back as zeros: punches the
 * data file and marks the blocks as the overlay's. */
int ovl_punch(struct ovl *o, uint64_t off, uint64_t len);

/* Puts every completed write on stable storage: the data first, then the
 * bitmap pages that point at it.  Returns 0 or a negative errno. */
int ovl_sync(struct ovl *o);

/* Records the client's phase in the map header (written, not synced). */
int ovl_set_phase(struct ovl *o, enum ovl_phase phase);

/* Returns 1 if block blk is held by the overlay. */
int ovl_has(struct ovl *o, uint64_t blk);

/* Bytes of data the overlay holds (blocks written) and allocates. */
uint64_t ovl_bytes_written(struct ovl *o);
uint64_t ovl_bytes_allocated(struct ovl *o);

/* Sets the space limit (bytes, 0: none) and the directory pool. */
void ovl_set_limit(struct ovl *o, uint64_t limit, struct ovl_pool *pool,
		   ovl_warn_fn *warn, void *warn_arg);

/* Puts o over lower (a committed version, read-only from here on): blocks
 * o does not hold are read from lower, and what lower does not hold from
 * the golden image.  NULL: straight over the golden image. */
void ovl_set_lower(struct ovl *o, struct ovl *lower);

/* Points lu at o (its ops, 512-byte blocks, thin provisioning). */
void ovl_attach(struct ovl *o, struct scsi_lu *lu);

/* Reads the phase and base of an existing overlay without opening it;
 * returns 0 or a negative errno (-ENOENT: none). */
int ovl_peek(int dirfd, const char *name, enum ovl_phase *phase, char *base,
	     size_t baselen);

#endif
