/* A room's overlays and versions on Ceph RBD (fleet_store.h), so that any
 * number of gateways can serve one room from the same cluster:
 *   version 0    the golden snapshot POOL/IMAGE@SNAP (created and
 *                protected as "wupan-0" when none is named)
 *   version N    the image PREFIX.v.N, snapshot "v" (protected), a clone
 *                of version N-1's snapshot: the update seat's clone,
 *                renamed at commit
 *   client NAME  the image PREFIX.client.NAME, a clone of its version's
 *                snapshot, with its phase and version in the image
 *                metadata (wupan.phase, wupan.base)
 *   state        the RADOS object PREFIX.fleet, omap keys "current" and
 *                "ver.N" (parent, time, comment); every change is one
 *                atomic operation that first compares "current"
 * A gateway holds the exclusive lock of each clone it serves (taken by
 * hand, so librbd does not pass it to another gateway on request): a
 * second gateway cannot write the same clone, and Ceph itself refuses to
 * remove an image that is open or a snapshot that has clones
 * (wupan-target(8), "A ROOM FROM ONE IMAGE"). */
#include <errno.h>
#include <inttypes.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/log.h"
#include "iscsi/fleet_rules.h"
#include "iscsi/fleet_store.h"
#include "iscsi/rbd_gcache.h"

#define STATE_VAL_MAX 1024

/* The entry points used beyond backend_rbd.c's, resolved once. */
static struct {
	int loaded;
	__typeof__(rados_ioctx_create) *rados_ioctx_create;
	__typeof__(rados_get_instance_id) *rados_get_instance_id;
	__typeof__(rados_ioctx_destroy) *rados_ioctx_destroy;
	__typeof__(rados_create_write_op) *rados_create_write_op;
	__typeof__(rados_release_write_op) *rados_release_write_op;
	__typeof__(rados_write_op_create) *rados_write_op_create;
	__typeof__(rados_write_op_omap_set) *rados_write_op_omap_set;
	__typeof__(rados_write_op_omap_cmp) *rados_write_op_omap_cmp;
	__typeof__(rados_write_op_omap_rm_keys) *rados_write_op_omap_rm_keys;
	__typeof__(rados_write_op_operate) *rados_write_op_operate;
	__typeof__(rados_create_read_op) *rados_create_read_op;
	__typeof__(rados_release_read_op) *rados_release_read_op;
	__typeof__(rados_read_op_omap_get_vals2) *rados_read_op_omap_get_vals2;
	__typeof__(rados_read_op_operate) *rados_read_op_operate;
	__typeof__(rados_omap_get_next2) *rados_omap_get_next2;
	__typeof__(rados_omap_get_end) *rados_omap_get_end;
	__typeof__(rados_exec) *rados_exec;
	__typeof__(rbd_open) *rbd_open;
	__typeof__(rbd_open_read_only) *rbd_open_read_only;
	__typeof__(rbd_close) *rbd_close;
	__typeof__(rbd_clone3) *rbd_clone3;
	__typeof__(rbd_image_options_create) *rbd_image_options_create;
	__typeof__(rbd_image_options_set_uint64) *rbd_image_options_set_uint64;
	__typeof__(rbd_image_options_destroy) *rbd_image_options_destroy;
	__typeof__(rbd_remove) *rbd_remove;
	__typeof__(rbd_rename) *rbd_rename;
	__typeof__(rbd_list2) *rbd_list2;
	__typeof__(rbd_image_spec_list_cleanup) *rbd_image_spec_list_cleanup;
	__typeof__(rbd_snap_create) *rbd_snap_create;
	__typeof__(rbd_snap_protect) *rbd_snap_protect;
	__typeof__(rbd_snap_unprotect) *rbd_snap_unprotect;
	__typeof__(rbd_snap_remove) *rbd_snap_remove;
	__typeof__(rbd_snap_is_protected) *rbd_snap_is_protected;
	__typeof__(rbd_metadata_get) *rbd_metadata_get;
	__typeof__(rbd_metadata_set) *rbd_metadata_set;
	__typeof__(rbd_lock_acquire) *rbd_lock_acquire;
	__typeof__(rbd_lock_release) *rbd_lock_release;
	__typeof__(rbd_list_lockers) *rbd_list_lockers;
	__typeof__(rbd_lock_get_owners) *rbd_lock_get_owners;
	__typeof__(rbd_lock_get_owners_cleanup) *rbd_lock_get_owners_cleanup;
	__typeof__(rbd_lock_break) *rbd_lock_break;
	__typeof__(rbd_watchers_list) *rbd_watchers_list;
	__typeof__(rbd_watchers_list_cleanup) *rbd_watchers_list_cleanup;
	__typeof__(rbd_get_size) *rbd_get_size;
	__typeof__(rbd_get_id) *rbd_get_id;
	__typeof__(rbd_diff_iterate2) *rbd_diff_iterate2;
} F;

#define FSYM(name)                                   \
	{                                            \
#name, offsetof(__typeof__(F), name) \
	}
static const struct {
	const char *name;
	size_t off;
} fsyms[] = {
	FSYM(rados_ioctx_create),
	FSYM(rados_get_instance_id),
	FSYM(rados_ioctx_destroy),
	FSYM(rados_create_write_op),
	FSYM(rados_release_write_op),
	FSYM(rados_write_op_create),
	FSYM(rados_write_op_omap_set),
	FSYM(rados_write_op_omap_cmp),
	FSYM(rados_write_op_omap_rm_keys),
	FSYM(rados_write_op_operate),
	FSYM(rados_create_read_op),
	FSYM(rados_release_read_op),
	FSYM(rados_read_op_omap_get_vals2),
	FSYM(rados_read_op_operate),
	FSYM(rados_omap_get_next2),
	FSYM(rados_omap_get_end),
	FSYM(rados_exec),
	FSYM(rbd_open),
	FSYM(rbd_open_read_only),
	FSYM(rbd_close),
	FSYM(rbd_clone3),
	FSYM(rbd_image_options_create),
	FSYM(rbd_image_options_set_uint64),
	FSYM(rbd_image_options_destroy),
	FSYM(rbd_remove),
	FSYM(rbd_rename),
	FSYM(rbd_list2),
	FSYM(rbd_image_spec_list_cleanup),
	FSYM(rbd_snap_create),
	FSYM(rbd_snap_protect),
	FSYM(rbd_snap_unprotect),
	FSYM(rbd_snap_remove),
	FSYM(rbd_snap_is_protected),
	FSYM(rbd_metadata_get),
	FSYM(rbd_metadata_set),
	FSYM(rbd_lock_acquire),
	FSYM(rbd_lock_release),
	FSYM(rbd_list_lockers),
	FSYM(rbd_lock_get_owners),
	FSYM(rbd_lock_get_owners_cleanup),
	FSYM(rbd_lock_break),
	FSYM(rbd_watchers_list),
	FSYM(rbd_watchers_list_cleanup),
	FSYM(rbd_get_size),
	FSYM(rbd_get_id),
	FSYM(rbd_diff_iterate2),
};

