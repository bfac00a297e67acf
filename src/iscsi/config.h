/* Target definitions from the command line and the config file, with the
 * errors that name the file, line and problem (wupan-target(8)). */
#ifndef WUPAN_ISCSI_CONFIG_H
#define WUPAN_ISCSI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define TCFG_NAME_MAX 223 /* RFC 7143 §4.2.7.1 */
#define TCFG_SECRET_MAX 255
#define TCFG_MAX_TARGETS 4096

/* What happens to an overlay LUN's per-initiator overlays at a new boot. */
enum tcfg_overlay_mode {
	TCFG_OVL_RESET = 1, /* discarded */
	TCFG_OVL_PERSISTENT, /* kept */
};

/* One logical unit: a backing file or block device, or a golden image
 * with per-initiator overlays (fleet_rules.h). */
struct tcfg_lun {
	char *path; /* the file, or the golden image */
	int ro;
	int line;
	char *overlays; /* overlay directory, or NULL */
	int mode; /* enum tcfg_overlay_mode */
	uint64_t limit; /* bytes per overlay; 0: none */
	uint64_t dir_limit; /* bytes for the directory; 0: none */
	char *update; /* initiator pattern of the update seat, or NULL */
	unsigned spares; /* Ceph: clones made ahead for new boots */
	int linger; /* Ceph: seconds a clone stays open after its last
		     * logout (0: closed at once); -1: not given */
};

/* One CHAP account. */
struct tcfg_chap {
	char *user;
	char *secret;
};

/* One target with its units, credentials and access list. */
struct tcfg_target {
	char *name;
	struct tcfg_lun *luns;
	size_t n_luns;
	struct tcfg_chap chap; /* initiator authenticates to us */
	struct tcfg_chap mutual; /* we authenticate to the initiator */
	char **allow; /* initiator name globs; none: everyone */
	size_t n_allow;
	char *portal; /* ADDR:PORT for SendTargets, or NULL */
	const char *file; /* where it was defined, for messages */
	int line;
};

/* Limits on connections (wupan-target(8), "LIMITS"). */
struct tcfg_limits {
	unsigned login_timeout; /* seconds to reach the full feature phase */
	unsigned idle_timeout; /* seconds of silence before a NOP-In ping,
				   * and again before closing; 0: never */
	unsigned max_conns; /* connections in total */
	unsigned max_per_source; /* connections from one address */
	unsigned threads; /* event loops; 0: one per CPU */
};

#define TCFG_LOGIN_TIMEOUT 15
#define TCFG_IDLE_TIMEOUT 300
#define TCFG_MAX_CONNS 4096
#define TCFG_MAX_PER_SOURCE 64

/* The whole configuration. */
struct tcfg {
	struct tcfg_limits limits;
	int no_reservations; /* "reservations off": none on any unit */
	struct tcfg_target **targets;
	size_t n_targets;
	char **listen;
	size_t n_listen;
	char *config_file;
	char *user; /* --user: drop to it after binding, or NULL */
	char *control; /* --control: the fleet control socket, or NULL */
	char *trace; /* --trace: the command trace file, or NULL */
	struct tcfg_ceph { /* the cluster of rbd: LUNs (wupan-target(8)) */
		char *conf; /* ceph.conf, or NULL: librados's search */
		char *id; /* client name without "client.", or NULL */
		char *keyring; /* or NULL: what ceph.conf says */
		unsigned timeout; /* seconds for a monitor or OSD to answer */
		unsigned cache_mib; /* golden-cache, when cache_set */
		int cache_set;
	} ceph;
};

#define TCFG_CEPH_TIMEOUT 30

/* Splits an RBD LUN "rbd:POOL/IMAGE[@SNAP]" (rbd: already removed) into
 * its parts, each at most TCFG_NAME_MAX bytes; snap is "" for the image
 * itself.  Returns 0 or -EINVAL. */
int tcfg_rbd_split(const char *spec, char *pool, char *image, char *snap);

/*
 * Parses the command line (see wupan-target(8)), including the file named by
 * --config.  Returns 0, or -1 with a message naming the file or option, the
 * line and the problem in err ("help" and "version" for those options).
 */
int tcfg_parse_args(struct tcfg *cfg, int argc, char **argv, char *err,
		    size_t errlen);

/* Parses a config file into cfg, adding to what is there.  Returns 0 or -1
 * with a message in err. */
int tcfg_parse_file(struct tcfg *cfg, const char *path, char *err,
		    size_t errlen);

/* Parses config text as if read from a file named name. */
int tcfg_parse_text(struct tcfg *cfg, const char *name, const char *text,
		    char *err, size_t errlen);

/* Sets the limits to their defaults (tcfg_parse_args does it first). */
void tcfg_limits_default(struct tcfg_limits *l);

/* Frees one target definition. */
void tcfg_target_free(struct tcfg_target *t);

/* Frees everything cfg holds and zeroes it. */
void tcfg_free(struct tcfg *cfg);

/* Matches s against a pattern where '*' stands for any run of characters. */
int tcfg_glob(const char *pattern, const char *s);

/* Returns 1 if initiator may log in to t. */
int tcfg_allows(const struct tcfg_target *t, const char *initiator);

/* Returns 1 if a and b define the same target identically. */
int tcfg_target_same(const struct tcfg_target *a, const struct tcfg_target *b);

/* Finds a target by name (iSCSI names compare case-insensitively). */
struct tcfg_target *tcfg_find(const struct tcfg *cfg, const char *name);

/* Splits "ADDR[:PORT]" (IPv6 in brackets) into host and port; returns 0 or
 * -EINVAL. */
int tcfg_split_addr(const char *s, char *host, size_t hostlen, unsigned *port);

#endif
