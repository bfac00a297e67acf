/* The golden cache on RBD: see rbd_gcache.h.  Every clone of a room reads
 * mostly the same unwritten regions of one immutable parent snapshot, and
 * each open clone has a librbd parent context of its own, so without this
 * N clients read the same golden bytes N times from the OSDs.  Here one
 * read-only handle per parent snapshot fills a shared table of chunks
 * (gcache.c), and a chunk being loaded is waited for, not read again.
 * A clone's READ uses it only when every RADOS object the READ touches is
 * absent from the clone: librbd copies up whole objects, so an object the
 * clone has is read from the clone, one it lacks reads exactly the
 * parent's bytes.  The clone's objects are learned when it opens
 * (rbd_diff_iterate2 without its parent, whole objects) and marked on
 * every write and discard this gateway sends; it holds the clone's
 * exclusive lock, so nobody else writes it. */
#include "iscsi/rbd_gcache.h"

#include <errno.h>
#include <pthread.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "iscsi/backend.h"
#include "iscsi/config.h"
#include "iscsi/conn.h"
#include "iscsi/gcache.h"

/* The librbd and librados calls used here, resolved once. */
static struct {
	int loaded;
	__typeof__(rados_ioctx_create2) *rados_ioctx_create2;
	__typeof__(rados_ioctx_destroy) *rados_ioctx_destroy;
	__typeof__(rbd_get_parent) *rbd_get_parent;
	__typeof__(rbd_linked_image_spec_cleanup) *rbd_linked_image_spec_cleanup;
	__typeof__(rbd_snap_spec_cleanup) *rbd_snap_spec_cleanup;
	__typeof__(rbd_get_overlap) *rbd_get_overlap;
	__typeof__(rbd_stat) *rbd_stat;
	__typeof__(rbd_diff_iterate2) *rbd_diff_iterate2;
	__typeof__(rbd_open_by_id_read_only) *rbd_open_by_id_read_only;
	__typeof__(rbd_snap_set_by_id) *rbd_snap_set_by_id;
	__typeof__(rbd_get_size) *rbd_get_size;
	__typeof__(rbd_close) *rbd_close;
	__typeof__(rbd_aio_create_completion) *rbd_aio_create_completion;
	__typeof__(rbd_aio_read) *rbd_aio_read;
	__typeof__(rbd_aio_get_return_value) *rbd_aio_get_return_value;
	__typeof__(rbd_aio_release) *rbd_aio_release;
} F;

#define GSYM(name)                                   \
	{                                            \
#name, offsetof(__typeof__(F), name) \
	}
static const struct {
	const char *name;
	size_t off;
} gsyms[] = {
	GSYM(rados_ioctx_create2),
	GSYM(rados_ioctx_destroy),
	GSYM(rbd_get_parent),
	GSYM(rbd_linked_image_spec_cleanup),
	GSYM(rbd_snap_spec_cleanup),
	GSYM(rbd_get_overlap),
	GSYM(rbd_stat),
	GSYM(rbd_diff_iterate2),
	GSYM(rbd_open_by_id_read_only),
	GSYM(rbd_snap_set_by_id),
	GSYM(rbd_get_size),
	GSYM(rbd_close),
	GSYM(rbd_aio_create_completion),
	GSYM(rbd_aio_read),
	GSYM(rbd_aio_get_return_value),
	GSYM(rbd_aio_release),
};

/* One parent snapshot, open read-only for the gateway's lifetime. */
struct gparent {
	uint64_t key; /* its chunks' key in the table */
	int64_t pool;
	char *image_id;
	uint64_t snap_id;
	rados_ioctx_t io;
	rbd_image_t img;
	uint64_t size;
	unsigned refs; /* clones attached */
	struct gparent *next;
};

/* A clone's side: its parent and which of its objects exist. */
struct rbd_gcache_att {
	struct gparent *p;
	struct gcache_objs objs;
	uint64_t overlap; /* bytes of the clone its parent shows through */
};

static struct {
	pthread_mutex_t lock; /* the table, the parents, the waiters */
	struct gcache gc;
	int ready;
	struct gparent *parents;
	uint64_t next_key;
} G = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A READ served from chunks: answered when the last one is there. */
struct greq {
	struct iscsi_io *io;
	struct backend_rbd *br;
	uint64_t at;
	uint32_t len;
	atomic_int left;
	atomic_int failed;
	size_t n;
	struct gcache_chunk *ch[];
};

/* One READ waiting for a loading chunk (a chunk's waiters list). */
struct gwait {
	struct greq *req;
	struct gwait *next;
};

/* A chunk load in flight. */
struct gload {
	struct gcache_chunk *ch;
	uint64_t len; /* bytes asked of the parent */
};