struct fleet_rbd {
	rados_t cluster;
	rados_ioctx_t io; /* the overlays' pool */
	rados_ioctx_t gio; /* the golden image's pool */
	struct backend_rbd golden; /* its snapshot: fl->tmpl */
	const struct tcfg_ceph *ceph;
	void (*done)(struct iscsi_io *io);
	char pool[TCFG_NAME_MAX + 1];
	char prefix[TCFG_NAME_MAX + 1];
	char gimage[TCFG_NAME_MAX + 1];
	char gsnap[TCFG_NAME_MAX + 1];
	char oid[TCFG_NAME_MAX + 8]; /* PREFIX.fleet */
	unsigned stale_seq;
	struct fleet_lun *fl;
	/* Clones made ahead (spares=N), kept by the spare thread; slock
	 * guards the list, its count and sstop. */
	unsigned spares_want;
	pthread_mutex_t slock;
	pthread_cond_t swake;
	pthread_t sthread;
	int sthread_on;
	int sstop;
	struct fleet_gen *spares; /* ready, each on its base version */
	size_t n_spares;
	uint64_t spare_taken_ms; /* CLOCK_MONOTONIC of the last take */
	uint64_t inst; /* this gateway's RADOS client id */
};

/* Resolves F once librbd is loaded; returns 0 or -1 with err. */
static int fsyms_load(char *err, size_t errlen)
{
	if (F.loaded)
		return 0;
	for (size_t i = 0; i < sizeof(fsyms) / sizeof(fsyms[0]); i++) {
		void *p = backend_rbd_sym(fsyms[i].name);

		if (!p) {
			snprintf(err, errlen, "librbd lacks %s: too old?",
				 fsyms[i].name);
			return -1;
		}
		memcpy((char *)&F + fsyms[i].off, &p, sizeof(p));
	}
	F.loaded = 1;
	return 0;
}

/* The image name of the client name. */
static void client_image(const struct fleet_rbd *r, const char *name, char *out,
			 size_t outlen)
{
	snprintf(out, outlen, "%s.client.%s", r->prefix, name);
}

/* The image name of version num (>= 1). */
static void ver_image(const struct fleet_rbd *r, unsigned num, char *out,
		      size_t outlen)
{
	snprintf(out, outlen, "%s.v.%u", r->prefix, num);
}

/* Reads the omap key of the state object into val (NUL-terminated).
 * Returns 0, -ENOENT (no such key) or a negative errno. */
static int state_get(struct fleet_rbd *r, const char *key, char *val,
		     size_t vlen)
{
	rados_read_op_t op = F.rados_create_read_op();
	rados_omap_iter_t it;
	unsigned char more = 0;
	int prval = 0, rc;
	char *k, *v;
	size_t klen, len;

	F.rados_read_op_omap_get_vals2(op, "", key, 16, &it, &more, &prval);
	rc = F.rados_read_op_operate(op, r->io, r->oid, 0);
	if (rc == 0 && prval)
		rc = prval;
	if (rc == 0) {
		rc = -ENOENT;
		while (F.rados_omap_get_next2(it, &k, &v, &klen, &len) == 0 &&
		       k) {
			if (klen == strlen(key) && !memcmp(k, key, klen)) {
				snprintf(val, vlen, "%.*s", (int)len, v);
				rc = 0;
				break;
			}
		}
		F.rados_omap_get_end(it);
	}
	F.rados_release_read_op(op);
	return rc;
}

/* Runs one atomic change of the state: if cmp_cur is not NULL, only while
 * "current" is cmp_cur; sets n keys to vals, removes rm (or NULL).
 * Returns 0, -ESTALE (current changed) or a negative errno. */
static int state_change(struct fleet_rbd *r, const char *cmp_cur,
			const char *const *keys, const char *const *vals,
			size_t n, const char *rm)
{
	rados_write_op_t op = F.rados_create_write_op();
	size_t lens[4];
	int prval = 0, rc;

	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(vals[i]);
	if (cmp_cur)
		F.rados_write_op_omap_cmp(op, "current",
					  LIBRADOS_CMPXATTR_OP_EQ, cmp_cur,
					  strlen(cmp_cur), &prval);
	if (n)
		F.rados_write_op_omap_set(op, keys, vals, lens, n);
	if (rm)
		F.rados_write_op_omap_rm_keys(op, &rm, 1);
	rc = F.rados_write_op_operate(op, r->io, r->oid, NULL, 0);
	F.rados_release_write_op(op);
	/* A failed comparison fails the whole operation. */
	if (rc == -ECANCELED || (cmp_cur && prval))
		return -ESTALE;
	return rc;
}

/* Opens image name of the overlays' pool read-only; 0 or -errno. */
static int open_ro(struct fleet_rbd *r, const char *name, rbd_image_t *img)
{
	return F.rbd_open_read_only(r->io, name, img, NULL);
}

/* Returns 1 if the client at address addr has a watch on img (its image
 * is open there), 0 if not, or a negative errno. */
static int watching(rbd_image_t img, const char *addr)
{
	rbd_image_watcher_t w[16];
	size_t n = 16;
	int rc = F.rbd_watchers_list(img, w, &n), found = 0;

	if (rc)
		return rc; /* -ERANGE: too many to tell */
	for (size_t i = 0; i < n; i++)
		found |= !strcmp(w[i].addr, addr);
	F.rbd_watchers_list_cleanup(w, n);
	return found;
}

/* Takes the exclusive lock of img, open read-write here, by hand (librbd
 * then keeps it from other gateways).  An owner with a watch on the image
 * is alive, or died less than the OSDs' osd_client_watch_timeout ago
 * (30 s by default): -EAGAIN at once, to be retried, as librbd would
 * otherwise block until the watch times out.  An owner without one is
 * dead: its lock is broken and the owner blocklisted first (fenced,
 * rbd_blocklist_on_break_lock), so a gateway that only lost the cluster
 * for a while can no longer write.  The owner goes to who (or "").
 * Returns 0, -EAGAIN or a negative errno. */
static int lock_take(rbd_image_t img, char *who, size_t wlen)
{
	rbd_lock_mode_t mode;
	char *owners[4];
	size_t n = 4;
	int rc;

	who[0] = 0;
	rc = F.rbd_lock_get_owners(img, &mode, owners, &n);
	if (rc == -ENOENT)
		n = 0;
	else if (rc)
		return rc;
	if (n) {
		snprintf(who, wlen, "%s", owners[0]);
		rc = watching(img, owners[0]);
		if (rc == 0) {
			/* Its answer says little (-EAGAIN once the lock has
			 * gone, seen with Ceph 16): the acquisition below
			 * tells whether the lock is free now. */
			rc = F.rbd_lock_break(img, RBD_LOCK_MODE_EXCLUSIVE,
					      owners[0]);
			log_line("rbd: the lock of %s, a gateway gone from the "
				 "cluster (no watch): blocklisted and broken "
				 "(%s)",
				 owners[0], rc ? strerror(-rc) : "done");
			rc = 0;
		} else if (rc > 0) {
			rc = -EAGAIN;
		}
		F.rbd_lock_get_owners_cleanup(owners, n);
		if (rc)
			return rc;
	}
	rc = F.rbd_lock_acquire(img, RBD_LOCK_MODE_EXCLUSIVE);
	/* Taken meanwhile by a live gateway, which refused to hand it. */
	return rc == -EROFS || rc == -EBUSY ? -EAGAIN : rc;
}

