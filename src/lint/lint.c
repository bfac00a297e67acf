/*
 * wupan-lint's checker core.  A settings file (site or per-host) may hold
 * only `set NAME VALUE` lines, comments and `#!ipxe`; its values are checked
 * against what each wupan setting means.  A general script is checked for
 * commands the pinned iPXE lacks, jumps to missing labels, duplicate labels
 * and settings read but never set.  See doc/wupan-lint.1.
 */
#include "lint/lint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

/*
 * The commands of the pinned iPXE builds (ipxe.lock), BIOS and EFI together:
 * what their `help` command lists, booted in QEMU (ipxe.lkrn and
 * ipxe-amd64.efi).  Commands upstream has but Debian's build leaves out
 * (nslookup, ntp, time, md5sum, imgtrust, ...) are unknown here on purpose.
 */
static const char *const lint_commands[] = {
	"autoboot",  "boot",     "certfree",   "certstat",  "certstore",
	"chain",     "choose",   "clear",      "colour",    "config",
	"console",   "cpair",    "cpuid",      "dhcp",      "echo",
	"exit",      "form",     "goto",       "help",      "ibstat",
	"ifclose",   "ifconf",   "iflinkwait", "ifopen",    "ifstat",
	"imgargs",   "imgexec",  "imgfetch",   "imgfree",   "imgload",
	"imgselect", "imgstat",  "inc",        "initrd",    "iseq",
	"isset",     "item",     "iwlist",     "iwstat",    "kernel",
	"login",     "menu",     "module",     "ping",      "poweroff",
	"present",   "prompt",   "pxebs",      "read",      "reboot",
	"route",     "sanboot",  "sanhook",    "sanunhook", "set",
	"shell",     "shim",     "show",       "sleep",     "sync",
	"vcreate",   "vdestroy",
};

/* Settings iPXE itself sets or reads, so a script may use them unset. */
static const char *const lint_ipxe_settings[] = {
	"asset",
	"board-serial",
	"buildarch",
	"busid",
	"busloc",
	"bustype",
	"chip",
	"cwduri",
	"cwuri",
	"dhcp-server",
	"dns",
	"domain",
	"errno",
	"filename",
	"gateway",
	"hostname",
	"ifname",
	"initiator-iqn",
	"ip",
	"keep-san",
	"keymap",
	"mac",
	"manufacturer",
	"memsize",
	"netmask",
	"next-server",
	"ntp",
	"password",
	"platform",
	"product",
	"reverse-password",
	"reverse-username",
	"root-path",
	"san-filename",
	"scriptlet",
	"serial",
	"skip-san-boot",
	"ssid",
	"syslog",
	"unixtime",
	"user-class",
	"username",
	"uuid",
	"version",
};

enum lint_type {
	T_TEXT, /* anything printable */
	T_HOST, /* IPv4 address or DNS name */
	T_PORT, /* 1-65535 */
	T_LUN, /* iPXE's LUN syntax */
	T_MS, /* milliseconds */
	T_COUNT, /* a plain count, 0-999 */
	T_ITEM, /* a menu item's label */
	T_ISCSI, /* an iSCSI name */
	T_IQN_BASE, /* an iqn. name that gets ":suffix" appended */
	T_URL, /* scheme://... */
	T_BASE_URL, /* a URL without a trailing slash */
	T_USER, /* a CHAP name */
	T_SECRET, /* a CHAP secret */
	T_LABEL, /* a custom menu item's label */
};

/* A setting wupan knows; dflt: embed/30-defaults.ipxe fills it in. */
struct lint_setting {
	const char *name;
	enum lint_type type;
	int dflt;
};

#define LINT_ITEMS 4
#define LINT_PORTALS 4

static const struct lint_setting lint_settings[] = {
	{ "site-name", T_TEXT, 1 },
	{ "iscsi-server", T_HOST, 1 },
	{ "iscsi-port", T_PORT, 1 },
	/* Further portals to the same disk (embed/50-identity.ipxe). */
	{ "iscsi-server-2", T_HOST, 0 },
	{ "iscsi-port-2", T_PORT, 0 },
	{ "iscsi-server-3", T_HOST, 0 },
	{ "iscsi-port-3", T_PORT, 0 },
	{ "iscsi-server-4", T_HOST, 0 },
	{ "iscsi-port-4", T_PORT, 0 },
	{ "iscsi-lun", T_LUN, 1 },
	{ "iscsi-target", T_ISCSI, 0 },
	{ "base-iqn", T_IQN_BASE, 1 },
	{ "initiator-iqn", T_ISCSI, 0 },
	{ "username", T_USER, 0 },
	{ "password", T_SECRET, 0 },
	{ "reverse-username", T_USER, 0 },
	{ "reverse-password", T_SECRET, 0 },
	{ "menu-timeout", T_MS, 1 },
	{ "menu-default", T_ITEM, 1 },
	/* Tries on a busy target (embed/80-failure.ipxe). */
	{ "busy-retries", T_COUNT, 1 },
	{ "install-url", T_URL, 0 },
	{ "boot-url", T_BASE_URL, 1 },
	{ "hostname", T_TEXT, 0 },
	{ "domain", T_HOST, 0 },
	{ "dns", T_HOST, 0 },
	{ "item-1-label", T_LABEL, 0 },
	{ "item-1-text", T_TEXT, 0 },
	{ "item-1-url", T_URL, 0 },
	{ "item-2-label", T_LABEL, 0 },
	{ "item-2-text", T_TEXT, 0 },
	{ "item-2-url", T_URL, 0 },
	{ "item-3-label", T_LABEL, 0 },
	{ "item-3-text", T_TEXT, 0 },
	{ "item-3-url", T_URL, 0 },
	{ "item-4-label", T_LABEL, 0 },
	{ "item-4-text", T_TEXT, 0 },
	{ "item-4-url", T_URL, 0 },
};
#define LINT_NSETTINGS (sizeof(lint_settings) / sizeof(lint_settings[0]))

