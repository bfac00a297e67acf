/* Where a room's overlays and versions live, behind one small interface:
 * fleet.c holds the logic (the boot rule, refusals, reports, what prune
 * keeps) and calls a store for the storage: files in a directory
 * (fleet_file.c) or Ceph RBD clones and snapshots (fleet_rbd.c).  Every
 * call runs with the LUN's lock held, but for open_unlocked. */
#ifndef WUPAN_ISCSI_FLEET_STORE_H
#define WUPAN_ISCSI_FLEET_STORE_H

#include <pthread.h>
#include <stdint.h>

#include "iscsi/backend.h"
#include "iscsi/config.h"
#include "iscsi/overlay.h"

/* An RBD image name the store makes: PREFIX, a word, a client name. */
#define FLEET_IMAGE_MAX (2 * TCFG_NAME_MAX + 48)

struct fleet_lun;
struct fleet_rbd;

/* One open overlay of a client.  A reset replaces it by a new one; the
 * sessions of the old boot keep theirs until they end. */
struct fleet_gen {
	/* First: the unit's ctx, whose first member is the workers' lock. */
	union {
		struct ovl o;
		struct backend_rbd br;
	} u;
	struct fleet_gen *next;
	struct fleet_lun *fl;
	int refs; /* sessions using it */
	int stale; /* replaced by a reset */
	/* Lingering (no session, still open: see linger below) until this
	 * CLOCK_MONOTONIC millisecond; 0: not. */
	uint64_t linger_until;
	int lingered; /* rbd: has lingered once (see fleet_rbd.c) */
	/* Being made by a login without the LUN's lock (open_unlocked):
	 * only client, refs and pin may be read meanwhile. */
	int opening;
	unsigned pin; /* while opening: the version it may be made on */
	enum ovl_phase phase; /* recorded */
	unsigned base; /* the version it was made on */
	struct fleet_ver *ver; /* files: the version below, NULL: golden */
	char image[FLEET_IMAGE_MAX]; /* rbd: its clone's name now */
	char client[TCFG_NAME_MAX + 1];
};

/* gen_open's fresh for a client the store just said has no overlay. */
#define FLEET_NEW 2

/* A committed version of a file store, open while a client overlay or a
 * newer version stands on it. */
struct fleet_ver {
	struct ovl o; /* first */
	struct fleet_ver *next;
	struct fleet_ver *parent; /* NULL: the golden image */
	unsigned num;
	int refs;
};

/* The storage of one overlay LUN.  Returns: 0 or a negative errno unless
 * said otherwise. */
