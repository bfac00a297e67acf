/* The rules of a room from one golden image: see fleet_rules.h. */
#include "iscsi/fleet_rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

int fleet_size_parse(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	unsigned shift = 0;
	uint64_t v;

	if (len > 1) {
		switch (s[len - 1]) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		case 'T':
		case 't':
			shift = 40;
			break;
		default:
			break;
		}
	}
	if (parse_u64_n(s, shift ? len - 1 : len, 0, UINT64_MAX >> shift, &v))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

/* Sets *dst to a copy of the n bytes at s; fails if set before. */
static int take(char **dst, const char *s, size_t n)
{
	if (*dst || n == 0)
		return -EINVAL;
	*dst = strndup(s, n);
	return *dst ? 0 : -ENOMEM;
}

int fleet_lun_parse(struct tcfg_lun *l, const char *arg, char *err,
		    size_t errlen, const char *where)
{
	const char *p = arg;
	int mode_set = 0;

	l->mode = TCFG_OVL_RESET;
	l->linger = -1;
	while (*p) {
		size_t n = strcspn(p, " \t,"), klen;
		const char *eq = memchr(p, '=', n), *v;
		char val[1024];
		int rc = 0;

		if (n == 0) {
			p++;
			continue;
		}
		if (!eq) {
			snprintf(err, errlen,
				 "%s: expected KEY=VALUE, got '%.*s'", where,
				 (int)n, p);
			return -1;
		}
		klen = (size_t)(eq - p);
		v = eq + 1;
		snprintf(val, sizeof(val), "%.*s", (int)(p + n - v), v);
		if (klen == 6 && !strncmp(p, "golden", 6)) {
			rc = take(&l->path, v, strlen(val));
		} else if (klen == 8 && !strncmp(p, "overlays", 8)) {
			rc = take(&l->overlays, v, strlen(val));
		} else if (klen == 4 && !strncmp(p, "mode", 4)) {
			if (mode_set)
				rc = -EINVAL;
			else if (!strcmp(val, "reset"))
				l->mode = TCFG_OVL_RESET;
			else if (!strcmp(val, "persistent"))
				l->mode = TCFG_OVL_PERSISTENT;
			else
				rc = -EINVAL;
			mode_set = 1;
		} else if (klen == 5 && !strncmp(p, "limit", 5)) {
			rc = fleet_size_parse(val, &l->limit);
		} else if (klen == 9 && !strncmp(p, "dir-limit", 9)) {
			rc = fleet_size_parse(val, &l->dir_limit);
		} else if (klen == 6 && !strncmp(p, "update", 6)) {
			rc = take(&l->update, v, strlen(val));
		} else if (klen == 6 && !strncmp(p, "spares", 6)) {
			uint64_t count = 0;

			rc = parse_u64(val, 0, FLEET_SPARES_MAX, &count);
			l->spares = (unsigned)count;
		} else if (klen == 6 && !strncmp(p, "linger", 6)) {
			uint64_t secs = 0;

			rc = l->linger >= 0
				     ? -EINVAL
				     : parse_u64(val, 0, FLEET_LINGER_MAX,
						 &secs);
			l->linger = (int)secs;
		} else {
			snprintf(err, errlen, "%s: unknown LUN field '%.*s'",
				 where, (int)klen, p);
			return -1;
		}
		if (rc) {
			snprintf(err, errlen,
				 "%s: bad or repeated LUN field "
				 "'%.*s'",
				 where, (int)n, p);
			return -1;
		}
		p += n;
	}
	if (!l->path || !l->overlays) {
		snprintf(err, errlen,
			 "%s: an overlay LUN needs golden= and overlays=",
			 where);
		return -1;
	}
	/* Overlays on Ceph are clones of a golden snapshot on Ceph. */
	if (!strncmp(l->overlays, "rbd:", 4) != !strncmp(l->path, "rbd:", 4)) {
		snprintf(err, errlen,
			 "%s: overlays=rbd:POOL[/PREFIX] goes with "
			 "golden=rbd:POOL/IMAGE[@SNAP], and a directory with a "
			 "golden file",
			 where);
		return -1;
	}
	if (strncmp(l->overlays, "rbd:", 4) && (l->spares || l->linger >= 0)) {
		snprintf(err, errlen,
			 "%s: spares= and linger= are for overlays on Ceph "
			 "(overlays=rbd:...): a directory makes a new "
			 "overlay at once",
			 where);
		return -1;
	}
	if (!strncmp(l->overlays, "rbd:", 4) && (l->limit || l->dir_limit)) {
		snprintf(err, errlen,
			 "%s: limit= and dir-limit= are for overlay "
			 "directories (Ceph pools have quotas of their own)",
			 where);
		return -1;
	}
	/* The golden image is never written through an overlay LUN. */
	l->ro = 0;
	return 0;
}

int fleet_client_name(const char *initiator, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen < 2)
		return -EINVAL;
	for (const char *s = initiator; *s && n < outlen - 1; s++) {
		char ch = *s;

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '-' || ch == ':'))
			ch = '_';
		out[n++] = ch;
	}
	out[n] = 0;
	/* A leading dot would hide the files (and "." and ".." are the
	 * directory itself). */
	if (out[0] == '.')
		out[0] = '_';
	return n ? 0 : -EINVAL;
}

void fleet_ver_build(char *out, size_t outlen, unsigned parent, long long when,
		     const char *comment)
{
	snprintf(out, outlen, "parent %u\ntime %lld\ncomment %s\n", parent,
		 when, comment);
}

int fleet_ver_parse(const char *buf, unsigned num, unsigned *parent,
		    long long *when, char *comment, size_t clen)
{
	unsigned long long p = 0;
	long long t = 0;
	const char *c;

	if (sscanf(buf, "parent %llu\ntime %lld\n", &p, &t) != 2 || p >= num)
		return -EINVAL;
	*parent = (unsigned)p;
	if (when)
		*when = t;
	if (comment) {
		c = strstr(buf, "\ncomment ");
		snprintf(comment, clen, "%s", c ? c + 9 : "");
		comment[strcspn(comment, "\n")] = 0;
	}
	return 0;
}

int fleet_isid_ipxe(const uint8_t isid[6])
{
	return isid[0] == FLEET_ISID_IPXE0 && isid[1] == FLEET_ISID_IPXE1 &&
	       isid[2] == FLEET_ISID_IPXE2 && isid[3] == FLEET_ISID_IPXE3;
}

struct fleet_boot fleet_boot_decide(int reset_mode, int exists,
				    enum ovl_phase phase, const uint8_t isid[6])
{
	struct fleet_boot b = { 0, phase };
	int ipxe = fleet_isid_ipxe(isid);

	if (!exists) {
		b.fresh = 1;
		b.phase = ipxe ? OVL_PHASE_FIRMWARE : OVL_PHASE_OS;
		return b;
	}
	if (ipxe && phase == OVL_PHASE_OS) {
		/* The firmware again after an operating system: the PC was
		 * restarted. */
		b.fresh = reset_mode;
		b.phase = OVL_PHASE_FIRMWARE;
		return b;
	}
	if (!ipxe)
		b.phase = OVL_PHASE_OS;
	return b;
}
