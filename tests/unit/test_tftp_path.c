/* Unit tests for the path resolver (tftp_path.c) and the --map rules
 * (tftp_map.c), against a scratch directory tree. */
#include "tftpd/tftp_map.h"
#include "tftpd/tftp_path.h"
#include "tftpd/tftp_pkt.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char top[64];

/* Writes a small file under the scratch tree. */
static void put(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Read cases against the scratch tree: name, path, nocase, TFTP error code
 * expected (0: served).  A leading '!' marks a device-file case. */
static const struct {
	const char *name, *path;
	int nocase, want;
} reads[] = {
	{ "file in subdir", "sub/b.txt", 0, 0 },
	{ "symlink inside root", "link_in", 0, 0 },
	{ "symlink up but inside root", "sub/link_up_in", 0, 0 },
	{ "missing: file not found", "nope", 0, TFTP_ENOTFOUND },
	{ "../ escape: access violation", "../outside.txt", 0, TFTP_EACCESS },
	{ "absolute path: access violation", "/etc/passwd", 0, TFTP_EACCESS },
	{ "symlink to an absolute path outside: access violation", "link_abs",
	  0, TFTP_EACCESS },
	{ "symlink to ../ outside: access violation", "link_up", 0,
	  TFTP_EACCESS },
	{ "through a symlinked dir outside: access violation", "dirlink/passwd",
	  0, TFTP_EACCESS },
	{ "FIFO: access violation", "fifo", 0, TFTP_EACCESS },
	{ "device file: access violation", "!null", 0, TFTP_EACCESS },
	{ "directory: access violation", "sub", 0, TFTP_EACCESS },
	{ "directory with slash: access violation", "sub/", 0, TFTP_EACCESS },
	{ "file used as a dir: not found", "a.txt/x", 0, TFTP_ENOTFOUND },
	{ "case differs: not found", "SUB/upper.txt", 0, TFTP_ENOTFOUND },
	{ "case differs, nocase: found", "SUB/upper.txt", 1, 0 },
	/* The case-fixing walk stops at the symlink: refused as missing. */
	{ "nocase still confined", "DIRLINK/passwd", 1, TFTP_ENOTFOUND },
};

/* Opens rel for reading; returns the TFTP error code (0: opened). */
static int read_code(int root, const char *rel, int nocase)
{
	uint64_t size;
	int fd = tftp_path_open_read(root, rel, nocase, &size);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return tftp_path_errcode(fd);
}

/* Applies a map to a name; returns the output or "ERR". */
static const char *mapped(const struct tftp_map *m, const char *in)
{
	static char out[TFTP_PATH_MAX];

	if (tftp_map_apply(m, in, strlen(in), out, sizeof(out)) < 0)
		return "ERR";
	return out;
}

/* Removes the scratch tree. */
static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
}

