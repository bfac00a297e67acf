/*
 * Fuzz target: wupan-lint's core.  The first byte picks the kind (site,
 * per-host, script); the rest is split at 0xff bytes into up to four files
 * linted as one.  Aborts if a finding points outside its file, has no text,
 * or the counts disagree with the findings reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lint/lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the findings must respect. */
struct bounds {
	size_t nfiles;
	unsigned lines[4];
	unsigned errors, warnings;
};

static void check(void *ctx, size_t file, unsigned line, enum lint_severity sev,
		  const char *msg)
{
	struct bounds *b = ctx;

	if (file >= b->nfiles || line < 1 || line > b->lines[file] ||
	    msg[0] == '\0' || strlen(msg) >= 512)
		abort();
	if (sev == LINT_ERROR)
		b->errors++;
	else
		b->warnings++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lint_file files[4];
	struct bounds b = { 0 };
	struct lint_result res;
	enum lint_kind kind;
	size_t pos = 1;

	if (size < 1)
		return 0;
	kind = (enum lint_kind)(data[0] % 3);
	while (b.nfiles < 4) {
		const uint8_t *ff = memchr(data + pos, 0xff, size - pos);
		size_t end = ff ? (size_t)(ff - data) : size;

		files[b.nfiles].name = "f";
		files[b.nfiles].buf = (const char *)data + pos;
		files[b.nfiles].len = end - pos;
		b.lines[b.nfiles] = 1;
		for (size_t i = pos; i < end; i++)
			b.lines[b.nfiles] += data[i] == '\n';
		b.nfiles++;
		if (!ff)
			break;
		pos = end + 1;
	}
	if (kind != LINT_SCRIPT)
		b.nfiles = 1;
	if (lint_check(kind, files, b.nfiles, check, &b, &res) != 0)
		abort();
	if (res.errors != b.errors || res.warnings != b.warnings)
		abort();
	return 0;
}
