/* Path confinement for served files: see tftp_path.h. */
#include "tftpd/tftp_path.h"

#include "tftpd/tftp_pkt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int tftp_path_check(const char *name, size_t len)
{
	size_t i = 0;

	if (len == 0 || len >= TFTP_PATH_MAX || memchr(name, 0, len))
		return -EACCES;
	if (name[0] == '/')
		return -EACCES;
	while (i < len) {
		size_t j = i;

		while (j < len && name[j] != '/')
			j++;
		if (j - i == 2 && name[i] == '.' && name[i + 1] == '.')
			return -EACCES;
		i = j + 1;
	}
	return 0;
}

/* Opens one path by walking it component by component with O_NOFOLLOW, for
 * kernels before 5.6 that lack openat2: every symlink is refused. */
static int open_walk(int dir_fd, const char *name, int flags, unsigned mode)
{
	char comp[TFTP_PATH_MAX];
	const char *p = name;
	int fd = dup(dir_fd);

	if (fd < 0)
		return -errno;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		int nfd;

		if (n >= sizeof(comp)) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		if (n == 0 || strcmp(comp, ".") == 0) {
			if (!slash)
				break;
			p = slash + 1;
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			close(fd);
			return -EXDEV;
		}
		if (slash)
			nfd = openat(fd, comp,
				     O_PATH | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
		else
			nfd = openat(fd, comp, flags | O_NOFOLLOW, mode);
		if (nfd < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		close(fd);
		fd = nfd;
		if (!slash)
			return fd;
		p = slash + 1;
	}
	/* The name ended in "/" or "." : open the directory itself. */
	{
		int nfd = openat(fd, ".", flags, mode);
		int err = errno;

		close(fd);
		return nfd < 0 ? -err : nfd;
	}
}

int tftp_path_openat(int dir_fd, const char *name, int flags, unsigned mode,
		     int use_openat2)
{
	if (use_openat2) {
		struct open_how how;
		long fd;

		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(unsigned)flags | O_CLOEXEC;
		how.mode = (flags & O_CREAT) ? mode : 0;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS)
			return -errno;
	}
	return open_walk(dir_fd, name, flags | O_CLOEXEC, mode);
}

/* Rewrites name (in place) to the case of the entries on disk, component by
 * component; returns 0 or a negative errno. */
static int fix_case(int root_fd, char *name)
{
	char *p = name;

	for (;;) {
		char *slash = strchr(p, '/');
		struct dirent *e;
		DIR *d;
		int fd, found = 0;

		if (slash)
			*slash = 0;
		if (p == name)
			fd = tftp_path_openat(root_fd, ".",
					      O_RDONLY | O_DIRECTORY, 0, 1);
		else {
			p[-1] = 0;
			fd = tftp_path_openat(root_fd, name,
					      O_RDONLY | O_DIRECTORY, 0, 1);
			p[-1] = '/';
		}
		if (fd < 0) {
			if (slash)
				*slash = '/';
			return fd;
		}
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			if (slash)
				*slash = '/';
			return -ENOMEM;
		}
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, p) == 0) {
				found = 1;
				break;
			}
			if (!found && strcasecmp(e->d_name, p) == 0 &&
			    strlen(e->d_name) == strlen(p)) {
				memcpy(p, e->d_name, strlen(p));
				found = 2;
			}
		}
		closedir(d);
		if (slash)
			*slash = '/';
		if (!found)
			return -ENOENT;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

int tftp_path_open_read(int root_fd, const char *name, int nocase,
			uint64_t *size)
{
	char fixed[TFTP_PATH_MAX];
	struct stat st, st2;
	int pfd, fd;

	if (tftp_path_check(name, strlen(name)) != 0)
		return -EACCES;
	/* Look before opening: an O_PATH open has no side effects, so a
	 * device or FIFO in the root is refused without being opened. */
	pfd = tftp_path_openat(root_fd, name, O_PATH, 0, 1);
	if (pfd == -ENOENT && nocase) {
		strcpy(fixed, name);
		if (fix_case(root_fd, fixed) == 0) {
			name = fixed;
			pfd = tftp_path_openat(root_fd, name, O_PATH, 0, 1);
		}
	}
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, &st) != 0) {
		int err = errno;

		close(pfd);
		return -err;
	}
	close(pfd);
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
	fd = tftp_path_openat(root_fd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY,
			      0, 1);
	if (fd < 0)
		return fd;
	/* The name may have been swapped between the two opens. */
	if (fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino || !S_ISREG(st2.st_mode)) {
		close(fd);
		return -EACCES;
	}
	*size = (uint64_t)st2.st_size;
	return fd;
}

int tftp_path_create(int root_fd, const char *name, int *dir_fd,
		     const char **base)
{
	char dir[TFTP_PATH_MAX];
	const char *slash;
	int dfd, fd;

	if (tftp_path_check(name, strlen(name)) != 0)
		return -EACCES;
	slash = strrchr(name, '/');
	if (slash) {
		memcpy(dir, name, (size_t)(slash - name));
		dir[slash - name] = 0;
		*base = slash + 1;
	} else {
		strcpy(dir, ".");
		*base = name;
	}
	if (**base == 0 || strcmp(*base, ".") == 0)
		return -EACCES;
	dfd = tftp_path_openat(root_fd, dir[0] ? dir : ".",
			       O_PATH | O_DIRECTORY, 0, 1);
	if (dfd < 0)
		return dfd;
	/* O_EXCL never follows a final symlink: it fails with EEXIST. */
	fd = openat(dfd, *base,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = errno;

		close(dfd);
		return -err;
	}
	*dir_fd = dfd;
	return fd;
}

uint16_t tftp_path_errcode(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return TFTP_ENOTFOUND;
	case EEXIST:
		return TFTP_EEXISTS;
	case ENOSPC:
	case EDQUOT:
		return TFTP_ENOSPACE;
	case EACCES:
	case EPERM:
	case EXDEV: /* RESOLVE_BENEATH: the name leads out of the root */
	case ELOOP:
	case EISDIR:
	case ENAMETOOLONG:
	case EROFS:
		return TFTP_EACCESS;
	default:
		return TFTP_EUNDEF;
	}
}
