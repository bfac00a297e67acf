/*
 * wupan-lint's checker core: iPXE scripts and wupan settings files in,
 * findings out.  Pure: no files, no printing; findings go to a callback.
 */
#ifndef WUPAN_LINT_LINT_H
#define WUPAN_LINT_LINT_H

#include <stddef.h>

/* The iPXE whose command set lint_is_command knows (ipxe.lock). */
#define LINT_IPXE_VERSION "1.21.1+git20250501.dad20602+dfsg-1"

enum lint_kind {
	LINT_SCRIPT, /* any iPXE script (embed/, a menu item's script) */
	LINT_SITE, /* the site settings, copied into the shared script */
	LINT_HOST, /* a per-host file, fetched at boot by one client */
};

enum lint_severity {
	LINT_WARNING,
	LINT_ERROR,
};

/* Called once per finding; file is the index of the file in the set. */
typedef void (*lint_emit_fn)(void *ctx, size_t file, unsigned line,
			     enum lint_severity sev, const char *msg);

struct lint_file {
	const char *name; /* for messages that point to another file */
	const char *buf;
	size_t len;
};

struct lint_result {
	unsigned errors;
	unsigned warnings;
};

/*
 * Checks files as one program of the given kind (several scripts are joined
 * the way scripts/mkscript.sh joins embed/).  Returns 0, or -ENOMEM.
 */
int lint_check(enum lint_kind kind, const struct lint_file *files,
	       size_t nfiles, lint_emit_fn emit, void *ctx,
	       struct lint_result *res);

/* 1 if name is an iPXE command of the pinned version, else 0. */
int lint_is_command(const char *name, size_t len);

/*
 * 1 if s[0..len) is a valid iSCSI name (RFC 3720 §3.2.6.3, RFC 7143
 * §4.2.7.2): iqn., eui. or naa. form, lower case, at most 223 bytes.
 * On 0, *why says what is wrong.
 */
int lint_iscsi_name(const char *s, size_t len, const char **why);

/* Edit distance between two short strings (capped at 9). */
unsigned lint_distance(const char *a, size_t alen, const char *b, size_t blen);

#endif