/* The built-in menu items of embed/60-menu.ipxe. */
static const char *const lint_builtin_items[] = {
	"sanboot", "install", "local", "shell", "config", "reboot", "poweroff",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LINT_MAX_NAME 64

/* A name seen in the program, with where it was first seen. */
struct lint_name {
	char name[LINT_MAX_NAME];
	size_t file;
	unsigned line;
};

struct lint_names {
	struct lint_name *v;
	size_t n, cap;
};

/* What lint_check gathers while it walks the lines. */
struct lint_state {
	enum lint_kind kind;
	lint_emit_fn emit;
	void *ctx;
	struct lint_result *res;
	int nomem;
	const struct lint_file *files;
	size_t file;
	unsigned line;
	struct lint_names labels, gotos, sets, tests, reads;
	/* Settings files: the value and line of each known setting. */
	char values[LINT_NSETTINGS][256];
	unsigned set_line[LINT_NSETTINGS];
};

static void report(struct lint_state *st, enum lint_severity sev,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats one finding at the current line and hands it to the caller. */
static void report(struct lint_state *st, enum lint_severity sev,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == LINT_ERROR)
		st->res->errors++;
	else
		st->res->warnings++;
	st->emit(st->ctx, st->file, st->line, sev, msg);
}

unsigned lint_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned row[LINT_MAX_NAME + 1];

	if (alen > LINT_MAX_NAME || blen > LINT_MAX_NAME)
		return 9;
	for (size_t j = 0; j <= blen; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= alen; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= blen; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[blen] > 9 ? 9 : row[blen];
}

/* The closest of list to s within a distance of 2, or NULL. */
static const char *closest(const char *s, size_t len, const char *const *list,
			   size_t n, size_t stride)
{
	const char *best = NULL;
	unsigned bestd = 3;

	for (size_t i = 0; i < n; i++) {
		const char *c =
			*(const char *const *)((const char *)list + i * stride);
		unsigned d = lint_distance(s, len, c, strlen(c));

		if (d < bestd) {
			bestd = d;
			best = c;
		}
	}
	return best;
}

/* Index of s among the string list, or -1. */
static int find_word(const char *s, size_t len, const char *const *list,
		     size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return (int)i;
	return -1;
}

int lint_is_command(const char *name, size_t len)
{
	return find_word(name, len, lint_commands, ARRAY_LEN(lint_commands)) >=
	       0;
}

/* The known setting called s, or -1. */
static int find_setting(const char *s, size_t len)
{
	for (size_t i = 0; i < LINT_NSETTINGS; i++)
		if (strlen(lint_settings[i].name) == len &&
		    memcmp(lint_settings[i].name, s, len) == 0)
			return (int)i;
	return -1;
}

/* Remembers a name; duplicates are kept (callers look up the first). */
static void names_add(struct lint_state *st, struct lint_names *ns,
		      const char *s, size_t len)
{
	if (len >= LINT_MAX_NAME)
		len = LINT_MAX_NAME - 1;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 32;
		struct lint_name *v = realloc(ns->v, cap * sizeof(*v));

		if (!v) {
			st->nomem = 1;
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	memcpy(ns->v[ns->n].name, s, len);
	ns->v[ns->n].name[len] = '\0';
	ns->v[ns->n].file = st->file;
	ns->v[ns->n].line = st->line;
	ns->n++;
}

/* The first entry named s, or NULL. */
static const struct lint_name *names_find(const struct lint_names *ns,
					  const char *s, size_t len)
{
	if (len >= LINT_MAX_NAME)
		len = LINT_MAX_NAME - 1;
	for (size_t i = 0; i < ns->n; i++)
		if (strlen(ns->v[i].name) == len &&
		    memcmp(ns->v[i].name, s, len) == 0)
			return &ns->v[i];
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* A word of a line: [p, p + len). */
struct lint_word {
	const char *p;
	size_t len;
};

/* Splits a line at blanks the way iPXE does (no quoting); max 64 words. */
static size_t split_words(const char *s, size_t len, struct lint_word *w,
			  size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			break;
		w[n].p = s + i;
		while (i < len && !is_space(s[i]))
			i++;
		w[n].len = (size_t)(s + i - w[n].p);
		n++;
	}
	return n;
}

static int word_is(const struct lint_word *w, const char *s)
{
	return w->len == strlen(s) && memcmp(w->p, s, w->len) == 0;
}

/*
 * The setting name of a `set`-like argument: drops a `:type` suffix.
 * Returns the length; *scoped is set for names such as netX/mac.
 */
static size_t setting_name(const char *s, size_t len, int *scoped)
{
	size_t n = 0;

	*scoped = 0;
	while (n < len && s[n] != ':') {
		if (s[n] == '/')
			*scoped = 1;
		n++;
	}
	return n;
}

/*
 * Walks the ${...} references of a text: records each name in st->reads,
 * and reports an unterminated one.  Returns 0, or -1 if unbalanced.
 */
static int scan_refs(struct lint_state *st, const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		size_t start, end, depth = 1;
		int scoped;

		if (s[i] != '$' || s[i + 1] != '{')
			continue;
		start = i + 2;
		for (end = start; end < len; end++) {
			if (end + 1 < len && s[end] == '$' && s[end + 1] == '{')
				depth++;
			else if (s[end] == '}' && --depth == 0)
				break;
		}
		if (end >= len) {
			report(st, LINT_ERROR,
			       "unterminated ${ reference: a } is missing");
			return -1;
		}
		size_t nlen = setting_name(s + start, end - start, &scoped);

		if (!scoped && nlen > 0 && !memchr(s + start, '$', nlen))
			names_add(st, &st->reads, s + start, nlen);
		i = start - 1;
	}
	return 0;
}

/* 1 if [s, s+len) holds a ${ reference. */
static int has_ref(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '$' && s[i + 1] == '{')
			return 1;
	return 0;
}