/* fleet_store_ops.peek: the clone's metadata. */
static int rs_peek(struct fleet_lun *fl, const char *name,
		   enum ovl_phase *phase, unsigned *base)
{
	char img_name[FLEET_IMAGE_MAX], v[32];
	size_t len = sizeof(v);
	rbd_image_t img;
	int rc;

	client_image(fl->rbd, name, img_name, sizeof(img_name));
	rc = open_ro(fl->rbd, img_name, &img);
	if (rc)
		return rc;
	*phase = OVL_PHASE_FIRMWARE;
	if (F.rbd_metadata_get(img, "wupan.phase", v, &len) == 0 &&
	    !strcmp(v, "os"))
		*phase = OVL_PHASE_OS;
	len = sizeof(v);
	if (base)
		*base = F.rbd_metadata_get(img, "wupan.base", v, &len) == 0
				? (unsigned)strtoul(v, NULL, 10)
				: 0;
	F.rbd_close(img);
	return 0;
}

/* Clones version cur's snapshot as image name; 0 or -errno. */
static int clone_version(struct fleet_rbd *r, unsigned cur, const char *name)
{
	char pimg[FLEET_IMAGE_MAX];
	rbd_image_options_t opts;
	int rc;

	if (cur)
		ver_image(r, cur, pimg, sizeof(pimg));
	F.rbd_image_options_create(&opts);
	/* Clone format 1: a parent snapshot must be protected, and Ceph
	 * refuses to unprotect one that still has clones, which is what
	 * keeps prune from removing a version a client stands on (format 2
	 * would need require-min-compat-client mimic). */
	F.rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_CLONE_FORMAT, 1);
	F.rbd_image_options_set_uint64(
		opts, RBD_IMAGE_OPTION_FEATURES,
		RBD_FEATURE_LAYERING | RBD_FEATURE_EXCLUSIVE_LOCK |
			RBD_FEATURE_OBJECT_MAP | RBD_FEATURE_FAST_DIFF);
	rc = F.rbd_clone3(cur ? r->io : r->gio, cur ? pimg : r->gimage,
			  cur ? "v" : r->gsnap, r->io, name, opts);
	F.rbd_image_options_destroy(opts);
	return rc;
}

/* What clone_open expects of g->image. */
enum clone_how {
	CLONE_MAYBE, /* made unless it exists */
	CLONE_EXISTS, /* likely there: opened first (a clone attempt costs
		       * as much as an open), made if not */
	CLONE_NEW, /* made here and now: one that exists is an error */
};

/* Makes g->image a clone of version cur as how says, opens it and takes
 * its lock (by hand: it stays here until the clone is closed); fills
 * g->base and g->phase.  Returns 0, or -errno with err. */
static int clone_open(struct fleet_rbd *r, struct fleet_gen *g, unsigned cur,
		      enum clone_how how, char *err, size_t errlen)
{
	char spec[TCFG_NAME_MAX + FLEET_IMAGE_MAX + 2], v[32], who[128];
	struct scsi_lu scratch = { 0 };
	size_t len;
	int rc, made = 0;

	snprintf(spec, sizeof(spec), "%s/%s", r->pool, g->image);
	rc = how == CLONE_EXISTS
		     ? backend_rbd_open(&g->u.br, &scratch, spec, 0, r->ceph,
					r->done, err, errlen)
		     : -ENOENT;
	if (rc == -ENOENT) {
		rc = clone_version(r, cur, g->image);
		if (rc == 0)
			made = 1;
		else if (rc != -EEXIST || how == CLONE_NEW)
			goto err_clone;
		rc = backend_rbd_open(&g->u.br, &scratch, spec, 0, r->ceph,
				      r->done, err, errlen);
	}
	if (rc)
		return -EIO;
	rc = lock_take(g->u.br.image, who, sizeof(who));
	if (rc) {
		if (rc == -EAGAIN)
			snprintf(err, errlen,
				 "its clone %s/%s is held by another gateway "
				 "(%s; if that one died, Ceph frees the clone "
				 "when its watch times out: retry)",
				 r->pool, g->image, who[0] ? who : "?");
		else
			snprintf(err, errlen,
				 "its clone %s/%s: cannot take its lock (%s)",
				 r->pool, g->image, strerror(-rc));
		backend_rbd_close(&g->u.br);
		return rc;
	}
	/* Held: only this gateway writes the clone from now on. */
	rbd_gcache_attach(&g->u.br, r->ceph, made);
	g->base = cur;
	g->phase = OVL_PHASE_FIRMWARE;
	snprintf(v, sizeof(v), "%u", cur);
	if (made && (rc = F.rbd_metadata_set(g->u.br.image, "wupan.base", v)))
		goto err_meta;
	len = sizeof(v);
	if (!made &&
	    F.rbd_metadata_get(g->u.br.image, "wupan.base", v, &len) == 0)
		g->base = (unsigned)strtoul(v, NULL, 10);
	len = sizeof(v);
	if (F.rbd_metadata_get(g->u.br.image, "wupan.phase", v, &len) == 0 &&
	    !strcmp(v, "os"))
		g->phase = OVL_PHASE_OS;
	return 0;
err_meta:
	snprintf(err, errlen, "clone %s/%s: cannot set its metadata: %s",
		 r->pool, g->image, strerror(-rc));
	backend_rbd_close(&g->u.br);
	return rc;
err_clone:
	snprintf(err, errlen, "cannot clone version %u as %s/%s: %s", cur,
		 r->pool, g->image, strerror(-rc));
	return rc;
}

static int spare_take(struct fleet_rbd *r, struct fleet_gen *g, unsigned cur);
static int lingering_move(struct fleet_rbd *r, const char *client,
			  const char *name);
static int named(struct fleet_rbd *r, rbd_image_t img, const char *name,
		 char *id, size_t size);
static void old_remove_by_id(struct fleet_rbd *r, const char *id);

