/* The golden cache's pure core (rbd_gcache.c is its librbd side): a
 * bounded, least-recently-used table of fixed-size chunks of immutable
 * parent snapshots, shared by every clone a gateway serves, and the map of
 * a clone's RADOS objects that exist (written or copied up), outside which
 * a clone reads exactly its parent's bytes.  No locking: the caller holds
 * one lock around every gcache_* call; the object map is atomic on its own
 * (marked on any thread, read on the loops). */
#ifndef WUPAN_ISCSI_GCACHE_H
#define WUPAN_ISCSI_GCACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define GCACHE_CHUNK (64u * 1024) /* bytes per chunk */

struct gcache_chunk {
	uint64_t key; /* which parent snapshot */
	uint64_t idx; /* chunk number: bytes idx * GCACHE_CHUNK.. */
	uint8_t *data; /* GCACHE_CHUNK bytes */
	int state; /* GCACHE_LOADING, GCACHE_READY or GCACHE_FAILED */
	unsigned pins; /* users that may still read data */
	void *waiters; /* the caller's, while loading */
	struct gcache_chunk *hnext; /* hash chain */
	struct gcache_chunk *prev, *next; /* recency, most recent first */
};

enum { GCACHE_LOADING, GCACHE_READY, GCACHE_FAILED };

struct gcache {
	size_t cap; /* chunks at most (0: the cache is off) */
	size_t n; /* chunks held, loading ones included */
	size_t n_buckets;
	struct gcache_chunk **buckets;
	struct gcache_chunk lru; /* list head */
	uint64_t hits, misses, evictions;
};

/* Sets gc up for at most cap_bytes of chunks; 0 or -ENOMEM. */
int gcache_init(struct gcache *gc, uint64_t cap_bytes);

/* Changes the bound (chunks beyond it go as they become unpinned). */
void gcache_resize(struct gcache *gc, uint64_t cap_bytes);

/* Frees every chunk; none may be pinned. */
void gcache_free(struct gcache *gc);

/* The chunk idx of parent key, pinned: a ready or loading one that is
 * there (*fresh 0), or a new one in GCACHE_LOADING with its data buffer
 * allocated (*fresh 1: the caller loads it and calls gcache_loaded).  NULL
 * when the cache is off, or full of pinned chunks, or out of memory: the
 * caller then reads past the cache. */
struct gcache_chunk *gcache_get(struct gcache *gc, uint64_t key, uint64_t idx,
				int *fresh);

/* Ends the load of ch: GCACHE_READY when ok, else GCACHE_FAILED (it leaves
 * the table; its users see the state; freed here when it has none). */
void gcache_loaded(struct gcache *gc, struct gcache_chunk *ch, int ok);

/* Drops one pin of ch; a failed chunk is freed with its last pin, and
 * chunks beyond the bound are evicted. */
void gcache_unpin(struct gcache *gc, struct gcache_chunk *ch);

/* Which objects of a clone exist: one bit per object of 2^order bytes. */
struct gcache_objs {
	_Atomic uint8_t *bits;
	uint64_t n; /* objects */
	unsigned order;
};

/* Sets objs up for an image of size bytes in objects of 2^order bytes;
 * 0 or -ENOMEM/-EINVAL. */
int gcache_objs_init(struct gcache_objs *o, uint64_t size, unsigned order);
void gcache_objs_free(struct gcache_objs *o);

/* Marks the objects bytes [off, off + len) touch as existing. */
void gcache_objs_mark(struct gcache_objs *o, uint64_t off, uint64_t len);

/* 1 if any object bytes [off, off + len) touch exists (or lies past the
 * map), else 0. */
int gcache_objs_any(const struct gcache_objs *o, uint64_t off, uint64_t len);

#endif
