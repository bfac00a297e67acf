/* The pure rules of a room served from one golden image: the overlay LUN
 * syntax, the file name of a client's overlay, and how a new boot is told
 * from a reconnect within one boot (wupan-target(8), "A ROOM FROM ONE
 * IMAGE").  No files, clocks or logging here. */
#ifndef WUPAN_ISCSI_FLEET_RULES_H
#define WUPAN_ISCSI_FLEET_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "iscsi/config.h"
#include "iscsi/overlay.h"

/* iPXE's ISID: the IANA format (type 01b) with Fen Systems' enterprise
 * number 10019 in the first four bytes, a qualifier after (zero in older
 * iPXE, random per connection in newer). */
#define FLEET_ISID_IPXE0 0x40
#define FLEET_ISID_IPXE1 0x00
#define FLEET_ISID_IPXE2 0x27
#define FLEET_ISID_IPXE3 0x23

/* The most clones an overlay LUN on Ceph keeps made ahead (spares=N). */
#define FLEET_SPARES_MAX 256

/* Seconds a client's clone on Ceph stays open after its last logout
 * (linger=S): by default, and at most. */
#define FLEET_LINGER_DEFAULT 10
#define FLEET_LINGER_MAX 600

/*
 * Parses the value of an overlay LUN, "golden=PATH overlays=DIR
 * [mode=reset|persistent] [limit=SIZE] [dir-limit=SIZE] [update=PATTERN]
 * [spares=N] [linger=S]" (fields separated by spaces or commas; SIZE in
 * bytes with an optional K, M, G or T suffix; spares= and linger= on Ceph
 * only; linger not given: -1) into l.  Returns 0,
 * or -1 with the problem in err (prefixed by where).
 */
int fleet_lun_parse(struct tcfg_lun *l, const char *arg, char *err,
		    size_t errlen, const char *where);

/* Parses SIZE into bytes; returns 0 or -EINVAL. */
int fleet_size_parse(const char *s, uint64_t *out);

/* Writes the overlay file name of initiator into out (lower case; any
 * character other than a-z 0-9 . - : becomes '_'), at most outlen - 1
 * characters.  Returns 0, or -EINVAL for a name that gives nothing. */
int fleet_client_name(const char *initiator, char *out, size_t outlen);

/* Writes a committed version's record (its parent, time and one-line
 * comment) into out, as both stores keep it. */
void fleet_ver_build(char *out, size_t outlen, unsigned parent, long long when,
		     const char *comment);

/* Reads the record of version num back; when and comment may be NULL.
 * Returns 0, or -EINVAL for a damaged record or a parent not below num. */
int fleet_ver_parse(const char *buf, unsigned num, unsigned *parent,
		    long long *when, char *comment, size_t clen);

/* Returns 1 if an ISID is iPXE's. */
int fleet_isid_ipxe(const uint8_t isid[6]);

/* What to do with a client's overlay at its login. */
struct fleet_boot {
	int fresh; /* start an empty overlay */
	enum ovl_phase phase; /* the phase to record */
};

/*
 * The boot rule.  exists: the client has an overlay; phase: the one it
 * recorded.  A login from iPXE while the recorded phase is OS starts a new
 * boot: in reset mode the overlay is discarded.  Every other login (iPXE
 * again before any operating system, the OS's first login through the
 * iBFT, its reconnects) keeps it.  Any non-iPXE login records OS.
 */
struct fleet_boot fleet_boot_decide(int reset_mode, int exists,
				    enum ovl_phase phase,
				    const uint8_t isid[6]);

#endif
