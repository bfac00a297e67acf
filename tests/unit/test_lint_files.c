/*
 * wupan-lint against files: the corpus in tests/lint/KIND/ and the shipped
 * embed/ with config/site.ipxe.  Each corpus file lists what it must give in
 * comment lines "# expect LINE error|warning TEXT"; every finding must be
 * expected and every expectation met.  Runs from the top of the tree.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "lint/lint.h"
#include "unit.h"

#define MAX_EXPECT 32

struct expect {
	unsigned line;
	enum lint_severity sev;
	char text[200];
	int met;
};

/* The expectations of one file and what did not match them. */
struct expects {
	struct expect v[MAX_EXPECT];
	size_t n;
	unsigned unexpected;
	const char *path;
};

/* Reads a whole file into a NUL-terminated buffer; NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* Collects the "# expect" lines of a file. */
static void parse_expects(const char *buf, struct expects *e)
{
	for (const char *p = buf; (p = strstr(p, "# expect ")) != NULL; p++) {
		struct expect *x = &e->v[e->n];
		char sev[16];
		int used = 0;

		if (e->n == MAX_EXPECT ||
		    sscanf(p, "# expect %u %15s %n", &x->line, sev, &used) != 2)
			continue;
		x->sev = strcmp(sev, "error") == 0 ? LINT_ERROR : LINT_WARNING;
		size_t n = strcspn(p + used, "\r\n");

		if (n >= sizeof(x->text))
			n = sizeof(x->text) - 1;
		memcpy(x->text, p + used, n);
		x->text[n] = '\0';
		x->met = 0;
		e->n++;
	}
}

static void match(void *ctx, size_t file, unsigned line, enum lint_severity sev,
		  const char *msg)
{
	struct expects *e = ctx;

	(void)file;
	for (size_t i = 0; i < e->n; i++)
		if (!e->v[i].met && e->v[i].line == line &&
		    e->v[i].sev == sev && strstr(msg, e->v[i].text)) {
			e->v[i].met = 1;
			return;
		}
	e->unexpected++;
	printf("  %s:%u: unexpected %s: %s\n", e->path, line,
	       sev == LINT_ERROR ? "error" : "warning", msg);
}

/* Lints every file of dir as kind; returns how many there were. */
static int corpus(const char *dir, enum lint_kind kind)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[512];
		struct expects e = { .n = 0 };
		struct lint_result res;
		struct lint_file f;
		size_t len;
		char *buf;

		if (!strstr(de->d_name, ".ipxe"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = slurp(path, &len);
		CHECK(path, buf != NULL);
		if (!buf)
			continue;
		e.path = path;
		parse_expects(buf, &e);
		f = (struct lint_file){ path, buf, len };
		CHECK(path, lint_check(kind, &f, 1, match, &e, &res) == 0);
		for (size_t i = 0; i < e.n; i++) {
			if (!e.v[i].met)
				printf("  %s:%u: expected %s not given: %s\n",
				       path, e.v[i].line,
				       e.v[i].sev == LINT_ERROR ? "error"
								: "warning",
				       e.v[i].text);
			CHECK(path, e.v[i].met);
		}
		CHECK(path, e.unexpected == 0);
		/* A file named bad-* must stop the build. */
		if (strncmp(de->d_name, "bad-", 4) == 0)
			CHECK(path, res.errors > 0);
		else
			CHECK(path, res.errors == 0);
		free(buf);
		files++;
	}
	closedir(d);
	return files;
}

/* embed/ with the shipped site file, as mkscript.sh joins them: no finding. */
static void shipped(void)
{
	static const char *const paths[] = {
		"config/site.ipxe",      "embed/10-network.ipxe",
		"embed/20-site.ipxe",    "embed/30-defaults.ipxe",
		"embed/40-host.ipxe",    "embed/50-identity.ipxe",
		"embed/60-menu.ipxe",    "embed/70-items.ipxe",
		"embed/80-failure.ipxe",
	};
	struct lint_file f[sizeof(paths) / sizeof(paths[0])] = { { 0 } };
	size_t n = sizeof(paths) / sizeof(paths[0]);
	struct expects e = { .n = 0, .path = "embed/" };
	struct lint_result res;
	DIR *d = opendir("embed");
	struct dirent *de;
	size_t listed = 0;

	/* Every embed/ file must be in the list above. */
	while (d && (de = readdir(d)) != NULL)
		listed += strstr(de->d_name, ".ipxe") != NULL;
	if (d)
		closedir(d);
	CHECK("embed/ holds the files this test lints", listed == n - 1);
	for (size_t i = 0; i < n; i++) {
		f[i].name = paths[i];
		f[i].buf = slurp(paths[i], &f[i].len);
		CHECK(paths[i], f[i].buf != NULL);
		if (!f[i].buf)
			goto out;
	}
	CHECK("embed/ lints",
	      lint_check(LINT_SCRIPT, f, n, match, &e, &res) == 0);
	CHECK("embed/ has no errors", res.errors == 0);
	CHECK("embed/ has no warnings", res.warnings == 0);
	CHECK("config/site.ipxe as a site file",
	      lint_check(LINT_SITE, f, 1, match, &e, &res) == 0 &&
		      res.errors == 0 && res.warnings == 0);
out:
	for (size_t i = 0; i < n; i++)
		free((char *)f[i].buf);
}

int main(void)
{
	CHECK("site corpus", corpus("tests/lint/site", LINT_SITE) >= 4);
	CHECK("host corpus", corpus("tests/lint/host", LINT_HOST) >= 2);
	CHECK("script corpus", corpus("tests/lint/script", LINT_SCRIPT) >= 2);
	shipped();
	return unit_done();
}
