/* Overlay LUNs in the daemon: one shared golden image per LUN, and for each
 * initiator that logs in its own overlay (overlay.h), reset or kept at a new
 * boot by the rule of fleet_rules.h.  The driver opens and closes the LUNs;
 * the iSCSI core calls fleet_session_open/close through struct iscsi_env. */
#ifndef WUPAN_ISCSI_FLEET_H
#define WUPAN_ISCSI_FLEET_H

#include <stddef.h>

#include "iscsi/backend.h"
#include "iscsi/config.h"
#include "iscsi/conn.h"

struct fleet_lun;

/*
 * Makes lu, already opened read-only on the golden image by bf, an overlay
 * LUN over the directory and mode of l (creating the directory if needed).
 * Returns the LUN, or NULL with the problem in err.
 */
struct fleet_lun *fleet_lun_open(const struct tcfg_lun *l,
				 struct backend_file *bf, struct scsi_lu *lu,
				 char *err, size_t errlen);

/* Closes a LUN whose sessions have all ended. */
void fleet_lun_close(struct fleet_lun *fl);

/* iscsi_env.session_open: gives the session its own units for the
 * target's overlay LUNs; 0, or -1 (logged) to fail the login. */
int fleet_session_open(struct iscsi_env *env, struct iscsi_conn *c);

/* iscsi_env.session_close: lets go of the session's overlays. */
void fleet_session_close(struct iscsi_env *env, struct iscsi_conn *c);

#endif
