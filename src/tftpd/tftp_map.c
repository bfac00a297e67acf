/* File name rewrite rules: see tftp_map.h. */
#include "tftpd/tftp_map.h"

#include <errno.h>
#include <string.h>

/* Copies the next blank-separated field of line[*pos..len) to out; returns
 * its length, 0 at the end of the line, or -1 if it is too long. */
static long next_field(const char *line, size_t len, size_t *pos, char *out)
{
	size_t i = *pos, n = 0;

	while (i < len &&
	       (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	while (i < len && line[i] != ' ' && line[i] != '\t' &&
	       line[i] != '\r') {
		if (n + 1 >= TFTP_MAP_FIELD_MAX)
			return -1;
		out[n++] = line[i++];
	}
	out[n] = 0;
	*pos = i;
	return (long)n;
}

/* Parses one line (without its newline); returns 0 or -EINVAL. */
static int parse_line(struct tftp_map *map, const char *line, size_t len)
{
	char verb[TFTP_MAP_FIELD_MAX], from[TFTP_MAP_FIELD_MAX],
		to[TFTP_MAP_FIELD_MAX], extra[TFTP_MAP_FIELD_MAX];
	const char *hash = memchr(line, '#', len);
	size_t pos = 0;
	long nv, nf, nt;
	enum tftp_map_op op;

	if (hash)
		len = (size_t)(hash - line);
	nv = next_field(line, len, &pos, verb);
	if (nv == 0)
		return 0;
	nf = next_field(line, len, &pos, from);
	nt = nf > 0 ? next_field(line, len, &pos, to) : 0;
	if (nv < 0 || nf < 0 || nt < 0 ||
	    next_field(line, len, &pos, extra) != 0)
		return -EINVAL;
	if (strcmp(verb, "nocase") == 0 && nf == 0) {
		map->nocase = 1;
		return 0;
	}
	if (strcmp(verb, "strip") == 0 && nf > 0 && nt == 0)
		op = TFTP_MAP_STRIP;
	else if (strcmp(verb, "prefix") == 0 && nf > 0 && nt > 0)
		op = TFTP_MAP_PREFIX;
	else if (strcmp(verb, "replace") == 0 && nf > 0 && nt > 0)
		op = TFTP_MAP_REPLACE;
	else
		return -EINVAL;
	if (map->nrules >= TFTP_MAP_MAX_RULES)
		return -EINVAL;
	map->rule[map->nrules].op = op;
	memcpy(map->rule[map->nrules].from, from, (size_t)nf + 1);
	memcpy(map->rule[map->nrules].to, to, (size_t)nt + 1);
	map->nrules++;
	return 0;
}

int tftp_map_parse(struct tftp_map *map, const char *text, size_t len,
		   unsigned *bad_line)
{
	size_t off = 0;
	unsigned line = 0;

	memset(map, 0, sizeof(*map));
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;

		line++;
		if (memchr(text + off, 0, n) ||
		    parse_line(map, text + off, n) != 0) {
			*bad_line = line;
			return -EINVAL;
		}
		off += n + 1;
	}
	return 0;
}

/* Applies one rule from buf into out; returns the new length or -1. */
static long apply_rule(const char *from, const char *to, enum tftp_map_op op,
		       const char *buf, size_t len, char *out, size_t cap)
{
	size_t fl = strlen(from), tl = strlen(to), i = 0, o = 0;

	if (op == TFTP_MAP_STRIP) {
		while (len - i >= fl && memcmp(buf + i, from, fl) == 0)
			i += fl;
		tl = 0;
	}
	if (op == TFTP_MAP_PREFIX && len >= fl && memcmp(buf, from, fl) == 0) {
		if (tl > cap)
			return -1;
		memcpy(out, to, tl);
		o = tl;
		i = fl;
	}
	while (i < len) {
		if (op == TFTP_MAP_REPLACE && len - i >= fl &&
		    memcmp(buf + i, from, fl) == 0) {
			if (o + tl > cap)
				return -1;
			memcpy(out + o, to, tl);
			o += tl;
			i += fl;
			continue;
		}
		if (o + 1 > cap)
			return -1;
		out[o++] = buf[i++];
	}
	return (long)o;
}

long tftp_map_apply(const struct tftp_map *map, const char *in, size_t in_len,
		    char *out, size_t cap)
{
	char tmp[2][1024];
	size_t len = in_len;
	const char *cur = in;
	int which = 0;

	if (cap == 0 || in_len >= sizeof(tmp[0]))
		return -ENAMETOOLONG;
	for (size_t r = 0; r < map->nrules; r++) {
		long n = apply_rule(map->rule[r].from, map->rule[r].to,
				    map->rule[r].op, cur, len, tmp[which],
				    sizeof(tmp[0]) - 1);

		if (n < 0)
			return -ENAMETOOLONG;
		cur = tmp[which];
		len = (size_t)n;
		which ^= 1;
	}
	if (len + 1 > cap)
		return -ENAMETOOLONG;
	memmove(out, cur, len);
	out[len] = 0;
	return (long)len;
}
