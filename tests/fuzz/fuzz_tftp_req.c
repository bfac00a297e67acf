/*
 * Fuzz target: request parsing, option negotiation, OACK building, --map
 * rules and log escaping.  Input: a request packet; if it contains a 0xff
 * byte, what follows the first one is map rule text instead.  Aborts if an
 * invariant of RFC 2347/2348/7440 negotiation is broken.
 */
#include "tftpd/tftp_log.h"
#include "tftpd/tftp_map.h"
#include "tftpd/tftp_opt.h"
#include "tftpd/tftp_pkt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tftp_map map;
	const uint8_t *ff = memchr(data, 0xff, size);
	size_t req_len = ff ? (size_t)(ff - data) : size;
	struct tftp_opt_limits lim = { 1468, 4, 0 };
	struct tftp_req req;
	struct tftp_opts o;
	uint8_t oack[1024];
	char name[1024], esc[300];
	unsigned bad;
	size_t n;

	if (ff && tftp_map_parse(&map, (const char *)ff + 1, size - req_len - 1,
				 &bad) == 0) {
		tftp_map_apply(&map, "/a\\b/C", 6, name, sizeof(name));
	} else {
		memset(&map, 0, sizeof(map));
	}
	if (tftp_req_parse(data, req_len, &req) != 0)
		return 0;
	if (req.file_len != strlen(req.file) || req.nopts > TFTP_MAX_OPTS)
		abort();
	tftp_log_escape(req.file, req.file_len, esc, sizeof(esc));
	if (strlen(esc) >= sizeof(esc))
		abort();
	tftp_map_apply(&map, req.file, req.file_len, name, sizeof(name));

	tftp_opt_negotiate(&req, &lim, 12345, &o);
	if (o.blksize < TFTP_BLKSIZE_MIN || o.blksize > lim.blksize_max ||
	    o.windowsize < 1 || o.windowsize > lim.windowsize_max)
		abort();
	for (size_t i = 0; i < req.nopts; i++) {
		if (!o.acked[i])
			continue;
		/* Never grant more than asked (RFC 2348, RFC 7440). */
		if ((strcasecmp(req.opts[i].name, "blksize") == 0 ||
		     strcasecmp(req.opts[i].name, "windowsize") == 0) &&
		    (o.value[i] > strtoull(req.opts[i].value, NULL, 10) ||
		     req.opts[i].value[0] == '-'))
			abort();
	}
	n = tftp_oack_build(&req, &o, oack, sizeof(oack));
	if (o.nacked && n == 0)
		abort();
	/* The OACK holds exactly the acknowledged options (RFC 2347). */
	if (n) {
		size_t off = 2, count = 0;

		while (off < n) {
			const char *nm = (const char *)oack + off;
			const struct tftp_opt *ro = tftp_req_opt(&req, nm);

			if (!ro)
				abort();
			off += strlen(nm) + 1;
			off += strlen((const char *)oack + off) + 1;
			count++;
		}
		if (count != o.nacked || off != n)
			abort();
	}
	return 0;
}