/* fleet_store_ops.gen_open */
static int rs_gen_open(struct fleet_lun *fl, struct fleet_gen *g, int fresh,
		       unsigned cur, char *err, size_t errlen)
{
	struct fleet_rbd *r = fl->rbd;
	int rc;

	client_image(r, g->client, g->image, sizeof(g->image));
	if (fresh && fresh != FLEET_NEW) {
		rc = F.rbd_remove(r->io, g->image);
		if (rc == -EBUSY)
			rc = lingering_move(r, g->client, g->image);
		if (rc == -EBUSY) {
			snprintf(err, errlen,
				 "its clone %s/%s is open through another "
				 "gateway",
				 r->pool, g->image);
			return rc;
		}
	}
	if (fresh && spare_take(r, g, cur))
		return 0;
	return clone_open(r, g, cur, fresh ? CLONE_MAYBE : CLONE_EXISTS, err,
			  errlen);
}

/* fleet_store_ops.gen_close: a clone replaced by a reset goes; so does
 * one that lingered and that another gateway renamed away meanwhile. */
static void rs_gen_close(struct fleet_gen *g)
{
	struct fleet_rbd *r = g->fl->rbd;
	char id[64] = "";
	int rc;

	if (g->lingered && !g->stale &&
	    named(r, g->u.br.image, g->image, id, sizeof(id)) != 0)
		id[0] = '\0';
	backend_rbd_close(&g->u.br);
	if (id[0])
		old_remove_by_id(r, id);
	if (g->stale && (rc = F.rbd_remove(r->io, g->image)))
		log_line("overlay %s/%s: cannot remove the clone %s of its "
			 "previous boot: %s",
			 g->fl->dir, g->client, g->image, strerror(-rc));
}

/* fleet_store_ops.retire: the clone of an earlier boot, still open for
 * its sessions, makes way under another name. */
static int rs_retire(struct fleet_gen *g)
{
	struct fleet_rbd *r = g->fl->rbd;
	char to[sizeof(g->image)];
	int rc;

	snprintf(to, sizeof(to), "%s.old.%s.%u", r->prefix, g->client,
		 ++r->stale_seq);
	rc = F.rbd_rename(r->io, g->image, to);
	if (rc == 0)
		snprintf(g->image, sizeof(g->image), "%s", to);
	return rc;
}

/* fleet_store_ops.set_phase */
static int rs_set_phase(struct fleet_gen *g, enum ovl_phase phase)
{
	return F.rbd_metadata_set(g->u.br.image, "wupan.phase",
				  phase == OVL_PHASE_OS ? "os" : "firmware");
}

/* fleet_store_ops.attach */
static void rs_attach(struct fleet_gen *g, struct scsi_lu *lu)
{
	backend_rbd_attach(&g->u.br, lu);
}

/* rbd_diff_iterate2 callback: adds an allocated extent. */
static int add_extent(uint64_t off, size_t len, int exists, void *arg)
{
	(void)off;
	if (exists)
		*(uint64_t *)arg += len;
	return 0;
}

/* fleet_store_ops.usage: what the clone itself holds (whole objects),
 * from its object map; bytes through it are not counted. */
static void rs_usage(struct fleet_lun *fl, const char *name,
		     struct fleet_gen *g, uint64_t *alloc, long long *written,
		     long long *rd, long long *wr)
{
	char img_name[FLEET_IMAGE_MAX];
	rbd_image_t img;
	uint64_t size;

	*alloc = 0;
	*written = *rd = *wr = -1;
	client_image(fl->rbd, name, img_name, sizeof(img_name));
	if (g)
		img = g->u.br.image;
	else if (open_ro(fl->rbd, img_name, &img))
		return;
	if (F.rbd_get_size(img, &size) == 0)
		F.rbd_diff_iterate2(img, NULL, 0, size, 0, 1, add_extent,
				    alloc);
	if (!g)
		F.rbd_close(img);
}

/* fleet_store_ops.used: not counted (Ceph's own "rbd du" says). */
static long long rs_used(struct fleet_lun *fl)
{
	(void)fl;
	return -1;
}

/* Fills *specs with the names and ids of the images of the overlays' pool
 * (one RADOS read), *n of them; 0 or -errno.  The caller frees them with
 * rbd_image_spec_list_cleanup and free. */
static int specs_get(struct fleet_rbd *r, rbd_image_spec_t **specs, size_t *n)
{
	size_t max = 64;
	int rc;

	*specs = NULL;
	for (;;) {
		free(*specs);
		*specs = calloc(max, sizeof(**specs));
		if (!*specs)
			return -ENOMEM;
		rc = F.rbd_list2(r->io, *specs, &max);
		if (rc != -ERANGE)
			break;
	}
	if (rc < 0) {
		free(*specs);
		*specs = NULL;
		return rc;
	}
	*n = max;
	return 0;
}

/* Lists the images of the overlays' pool that start with PREFIX.what,
 * the rest of each name into *names; returns how many. */
static size_t list_images(struct fleet_rbd *r, const char *what, char ***names)
{
	rbd_image_spec_t *specs;
	size_t max, n = 0, plen;
	char pre[TCFG_NAME_MAX + 16];

	*names = NULL;
	if (specs_get(r, &specs, &max))
		return 0;
	snprintf(pre, sizeof(pre), "%s.%s", r->prefix, what);
	plen = strlen(pre);
	*names = calloc(max ? max : 1, sizeof(**names));
	for (size_t i = 0; *names && i < max; i++)
		if (!strncmp(specs[i].name, pre, plen) &&
		    ((*names)[n] = strdup(specs[i].name + plen)))
			n++;
	F.rbd_image_spec_list_cleanup(specs, max);
	free(specs);
	fleet_sort_names(*names, n);
	return n;
}

/* fleet_store_ops.clients */
static size_t rs_clients(struct fleet_lun *fl, char ***names)
{
	return list_images(fl->rbd, "client.", names);
}

/* Returns 1 if a live gateway holds img's lock (its owner has a watch on
 * img), 0 if none does, or a negative errno.  img may be open read-only:
 * librbd's lock owner call refuses those (-EINVAL), so this reads the
 * lockers of the header's lock, which the exclusive lock is. */
static int held_live(rbd_image_t img)
{
	char tag[128], clients[256], cookies[256], addrs[256];
	size_t tlen = sizeof(tag), clen = sizeof(clients);
	size_t klen = sizeof(cookies), alen = sizeof(addrs);
	int exclusive;
	ssize_t n = F.rbd_list_lockers(img, &exclusive, tag, &tlen, clients,
				       &clen, cookies, &klen, addrs, &alen);

	if (n <= 0)
		return (int)n;
	return watching(img, addrs); /* the first one's */
}

/* fleet_store_ops.elsewhere: a live gateway holds the clone's lock, as
 * every gateway with a session on it does.  One that only lets it linger
 * has it open without the lock: it does not count. */
static int rs_elsewhere(struct fleet_lun *fl, const char *name)
{
	char img_name[FLEET_IMAGE_MAX];
	rbd_image_t img;
	int rc;

	client_image(fl->rbd, name, img_name, sizeof(img_name));
	if (open_ro(fl->rbd, img_name, &img))
		return 0;
	rc = held_live(img);
	F.rbd_close(img);
	return rc != 0; /* unsure counts as open */
}

