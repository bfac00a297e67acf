/* Overlay LUNs in the daemon: one shared golden image per LUN, and for each
 * initiator that logs in its own overlay, reset or kept at a new boot by the
 * rule of fleet_rules.h; overlays and versions live in a directory
 * (overlay.h) or on Ceph RBD, behind fleet_store.h.  The driver opens and closes the LUNs;
 * the iSCSI core calls fleet_session_open/close through struct iscsi_env. */
#ifndef WUPAN_ISCSI_FLEET_H
#define WUPAN_ISCSI_FLEET_H

#include <stddef.h>
#include <stdio.h>

#include "iscsi/backend.h"
#include "iscsi/config.h"
#include "iscsi/conn.h"

struct fleet_lun;

/*
 * Makes lu an overlay LUN over the overlays and mode of l.  Overlays in a
 * directory (created if needed): lu is already open read-only on the
 * golden file by bf.  Overlays on Ceph ("overlays=rbd:POOL[/PREFIX]"):
 * lu is opened here on the golden snapshot through the cluster ceph
 * names, and done hands back librbd's finished io (backend_rbd_open).
 * Returns the LUN, or NULL with the problem in err.
 */
struct fleet_lun *fleet_lun_open(const struct tcfg_lun *l,
				 struct backend_file *bf, struct scsi_lu *lu,
				 const struct tcfg_ceph *ceph,
				 void (*done)(struct iscsi_io *io), char *err,
				 size_t errlen);

/* Closes a LUN whose sessions have all ended. */
void fleet_lun_close(struct fleet_lun *fl);

/* iscsi_env.session_open: gives the session its own units for the
 * target's overlay LUNs; 0, or -1 (logged) to fail the login. */
int fleet_session_open(struct iscsi_env *env, struct iscsi_conn *c);

/* iscsi_env.session_close: lets go of the session's overlays. */
void fleet_session_close(struct iscsi_env *env, struct iscsi_conn *c);

/* Writes every overlay LUN with its clients (sessions, phase, bytes
 * allocated and written) to out, as text or JSON (wupan-target(8), "ctl"). */
void fleet_report(FILE *out, int json);

/* Discards initiator's overlays on every overlay LUN, unless one of them
 * has a session open; says what it did (or why not) on out.  Returns 0 or
 * -1. */
int fleet_reset(const char *initiator, FILE *out);

/* Lists each overlay LUN's versions and the current one on out. */
void fleet_versions(FILE *out, int json);

/* Makes the overlay of the update seat initiator the next version of its
 * LUNs (refused while it has a session open, or if its overlay was made on
 * a version that is no longer current).  Returns 0 or -1 (said on out). */
int fleet_commit(const char *initiator, const char *comment, FILE *out);

/* Makes each LUN's previous version current again; the newer one stays
 * until pruned.  Returns 0 or -1. */
int fleet_rollback(FILE *out);

/* Removes the versions nothing stands on: not current, not below it, not
 * under any client overlay or open session.  Returns 0. */
int fleet_prune(FILE *out);

/* The control socket: listens at path and answers ctl requests on a
 * thread of its own.  Returns 0, or -1 with the problem in err. */
int fleet_ctl_start(const char *path, char *err, size_t errlen);

/* "wupan-target ctl ...": the client side; returns the exit status. */
int fleet_ctl_main(int argc, char **argv);

#endif
