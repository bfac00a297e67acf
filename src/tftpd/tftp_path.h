/*
 * Confines requested file names to the server root.  A name is first checked
 * lexically (tftp_path_check), then opened with openat2(RESOLVE_BENEATH) so
 * that no symlink, however placed, leads out of the root.
 */
#ifndef WUPAN_TFTPD_TFTP_PATH_H
#define WUPAN_TFTPD_TFTP_PATH_H

#include <stddef.h>
#include <stdint.h>

#define TFTP_PATH_MAX 1024

/* Accepts a relative name without NUL, ".." components or a leading "/";
 * returns 0 or -EACCES. */
int tftp_path_check(const char *name, size_t len);

/*
 * Opens name beneath root_fd for reading.  Only regular files are served.
 * With nocase, a name that does not exist is looked up again ignoring case.
 * Returns the fd and sets *size, or returns a negative errno.
 */
int tftp_path_open_read(int root_fd, const char *name, int nocase,
			uint64_t *size);

/*
 * Creates name beneath root_fd, failing if it exists (RFC 1350 error 6), in a
 * directory that must exist.  Returns the fd and sets *dir_fd and *base so
 * the caller can remove an unfinished file with unlinkat(*dir_fd, *base).
 */
int tftp_path_create(int root_fd, const char *name, int *dir_fd,
		     const char **base);

/* Opens name beneath dir_fd like openat2(RESOLVE_BENEATH), or by walking the
 * components refusing every symlink where openat2 is missing (use_openat2 0
 * forces the walk).  Returns an fd or a negative errno. */
int tftp_path_openat(int dir_fd, const char *name, int flags, unsigned mode,
		     int use_openat2);

/* Maps an errno from the functions above to a TFTP error code. */
uint16_t tftp_path_errcode(int err);

#endif