/* fleet_store_ops.discard */
static int rs_discard(struct fleet_lun *fl, const char *name)
{
	char img_name[FLEET_IMAGE_MAX];
	int rc;

	client_image(fl->rbd, name, img_name, sizeof(img_name));
	rc = F.rbd_remove(fl->rbd->io, img_name);
	return rc == -EBUSY ? lingering_move(fl->rbd, name, img_name) : rc;
}

/* fleet_store_ops.current */
static unsigned rs_current(struct fleet_lun *fl)
{
	char v[32];

	return state_get(fl->rbd, "current", v, sizeof(v))
		       ? 0
		       : (unsigned)strtoul(v, NULL, 10);
}

/* fleet_store_ops.ver_info: the "ver.N" key. */
static int rs_ver_info(struct fleet_lun *fl, unsigned num, unsigned *parent,
		       long long *when, char *comment, size_t clen)
{
	char key[32], buf[STATE_VAL_MAX];
	int rc;

	snprintf(key, sizeof(key), "ver.%u", num);
	rc = state_get(fl->rbd, key, buf, sizeof(buf));
	return rc ? rc : fleet_ver_parse(buf, num, parent, when, comment, clen);
}

/* fleet_store_ops.ver_max: the highest version of the state or of an
 * image (one a crashed commit left). */
static unsigned rs_ver_max(struct fleet_lun *fl)
{
	char **names;
	size_t n = list_images(fl->rbd, "v.", &names);
	unsigned max = 0, p;

	for (size_t i = 0; i < n; i++) {
		unsigned v = (unsigned)strtoul(names[i], NULL, 10);

		max = v > max ? v : max;
		free(names[i]);
	}
	free(names);
	while (rs_ver_info(fl, max + 1, &p, NULL, NULL, 0) == 0)
		max++;
	return max;
}

/* Takes the snapshot "v" of a version image back (unprotect, remove). */
static int snap_drop(rbd_image_t img)
{
	int rc = F.rbd_snap_unprotect(img, "v");

	if (rc && rc != -EINVAL && rc != -ENOENT)
		return rc; /* -EBUSY: a clone stands on it */
	rc = F.rbd_snap_remove(img, "v");
	return rc == -ENOENT ? 0 : rc;
}

/* Reads into id (size bytes) the id of the image called name: its
 * rbd_id.NAME object, through cls_rbd's get_id, which is what an open by
 * name reads.  0, -ENOENT (no such name) or a negative errno. */
static int id_of(struct fleet_rbd *r, const char *name, char *id, size_t size)
{
	char oid[FLEET_IMAGE_MAX + 8], out[4 + 128];
	uint32_t len;
	int n;

	snprintf(oid, sizeof(oid), "rbd_id.%s", name);
	n = F.rados_exec(r->io, oid, "rbd", "get_id", NULL, 0, out,
			 sizeof(out));
	if (n < 0)
		return n;
	/* An encoded string: its length (32 bits, little-endian), then it. */
	if (n < 4)
		return -EIO;
	len = get_le32((const uint8_t *)out);
	if (len != (uint32_t)n - 4 || len >= size)
		return -EIO;
	memcpy(id, out + 4, len);
	id[len] = '\0';
	return 0;
}

/* Returns 1 if the image called name is img (whose id goes to id, size
 * bytes), 0 if it is another one or there is none, or a negative errno.
 * It reads the name's own object, not the pool's directory (which grows
 * with the room and which every rename and clone of the pool updates) nor
 * an open of name (several reads, and a login waits for this). */
static int named(struct fleet_rbd *r, rbd_image_t img, const char *name,
		 char *id, size_t size)
{
	char now[64];
	int rc = F.rbd_get_id(img, id, size);

	if (rc == 0)
		rc = id_of(r, name, now, sizeof(now));
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	return !strcmp(now, id);
}

/* Renames the image open as img from name from to name to; returns 0,
 * -EEXIST (to is another image) or a negative errno.  librbd's answer
 * alone is not enough: when two renames to one name race, the loser may
 * get 0 and its image keep its name (seen with Ceph 16), so the image now
 * called to must be img itself. */
static int rename_to(struct fleet_rbd *r, rbd_image_t img, const char *from,
		     const char *to)
{
	char id[64];
	int rc = F.rbd_rename(r->io, from, to);

	if (rc == 0)
		rc = named(r, img, to, id, sizeof(id));
	return rc < 0 ? rc : rc ? 0 : -EEXIST;
}

/*
 * Clones made ahead (spares=N).  A new boot's clone is a spare renamed: a
 * clone of the current version, open and locked here, its golden cache
 * attached, so the login waits for one rename, not for a clone to be made,
 * opened and locked (most of a login's time when a room is switched on
 * together).  Spares are PREFIX.spare.ID.SEQ, ID this gateway's RADOS
 * client id; a thread of the LUN's own keeps N ready, drops those on a
 * version no longer current (at once after a commit or rollback here,
 * within SPARE_RECHECK_S after one through another gateway; a login never
 * takes one on another version), and removes them at a clean stop.  A
 * killed gateway's spares go once Ceph has dropped its watch: at the next
 * start of a gateway on the LUN, or at a sweep of a spare thread.
 */
#define SPARE_RECHECK_S 30
#define SPARE_RETRY_S 5
/* Spares are made again once no login has taken one for this long: not
 * while a room boots, competing with it for the gateway's and the
 * cluster's time. */
#define SPARE_QUIET_MS 5000
/* How often the spare thread removes what killed gateways left (spares,
 * clones of an earlier boot) once Ceph has dropped their watches. */
#define SPARE_SWEEP_S 120

static void old_clones_remove(struct fleet_rbd *r);

/* Numbers the spares of every LUN of this gateway (a reload may open a
 * LUN again while the old one still runs: their names must differ), and
 * the lingering clones it moves out of the way. */
static atomic_uint spare_seq = 1;

/*
 * Lingering (fleet.c): a clone stays open after its last session, but
 * without its exclusive lock, so that another gateway can take it (a
 * multipath OS moving over).  Its golden cache state goes with the lock,
 * as that gateway may write it; a login here takes the lock again and
 * learns the clone's objects anew.  A new boot or a reset through another
 * gateway cannot remove a clone open here: it renames it out of the way
 * (PREFIX.old.CLIENT...), and this gateway removes it when it lets go.
 */

/* fleet_store_ops.linger */
static int rs_linger(struct fleet_gen *g)
{
	int rc;

	rbd_gcache_detach(&g->u.br);
	rc = F.rbd_lock_release(g->u.br.image);
	if (rc)
		log_line("overlay %s/%s: cannot let go of the lock of its "
			 "clone %s (%s): closed",
			 g->fl->dir, g->client, g->image, strerror(-rc));
	else
		g->lingered = 1;
	return rc;
}

