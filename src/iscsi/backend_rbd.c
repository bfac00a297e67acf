/* Ceph RBD storage through librbd: see backend.h.
 *
 * librbd and librados are loaded with dlopen(3) when the first rbd: LUN
 * opens, so a boot server serving only files needs no Ceph library (they
 * pull in most of Ceph's common code); the build only needs the headers
 * (Debian's librbd-dev). */
#include "iscsi/backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/rbd_gcache.h"

/* The entry points used, resolved from the two libraries. */
struct rbd_lib {
	void *rados_so, *rbd_so;
	__typeof__(rados_create) *rados_create;
	__typeof__(rados_conf_read_file) *rados_conf_read_file;
	__typeof__(rados_conf_set) *rados_conf_set;
	__typeof__(rados_connect) *rados_connect;
	__typeof__(rados_shutdown) *rados_shutdown;
	__typeof__(rados_ioctx_create) *rados_ioctx_create;
	__typeof__(rados_ioctx_destroy) *rados_ioctx_destroy;
	__typeof__(rbd_open) *rbd_open;
	__typeof__(rbd_open_read_only) *rbd_open_read_only;
	__typeof__(rbd_close) *rbd_close;
	__typeof__(rbd_get_size) *rbd_get_size;
	__typeof__(rbd_read) *rbd_read;
	__typeof__(rbd_write) *rbd_write;
	__typeof__(rbd_flush) *rbd_flush;
	__typeof__(rbd_discard) *rbd_discard;
	__typeof__(rbd_aio_create_completion) *rbd_aio_create_completion;
	__typeof__(rbd_aio_read) *rbd_aio_read;
	__typeof__(rbd_aio_write) *rbd_aio_write;
	__typeof__(rbd_aio_flush) *rbd_aio_flush;
	__typeof__(rbd_aio_discard) *rbd_aio_discard;
	__typeof__(rbd_aio_get_return_value) *rbd_aio_get_return_value;
	__typeof__(rbd_aio_release) *rbd_aio_release;
};

#define RBD_SYM(so, name)                                 \
	{                                                 \
#name, offsetof(struct rbd_lib, name), so \
	}
static const struct {
	const char *name;
	size_t off;
	int rbd; /* 1: from librbd, 0: from librados */
} rbd_syms[] = {
	RBD_SYM(0, rados_create),
	RBD_SYM(0, rados_conf_read_file),
	RBD_SYM(0, rados_conf_set),
	RBD_SYM(0, rados_connect),
	RBD_SYM(0, rados_shutdown),
	RBD_SYM(0, rados_ioctx_create),
	RBD_SYM(0, rados_ioctx_destroy),
	RBD_SYM(1, rbd_open),
	RBD_SYM(1, rbd_open_read_only),
	RBD_SYM(1, rbd_close),
	RBD_SYM(1, rbd_get_size),
	RBD_SYM(1, rbd_read),
	RBD_SYM(1, rbd_write),
	RBD_SYM(1, rbd_flush),
	RBD_SYM(1, rbd_discard),
	RBD_SYM(1, rbd_aio_create_completion),
	RBD_SYM(1, rbd_aio_read),
	RBD_SYM(1, rbd_aio_write),
	RBD_SYM(1, rbd_aio_flush),
	RBD_SYM(1, rbd_aio_discard),
	RBD_SYM(1, rbd_aio_get_return_value),
	RBD_SYM(1, rbd_aio_release),
};

/* The libraries and the one cluster connection every rbd: LUN shares. */
static struct {
	pthread_mutex_t lock;
	struct rbd_lib lib;
	int loaded;
	rados_t cluster;
	unsigned users;
} rbd_g = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define L (rbd_g.lib)