struct fleet_store_ops {
	/* A login's peek, gen_open and set_phase of a new overlay may run
	 * without the LUN's lock, in parallel with other clients' (the store
	 * shares nothing among them that is not safe so). */
	int open_unlocked;
	/* Lets go of what open took (no session is left). */
	void (*close)(struct fleet_lun *fl);
	/* The phase and base of the client's overlay; -ENOENT: none. */
	int (*peek)(struct fleet_lun *fl, const char *name,
		    enum ovl_phase *phase, unsigned *base);
	/* Opens g->client's overlay, a new one on version cur if fresh or
	 * missing (an old one is discarded; sessions of this gateway still
	 * on it keep theirs; FLEET_NEW: fresh, and known to have none);
	 * fills g->base and g->phase. */
	int (*gen_open)(struct fleet_lun *fl, struct fleet_gen *g, int fresh,
			unsigned cur, char *err, size_t errlen);
	/* g, still used by the sessions of an earlier boot, is replaced:
	 * its overlay must no longer be found under the client's name. */
	int (*retire)(struct fleet_gen *g);
	/* Closes g, the last session on it ended. */
	void (*gen_close)(struct fleet_gen *g);
	/* The last session on g ended: keeps it open for a while for the
	 * client's next login here (the OS's, after the firmware's), but so
	 * that another gateway may take it meanwhile.  Nonzero: close it at
	 * once.  NULL: a store that always closes. */
	int (*linger)(struct fleet_gen *g);
	/* Takes the lingering g back for a login, without the LUN's lock
	 * (g is marked opening).  Nonzero: it cannot be (another gateway
	 * took it, or its overlay was replaced): close it and open anew. */
	int (*resume)(struct fleet_gen *g);
	/* Records phase in g's overlay. */
	int (*set_phase)(struct fleet_gen *g, enum ovl_phase phase);
	/* Points a session's unit at g. */
	void (*attach)(struct fleet_gen *g, struct scsi_lu *lu);
	/* Bytes allocated, written (-1: unknown) and read/written since
	 * opened (-1: not counted) of the client name, open as g or not. */
	void (*usage)(struct fleet_lun *fl, const char *name,
		      struct fleet_gen *g, uint64_t *alloc, long long *written,
		      long long *rd, long long *wr);
	/* Bytes all overlays hold together (-1: not counted). */
	long long (*used)(struct fleet_lun *fl);
	/* The clients with an overlay, sorted; returns how many (the
	 * caller frees the names). */
	size_t (*clients)(struct fleet_lun *fl, char ***names);
	/* Returns 1 if another gateway has the client's overlay open. */
	int (*elsewhere)(struct fleet_lun *fl, const char *name);
	/* Removes the client's overlay; -ENOENT: none, -EBUSY: in use. */
	int (*discard)(struct fleet_lun *fl, const char *name);
	/* The current version (0: the golden image). */
	unsigned (*current)(struct fleet_lun *fl);
	/* The highest committed version (0: none). */
	unsigned (*ver_max)(struct fleet_lun *fl);
	/* Version num's parent, time and comment; -ENOENT: none. */
	int (*ver_info)(struct fleet_lun *fl, unsigned num, unsigned *parent,
			long long *when, char *comment, size_t clen);
	/* Makes the closed overlay of name (made on base, the current
	 * version) version num with comment, and num current; refused with
	 * -ESTALE if the current version is no longer base. */
	int (*commit)(struct fleet_lun *fl, const char *name, unsigned num,
		      unsigned base, const char *comment, char *err,
		      size_t errlen);
	/* Makes to current if from still is; -ESTALE if not. */
	int (*set_current)(struct fleet_lun *fl, unsigned from, unsigned to);
	/* Removes version num; -EBUSY: something still stands on it. */
	int (*ver_remove)(struct fleet_lun *fl, unsigned num);
	/* Overlays made ahead: how many are ready, how many are kept (NULL:
	 * none, as in a directory). */
	void (*spares)(struct fleet_lun *fl, unsigned *ready, unsigned *want);
};

struct fleet_lun {
	struct fleet_lun *next;
	const struct fleet_store_ops *ops;
	char *update; /* update seat pattern, or NULL */
	struct scsi_lu *tmpl; /* the golden image, read-only */
	char *golden_path;
	char *dir; /* the overlays= value */
	int mode;
	uint64_t limit;
	unsigned linger_ms; /* how long a clone lingers; 0: not at all */
	pthread_mutex_t lock;
	pthread_cond_t opened; /* a gen stopped opening */
	struct fleet_gen *gens;
	/* Files (fleet_file.c). */
	struct backend_file *golden;
	int dirfd;
	int versfd; /* DIR/versions */
	struct fleet_ver *vers;
	struct ovl_pool pool;
	/* Ceph RBD (fleet_rbd.c). */
	struct fleet_rbd *rbd;
};

extern const struct fleet_store_ops fleet_file_ops;
extern const struct fleet_store_ops fleet_rbd_ops;

/* Sets up fl's directory store (fl->dir, golden, tmpl set).  Returns 0,
 * or -1 with the problem in err. */
int fleet_file_open(struct fleet_lun *fl, char *err, size_t errlen);

/* Sets up fl's RBD store: overlays = "rbd:POOL[/PREFIX]", golden "rbd:
 * POOL/IMAGE[@SNAP]" opened as fl->tmpl, spares clones kept made ahead.
 * Returns 0, or -1 with err. */
int fleet_rbd_open(struct fleet_lun *fl, const struct tcfg_ceph *ceph,
		   unsigned spares, void (*done)(struct iscsi_io *io),
		   char *err, size_t errlen);

/* Sorts n names in place. */
void fleet_sort_names(char **names, size_t n);

#endif