/* fleet_store_ops.resume */
static int rs_resume(struct fleet_gen *g)
{
	struct fleet_rbd *r = g->fl->rbd;
	char id[64], who[128];
	int rc = lock_take(g->u.br.image, who, sizeof(who));

	/* Renamed away meanwhile (see above), another clone may have the
	 * name now. */
	if (rc == 0)
		rc = named(r, g->u.br.image, g->image, id, sizeof(id));
	if (rc <= 0)
		return rc ? rc : -ESTALE;
	rbd_gcache_attach(&g->u.br, r->ceph, 0);
	return 0;
}

/* Removes the image whose id is id if another gateway renamed it out of
 * the way (PREFIX.old.*); it is closed here. */
static void old_remove_by_id(struct fleet_rbd *r, const char *id)
{
	rbd_image_spec_t *specs;
	char pre[TCFG_NAME_MAX + 8];
	size_t n;
	int rc;

	if (specs_get(r, &specs, &n))
		return;
	snprintf(pre, sizeof(pre), "%s.old.", r->prefix);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(specs[i].id, id) ||
		    strncmp(specs[i].name, pre, strlen(pre)))
			continue;
		rc = F.rbd_remove(r->io, specs[i].name);
		log_line("overlays %s: the clone %s, left open here and "
			 "replaced through another gateway: %s",
			 r->fl->dir, specs[i].name,
			 rc ? strerror(-rc) : "removed");
		break;
	}
	F.rbd_image_spec_list_cleanup(specs, n);
	free(specs);
}

/* The clone name of client cannot be removed, as a gateway has it open.
 * If that gateway only lets it linger (nobody holds its lock), renames it
 * out of the way, and returns 0; -EBUSY if a gateway uses it. */
static int lingering_move(struct fleet_rbd *r, const char *client,
			  const char *name)
{
	char to[FLEET_IMAGE_MAX];
	rbd_image_t img;
	int rc;

	if (open_ro(r, name, &img))
		return -EBUSY;
	rc = held_live(img);
	F.rbd_close(img);
	if (rc)
		return -EBUSY;
	snprintf(to, sizeof(to), "%s.old.%s.%" PRIu64 ".%u", r->prefix, client,
		 r->inst, atomic_fetch_add(&spare_seq, 1));
	rc = F.rbd_rename(r->io, name, to);
	if (rc)
		return -EBUSY;
	log_line("overlays %s: %s's clone lingers open on another gateway: "
		 "renamed %s, which that gateway removes",
		 r->fl->dir, client, to);
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Waits on r->swake for at most ms (r->slock held). */
static void ms_wait(struct fleet_rbd *r, uint64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&r->swake, &r->slock, &until);
}

/* Closes spare s and removes its clone. */
static void spare_drop(struct fleet_rbd *r, struct fleet_gen *s)
{
	int rc;

	backend_rbd_close(&s->u.br);
	rc = F.rbd_remove(r->io, s->image);
	if (rc && rc != -ENOENT)
		log_line("overlays %s: cannot remove the spare clone %s: %s",
			 r->fl->dir, s->image, strerror(-rc));
	free(s);
}

/* Adds spare s to the ready ones (r->slock held). */
static void spare_push(struct fleet_rbd *r, struct fleet_gen *s)
{
	s->next = r->spares;
	r->spares = s;
	r->n_spares++;
}

/* Makes a spare on version cur; NULL (logged) if it cannot. */
static struct fleet_gen *spare_make(struct fleet_rbd *r, unsigned cur)
{
	struct fleet_gen *s = calloc(1, sizeof(*s));
	char err[300];

	if (!s)
		return NULL;
	s->fl = r->fl;
	snprintf(s->image, sizeof(s->image), "%s.spare.%" PRIu64 ".%u",
		 r->prefix, r->inst, atomic_fetch_add(&spare_seq, 1));
	if (clone_open(r, s, cur, CLONE_NEW, err, sizeof(err))) {
		log_line("overlays %s: cannot make a spare clone: %s",
			 r->fl->dir, err);
		free(s);
		return NULL;
	}
	return s;
}

/* Gives g (named g->image, which does not exist) a spare on version cur;
 * returns 1, or 0 if there is none (or it cannot be renamed): the caller
 * makes the clone itself. */
static int spare_take(struct fleet_rbd *r, struct fleet_gen *g, unsigned cur)
{
	struct fleet_gen *s, **p;
	int rc;

	if (!r->spares_want)
		return 0;
	pthread_mutex_lock(&r->slock);
	for (p = &r->spares; *p && (*p)->base != cur; p = &(*p)->next)
		;
	s = *p;
	if (s) {
		*p = s->next;
		r->n_spares--;
		r->spare_taken_ms = mono_ms();
		pthread_cond_signal(&r->swake);
	}
	pthread_mutex_unlock(&r->slock);
	if (!s)
		return 0;
	rc = rename_to(r, s->u.br.image, s->image, g->image);
	if (rc == -EEXIST) {
		/* The client's clone appeared meanwhile (another gateway):
		 * the spare stays one. */
		pthread_mutex_lock(&r->slock);
		spare_push(r, s);
		pthread_mutex_unlock(&r->slock);
		return 0;
	}
	if (rc) {
		log_line("overlays %s: cannot rename the spare clone %s to "
			 "%s: %s",
			 r->fl->dir, s->image, g->image, strerror(-rc));
		backend_rbd_close(&s->u.br);
		free(s);
		return 0;
	}
	/* The open clone moves into g; its rwlock is made anew there. */
	pthread_rwlock_destroy(&s->u.br.bf.lock);
	g->u.br = s->u.br;
	pthread_rwlock_init(&g->u.br.bf.lock, NULL);
	g->base = s->base;
	g->phase = OVL_PHASE_FIRMWARE;
	log_line("overlays %s: %s's clone is the spare %s, made ahead",
		 r->fl->dir, g->client, s->image);
	free(s);
	return 1;
}

/* The spare thread: keeps spares_want spares on the current version. */
static void *spare_main(void *arg)
{
	struct fleet_rbd *r = arg;
	uint64_t swept = mono_ms();

	pthread_mutex_lock(&r->slock);
	while (!r->sstop) {
		struct fleet_gen *stale = NULL, *s = NULL;
		uint64_t quiet;
		unsigned cur;
		int need, failed;

		pthread_mutex_unlock(&r->slock);
		if (mono_ms() - swept >= SPARE_SWEEP_S * 1000ull) {
			old_clones_remove(r); /* open ones, ours too, stay */
			swept = mono_ms();
		}
		cur = rs_current(r->fl);
		pthread_mutex_lock(&r->slock);
		for (struct fleet_gen **p = &r->spares; *p;) {
			if ((*p)->base == cur) {
				p = &(*p)->next;
				continue;
			}
			s = *p;
			*p = s->next;
			s->next = stale;
			stale = s;
			r->n_spares--;
		}
		need = !r->sstop && r->n_spares < r->spares_want;
		quiet = mono_ms() - r->spare_taken_ms;
		if (need && !stale && r->spare_taken_ms &&
		    quiet < SPARE_QUIET_MS) {
			ms_wait(r, SPARE_QUIET_MS - quiet);
			continue;
		}
		pthread_mutex_unlock(&r->slock);
		while ((s = stale)) {
			stale = s->next;
			spare_drop(r, s);
		}
		s = need ? spare_make(r, cur) : NULL;
		failed = need && !s;
		pthread_mutex_lock(&r->slock);
		if (s) {
			spare_push(r, s);
			continue;
		}
		if (r->sstop)
			break;
		/* Woken (a spare taken, a new version) or not, try again. */
		ms_wait(r, (failed ? SPARE_RETRY_S : SPARE_RECHECK_S) * 1000);
	}
	pthread_mutex_unlock(&r->slock);
	return NULL;
}