/* Loads librbd and librados once; returns 0 or -1 with err set. */
static int rbd_load(char *err, size_t errlen)
{
	if (rbd_g.loaded)
		return 0;
	/* librados first: librbd needs it, and it names the missing
	 * package more plainly. */
	L.rados_so = dlopen("librados.so.2", RTLD_NOW | RTLD_LOCAL);
	L.rbd_so = L.rados_so ? dlopen("librbd.so.1", RTLD_NOW | RTLD_LOCAL)
			      : NULL;
	if (!L.rbd_so) {
		snprintf(err, errlen,
			 "rbd: LUNs need librbd (Debian package librbd1): %s",
			 dlerror());
		goto err_load;
	}
	for (size_t i = 0; i < sizeof(rbd_syms) / sizeof(rbd_syms[0]); i++) {
		void *p = dlsym(rbd_syms[i].rbd ? L.rbd_so : L.rados_so,
				rbd_syms[i].name);

		if (!p) {
			snprintf(err, errlen, "librbd lacks %s: too old?",
				 rbd_syms[i].name);
			goto err_load;
		}
		memcpy((char *)&L + rbd_syms[i].off, &p, sizeof(p));
	}
	rbd_g.loaded = 1;
	return 0;
err_load:
	if (L.rbd_so)
		dlclose(L.rbd_so);
	if (L.rados_so)
		dlclose(L.rados_so);
	memset(&L, 0, sizeof(L));
	return -1;
}

/* Connects to the cluster (once, rbd_g.lock held); returns 0 or -1. */
static int rbd_connect(const struct tcfg_ceph *ceph, char *err, size_t errlen)
{
	char tmo[16];
	/* Timeouts turn a missing monitor or a dead OSD into an error
	 * instead of a hang; partial discards must still zero their range,
	 * as the unit reports that unmapped blocks read back as zeros.
	 * No librbd cache, whatever ceph.conf says: after the first flush
	 * its default (writearound, Ceph 16) acknowledges writes still in
	 * this process, and a gateway killed then loses them (seen with
	 * tests/ceph/takeover.sh); a write is acknowledged once the OSDs
	 * have it.  A lock broken from a dead gateway fences it first. */
	const char *const set[][2] = {
		{ "client_mount_timeout", tmo },
		{ "rados_mon_op_timeout", tmo },
		{ "rados_osd_op_timeout", tmo },
		{ "rbd_skip_partial_discard", "false" },
		{ "rbd_cache", "false" },
		{ "rbd_blocklist_on_break_lock", "true" },
		{ "log_to_stderr", "false" },
		{ "err_to_stderr", "false" },
	};
	char what[300];
	int rc;

	if (rbd_g.users)
		return 0;
	snprintf(tmo, sizeof(tmo), "%u",
		 ceph->timeout ? ceph->timeout : TCFG_CEPH_TIMEOUT);
	snprintf(what, sizeof(what), "create a handle for client.%s",
		 ceph->id ? ceph->id : "admin");
	rc = L.rados_create(&rbd_g.cluster, ceph->id);
	if (rc < 0)
		goto err_create;
	snprintf(what, sizeof(what), "read %s",
		 ceph->conf ? ceph->conf : "a ceph.conf");
	rc = L.rados_conf_read_file(rbd_g.cluster, ceph->conf);
	if (rc < 0)
		goto err_conf;
	snprintf(what, sizeof(what), "use keyring %s",
		 ceph->keyring ? ceph->keyring : "");
	if (ceph->keyring && (rc = L.rados_conf_set(rbd_g.cluster, "keyring",
						    ceph->keyring)) < 0)
		goto err_conf;
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		snprintf(what, sizeof(what), "set %s", set[i][0]);
		rc = L.rados_conf_set(rbd_g.cluster, set[i][0], set[i][1]);
		if (rc < 0)
			goto err_conf;
	}
	snprintf(what, sizeof(what), "connect to the cluster");
	rc = L.rados_connect(rbd_g.cluster);
	if (rc < 0)
		goto err_conf;
	return 0;
err_conf:
	L.rados_shutdown(rbd_g.cluster);
err_create:
	snprintf(err, errlen, "ceph: cannot %s: %s", what,
		 rc == -ETIMEDOUT ? "no answer from the monitors (timed out)"
				  : strerror(-rc));
	return -1;
}