static int syms_load(void)
{
	if (F.loaded)
		return 0;
	for (size_t i = 0; i < sizeof(gsyms) / sizeof(gsyms[0]); i++) {
		void *p = backend_rbd_sym(gsyms[i].name);

		if (!p)
			return -1;
		memcpy((char *)&F + gsyms[i].off, &p, sizeof(p));
	}
	F.loaded = 1;
	return 0;
}

/* The bound ceph sets (golden-cache), in bytes. */
static uint64_t bound(const struct tcfg_ceph *ceph)
{
	return ceph->cache_set ? (uint64_t)ceph->cache_mib << 20
			       : RBD_GCACHE_DEFAULT;
}

/* The parent (pool, image id, snapshot id) among the open ones, with one
 * more reference (G.lock held); NULL if not open. */
static struct gparent *parent_find(int64_t pool, const char *image_id,
				   uint64_t snap_id)
{
	for (struct gparent *p = G.parents; p; p = p->next)
		if (p->pool == pool && p->snap_id == snap_id &&
		    !strcmp(p->image_id, image_id)) {
			p->refs++;
			return p;
		}
	return NULL;
}

/* Closes a parent no clone uses (G.lock not held: librbd's threads may
 * need to run, and its callbacks take G.lock). */
static void parent_close(struct gparent *p)
{
	F.rbd_close(p->img);
	F.rados_ioctx_destroy(p->io);
	backend_rbd_cluster_put();
	free(p->image_id);
	free(p);
}

/* The open parent (pool, image id, snapshot id), opened on first use
 * (G.lock not held, as for parent_close); NULL on error. */
static struct gparent *parent_get(const struct tcfg_ceph *ceph, int64_t pool,
				  const char *image_id, uint64_t snap_id)
{
	struct gparent *p, *had;
	char err[256];
	void *cluster;

	pthread_mutex_lock(&G.lock);
	p = parent_find(pool, image_id, snap_id);
	pthread_mutex_unlock(&G.lock);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->image_id = strdup(image_id)))
		goto err_alloc;
	if (backend_rbd_cluster(ceph, &cluster, err, sizeof(err)))
		goto err_alloc;
	if (F.rados_ioctx_create2((rados_t)cluster, pool, &p->io))
		goto err_cluster;
	if (F.rbd_open_by_id_read_only(p->io, image_id, &p->img, NULL))
		goto err_io;
	if (F.rbd_snap_set_by_id(p->img, snap_id) ||
	    F.rbd_get_size(p->img, &p->size))
		goto err_img;
	p->pool = pool;
	p->snap_id = snap_id;
	p->refs = 1;
	pthread_mutex_lock(&G.lock);
	/* Another clone's login may have opened it meanwhile. */
	had = parent_find(pool, image_id, snap_id);
	if (!had) {
		p->key = ++G.next_key;
		p->next = G.parents;
		G.parents = p;
	}
	pthread_mutex_unlock(&G.lock);
	if (had)
		parent_close(p);
	return had ? had : p;
err_img:
	F.rbd_close(p->img);
err_io:
	F.rados_ioctx_destroy(p->io);
err_cluster:
	backend_rbd_cluster_put();
err_alloc:
	if (p)
		free(p->image_id);
	free(p);
	return NULL;
}

/* rbd_diff_iterate2's callback: an extent the clone itself has. */
static int extent_cb(uint64_t off, size_t len, int exists, void *arg)
{
	if (exists)
		gcache_objs_mark(arg, off, len);
	return 0;
}