/* Wakes the spare thread (a spare was taken, the version changed). */
static void spares_wake(struct fleet_rbd *r)
{
	if (!r->sthread_on)
		return;
	pthread_mutex_lock(&r->slock);
	pthread_cond_signal(&r->swake);
	pthread_mutex_unlock(&r->slock);
}

/* Stops the spare thread and removes the spares. */
static void spares_stop(struct fleet_rbd *r)
{
	struct fleet_gen *s;

	if (!r->sthread_on)
		return;
	pthread_mutex_lock(&r->slock);
	r->sstop = 1;
	pthread_cond_signal(&r->swake);
	pthread_mutex_unlock(&r->slock);
	pthread_join(r->sthread, NULL);
	while ((s = r->spares)) {
		r->spares = s->next;
		spare_drop(r, s);
	}
	r->n_spares = 0;
	r->sthread_on = 0;
}

/* fleet_store_ops.spares */
static void rs_spares(struct fleet_lun *fl, unsigned *ready, unsigned *want)
{
	struct fleet_rbd *r = fl->rbd;

	pthread_mutex_lock(&r->slock);
	*ready = (unsigned)r->n_spares;
	*want = r->spares_want;
	pthread_mutex_unlock(&r->slock);
}

/* fleet_store_ops.commit: the seat's clone is renamed PREFIX.v.NUM and
 * snapshotted; then, in one operation that checks the current version,
 * the state says so. */
static int rs_commit(struct fleet_lun *fl, const char *name, unsigned num,
		     unsigned base, const char *comment, char *err,
		     size_t errlen)
{
	struct fleet_rbd *r = fl->rbd;
	char from[FLEET_IMAGE_MAX], to[FLEET_IMAGE_MAX];
	char key[32], info[STATE_VAL_MAX], cur[16], nums[16], who[128];
	char phase[32] = "firmware";
	size_t plen = sizeof(phase);
	const char *keys[2], *vals[2];
	rbd_image_t img;
	int rc;

	client_image(r, name, from, sizeof(from));
	ver_image(r, num, to, sizeof(to));
	/* Held here from before the rename to the end, the lock keeps a
	 * gateway that the seat logs in to meanwhile from writing. */
	rc = F.rbd_open(r->io, from, &img, NULL);
	if (rc == 0 && (rc = lock_take(img, who, sizeof(who))))
		F.rbd_close(img);
	if (rc) {
		snprintf(err, errlen, "%s: %s", from,
			 rc == -EAGAIN ? "open through another gateway"
				       : strerror(-rc));
		return rc;
	}
	F.rbd_metadata_get(img, "wupan.phase", phase, &plen);
	/* Another commit (a second update seat, another gateway) took the
	 * same number first: its compare-and-set decides, this one lost. */
	rc = rename_to(r, img, from, to);
	if (rc) {
		snprintf(err, errlen, "rename %s to %s: %s", from, to,
			 strerror(-rc));
		F.rbd_close(img);
		return rc == -EEXIST ? -ESTALE : rc;
	}
	/* Clones of the version inherit its metadata: they start on it. */
	snprintf(nums, sizeof(nums), "%u", num);
	snprintf(cur, sizeof(cur), "%u", base);
	if ((rc = F.rbd_metadata_set(img, "wupan.base", nums)) ||
	    (rc = F.rbd_metadata_set(img, "wupan.phase", "firmware")) ||
	    (rc = F.rbd_snap_create(img, "v")) ||
	    (rc = F.rbd_snap_protect(img, "v")))
		goto err_snap;
	snprintf(key, sizeof(key), "ver.%u", num);
	fleet_ver_build(info, sizeof(info), base, (long long)time(NULL),
			comment);
	keys[0] = key;
	vals[0] = info;
	keys[1] = "current";
	vals[1] = nums;
	rc = state_change(r, cur, keys, vals, 2, NULL);
	if (rc)
		goto err_snap;
	F.rbd_close(img);
	spares_wake(r);
	return 0;
err_snap:
	snprintf(err, errlen, "version image %s: %s", to, strerror(-rc));
	snap_drop(img);
	/* The seat keeps its work, still on version base. */
	F.rbd_metadata_set(img, "wupan.base", cur);
	F.rbd_metadata_set(img, "wupan.phase", phase);
	F.rbd_rename(r->io, to, from);
	F.rbd_close(img);
	return rc;
}

/* fleet_store_ops.set_current */
static int rs_set_current(struct fleet_lun *fl, unsigned from, unsigned to)
{
	char f[16], t[16];
	const char *key = "current", *val = t;

	int rc;

	snprintf(f, sizeof(f), "%u", from);
	snprintf(t, sizeof(t), "%u", to);
	rc = state_change(fl->rbd, f, &key, &val, 1, NULL);
	if (rc == 0)
		spares_wake(fl->rbd);
	return rc;
}

/* fleet_store_ops.ver_remove: Ceph refuses while a clone (a client of
 * any gateway, or the next version) stands on the snapshot. */
static int rs_ver_remove(struct fleet_lun *fl, unsigned num)
{
	struct fleet_rbd *r = fl->rbd;
	char name[FLEET_IMAGE_MAX], key[32], buf[STATE_VAL_MAX];
	rbd_image_t img;
	int rc, known;

	snprintf(key, sizeof(key), "ver.%u", num);
	known = state_get(r, key, buf, sizeof(buf)) == 0;
	ver_image(r, num, name, sizeof(name));
	rc = F.rbd_open(r->io, name, &img, NULL);
	if (rc == -ENOENT && !known)
		return -ENOENT;
	if (rc == 0) {
		rc = snap_drop(img);
		F.rbd_close(img);
		if (rc)
			return rc;
		rc = F.rbd_remove(r->io, name);
		if (rc)
			return rc;
	}
	return known ? state_change(r, NULL, NULL, NULL, 0, key) : 0;
}

/* fleet_store_ops.close */
static void rs_store_close(struct fleet_lun *fl)
{
	struct fleet_rbd *r = fl->rbd;

	spares_stop(r);
	pthread_mutex_destroy(&r->slock);
	pthread_cond_destroy(&r->swake);
	rbd_gcache_trim();
	backend_rbd_close(&r->golden);
	F.rados_ioctx_destroy(r->io);
	F.rados_ioctx_destroy(r->gio);
	backend_rbd_cluster_put();
	free(r);
	fl->rbd = NULL;
}