/* --- value types ------------------------------------------------------- */

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

int lint_iscsi_name(const char *s, size_t len, const char **why)
{
	/* RFC 3720 §3.2.6.1: at most 223 bytes. */
	if (len > 223) {
		*why = "longer than 223 bytes (RFC 3720 §3.2.6.1)";
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z') {
			*why = "has upper case letters: iSCSI names are "
			       "lower case (RFC 3720 §3.2.6.2)";
			return 0;
		}
		if (!is_lower_alnum(c) && c != '-' && c != '.' && c != ':') {
			*why = "has a character other than a-z, 0-9, '-', "
			       "'.' and ':' (RFC 3720 §3.2.6.2)";
			return 0;
		}
	}
	if (len >= 4 &&
	    (memcmp(s, "eui.", 4) == 0 || memcmp(s, "naa.", 4) == 0)) {
		size_t n = len - 4;
		int naa = s[0] == 'n';

		for (size_t i = 4; i < len; i++)
			if (!is_hex(s[i])) {
				*why = "eui./naa. must be followed by hex "
				       "digits only (RFC 3720 §3.2.6.3.2, "
				       "RFC 3980)";
				return 0;
			}
		if (n != 16 && !(naa && n == 32)) {
			*why = naa ? "naa. takes 16 or 32 hex digits (RFC "
				     "3980)"
				   : "eui. takes 16 hex digits (RFC 3720 "
				     "§3.2.6.3.2)";
			return 0;
		}
		return 1;
	}
	/* RFC 3720 §3.2.6.3.1: iqn.yyyy-mm.reversed.domain[:anything]. */
	if (len < 4 || memcmp(s, "iqn.", 4) != 0) {
		*why = "must start with iqn., eui. or naa. (RFC 3720 §3.2.6.3)";
		return 0;
	}
	if (len < 12 || !(s[4] >= '1' && s[4] <= '2') || s[5] < '0' ||
	    s[5] > '9' || s[6] < '0' || s[6] > '9' || s[7] < '0' ||
	    s[7] > '9' || s[8] != '-' || s[9] < '0' || s[9] > '1' ||
	    s[10] < '0' || s[10] > '9' || s[11] != '.' ||
	    (s[9] == '0' && s[10] == '0') || (s[9] == '1' && s[10] > '2')) {
		*why = "iqn. must be followed by a date yyyy-mm and a dot "
		       "(RFC 3720 §3.2.6.3.1), e.g. iqn.2026-01.org.example";
		return 0;
	}
	if (len == 12 || s[12] == ':' || s[12] == '.') {
		*why = "iqn.yyyy-mm. must be followed by a reversed domain "
		       "name (RFC 3720 §3.2.6.3.1)";
		return 0;
	}
	return 1;
}

/* 1 if s is a dotted IPv4 address. */
static int is_ipv4(const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		uint64_t v;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 3 ||
		    parse_u64_n(s + start, i - start, 0, 255, &v) != 0)
			return 0;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

/* 1 if s looks like a DNS name (RFC 1123 labels). */
static int is_dns_name(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-'))
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	if (s[len - 1] == '-')
		return 0;
	/* A name whose last label is all digits was meant as an address. */
	for (size_t i = len; i > 0 && s[i - 1] != '.'; i--)
		if (s[i - 1] < '0' || s[i - 1] > '9')
			return 1;
	return 0;
}

