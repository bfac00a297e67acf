/* TFTP option negotiation: RFC 2347 (OACK), 2348 (blksize), 2349 (tsize,
 * timeout), 7440 (windowsize). */
#ifndef WUPAN_TFTPD_TFTP_OPT_H
#define WUPAN_TFTPD_TFTP_OPT_H

#include "tftpd/tftp_pkt.h"

#include <stddef.h>
#include <stdint.h>

#define TFTP_WINDOWSIZE_MAX 65535 /* RFC 7440 §3 */

/* What the server is willing to grant for one transfer. */
struct tftp_opt_limits {
	uint16_t blksize_max; /* --blksize-max, further capped by path MTU */
	uint16_t windowsize_max; /* --windowsize-max */
	/* --timeout-max: a larger timeout request is not acknowledged (RFC
	 * 2349 lets the server ignore it); 0 allows the RFC's 255. */
	uint8_t timeout_max;
};

/* The negotiated transfer parameters and which options go into the OACK. */
struct tftp_opts {
	uint16_t blksize;
	uint16_t windowsize;
	uint8_t timeout_s; /* 0: the client asked for none */
	uint64_t tsize;
	/* For each request option, whether it is acknowledged and the value
	 * granted; the OACK echoes the client's own spelling and order. */
	uint8_t acked[TFTP_MAX_OPTS];
	uint64_t value[TFTP_MAX_OPTS];
	size_t nacked;
};

/*
 * Negotiates the options of req.  file_size is the size to report for tsize
 * in an RRQ (UINT64_MAX: unknown, tsize is then not acknowledged).  Unknown
 * and invalid options are left out of the OACK (RFC 2347: the server omits
 * options it does not support); nothing is ever granted above what was
 * asked.  Never fails: a request without usable options gets the RFC 1350
 * defaults and nacked == 0.
 */
void tftp_opt_negotiate(const struct tftp_req *req,
			const struct tftp_opt_limits *lim, uint64_t file_size,
			struct tftp_opts *out);

/* Builds the OACK for the negotiated options; returns its length, or 0 if it
 * would not fit cap. */
size_t tftp_oack_build(const struct tftp_req *req, const struct tftp_opts *o,
		       uint8_t *buf, size_t cap);

#endif