const struct fleet_store_ops fleet_rbd_ops = {
	.open_unlocked = 1,
	.close = rs_store_close,
	.peek = rs_peek,
	.gen_open = rs_gen_open,
	.gen_close = rs_gen_close,
	.linger = rs_linger,
	.resume = rs_resume,
	.retire = rs_retire,
	.set_phase = rs_set_phase,
	.attach = rs_attach,
	.usage = rs_usage,
	.used = rs_used,
	.clients = rs_clients,
	.elsewhere = rs_elsewhere,
	.discard = rs_discard,
	.current = rs_current,
	.ver_max = rs_ver_max,
	.ver_info = rs_ver_info,
	.commit = rs_commit,
	.set_current = rs_set_current,
	.ver_remove = rs_ver_remove,
	.spares = rs_spares,
};

/* Makes sure the golden snapshot exists and is protected (clones of
 * format 1 need it); another gateway may do the same at once. */
static int golden_snap(struct fleet_rbd *r, char *err, size_t errlen)
{
	rbd_image_t img;
	int rc, prot = 0;

	rc = F.rbd_open(r->gio, r->gimage, &img, NULL);
	if (rc) {
		snprintf(err, errlen, "ceph: golden image %s: %s", r->gimage,
			 rc == -ENOENT ? "no such image" : strerror(-rc));
		return -1;
	}
	rc = F.rbd_snap_is_protected(img, r->gsnap, &prot);
	if (rc == -ENOENT) {
		rc = F.rbd_snap_create(img, r->gsnap);
		if (rc == -EEXIST)
			rc = 0;
	}
	if (rc == 0 && !prot) {
		rc = F.rbd_snap_protect(img, r->gsnap);
		if (rc == -EBUSY) /* already protected meanwhile */
			rc = 0;
	}
	F.rbd_close(img);
	if (rc) {
		snprintf(err, errlen, "ceph: golden snapshot %s@%s: %s",
			 r->gimage, r->gsnap, strerror(-rc));
		return -1;
	}
	return 0;
}

/* Removes clones that earlier boots left (a gateway stopped while their
 * sessions ran) and spares a killed gateway left; those another gateway
 * still has open stay. */
static void old_clones_remove(struct fleet_rbd *r)
{
	static const char *const kinds[] = { "old.", "spare." };
	char **names, img[FLEET_IMAGE_MAX];

	for (size_t k = 0; k < 2; k++) {
		size_t n = list_images(r, kinds[k], &names);

		for (size_t i = 0; i < n; i++) {
			snprintf(img, sizeof(img), "%s.%s%s", r->prefix,
				 kinds[k], names[i]);
			F.rbd_remove(r->io, img);
			free(names[i]);
		}
		free(names);
	}
}

int fleet_rbd_open(struct fleet_lun *fl, const struct tcfg_ceph *ceph,
		   unsigned spares, void (*done)(struct iscsi_io *io),
		   char *err, size_t errlen)
{
	struct fleet_rbd *r = calloc(1, sizeof(*r));
	char gpool[TCFG_NAME_MAX + 1], spec[3 * TCFG_NAME_MAX + 8];
	const char *ov = fl->dir + 4, *slash = strchr(ov, '/');
	const char *key = "current", *zero = "0";
	pthread_condattr_t ca;
	rados_write_op_t op;
	int rc;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->ceph = ceph;
	r->done = done;
	if (strncmp(fl->golden_path, "rbd:", 4) ||
	    tcfg_rbd_split(fl->golden_path + 4, gpool, r->gimage, r->gsnap)) {
		snprintf(err, errlen,
			 "overlays on rbd: need golden=rbd:POOL/"
			 "IMAGE[@SNAP]");
		goto err_free;
	}
	if (!r->gsnap[0])
		snprintf(r->gsnap, sizeof(r->gsnap), "wupan-0");
	snprintf(r->pool, sizeof(r->pool), "%.*s",
		 (int)(slash ? (size_t)(slash - ov) : strlen(ov)), ov);
	snprintf(r->prefix, sizeof(r->prefix), "%s",
		 slash ? slash + 1 : r->gimage);
	if (!r->pool[0] || !r->prefix[0] || strchr(r->prefix, '/') ||
	    strchr(r->prefix, '@')) {
		snprintf(err, errlen, "expected overlays=rbd:POOL[/PREFIX]");
		goto err_free;
	}
	snprintf(r->oid, sizeof(r->oid), "%s.fleet", r->prefix);
	if (backend_rbd_cluster(ceph, &r->cluster, err, errlen))
		goto err_free;
	if (fsyms_load(err, errlen))
		goto err_put;
	rc = F.rados_ioctx_create(r->cluster, r->pool, &r->io);
	if (rc == 0) {
		rc = F.rados_ioctx_create(r->cluster, gpool, &r->gio);
		if (rc)
			F.rados_ioctx_destroy(r->io);
	}
	if (rc) {
		snprintf(err, errlen, "ceph: pool %s or %s: %s", r->pool, gpool,
			 rc == -ENOENT ? "no such pool" : strerror(-rc));
		goto err_put;
	}
	if (golden_snap(r, err, errlen))
		goto err_io;
	snprintf(spec, sizeof(spec), "%s/%s@%s", gpool, r->gimage, r->gsnap);
	if (backend_rbd_open(&r->golden, fl->tmpl, spec, 1, ceph, done, err,
			     errlen))
		goto err_io;
	/* The state object starts at version 0, once. */
	op = F.rados_create_write_op();
	F.rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	F.rados_write_op_omap_set(op, &key, &zero, (size_t[]){ 1 }, 1);
	rc = F.rados_write_op_operate(op, r->io, r->oid, NULL, 0);
	F.rados_release_write_op(op);
	if (rc && rc != -EEXIST) {
		snprintf(err, errlen, "ceph: state object %s/%s: %s", r->pool,
			 r->oid, strerror(-rc));
		backend_rbd_close(&r->golden);
		goto err_io;
	}
	fl->rbd = r;
	fl->ops = &fleet_rbd_ops;
	old_clones_remove(r);
	r->fl = fl;
	r->inst = F.rados_get_instance_id(r->cluster);
	r->spares_want = spares;
	pthread_mutex_init(&r->slock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->swake, &ca);
	pthread_condattr_destroy(&ca);
	if (spares && pthread_create(&r->sthread, NULL, spare_main, r) == 0)
		r->sthread_on = 1;
	else if (spares)
		log_line("overlays %s: cannot start the spare thread: no "
			 "spares",
			 fl->dir);
	return 0;
err_io:
	F.rados_ioctx_destroy(r->io);
	F.rados_ioctx_destroy(r->gio);
err_put:
	backend_rbd_cluster_put();
err_free:
	free(r);
	return -1;
}
