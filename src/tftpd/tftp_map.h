/*
 * File name rewrite rules (--map FILE) for clients that ask for names in odd
 * forms.  One rule per line, fields separated by blanks, '#' starts a
 * comment; rules apply in order, each once:
 *   strip PREFIX      remove PREFIX from the start, as often as it repeats
 *   prefix FROM TO    replace FROM at the start by TO
 *   replace FROM TO   replace every FROM by TO
 *   nocase            look names up ignoring case when the exact name is
 *                     missing
 * Fields are literal bytes; there are no quotes or escapes.
 */
#ifndef WUPAN_TFTPD_TFTP_MAP_H
#define WUPAN_TFTPD_TFTP_MAP_H

#include <stddef.h>

#define TFTP_MAP_MAX_RULES 64
#define TFTP_MAP_FIELD_MAX 128

enum tftp_map_op {
	TFTP_MAP_STRIP,
	TFTP_MAP_PREFIX,
	TFTP_MAP_REPLACE,
};

struct tftp_map {
	size_t nrules;
	int nocase;
	struct {
		enum tftp_map_op op;
		char from[TFTP_MAP_FIELD_MAX];
		char to[TFTP_MAP_FIELD_MAX];
	} rule[TFTP_MAP_MAX_RULES];
};

/* Parses rule text; returns 0, or -EINVAL with *bad_line set (1-based). */
int tftp_map_parse(struct tftp_map *map, const char *text, size_t len,
		   unsigned *bad_line);

/* Applies the rules to in[0..in_len) into out (NUL-terminated); returns the
 * output length, or -ENAMETOOLONG if it would not fit cap. */
long tftp_map_apply(const struct tftp_map *map, const char *in, size_t in_len,
		    char *out, size_t cap);

#endif