/* 1 if the value names a built-in or a custom menu item of this file. */
static int is_item(struct lint_state *st, const char *s, size_t len)
{
	if (find_word(s, len, lint_builtin_items,
		      ARRAY_LEN(lint_builtin_items)) >= 0)
		return 1;
	for (int n = 1; n <= LINT_ITEMS; n++) {
		char name[32];
		int i;

		snprintf(name, sizeof(name), "item-%d-label", n);
		i = find_setting(name, strlen(name));
		if (st->set_line[i] && strlen(st->values[i]) == len &&
		    memcmp(st->values[i], s, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Checks a value (blanks already collapsed as iPXE will) against its type.
 * Values holding ${...} are only checked for what can be known now.
 */
static void check_value(struct lint_state *st, int idx, const char *v,
			size_t len)
{
	const struct lint_setting *s = &lint_settings[idx];
	const char *why;
	uint64_t n;
	int ref = has_ref(v, len);

	switch (s->type) {
	case T_TEXT:
		break;
	case T_HOST:
		if (!ref && !is_ipv4(v, len) && !is_dns_name(v, len))
			report(st, LINT_ERROR,
			       "%s '%.*s' is neither an IPv4 address nor a "
			       "DNS name",
			       s->name, (int)len, v);
		break;
	case T_PORT:
		if (!ref && parse_u64_n(v, len, 1, 65535, &n) != 0)
			report(st, LINT_ERROR,
			       "%s '%.*s' is not a TCP port (a number from 1 "
			       "to 65535)",
			       s->name, (int)len, v);
		break;
	case T_LUN:
		if (ref)
			break;
		/* iPXE reads up to four '-'-separated hex numbers. */
		for (size_t i = 0, part = 0, digits = 0;; i++) {
			if (i == len || v[i] == '-') {
				if (digits == 0 || digits > 4 || ++part > 4) {
					report(st, LINT_ERROR,
					       "%s '%.*s' is not a LUN (a "
					       "number such as 0 or 1)",
					       s->name, (int)len, v);
					break;
				}
				digits = 0;
				if (i == len)
					break;
			} else if (is_hex(v[i])) {
				digits++;
			} else {
				digits = 99;
			}
		}
		if (len > 1 && parse_u64_n(v, len, 10, 9999, &n) == 0)
			report(st, LINT_WARNING,
			       "%s %.*s: iPXE reads LUNs in hexadecimal, so "
			       "this is LUN %lu",
			       s->name, (int)len, v, strtoul(v, NULL, 16));
		break;
	case T_MS:
		if (ref)
			break;
		if (parse_u64_n(v, len, 0, 86400000, &n) != 0)
			report(st, LINT_ERROR,
			       "%s '%.*s' is not a number of milliseconds "
			       "(e.g. 5000 for five seconds)",
			       s->name, (int)len, v);
		else if (n > 0 && n < 100)
			report(st, LINT_WARNING,
			       "%s %lu is in milliseconds: %lu s would be "
			       "%lu",
			       s->name, (unsigned long)n, (unsigned long)n,
			       (unsigned long)n * 1000);
		break;
	case T_COUNT:
		/* The firmware counts up to it and compares the text, so
		 * "012" would never be reached. */
		if (ref)
			break;
		if (parse_u64_n(v, len, 0, 999, &n) != 0 ||
		    (len > 1 && v[0] == '0'))
			report(st, LINT_ERROR,
			       "%s '%.*s' is not a count from 0 to 999 "
			       "written plainly (e.g. 24)",
			       s->name, (int)len, v);
		break;
	case T_ITEM:
		/* Checked once the whole file is read (items may follow). */
		break;
	case T_ISCSI:
	case T_IQN_BASE:
		if (ref)
			break;
		if (!lint_iscsi_name(v, len, &why))
			report(st, LINT_ERROR,
			       "%s '%.*s' is not an iSCSI name: "
			       "it %s",
			       s->name, (int)len, v, why);
		else if (s->type == T_IQN_BASE && memcmp(v, "iqn.", 4) != 0)
			report(st, LINT_ERROR,
			       "%s must be an iqn. name: wupan appends "
			       "':<host>' to it",
			       s->name);
		break;
	case T_URL:
	case T_BASE_URL: {
		const char *sep = NULL;

		for (size_t i = 0; i + 2 < len; i++)
			if (v[i] == ':' && v[i + 1] == '/' && v[i + 2] == '/') {
				sep = v + i;
				break;
			}
		if (!sep && !(ref && v[0] == '$'))
			report(st, LINT_ERROR,
			       "%s '%.*s' is not a URL (scheme://server/path, "
			       "e.g. tftp://${next-server}/x or http://...)",
			       s->name, (int)len, v);
		else if (sep && find_word(v, (size_t)(sep - v),
					  (const char *const[]){
						  "tftp", "http", "https",
						  "ftp", "nfs", "file" },
					  6) < 0)
			report(st, LINT_ERROR,
			       "%s: iPXE fetches tftp://, http://, https://, "
			       "ftp://, nfs:// and file:// URLs, not '%.*s'",
			       s->name, (int)(sep - v), v);
		if (s->type == T_BASE_URL && v[len - 1] == '/')
			report(st, LINT_WARNING,
			       "%s ends with '/': wupan adds one, giving '//'",
			       s->name);
		break;
	}
	case T_USER:
		break;
	case T_SECRET:
		/* Microsoft's iSCSI initiator refuses other lengths. */
		if (!ref && (len < 12 || len > 16))
			report(st, LINT_WARNING,
			       "%s has %zu characters: Windows' iSCSI "
			       "initiator only accepts CHAP secrets of 12 to "
			       "16 characters",
			       s->name, len);
		if (st->kind == LINT_SITE)
			report(st, LINT_WARNING,
			       "%s in the site file lands in boot.ipxe, which "
			       "anyone on the LAN can fetch over TFTP: keep "
			       "CHAP secrets in per-host files (README: "
			       "Secrets)",
			       s->name);
		break;
	case T_LABEL:
		for (size_t i = 0; i < len; i++)
			if (!is_lower_alnum(v[i]) && v[i] != '-') {
				report(st, LINT_ERROR,
				       "%s '%.*s': a label is a-z, 0-9 and "
				       "'-' only",
				       s->name, (int)len, v);
				return;
			}
		if (find_word(v, len, lint_builtin_items,
			      ARRAY_LEN(lint_builtin_items)) >= 0)
			report(st, LINT_ERROR,
			       "%s '%.*s' is a built-in menu item already",
			       s->name, (int)len, v);
		break;
	}
}

/* The settings wupan's defaults fill in after the site file ran. */
static void check_early_refs(struct lint_state *st, size_t from)
{
	for (size_t i = from; i < st->reads.n; i++) {
		const char *name = st->reads.v[i].name;
		int idx = find_setting(name, strlen(name));

		if (idx >= 0 && lint_settings[idx].dflt && !st->set_line[idx])
			report(st, LINT_WARNING,
			       "${%s} is expanded when this line runs, "
			       "before wupan's defaults: it is empty unless "
			       "set above",
			       name);
	}
}

/* One line of a site or per-host file. */
static void settings_line(struct lint_state *st, const char *s, size_t len)
{
	struct lint_word w[3];
	size_t nw = split_words(s, len, w, 3);
	char value[256];
	size_t vlen = 0, reads_before = st->reads.n;
	int idx, scoped;

	if (nw == 0 || s[0] == '#') {
		if (len >= 7 && memcmp(s, "#wupan:", 7) == 0)
			report(st, LINT_ERROR,
			       "#wupan: lines belong to embed/, not to "
			       "settings");
		return;
	}
	if (!word_is(&w[0], "set")) {
		size_t nlen = w[0].len;
		const char *eq = memchr(w[0].p, '=', w[0].len);

		if (eq)
			nlen = (size_t)(eq - w[0].p);
		if (find_setting(w[0].p, nlen) >= 0)
			report(st, LINT_ERROR,
			       "not a set line: write 'set %.*s VALUE' (no "
			       "'=')",
			       (int)nlen, w[0].p);
		else
			report(st, LINT_ERROR,
			       "only 'set NAME VALUE' lines, comments and "
			       "#!ipxe belong here, not '%.*s' (a menu item "
			       "can chain a script: item-N-url)",
			       (int)w[0].len, w[0].p);
		return;
	}
	if (nw < 2) {
		report(st, LINT_ERROR, "set without a name");
		return;
	}
	size_t nlen = setting_name(w[1].p, w[1].len, &scoped);

	/* What iPXE will store: the words after the name, one blank apart. */
	const char *rest = w[1].p + w[1].len;
	size_t rlen = len - (size_t)(rest - s);
	struct lint_word vw[64];
	size_t nv = split_words(rest, rlen, vw, 64);
	int quotes = 0, runs = 0;

	for (size_t i = 0; i < nv; i++) {
		if (vlen + vw[i].len + 1 >= sizeof(value)) {
			report(st, LINT_ERROR, "value longer than %zu bytes",
			       sizeof(value) - 1);
			return;
		}
		if (i)
			value[vlen++] = ' ';
		memcpy(value + vlen, vw[i].p, vw[i].len);
		vlen += vw[i].len;
	}
	value[vlen] = '\0';
	for (size_t i = 0; i < vlen; i++)
		if (value[i] == '"' || value[i] == '\'')
			quotes = 1;
	if (nv > 1)
		for (const char *p = vw[0].p; p + 1 < vw[nv - 1].p; p++)
			if (is_space(p[0]) && is_space(p[1]))
				runs = 1;
	if (memchr(rest, '\t', rlen) && nv > 1)
		runs = 1;
	for (size_t i = 0; i < nv; i++)
		if (word_is(&vw[i], "||") || word_is(&vw[i], "&&")) {
			report(st, LINT_ERROR,
			       "'%.*s' in a value makes iPXE run the rest as a "
			       "command",
			       (int)vw[i].len, vw[i].p);
			return;
		}
	if (scan_refs(st, value, vlen) < 0)
		return;
	if (scoped) {
		report(st, LINT_WARNING,
		       "%.*s is a scoped iPXE setting; wupan does not check it",
		       (int)w[1].len, w[1].p);
		return;
	}
	idx = find_setting(w[1].p, nlen);
	if (idx < 0) {
		const char *near = closest(w[1].p, nlen, &lint_settings[0].name,
					   LINT_NSETTINGS,
					   sizeof(lint_settings[0]));

		if (nlen >= 6 && memcmp(w[1].p, "wupan-", 6) == 0)
			report(st, LINT_ERROR,
			       "%.*s: wupan-* names are wupan's own working "
			       "settings",
			       (int)nlen, w[1].p);
		else if (near)
			report(st, LINT_ERROR,
			       "unknown setting %.*s: did you mean %s?",
			       (int)nlen, w[1].p, near);
		else
			report(st, LINT_WARNING,
			       "%.*s is not a wupan setting: it does nothing "
			       "unless a menu item uses it",
			       (int)nlen, w[1].p);
		names_add(st, &st->sets, w[1].p, nlen);
		return;
	}
	if (st->set_line[idx])
		report(st, LINT_WARNING,
		       "%s is set again (first on line %u); the later value "
		       "wins",
		       lint_settings[idx].name, st->set_line[idx]);
	if (quotes)
		report(st, LINT_WARNING,
		       "%s: iPXE keeps quotes as part of the value",
		       lint_settings[idx].name);
	if (runs)
		report(st, LINT_WARNING,
		       "%s: iPXE turns each run of blanks into one space",
		       lint_settings[idx].name);
	if (st->kind == LINT_SITE)
		check_early_refs(st, reads_before);
	if (vlen == 0) {
		report(st, LINT_WARNING,
		       "%s without a value clears the setting",
		       lint_settings[idx].name);
	} else {
		check_value(st, idx, value, vlen);
	}
	memcpy(st->values[idx], value, vlen + 1);
	st->set_line[idx] = st->line;
}

/* The line portal n (2..4) is first named on, or 0: server or port. */
static unsigned portal_line(const struct lint_state *st, int n, int *srv,
			    int *port)
{
	char name[2][32];
	unsigned a, b;

	snprintf(name[0], sizeof(name[0]), "iscsi-server-%d", n);
	snprintf(name[1], sizeof(name[1]), "iscsi-port-%d", n);
	*srv = find_setting(name[0], strlen(name[0]));
	*port = find_setting(name[1], strlen(name[1]));
	a = st->set_line[*srv];
	b = st->set_line[*port];
	return a && b ? (a < b ? a : b) : a ? a : b;
}

/*
 * The further portals: the firmware reads 2, 3, 4 in order and stops at the
 * first missing one, and a portal equal to an earlier one is a second login
 * to the same gateway, no failover.  Values with ${...} are not compared.
 */
static void check_portals(struct lint_state *st)
{
	int s1 = find_setting("iscsi-server", 12);
	int p1 = find_setting("iscsi-port", 10);
	const char *srv[LINT_PORTALS + 1], *port[LINT_PORTALS + 1];
	int gap = 0, paths = 1;

	/* A per-host file inherits the first portal from the site file. */
	srv[1] = st->set_line[s1]        ? st->values[s1]
		 : st->kind == LINT_SITE ? "(the boot server)"
					 : NULL;
	port[1] = st->set_line[p1]        ? st->values[p1]
		  : st->kind == LINT_SITE ? "3260"
					  : NULL;
	for (int n = 2; n <= LINT_PORTALS; n++) {
		int si, pi;
		unsigned line = portal_line(st, n, &si, &pi);

		srv[n] = port[n] = NULL;
		if (!line) {
			gap = gap ? gap : n;
			continue;
		}
		st->line = line;
		if (gap) {
			report(st, LINT_ERROR,
			       "portal %d without portal %d: the firmware "
			       "reads iscsi-server-N/iscsi-port-N in order "
			       "and stops at the first missing one",
			       n, gap);
			continue;
		}
		paths++;
		srv[n] = st->set_line[si] ? st->values[si] : srv[1];
		port[n] = st->set_line[pi] ? st->values[pi] : port[1];
		for (int k = 1; k < n; k++) {
			if (!srv[n] || !srv[k] || !port[n] || !port[k] ||
			    strstr(srv[n], "${") || strstr(port[n], "${") ||
			    strstr(srv[k], "${") || strstr(port[k], "${"))
				continue;
			if (strcmp(srv[n], srv[k]) == 0 &&
			    strcmp(port[n], port[k]) == 0) {
				report(st, LINT_WARNING,
				       "portal %d is %s:%s again (portal %d): "
				       "a second path to the same gateway "
				       "gives no failover",
				       n, srv[n], port[n], k);
				break;
			}
		}
	}
	/* Seen with iPXE 1.21.1: error 060ce001 with another path up, since
	 * iPXE cannot describe a path it could not resolve in the iBFT. */
	for (int n = 1; paths > 1 && n <= paths; n++) {
		char name[32];
		int i;
		const char *v;

		snprintf(name, sizeof(name),
			 n == 1 ? "iscsi-server" : "iscsi-server-%d", n);
		i = find_setting(name, strlen(name));
		v = st->values[i];
		if (!st->set_line[i] || strstr(v, "${") ||
		    is_ipv4(v, strlen(v)))
			continue;
		st->line = st->set_line[i];
		report(st, LINT_WARNING,
		       "%s %s is a name: with several portals iPXE fails the "
		       "whole boot when one name does not resolve; give the "
		       "gateways as addresses",
		       name, v);
	}
}

/* Whole-file checks of a settings file: menu items, CHAP pairs, portals. */
static void settings_end(struct lint_state *st)
{
	int def = find_setting("menu-default", 12);
	int pw = find_setting("password", 8),
	    user = find_setting("username", 8);
	int rpw = find_setting("reverse-password", 16);

	for (int n = 1; n <= LINT_ITEMS; n++) {
		char name[3][32];
		int idx[3], any = 0;

		snprintf(name[0], sizeof(name[0]), "item-%d-label", n);
		snprintf(name[1], sizeof(name[1]), "item-%d-text", n);
		snprintf(name[2], sizeof(name[2]), "item-%d-url", n);
		for (int k = 0; k < 3; k++) {
			idx[k] = find_setting(name[k], strlen(name[k]));
			any |= st->set_line[idx[k]] != 0;
		}
		/* The text defaults to the label (embed/30-defaults.ipxe). */
		for (int k = 0; k < 3; k += 2)
			if (any && !st->set_line[idx[k]]) {
				st->line = st->set_line[idx[0]]
						   ? st->set_line[idx[0]]
					   : st->set_line[idx[1]]
						   ? st->set_line[idx[1]]
						   : st->set_line[idx[2]];
				report(st, LINT_ERROR,
				       "menu item %d: %s is not set (an item "
				       "needs a label and a URL to chain)",
				       n, name[k]);
			}
	}
	if (st->set_line[def] &&
	    !has_ref(st->values[def], strlen(st->values[def])) &&
	    !is_item(st, st->values[def], strlen(st->values[def]))) {
		st->line = st->set_line[def];
		/* A per-host file may pick an item of the site's. */
		report(st, st->kind == LINT_SITE ? LINT_ERROR : LINT_WARNING,
		       "menu-default '%s' is not a menu item (sanboot, "
		       "install, local, shell, config, reboot, poweroff%s)",
		       st->values[def],
		       st->kind == LINT_SITE ? ", or an item-N-label"
					     : ", or the site's item-N-label");
	}
	check_portals(st);
	if (st->set_line[pw] && !st->set_line[user] && st->kind == LINT_SITE) {
		st->line = st->set_line[pw];
		report(st, LINT_WARNING,
		       "password without username: iPXE sends no CHAP");
	}
	if (st->set_line[rpw] && !st->set_line[pw] && st->kind == LINT_SITE) {
		st->line = st->set_line[rpw];
		report(st, LINT_WARNING,
		       "reverse-password (mutual CHAP) needs username and "
		       "password too");
	}
}

/* --- general scripts --------------------------------------------------- */

/* Option letters of `choose` that take a value. */
static int choose_opt_has_arg(const struct lint_word *w)
{
	return word_is(w, "--timeout") || word_is(w, "-t") ||
	       word_is(w, "--default") || word_is(w, "-d") ||
	       word_is(w, "--menu") || word_is(w, "-m");
}

/* One command (argv between && / ||) of a script line. */
static void script_command(struct lint_state *st, const struct lint_word *w,
			   size_t n)
{
	int scoped;
	size_t nlen;

	if (n == 0)
		return;
	if (w[0].p[0] == '$')
		return;
	if (!lint_is_command(w[0].p, w[0].len)) {
		const char *near = closest(w[0].p, w[0].len, lint_commands,
					   ARRAY_LEN(lint_commands),
					   sizeof(lint_commands[0]));
		const char *eq = memchr(w[0].p, '=', w[0].len);

		if (find_setting(w[0].p,
				 eq ? (size_t)(eq - w[0].p) : w[0].len) >= 0)
			report(st, LINT_ERROR,
			       "'%.*s' is not an iPXE command: to set a "
			       "setting, write 'set NAME VALUE'",
			       (int)w[0].len, w[0].p);
		else if (near)
			report(st, LINT_ERROR,
			       "'%.*s' is not an iPXE command: did you mean "
			       "%s?",
			       (int)w[0].len, w[0].p, near);
		else
			report(st, LINT_ERROR,
			       "'%.*s' is not a command of the pinned iPXE",
			       (int)w[0].len, w[0].p);
		return;
	}
	if ((word_is(&w[0], "set") || word_is(&w[0], "clear") ||
	     word_is(&w[0], "inc") || word_is(&w[0], "read")) &&
	    n >= 2) {
		nlen = setting_name(w[1].p, w[1].len, &scoped);
		if (!scoped)
			names_add(st, &st->sets, w[1].p, nlen);
	} else if (word_is(&w[0], "isset") && n >= 2) {
		/* The name behind isset ${NAME}: tested, so may be unset. */
		if (w[1].len > 3 && w[1].p[0] == '$' && w[1].p[1] == '{') {
			nlen = setting_name(w[1].p + 2, w[1].len - 3, &scoped);
			if (!scoped)
				names_add(st, &st->tests, w[1].p + 2, nlen);
		}
	} else if (word_is(&w[0], "choose")) {
		for (size_t i = 1; i < n; i++) {
			if (w[i].p[0] == '-') {
				if (choose_opt_has_arg(&w[i]))
					i++;
				continue;
			}
			nlen = setting_name(w[i].p, w[i].len, &scoped);
			names_add(st, &st->sets, w[i].p, nlen);
			break;
		}
	} else if (word_is(&w[0], "goto")) {
		if (n < 2)
			report(st, LINT_ERROR, "goto without a label");
		else
			names_add(st, &st->gotos, w[1].p, w[1].len);
	}
}

/* One line of a general script. */
static void script_line(struct lint_state *st, const char *s, size_t len)
{
	struct lint_word w[64];
	size_t n, start = 0;

	if (len == 0 || s[0] == '#')
		return;
	if (s[0] == ':') {
		const struct lint_name *prev =
			names_find(&st->labels, s + 1, len - 1);

		if (len == 1)
			report(st, LINT_ERROR, "empty label");
		else if (prev)
			report(st, LINT_ERROR,
			       "label %.*s is defined twice (first at %s:%u)",
			       (int)(len - 1), s + 1,
			       st->files[prev->file].name
				       ? st->files[prev->file].name
				       : "?",
			       prev->line);
		else
			names_add(st, &st->labels, s + 1, len - 1);
		return;
	}
	if (scan_refs(st, s, len) < 0)
		return;
	/* iPXE 1.21 keeps quotes as text; later versions parse them. */
	if (memchr(s, '"', len) || memchr(s, '\'', len))
		report(st, LINT_WARNING,
		       "quote characters: iPXE versions differ on them (1.21 "
		       "prints them, 2.0 parses them); leave them out");
	n = split_words(s, len, w, 64);
	for (size_t i = 0; i <= n; i++) {
		if (i == n || word_is(&w[i], "&&") || word_is(&w[i], "||")) {
			script_command(st, w + start, i - start);
			start = i + 1;
		}
	}
}

/* 1 if name is set, tested or provided somewhere. */
static int name_known(const struct lint_state *st, const char *name)
{
	size_t len = strlen(name);

	return names_find(&st->sets, name, len) ||
	       names_find(&st->tests, name, len) ||
	       find_word(name, len, lint_ipxe_settings,
			 ARRAY_LEN(lint_ipxe_settings)) >= 0;
}

/* Whole-program checks of a script: goto targets, settings never set. */
static void script_end(struct lint_state *st)
{
	for (size_t i = 0; i < st->gotos.n; i++) {
		const struct lint_name *g = &st->gotos.v[i];
		const char *dollar = strstr(g->name, "${");
		size_t plen = dollar ? (size_t)(dollar - g->name)
				     : strlen(g->name);
		int found = 0;

		for (size_t j = 0; j < st->labels.n && !found; j++) {
			const char *l = st->labels.v[j].name;

			found = dollar ? strncmp(l, g->name, plen) == 0
				       : strcmp(l, g->name) == 0;
		}
		if (!found) {
			st->file = g->file;
			st->line = g->line;
			if (dollar)
				report(st, LINT_ERROR,
				       "goto %s: no label starts with '%.*s'",
				       g->name, (int)plen, g->name);
			else
				report(st, LINT_ERROR, "goto %s: no such label",
				       g->name);
		}
	}
	for (size_t i = 0; i < st->reads.n; i++) {
		const struct lint_name *r = &st->reads.v[i];

		if (name_known(st, r->name) ||
		    names_find(&st->reads, r->name, strlen(r->name)) != r)
			continue;
		st->file = r->file;
		st->line = r->line;
		report(st, LINT_WARNING,
		       "${%s} is read but never set (nor tested with isset)",
		       r->name);
	}
}

/* --- bytes and lines --------------------------------------------------- */

/* Checks the bytes of one file: encoding, line ends, control characters. */
static void check_bytes(struct lint_state *st, const char *buf, size_t len)
{
	unsigned line = 1;
	int bom = 0, cr = 0;

	st->line = 1;
	if (len >= 3 && (unsigned char)buf[0] == 0xef &&
	    (unsigned char)buf[1] == 0xbb && (unsigned char)buf[2] == 0xbf) {
		report(st, LINT_ERROR,
		       "starts with a UTF-8 byte order mark (as Notepad "
		       "saves): save as plain ASCII");
		bom = 1;
	}
	for (size_t i = bom ? 3 : 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		st->line = line;
		if (c == '\n') {
			line++;
		} else if (c == '\r') {
			if (!cr)
				report(st, LINT_ERROR,
				       "Windows line ends (CR LF): save with "
				       "LF line ends (e.g. dos2unix)");
			cr = 1;
		} else if (c >= 0x80) {
			report(st, LINT_ERROR,
			       "non-ASCII byte 0x%02x: iPXE scripts are "
			       "ASCII",
			       c);
			while (i + 1 < len && buf[i + 1] != '\n')
				i++;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			report(st, LINT_ERROR, "control character 0x%02x", c);
			while (i + 1 < len && buf[i + 1] != '\n')
				i++;
		}
	}
}

/* Frees what lint_check gathered. */
static void state_free(struct lint_state *st)
{
	free(st->labels.v);
	free(st->gotos.v);
	free(st->sets.v);
	free(st->tests.v);
	free(st->reads.v);
}

int lint_check(enum lint_kind kind, const struct lint_file *files,
	       size_t nfiles, lint_emit_fn emit, void *ctx,
	       struct lint_result *res)
{
	struct lint_state *st = calloc(1, sizeof(*st));
	int rc = 0;

	if (!st)
		return -ENOMEM;
	res->errors = res->warnings = 0;
	st->kind = kind;
	st->emit = emit;
	st->ctx = ctx;
	st->res = res;
	st->files = files;
	for (size_t f = 0; f < nfiles; f++) {
		const char *buf = files[f].buf;
		size_t len = files[f].len, pos = 0;

		st->file = f;
		/* Lines are still checked after a bad byte: one pass, all
		 * findings. */
		check_bytes(st, buf, len);
		if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
			pos = 3;
		st->line = 1;
		if (kind != LINT_SITE &&
		    (len - pos < 6 || memcmp(buf + pos, "#!ipxe", 6) != 0))
			report(st, LINT_ERROR,
			       "the first line must be #!ipxe, or iPXE "
			       "refuses the file as a script");
		for (unsigned line = 1; pos < len; line++) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			size_t end = nl ? (size_t)(nl - buf) : len;
			size_t s = pos;

			while (s < end && is_space(buf[s]))
				s++;
			while (end > s &&
			       (is_space(buf[end - 1]) || buf[end - 1] == '\r'))
				end--;
			st->line = line;
			if (kind == LINT_SCRIPT)
				script_line(st, buf + s, end - s);
			else
				settings_line(st, buf + s, end - s);
			pos = nl ? (size_t)(nl - buf) + 1 : len;
		}
	}
	if (kind == LINT_SCRIPT)
		script_end(st);
	else
		settings_end(st);
	if (st->nomem)
		rc = -ENOMEM;
	state_free(st);
	free(st);
	return rc;
}
