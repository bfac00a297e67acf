/* The golden cache on RBD (rbd_gcache.c, core in gcache.c): one
 * gateway-wide, bounded, read-only cache of the parent snapshots of the
 * room's clones, used for a clone's READ only where the clone's RADOS
 * objects have never been written (wupan-target(8), golden-cache). */
#ifndef WUPAN_ISCSI_RBD_GCACHE_H
#define WUPAN_ISCSI_RBD_GCACHE_H

#include <stdint.h>

struct backend_rbd;
struct iscsi_io;
struct tcfg_ceph;

/* Bytes the cache holds at most when ceph names no bound. */
#define RBD_GCACHE_DEFAULT (256ull << 20)

/* Attaches the cache to br, an open clone whose exclusive lock this
 * gateway holds (nobody else writes it); fresh: it was just made, so none
 * of its objects exists.  Without a parent, with the cache off, or on any
 * error, br reads through librbd alone (said in the log). */
void rbd_gcache_attach(struct backend_rbd *br, const struct tcfg_ceph *ceph,
		       int fresh);

/* Detaches br's cache state (before the image closes). */
void rbd_gcache_detach(struct backend_rbd *br);

/* Closes the parents no clone uses any more, and when none is left frees
 * the cache, logging what it did (a room's LUN closes). */
void rbd_gcache_trim(void);

/* Records that bytes [off, off + len) of br are written or discarded:
 * their objects read from the clone from now on.  Call before the write
 * is sent. */
void rbd_gcache_mark(struct backend_rbd *br, uint64_t off, uint64_t len);

/* Serves a READ of len bytes at byte at from the cache: 0 when it took
 * io (answered through br->done, maybe before this returns), -EAGAIN when
 * the clone must be read instead. */
int rbd_gcache_read(struct backend_rbd *br, struct iscsi_io *io, uint64_t at,
		    uint32_t len);

#endif
