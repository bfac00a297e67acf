/* TFTP option negotiation: see tftp_opt.h. */
#include "tftpd/tftp_opt.h"

#include "common/parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parses an option value as a bounded decimal; returns 0 or a negative errno
 * (RFC 2347: values are ASCII decimal strings). */
static int opt_num(const struct tftp_opt *o, uint64_t min, uint64_t max,
		   uint64_t *v)
{
	return parse_u64_n(o->value, o->value_len, min, max, v);
}

void tftp_opt_negotiate(const struct tftp_req *req,
			const struct tftp_opt_limits *lim, uint64_t file_size,
			struct tftp_opts *out)
{
	memset(out, 0, sizeof(*out));
	out->blksize = TFTP_BLKSIZE_DEFAULT;
	out->windowsize = 1;

	for (size_t i = 0; i < req->nopts; i++) {
		const struct tftp_opt *o = &req->opts[i];
		uint64_t v;

		if (strcasecmp(o->name, "blksize") == 0) {
			/* RFC 2348: 8..65464; a larger request may be answered
			 * with a smaller size, a smaller one is invalid. */
			if (opt_num(o, TFTP_BLKSIZE_MIN, UINT64_MAX, &v) != 0)
				continue;
			if (v > lim->blksize_max)
				v = lim->blksize_max;
			if (v > TFTP_BLKSIZE_MAX)
				v = TFTP_BLKSIZE_MAX;
			if (v < TFTP_BLKSIZE_MIN)
				continue;
			out->blksize = (uint16_t)v;
		} else if (strcasecmp(o->name, "windowsize") == 0) {
			/* RFC 7440 §3: 1..65535; the server may grant less. */
			if (opt_num(o, 1, UINT64_MAX, &v) != 0)
				continue;
			if (v > lim->windowsize_max)
				v = lim->windowsize_max;
			if (v > TFTP_WINDOWSIZE_MAX)
				v = TFTP_WINDOWSIZE_MAX;
			if (v < 1)
				continue;
			out->windowsize = (uint16_t)v;
		} else if (strcasecmp(o->name, "timeout") == 0) {
			/* RFC 2349: 1..255 seconds, acknowledged unchanged
			 * or not at all.  255 s times the retries holds a
			 * transfer slot for half an hour: above the server's
			 * limit the option is left out. */
			if (opt_num(o, 1,
				    lim->timeout_max ? lim->timeout_max : 255,
				    &v) != 0)
				continue;
			out->timeout_s = (uint8_t)v;
		} else if (strcasecmp(o->name, "tsize") == 0) {
			/* RFC 2349: an RRQ carries 0 and the OACK the size; a
			 * WRQ carries the size and the OACK echoes it. */
			if (opt_num(o, 0, UINT64_MAX, &v) != 0)
				continue;
			if (req->op == TFTP_RRQ) {
				/* curl (to 8.x at least) fails a transfer
				 * whose OACK says "tsize 0"; leaving the
				 * option out is allowed and costs nothing
				 * for an empty file. */
				if (file_size == UINT64_MAX || file_size == 0)
					continue;
				v = file_size;
			}
			out->tsize = v;
		} else {
			continue;
		}
		out->acked[i] = 1;
		out->value[i] = v;
		out->nacked++;
	}
}

size_t tftp_oack_build(const struct tftp_req *req, const struct tftp_opts *o,
		       uint8_t *buf, size_t cap)
{
	size_t off = 2;

	if (cap < 2)
		return 0;
	buf[0] = 0;
	buf[1] = TFTP_OACK;
	for (size_t i = 0; i < req->nopts; i++) {
		size_t nl = strlen(req->opts[i].name);
		char num[24];
		int vl;

		if (!o->acked[i])
			continue;
		vl = snprintf(num, sizeof(num), "%llu",
			      (unsigned long long)o->value[i]);
		if (vl < 0 || off + nl + 1 + (size_t)vl + 1 > cap)
			return 0;
		memcpy(buf + off, req->opts[i].name, nl + 1);
		off += nl + 1;
		memcpy(buf + off, num, (size_t)vl + 1);
		off += (size_t)vl + 1;
	}
	return off;
}