void rbd_gcache_attach(struct backend_rbd *br, const struct tcfg_ceph *ceph,
		       int fresh)
{
	rbd_linked_image_spec_t ps;
	rbd_snap_spec_t ss;
	rbd_image_info_t info;
	struct rbd_gcache_att *a;
	const char *why = "out of memory";
	int rc;

	br->gc = NULL;
	pthread_mutex_lock(&G.lock);
	if (!G.ready) {
		if (gcache_init(&G.gc, bound(ceph))) {
			pthread_mutex_unlock(&G.lock);
			return;
		}
		G.ready = 1;
	}
	gcache_resize(&G.gc, bound(ceph));
	pthread_mutex_unlock(&G.lock);
	if (!bound(ceph))
		return;
	if (syms_load()) {
		log_line(
			"golden cache: this librbd lacks a call it needs: off");
		return;
	}
	rc = F.rbd_get_parent(br->image, &ps, &ss);
	if (rc == -ENOENT)
		return; /* no parent: nothing to share */
	if (rc) {
		log_line("golden cache: cannot learn a clone's parent: %s",
			 strerror(-rc));
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		goto err_spec;
	if (ps.pool_namespace[0] || ps.trash) {
		why = "its parent is in a namespace or the trash";
		goto err_att;
	}
	why = "cannot read its size or overlap";
	if (F.rbd_stat(br->image, &info, sizeof(info)) ||
	    F.rbd_get_overlap(br->image, &a->overlap))
		goto err_att;
	why = "out of memory";
	if (gcache_objs_init(&a->objs, info.size, (unsigned)info.order))
		goto err_att;
	why = "cannot list its objects";
	if (!fresh && F.rbd_diff_iterate2(br->image, NULL, 0, info.size, 0, 1,
					  extent_cb, &a->objs))
		goto err_objs;
	why = "cannot open its parent";
	a->p = parent_get(ceph, ps.pool_id, ps.image_id, ss.id);
	if (!a->p)
		goto err_objs;
	F.rbd_linked_image_spec_cleanup(&ps);
	F.rbd_snap_spec_cleanup(&ss);
	br->gc = a;
	return;
err_objs:
	gcache_objs_free(&a->objs);
err_att:
	free(a);
	log_line("golden cache: a clone of %s/%s@%s reads without it: %s",
		 ps.pool_name, ps.image_name, ss.name, why);
err_spec:
	F.rbd_linked_image_spec_cleanup(&ps);
	F.rbd_snap_spec_cleanup(&ss);
}

void rbd_gcache_detach(struct backend_rbd *br)
{
	if (!br->gc)
		return;
	pthread_mutex_lock(&G.lock);
	br->gc->p->refs--;
	pthread_mutex_unlock(&G.lock);
	gcache_objs_free(&br->gc->objs);
	free(br->gc);
	br->gc = NULL;
}

void rbd_gcache_trim(void)
{
	struct gparent *idle = NULL;

	pthread_mutex_lock(&G.lock);
	for (struct gparent **pp = &G.parents; *pp;) {
		struct gparent *p = *pp;

		if (p->refs) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = idle;
		idle = p;
	}
	if (G.ready && !G.parents) {
		if (G.gc.hits || G.gc.misses)
			log_line("golden cache: %llu chunk reads from the "
				 "cache, %llu from the parents, %llu "
				 "evicted",
				 (unsigned long long)G.gc.hits,
				 (unsigned long long)G.gc.misses,
				 (unsigned long long)G.gc.evictions);
		gcache_free(&G.gc);
		G.ready = 0;
	}
	pthread_mutex_unlock(&G.lock);
	while (idle) {
		struct gparent *next = idle->next;

		parent_close(idle);
		idle = next;
	}
}

void rbd_gcache_mark(struct backend_rbd *br, uint64_t off, uint64_t len)
{
	if (br->gc)
		gcache_objs_mark(&br->gc->objs, off, len);
}

/* Unpins the chunks of req (G.lock not held). */
static void req_unpin(struct greq *req)
{
	pthread_mutex_lock(&G.lock);
	for (size_t i = 0; i < req->n; i++)
		gcache_unpin(&G.gc, req->ch[i]);
	pthread_mutex_unlock(&G.lock);
}

/* Answers req's READ from its chunks, all loaded now; after a failed load
 * it reads the clone instead. */
static void req_finish(struct greq *req)
{
	struct iscsi_io *io = req->io;
	struct backend_rbd *br = req->br;
	uint64_t first = req->at / GCACHE_CHUNK;

	if (atomic_load(&req->failed)) {
		req_unpin(req);
		if (backend_rbd_read_clone(io, req->at, req->len)) {
			io->rc = scsi_cmd_medium_done(&io->task->cmd, 0, -EIO);
			br->done(io);
		}
		free(req);
		return;
	}
	for (size_t i = 0; i < req->n; i++) {
		uint64_t c0 = (first + i) * GCACHE_CHUNK;
		uint64_t from = req->at > c0 ? req->at : c0;
		uint64_t to = req->at + req->len < c0 + GCACHE_CHUNK
				      ? req->at + req->len
				      : c0 + GCACHE_CHUNK;

		memcpy((uint8_t *)io->buf + (from - req->at),
		       req->ch[i]->data + (from - c0), (size_t)(to - from));
	}
	req_unpin(req);
	io->rc = scsi_cmd_medium_done(&io->task->cmd, 0, 0);
	free(req);
	br->done(io);
}

/* Drops one wait of req; the last one answers it. */
static void req_put(struct greq *req)
{
	if (atomic_fetch_sub(&req->left, 1) == 1)
		req_finish(req);
}

/* librbd's callback for a chunk load: wakes the READs waiting for it. */
static void load_done(rbd_completion_t comp, void *arg)
{
	struct gload *ld = arg;
	struct gcache_chunk *ch = ld->ch;
	ssize_t n = F.rbd_aio_get_return_value(comp);
	int ok = n >= 0 && (uint64_t)n == ld->len;
	struct gwait *w;

	F.rbd_aio_release(comp);
	if (ok && ld->len < GCACHE_CHUNK)
		memset(ch->data + ld->len, 0, GCACHE_CHUNK - ld->len);
	free(ld);
	pthread_mutex_lock(&G.lock);
	gcache_loaded(&G.gc, ch, ok);
	w = ch->waiters;
	ch->waiters = NULL;
	pthread_mutex_unlock(&G.lock);
	while (w) {
		struct gwait *next = w->next;

		if (!ok)
			atomic_store(&w->req->failed, 1);
		req_put(w->req);
		free(w);
		w = next;
	}
}

/* Starts loading chunk ch of parent p; on failure ends the load as
 * failed at once. */
static void load_start(struct gparent *p, struct gcache_chunk *ch)
{
	uint64_t off = ch->idx * GCACHE_CHUNK;
	struct gload *ld = malloc(sizeof(*ld));
	rbd_completion_t comp;

	if (ld) {
		ld->ch = ch;
		ld->len = off >= p->size                 ? 0
			  : p->size - off < GCACHE_CHUNK ? p->size - off
							 : GCACHE_CHUNK;
		if (F.rbd_aio_create_completion(ld, load_done, &comp) >= 0) {
			if (F.rbd_aio_read(p->img, off, (size_t)ld->len,
					   (char *)ch->data, comp) >= 0)
				return;
			F.rbd_aio_release(comp);
		}
		free(ld);
	}
	/* As if librbd had failed it. */
	{
		struct gwait *w;

		pthread_mutex_lock(&G.lock);
		gcache_loaded(&G.gc, ch, 0);
		w = ch->waiters;
		ch->waiters = NULL;
		pthread_mutex_unlock(&G.lock);
		while (w) {
			struct gwait *next = w->next;

			atomic_store(&w->req->failed, 1);
			req_put(w->req);
			free(w);
			w = next;
		}
	}
}

int rbd_gcache_read(struct backend_rbd *br, struct iscsi_io *io, uint64_t at,
		    uint32_t len)
{
	struct rbd_gcache_att *a = br->gc;
	struct gcache_chunk *fresh_ch[8];
	size_t n_fresh = 0, n;
	uint64_t first;
	struct greq *req;

	if (!a || !len || at + len > a->overlap ||
	    gcache_objs_any(&a->objs, at, len))
		return -EAGAIN;
	first = at / GCACHE_CHUNK;
	n = (size_t)((at + len - 1) / GCACHE_CHUNK - first + 1);
	if (n > sizeof(fresh_ch) / sizeof(fresh_ch[0]))
		return -EAGAIN; /* larger than boot reads: librbd's own */
	req = calloc(1, sizeof(*req) + n * sizeof(req->ch[0]));
	if (!req)
		return -EAGAIN;
	req->io = io;
	req->br = br;
	req->at = at;
	req->len = len;
	/* One count of its own, dropped below: no load completes the READ
	 * while chunks are still being added. */
	atomic_init(&req->left, 1);
	atomic_init(&req->failed, 0);
	pthread_mutex_lock(&G.lock);
	for (; req->n < n; req->n++) {
		int fresh;
		struct gcache_chunk *ch =
			gcache_get(&G.gc, a->p->key, first + req->n, &fresh);
		struct gwait *w;

		if (!ch)
			goto err_get;
		req->ch[req->n] = ch;
		if (ch->state == GCACHE_READY)
			continue;
		w = malloc(sizeof(*w));
		if (!w) {
			/* Never left loading with nobody to start it. */
			if (fresh)
				fresh_ch[n_fresh++] = ch;
			req->n++;
			atomic_store(&req->failed, 1);
			break;
		}
		w->req = req;
		w->next = ch->waiters;
		ch->waiters = w;
		atomic_fetch_add(&req->left, 1);
		if (fresh)
			fresh_ch[n_fresh++] = ch;
	}
	pthread_mutex_unlock(&G.lock);
	for (size_t i = 0; i < n_fresh; i++)
		load_start(a->p, fresh_ch[i]);
	req_put(req);
	return 0;
err_get:
	pthread_mutex_unlock(&G.lock);
	if (n_fresh) {
		/* Chunks this READ made must still load for their waiters:
		 * it waits for them, then reads the clone. */
		atomic_store(&req->failed, 1);
		for (size_t i = 0; i < n_fresh; i++)
			load_start(a->p, fresh_ch[i]);
		req_put(req);
		return 0;
	}
	req_unpin(req);
	free(req);
	return -EAGAIN;
}