int main(void)
{
	char p[256];
	struct tftp_map map;
	unsigned bad = 0;
	uint64_t size = 0;
	int root, fd, dfd, have_dev;
	const char *base;

	/* Lexical checks. */
	CHECK("plain", tftp_path_check("boot.ipxe", 9) == 0);
	CHECK("subdir", tftp_path_check("a/b/c", 5) == 0);
	CHECK("dot dirs", tftp_path_check("./a/./b", 7) == 0);
	CHECK("dots in names", tftp_path_check("...a/..b/c..", 12) == 0);
	CHECK("absolute", tftp_path_check("/etc/passwd", 11) == -EACCES);
	CHECK("dotdot", tftp_path_check("..", 2) == -EACCES);
	CHECK("dotdot first", tftp_path_check("../x", 4) == -EACCES);
	CHECK("dotdot inside", tftp_path_check("a/../../x", 9) == -EACCES);
	CHECK("dotdot last", tftp_path_check("a/..", 4) == -EACCES);
	CHECK("NUL inside", tftp_path_check("a\0b", 3) == -EACCES);
	CHECK("empty", tftp_path_check("", 0) == -EACCES);

	/* A scratch tree: root/ with traps, and a file outside it. */
	snprintf(top, sizeof(top), "/tmp/test_tftp_path.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p, sizeof(p), "%s/root", top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/sub", top);
	mkdir(p, 0755);
	put("outside.txt", "secret");
	put("root/a.txt", "hello");
	put("root/sub/b.txt", "bee");
	put("root/sub/Upper.TXT", "up");
	snprintf(p, sizeof(p), "%s/root/link_in", top);
	CHECK("setup symlink", symlink("a.txt", p) == 0);
	snprintf(p, sizeof(p), "%s/root/sub/link_up_in", top);
	CHECK("setup symlink", symlink("../a.txt", p) == 0);
	snprintf(p, sizeof(p), "%s/root/link_abs", top);
	CHECK("setup symlink", symlink("/etc/passwd", p) == 0);
	snprintf(p, sizeof(p), "%s/root/link_up", top);
	CHECK("setup symlink", symlink("../outside.txt", p) == 0);
	snprintf(p, sizeof(p), "%s/root/dirlink", top);
	CHECK("setup symlink", symlink("/etc", p) == 0);
	snprintf(p, sizeof(p), "%s/root/fifo", top);
	CHECK("setup fifo", mkfifo(p, 0644) == 0);
	snprintf(p, sizeof(p), "%s/root/null", top);
	have_dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;
	if (!have_dev)
		printf("note: mknod not permitted here; device case not run\n");
	snprintf(p, sizeof(p), "%s/root", top);
	root = open(p, O_RDONLY | O_DIRECTORY);
	CHECK("open root", root >= 0);

	fd = tftp_path_open_read(root, "a.txt", 0, &size);
	CHECK("regular file served", fd >= 0 && size == 5);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		if (reads[i].path[0] != '!' || have_dev)
			CHECK(reads[i].name,
			      read_code(root,
					reads[i].path +
						(reads[i].path[0] == '!'),
					reads[i].nocase) == reads[i].want);

	/* The fallback walk for kernels without openat2. */
	fd = tftp_path_openat(root, "sub/b.txt", O_RDONLY, 0, 0);
	CHECK("walk: plain file", fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK("walk: every symlink refused",
	      tftp_path_openat(root, "link_in", O_RDONLY, 0, 0) == -ELOOP &&
		      tftp_path_openat(root, "dirlink/passwd", O_RDONLY, 0,
				       0) == -ENOTDIR);
	CHECK("walk: .. refused",
	      tftp_path_openat(root, "sub/../a.txt", O_RDONLY, 0, 0) == -EXDEV);

	/* Creation for WRQ. */
	fd = tftp_path_create(root, "sub/new.bin", &dfd, &base);
	CHECK("create new file", fd >= 0 && strcmp(base, "new.bin") == 0);
	if (fd >= 0) {
		close(fd);
		close(dfd);
	}
	fd = tftp_path_create(root, "sub/new.bin", &dfd, &base);
	CHECK("never overwrite: file already exists",
	      tftp_path_errcode(fd) == TFTP_EEXISTS);
	fd = tftp_path_create(root, "link_abs", &dfd, &base);
	CHECK("never through a final symlink",
	      tftp_path_errcode(fd) == TFTP_EEXISTS);
	fd = tftp_path_create(root, "dirlink/evil", &dfd, &base);
	CHECK("not into a symlinked dir outside",
	      tftp_path_errcode(fd) == TFTP_EACCESS);
	fd = tftp_path_create(root, "../evil", &dfd, &base);
	CHECK("not above the root", tftp_path_errcode(fd) == TFTP_EACCESS);
	fd = tftp_path_create(root, "nodir/x", &dfd, &base);
	CHECK("missing dir: not found",
	      tftp_path_errcode(fd) == TFTP_ENOTFOUND);
	snprintf(p, sizeof(p), "%s/evil", top);
	CHECK("nothing created outside", access(p, F_OK) != 0);

	/* Map rules. */
	{
		static const char rules[] =
			"# PXE clients in odd forms\n"
			"strip /\n"
			"replace \\ /\n"
			"  prefix pxelinux.cfg/ pxe/   # comment\n"
			"\n"
			"nocase\n";

		CHECK("map parse",
		      tftp_map_parse(&map, rules, sizeof(rules) - 1, &bad) ==
				      0 &&
			      map.nrules == 3 && map.nocase);
		CHECK("strip leading slashes",
		      strcmp(mapped(&map, "//boot.ipxe"), "boot.ipxe") == 0);
		CHECK("backslashes",
		      strcmp(mapped(&map, "a\\b\\c"), "a/b/c") == 0);
		CHECK("rules apply in order: strip before replace",
		      strcmp(mapped(&map, "\\a"), "/a") == 0);
		CHECK("prefix", strcmp(mapped(&map, "pxelinux.cfg\\default"),
				       "pxe/default") == 0);
		CHECK("prefix only at start",
		      strcmp(mapped(&map, "x/pxelinux.cfg/y"),
			     "x/pxelinux.cfg/y") == 0);
		CHECK("empty map is identity",
		      tftp_map_parse(&map, "", 0, &bad) == 0 &&
			      strcmp(mapped(&map, "/a"), "/a") == 0);
		CHECK("bad verb rejected with line",
		      tftp_map_parse(&map, "strip /\nfrob a b\n", 17, &bad) ==
				      -EINVAL &&
			      bad == 2);
		CHECK("missing field rejected",
		      tftp_map_parse(&map, "replace a\n", 10, &bad) == -EINVAL);
		CHECK("extra field rejected",
		      tftp_map_parse(&map, "strip a b\n", 10, &bad) == -EINVAL);
		CHECK("growth bounded",
		      tftp_map_parse(&map, "replace a aaaaaaaaaaaaaaaa\n", 27,
				     &bad) == 0 &&
			      strcmp(mapped(&map,
					    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
				     "ERR") == 0);
	}
	close(root);
	cleanup();
	return unit_done();
}
