/*
 * wupan-lint: checks wupan settings files and iPXE scripts before they reach
 * a PC.  This driver reads the files and prints findings as FILE:LINE; the
 * checks live in lint.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"
#include "lint/lint.h"

/* What the emit callback needs to name a file. */
struct lint_out {
	char **names;
	int werror;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wupan-lint [--site | --host | --script] [-W] FILE...\n"
		"  --site     the site settings (copied into boot.ipxe)\n"
		"  --host     per-host files (each checked on its own)\n"
		"  --script   iPXE scripts, checked as one program (default)\n"
		"  -W, --werror  treat warnings as errors\n"
		"  --help, --version\n"
		"Prints FILE:LINE: error|warning: TEXT; exits 1 on an error.\n");
}

/* Reads a whole file; returns 0, or a negative errno. */
static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return -errno;
	do {
		if (n == cap) {
			char *nb;

			cap = cap ? cap * 2 : 4096;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				fclose(f);
				return -ENOMEM;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		free(b);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

/* Prints one finding as FILE:LINE: SEVERITY: TEXT. */
static void emit(void *ctx, size_t file, unsigned line, enum lint_severity sev,
		 const char *msg)
{
	struct lint_out *out = ctx;

	fprintf(stderr, "%s:%u: %s: %s\n", out->names[file], line,
		sev == LINT_ERROR ? "error" : "warning", msg);
}

int main(int argc, char **argv)
{
	enum lint_kind kind = LINT_SCRIPT;
	struct lint_out out = { 0 };
	struct lint_file *files;
	struct lint_result res, total = { 0, 0 };
	int first = 1, nfiles, rc = 0;

	for (; first < argc && argv[first][0] == '-'; first++) {
		const char *a = argv[first];

		if (strcmp(a, "--site") == 0) {
			kind = LINT_SITE;
		} else if (strcmp(a, "--host") == 0) {
			kind = LINT_HOST;
		} else if (strcmp(a, "--script") == 0) {
			kind = LINT_SCRIPT;
		} else if (strcmp(a, "-W") == 0 || strcmp(a, "--werror") == 0) {
			out.werror = 1;
		} else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			fputs(WUPAN_VERSION_LINE("wupan-lint"), stdout);
			printf("commands of iPXE %s\n", LINT_IPXE_VERSION);
			return 0;
		} else if (strcmp(a, "--") == 0) {
			first++;
			break;
		} else {
			fprintf(stderr, "wupan-lint: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	nfiles = argc - first;
	if (nfiles < 1) {
		usage(stderr);
		return 2;
	}
	out.names = argv + first;
	files = calloc((size_t)nfiles, sizeof(*files));
	if (!files)
		return 2;
	for (int i = 0; i < nfiles; i++) {
		char *buf = NULL;
		int err = read_file(out.names[i], &buf, &files[i].len);

		if (err) {
			fprintf(stderr, "wupan-lint: %s: %s\n", out.names[i],
				strerror(-err));
			rc = 2;
			goto out;
		}
		files[i].buf = buf;
		files[i].name = out.names[i];
	}
	/* Settings files stand alone; scripts are one program. */
	for (int i = 0; i < nfiles; i++) {
		size_t n = kind == LINT_SCRIPT ? (size_t)nfiles : 1;

		out.names = argv + first + i;
		if (lint_check(kind, files + i, n, emit, &out, &res) < 0) {
			fprintf(stderr, "wupan-lint: out of memory\n");
			rc = 2;
			goto out;
		}
		total.errors += res.errors;
		total.warnings += res.warnings;
		if (kind == LINT_SCRIPT)
			break;
	}
	if (total.errors || (out.werror && total.warnings))
		rc = 1;
out:
	for (int i = 0; i < nfiles; i++)
		free((char *)files[i].buf);
	free(files);
	return rc;
}