/* Drops one user of the cluster connection (rbd_g.lock held). */
static void rbd_disconnect(void)
{
	if (--rbd_g.users == 0)
		L.rados_shutdown(rbd_g.cluster);
}

/* Backend read: see struct scsi_backend_ops (disk workers only). */
static int rbd_read_sync(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct backend_rbd *br = ctx;
	ssize_t n = L.rbd_read(br->image, off, len, buf);

	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

/* Backend write (disk workers only). */
static int rbd_write_sync(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct backend_rbd *br = ctx;
	ssize_t n;

	rbd_gcache_mark(br, off, len);
	n = L.rbd_write(br->image, off, len, buf);

	return n < 0 ? (int)n : (size_t)n == len ? 0 : -EIO;
}

/* Backend sync: rbd_flush puts completed writes in the cluster. */
static int rbd_sync(void *ctx)
{
	struct backend_rbd *br = ctx;

	return L.rbd_flush(br->image);
}

/* Backend punch: a discard frees whole objects and zeroes the rest. */
static int rbd_punch(void *ctx, uint64_t off, uint64_t len)
{
	struct backend_rbd *br = ctx;
	int rc;

	rbd_gcache_mark(br, off, len);
	rc = L.rbd_discard(br->image, off, len);

	return rc < 0 ? rc : 0; /* it says how many bytes it discarded */
}

static const struct scsi_backend_ops rbd_ops = {
	.read = rbd_read_sync,
	.write = rbd_write_sync,
	.sync = rbd_sync,
	.punch = rbd_punch,
};

static const struct scsi_backend_ops rbd_ops_ro = {
	.read = rbd_read_sync,
	.write = rbd_write_sync,
	.sync = rbd_sync,
};

int backend_rbd_open(struct backend_rbd *br, struct scsi_lu *lu,
		     const char *spec, int ro, const struct tcfg_ceph *ceph,
		     void (*done)(struct iscsi_io *io), char *err,
		     size_t errlen)
{
	char pool[TCFG_NAME_MAX + 1], image[TCFG_NAME_MAX + 1];
	char snap[TCFG_NAME_MAX + 1];
	rados_t cluster;
	uint64_t size;
	int rc, missing = 0;

	memset(br, 0, sizeof(*br));
	br->bf.fd = -1;
	br->done = done;
	if (tcfg_rbd_split(spec, pool, image, snap)) {
		snprintf(err, errlen, "expected rbd:POOL/IMAGE[@SNAP]");
		return -1;
	}
	ro = ro || snap[0];
	pthread_mutex_lock(&rbd_g.lock);
	if (rbd_load(err, errlen) || rbd_connect(ceph, err, errlen)) {
		pthread_mutex_unlock(&rbd_g.lock);
		return -1;
	}
	rbd_g.users++;
	cluster = rbd_g.cluster; /* stays while this user counts */
	/* The rest is round trips to the cluster: not under the lock, so a
	 * room's logins open their clones in parallel. */
	pthread_mutex_unlock(&rbd_g.lock);
	rc = L.rados_ioctx_create(cluster, pool, &br->ioctx);
	if (rc < 0) {
		snprintf(err, errlen, "ceph: pool %s: %s", pool,
			 rc == -ENOENT ? "no such pool" : strerror(-rc));
		goto err_conn;
	}
	rc = (ro ? L.rbd_open_read_only : L.rbd_open)(
		br->ioctx, image, &br->image, snap[0] ? snap : NULL);
	if (rc < 0) {
		snprintf(err, errlen, "ceph: image %s/%s%s%s: %s", pool, image,
			 snap[0] ? "@" : "", snap,
			 rc == -ENOENT ? "no such image or snapshot"
				       : strerror(-rc));
		missing = rc == -ENOENT && !snap[0];
		goto err_ioctx;
	}
	rc = L.rbd_get_size(br->image, &size);
	if (rc < 0 || size == 0 || size % 512) {
		snprintf(
			err, errlen,
			"ceph: image %s/%s: size %llu is not a non-zero multiple of 512 bytes",
			pool, image, rc < 0 ? 0ull : (unsigned long long)size);
		goto err_image;
	}
	pthread_rwlock_init(&br->bf.lock, NULL);
	br->blocks = size / 512;
	br->ro = ro;
	backend_rbd_attach(br, lu);
	return 0;
err_image:
	L.rbd_close(br->image);
err_ioctx:
	L.rados_ioctx_destroy(br->ioctx);
err_conn:
	pthread_mutex_lock(&rbd_g.lock);
	rbd_disconnect();
	pthread_mutex_unlock(&rbd_g.lock);
	return missing ? -ENOENT : -1;
}

void backend_rbd_close(struct backend_rbd *br)
{
	if (!br->image)
		return;
	rbd_gcache_detach(br);
	/* rbd_close waits for the writes in flight.  No rbd_flush: on a
	 * clone whose lock another gateway holds, librbd would first ask
	 * for that lock, and block until a dead holder's watch times out. */
	L.rbd_close(br->image);
	L.rados_ioctx_destroy(br->ioctx);
	br->image = NULL;
	pthread_rwlock_destroy(&br->bf.lock);
	pthread_mutex_lock(&rbd_g.lock);
	rbd_disconnect();
	pthread_mutex_unlock(&rbd_g.lock);
}

void backend_rbd_attach(struct backend_rbd *br, struct scsi_lu *lu)
{
	lu->ops = br->ro ? &rbd_ops_ro : &rbd_ops;
	lu->ctx = br;
	lu->block_size = 512;
	lu->blocks = br->blocks;
	lu->ro = br->ro;
}

int backend_rbd_cluster(const struct tcfg_ceph *ceph, void **cluster, char *err,
			size_t errlen)
{
	int rc = -1;

	pthread_mutex_lock(&rbd_g.lock);
	if (!rbd_load(err, errlen) && !rbd_connect(ceph, err, errlen)) {
		rbd_g.users++;
		*cluster = rbd_g.cluster;
		rc = 0;
	}
	pthread_mutex_unlock(&rbd_g.lock);
	return rc;
}

void backend_rbd_cluster_put(void)
{
	pthread_mutex_lock(&rbd_g.lock);
	rbd_disconnect();
	pthread_mutex_unlock(&rbd_g.lock);
}

void *backend_rbd_sym(const char *name)
{
	void *p;

	if (!rbd_g.loaded)
		return NULL;
	p = dlsym(L.rbd_so, name);
	return p ? p : dlsym(L.rados_so, name);
}

int backend_rbd_is(const struct scsi_lu *lu)
{
	return lu->ops == &rbd_ops || lu->ops == &rbd_ops_ro;
}

/* librbd's callback (on its finisher thread): records the outcome in the
 * command, as the synchronous path would, and hands io back. */
static void rbd_aio_done(rbd_completion_t comp, void *arg)
{
	struct iscsi_io *io = arg;
	struct scsi_cmd *cmd = &io->task->cmd;
	ssize_t n = L.rbd_aio_get_return_value(comp);
	int rc = n < 0 ? (int)n : 0;

	struct backend_rbd *br = io->task->lu->ctx;

	L.rbd_aio_release(comp);
	if (io->op == ISCSI_IO_FINISH)
		scsi_cmd_sync_done(cmd, rc);
	else
		io->rc =
			scsi_cmd_medium_done(cmd, io->op == ISCSI_IO_WRITE, rc);
	br->done(io);
}

/* The discards of one UNMAP or WRITE SAME, and what they add up to. */
struct rbd_discards {
	struct iscsi_io *io;
	atomic_int left;
	atomic_int rc;
};

/* librbd's callback for one discard: the last one answers the command. */
static void rbd_discard_done(rbd_completion_t comp, void *arg)
{
	struct rbd_discards *d = arg;
	ssize_t n = L.rbd_aio_get_return_value(comp);
	struct iscsi_io *io = d->io;
	struct backend_rbd *br = io->task->lu->ctx;

	L.rbd_aio_release(comp);
	if (n < 0)
		atomic_store(&d->rc, (int)n);
	if (atomic_fetch_sub(&d->left, 1) != 1)
		return;
	scsi_cmd_sync_done(&io->task->cmd, atomic_load(&d->rc));
	free(d);
	br->done(io);
}

/* Starts the discards of a finishing UNMAP or WRITE SAME with UNMAP;
 * returns 0, or -EAGAIN when io is something else. */
static int rbd_submit_discard(struct backend_rbd *br, struct iscsi_io *io)
{
	struct scsi_range r[SCSI_MAX_UNMAP_DESC];
	int n = scsi_cmd_discard_ranges(io->task->lu, &io->task->cmd, r);
	struct rbd_discards *d;

	if (n < 0)
		return -EAGAIN;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -EAGAIN; /* checked again by the worker, same answer */
	d->io = io;
	/* One extra count, dropped below: none completes the command while
	 * more are being started. */
	atomic_init(&d->left, n + 1);
	atomic_init(&d->rc, 0);
	for (int i = 0; i < n; i++) {
		rbd_completion_t comp;
		int rc =
			L.rbd_aio_create_completion(d, rbd_discard_done, &comp);

		if (rc >= 0) {
			rbd_gcache_mark(br, r[i].off, r[i].len);
			rc = L.rbd_aio_discard(br->image, r[i].off, r[i].len,
					       comp);
			if (rc >= 0)
				continue;
			L.rbd_aio_release(comp);
		}
		atomic_store(&d->rc, rc);
		atomic_fetch_sub(&d->left, 1);
	}
	if (atomic_fetch_sub(&d->left, 1) == 1) {
		scsi_cmd_sync_done(&io->task->cmd, atomic_load(&d->rc));
		free(d);
		br->done(io);
	}
	return 0;
}

int backend_rbd_submit(struct iscsi_io *io)
{
	struct scsi_lu *lu = io->task->lu;
	struct scsi_cmd *cmd = &io->task->cmd;
	struct backend_rbd *br = lu->ctx;
	rbd_completion_t comp;
	uint32_t len = io->len;
	uint64_t at = 0;
	int rc;

	if (io->op == ISCSI_IO_FINISH && !scsi_cmd_finish_sync_only(cmd))
		return rbd_submit_discard(br, io);
	/* What is not a plain transfer, flush or discard (WRITE SAME with
	 * data, COMPARE AND WRITE, VERIFY...) goes to a disk worker, which
	 * runs the same librbd calls synchronously. */
	if (io->op != ISCSI_IO_FINISH &&
	    scsi_cmd_medium_range(lu, cmd, io->op == ISCSI_IO_WRITE, io->off,
				  &len, &at))
		return -EAGAIN;
	if (io->op == ISCSI_IO_READ)
		return rbd_gcache_read(br, io, at, len) == 0 ||
				       backend_rbd_read_clone(io, at, len) == 0
			       ? 0
			       : -EAGAIN;
	if (L.rbd_aio_create_completion(io, rbd_aio_done, &comp) < 0)
		return -EAGAIN;
	if (io->op == ISCSI_IO_WRITE) {
		rbd_gcache_mark(br, at, len);
		rc = L.rbd_aio_write(br->image, at, len, (const char *)io->buf,
				     comp);
	} else {
		rc = L.rbd_aio_flush(br->image, comp);
	}
	if (rc < 0) {
		L.rbd_aio_release(comp);
		return -EAGAIN;
	}
	return 0;
}

int backend_rbd_read_clone(struct iscsi_io *io, uint64_t at, uint32_t len)
{
	struct backend_rbd *br = io->task->lu->ctx;
	rbd_completion_t comp;

	if (L.rbd_aio_create_completion(io, rbd_aio_done, &comp) < 0)
		return -1;
	if (L.rbd_aio_read(br->image, at, len, (char *)io->buf, comp) < 0) {
		L.rbd_aio_release(comp);
		return -1;
	}
	return 0;
}
