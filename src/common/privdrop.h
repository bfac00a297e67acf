/*
 * Giving up root after the privileged start-up (binding ports below 1024,
 * opening files): an optional chroot, then the user's groups, group and user.
 */
#ifndef WUPAN_COMMON_PRIVDROP_H
#define WUPAN_COMMON_PRIVDROP_H

#include <stddef.h>

/*
 * Confines the process to dir (if not NULL) and switches to user (a name or
 * a number; if not NULL).  Everything that needs the outside file system
 * (the user database included) is looked up before the chroot.  Returns 0,
 * or -1 with a message in err; on -1 the caller must stop, since the process
 * may be half-way.
 */
int priv_drop(const char *user, const char *dir, char *err, size_t errlen);

#endif
