/* Privilege drop for the daemons: chroot, groups, gid, uid, then a check. */
#include "common/privdrop.h"
#include "common/parse.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int priv_drop(const char *user, const char *dir, char *err, size_t errlen)
{
	uid_t uid = 0;
	gid_t gid = 0;
	const char *name = NULL;

	if (user) {
		struct passwd *pw;
		uint64_t n;

		errno = 0;
		pw = getpwnam(user);
		if (!pw && parse_u64(user, 0, 0xfffffffe, &n) == 0)
			pw = getpwuid((uid_t)n);
		if (!pw) {
			snprintf(err, errlen, "--user %s: %s", user,
				 errno ? strerror(errno) : "no such user");
			return -1;
		}
		if (pw->pw_uid == 0) {
			snprintf(err, errlen, "--user %s: that is root", user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		name = pw->pw_name;
		if (geteuid() != 0) {
			snprintf(err, errlen,
				 "--user %s needs the daemon started as root",
				 user);
			return -1;
		}
		/* The supplementary groups come from /etc/group: before the
		 * chroot. */
		if (initgroups(name, gid) != 0) {
			snprintf(err, errlen, "--user %s: initgroups: %s", user,
				 strerror(errno));
			return -1;
		}
	}
	if (dir) {
		if (chroot(dir) != 0 || chdir("/") != 0) {
			snprintf(err, errlen, "chroot %s: %s%s", dir,
				 strerror(errno),
				 errno == EPERM ? " (it needs root)" : "");
			return -1;
		}
	}
	if (user) {
		if (setgid(gid) != 0 || setuid(uid) != 0) {
			snprintf(err, errlen, "--user %s: %s", user,
				 strerror(errno));
			return -1;
		}
		/* POSIX setuid from root is permanent; make sure. */
		if (setuid(0) == 0 || geteuid() != uid || getegid() != gid) {
			snprintf(err, errlen,
				 "--user %s: root was not given up", user);
			return -1;
		}
	}
	return 0;
}
