/* Unit tests for the TFTP codec (tftp_pkt.c), option negotiation
 * (tftp_opt.c) and log escaping (tftp_log.c). */
#include "tftpd/tftp_log.h"
#include "tftpd/tftp_opt.h"
#include "tftpd/tftp_pkt.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

/* Builds a request packet from NUL-separated text (a literal with embedded
 * \0s); returns its length. */
static size_t mkreq(uint8_t *buf, uint16_t op, const char *fields, size_t flen)
{
	buf[0] = 0;
	buf[1] = (uint8_t)op;
	memcpy(buf + 2, fields, flen);
	return 2 + flen;
}

#define REQ(buf, op, lit) mkreq(buf, op, lit, sizeof(lit) - 1)

static const struct tftp_opt_limits lim_default = { TFTP_BLKSIZE_MAX, 64, 0 };

/* Negotiates a literal request; returns 0 if it parsed. */
static int nego(const char *lit, size_t litlen,
		const struct tftp_opt_limits *lim, uint64_t size,
		struct tftp_req *req, struct tftp_opts *o, uint8_t *pkt)
{
	size_t n = mkreq(pkt, TFTP_RRQ, lit, litlen);

	if (tftp_req_parse(pkt, n, req) != 0)
		return -1;
	tftp_opt_negotiate(req, lim, size, o);
	return 0;
}

/* Compares an OACK with the expected option text (NUL-separated). */
static int oack_is(const struct tftp_req *req, const struct tftp_opts *o,
		   const char *want, size_t wlen)
{
	uint8_t buf[512];
	size_t n = tftp_oack_build(req, o, buf, sizeof(buf));

	return n == 2 + wlen && buf[0] == 0 && buf[1] == TFTP_OACK &&
	       memcmp(buf + 2, want, wlen) == 0;
}

#define NEGO(lit, lim, size) \
	nego(lit, sizeof(lit) - 1, lim, size, &req, &o, pkt)
#define OACK_IS(lit) oack_is(&req, &o, lit, sizeof(lit) - 1)

int main(void)
{
	uint8_t pkt[1024], buf[128];
	struct tftp_req req;
	struct tftp_opts o;
	struct tftp_pkt p;
	char esc[64];
	size_t n;

	/* RFC 1350 requests. */
	n = REQ(pkt, TFTP_RRQ, "boot.ipxe\0octet\0");
	CHECK("rrq octet",
	      tftp_req_parse(pkt, n, &req) == 0 && req.op == TFTP_RRQ &&
		      strcmp(req.file, "boot.ipxe") == 0 && req.file_len == 9 &&
		      !req.netascii && req.nopts == 0);
	n = REQ(pkt, TFTP_WRQ, "up.bin\0NetASCII\0");
	CHECK("wrq netascii, mode case-insensitive (RFC 1350 §5)",
	      tftp_req_parse(pkt, n, &req) == 0 && req.op == TFTP_WRQ &&
		      req.netascii);
	n = REQ(pkt, TFTP_RRQ, "f\0mail\0");
	CHECK("mail mode refused", tftp_req_parse(pkt, n, &req) == -EPROTO);
	n = REQ(pkt, TFTP_RRQ, "f\0octet");
	CHECK("unterminated mode", tftp_req_parse(pkt, n, &req) == -EINVAL);
	n = REQ(pkt, TFTP_RRQ, "\0octet\0");
	CHECK("empty file name", tftp_req_parse(pkt, n, &req) == -EINVAL);
	n = REQ(pkt, TFTP_RRQ, "boot");
	CHECK("no NUL at all", tftp_req_parse(pkt, n, &req) == -EINVAL);
	CHECK("one byte", tftp_req_parse(pkt, 1, &req) == -EINVAL);
	n = REQ(pkt, TFTP_DATA, "f\0octet\0");
	CHECK("DATA is not a request", tftp_req_parse(pkt, n, &req) == -EINVAL);
	n = REQ(pkt, TFTP_RRQ, "ok\0../../etc/passwd\0octet\0");
	CHECK("embedded NUL ends the name; the rest is a bad mode",
	      tftp_req_parse(pkt, n, &req) == -EPROTO);

	/* RFC 2347 option lists. */
	n = REQ(pkt, TFTP_RRQ, "f\0octet\0blksize\0001432\0tsize\0000\0");
	CHECK("ipxe options",
	      tftp_req_parse(pkt, n, &req) == 0 && req.nopts == 2 &&
		      tftp_req_opt(&req, "BLKSIZE") &&
		      strcmp(tftp_req_opt(&req, "tsize")->value, "0") == 0);
	n = REQ(pkt, TFTP_RRQ, "f\0octet\0blksize\0001432\0\0\0\0");
	CHECK("NUL padding after options ignored",
	      tftp_req_parse(pkt, n, &req) == 0 && req.nopts == 1);
	n = REQ(pkt, TFTP_RRQ, "f\0octet\0blksize\0001432\0tsize");
	CHECK("unterminated option tail ignored",
	      tftp_req_parse(pkt, n, &req) == 0 && req.nopts == 1);
	n = REQ(pkt, TFTP_RRQ, "f\0octet\0blksize\0001432\0blksize\0008\0");
	CHECK("repeated option: first wins",
	      tftp_req_parse(pkt, n, &req) == 0 && req.nopts == 1 &&
		      strcmp(req.opts[0].value, "1432") == 0);

	/* DATA, ACK, ERROR. */
	n = tftp_hdr_build(pkt, TFTP_ACK, 65535);
	CHECK("ack", tftp_pkt_parse(pkt, n, &p) == 0 && p.op == TFTP_ACK &&
			     p.block == 65535);
	CHECK("short ack", tftp_pkt_parse(pkt, 3, &p) == -EINVAL);
	n = tftp_hdr_build(pkt, TFTP_DATA, 7);
	memcpy(pkt + n, "xyz", 3);
	CHECK("data", tftp_pkt_parse(pkt, n + 3, &p) == 0 && p.block == 7 &&
			      p.data_len == 3 && p.data[0] == 'x');
	n = tftp_error_build(pkt, sizeof(pkt), TFTP_EOPTNEG, "bye");
	CHECK("error build", n == 8 && memcmp(pkt, "\0\5\0\10bye\0", 8) == 0);
	CHECK("error parse",
	      tftp_pkt_parse(pkt, n, &p) == 0 && p.op == TFTP_ERROR &&
		      p.errcode == TFTP_EOPTNEG && p.data_len == 3);
	CHECK("error parse without NUL",
	      tftp_pkt_parse(pkt, n - 1, &p) == 0 && p.data_len == 3);
	n = tftp_error_build(buf, 10, TFTP_EUNDEF, "a long message");
	CHECK("error truncated to fit", n == 10 && buf[9] == 0);
	CHECK("errcode text",
	      strcmp(tftp_errcode_str(TFTP_EACCESS), "Access violation") == 0 &&
		      strcmp(tftp_errcode_str(99), "Unknown error") == 0);

	/* Option negotiation with each boot client's request. */
	CHECK("iPXE: blksize 1432 + tsize",
	      NEGO("f\0octet\0blksize\0001432\0tsize\0000\0", &lim_default,
		   1234) == 0 &&
		      o.blksize == 1432 && o.windowsize == 1 &&
		      OACK_IS("blksize\0001432\0tsize\0001234\0"));
	CHECK("OVMF probe: tsize, blksize 1468, windowsize 4",
	      NEGO("f\0octet\0tsize\0000\0blksize\0001468\0windowsize\0004\0",
		   &lim_default, 99) == 0 &&
		      o.blksize == 1468 && o.windowsize == 4 &&
		      OACK_IS("tsize\00099\0blksize\0001468\0windowsize\0004\0"));
	CHECK("PXELINUX: tsize + blksize 1408",
	      NEGO("f\0octet\0tsize\0000\0blksize\0001408\0", &lim_default,
		   5) == 0 &&
		      o.blksize == 1408 &&
		      OACK_IS("tsize\0005\0blksize\0001408\0"));
	CHECK("no options: no OACK (RFC 2347)",
	      NEGO("f\0octet\0", &lim_default, 5) == 0 && o.nacked == 0 &&
		      o.blksize == 512 && o.windowsize == 1);
	CHECK("unknown option never in OACK (RFC 2347)",
	      NEGO("f\0octet\0multicast\0\0blksize\0001024\0", &lim_default,
		   5) == 0 &&
		      OACK_IS("blksize\0001024\0"));
	CHECK("client's spelling echoed",
	      NEGO("f\0octet\0BlkSize\0001024\0", &lim_default, 5) == 0 &&
		      OACK_IS("BlkSize\0001024\0"));
	{
		struct tftp_opt_limits l = { 1468, 4, 0 };

		CHECK("blksize capped by limit (path MTU), never above asked",
		      NEGO("f\0octet\0blksize\00065464\0windowsize\00016\0", &l,
			   5) == 0 &&
			      o.blksize == 1468 && o.windowsize == 4 &&
			      OACK_IS("blksize\0001468\0windowsize\0004\0"));
	}
	CHECK("blksize above 65464 answered with 65464 (RFC 2348)",
	      NEGO("f\0octet\0blksize\00099999\0", &lim_default, 5) == 0 &&
		      o.blksize == 65464);
	CHECK("blksize below 8 ignored (RFC 2348)",
	      NEGO("f\0octet\0blksize\0007\0", &lim_default, 5) == 0 &&
		      o.nacked == 0 && o.blksize == 512);
	CHECK("blksize junk ignored",
	      NEGO("f\0octet\0blksize\0001k\0", &lim_default, 5) == 0 &&
		      o.nacked == 0);
	CHECK("windowsize 0 ignored (RFC 7440)",
	      NEGO("f\0octet\0windowsize\0000\0", &lim_default, 5) == 0 &&
		      o.nacked == 0 && o.windowsize == 1);
	CHECK("timeout 1..255 echoed (RFC 2349)",
	      NEGO("f\0octet\0timeout\0003\0", &lim_default, 5) == 0 &&
		      o.timeout_s == 3 && OACK_IS("timeout\0003\0"));
	CHECK("timeout 0 and 256 ignored",
	      NEGO("f\0octet\0timeout\0000\0", &lim_default, 5) == 0 &&
		      o.nacked == 0 &&
		      NEGO("f\0octet\0timeout\000256\0", &lim_default, 5) ==
			      0 &&
		      o.nacked == 0);
	{
		struct tftp_opt_limits l = { 1468, 4, 10 };

		CHECK("timeout above the server's limit not acknowledged",
		      NEGO("f\0octet\0timeout\000255\0", &l, 5) == 0 &&
			      o.nacked == 0 && o.timeout_s == 0);
		CHECK("timeout at the server's limit echoed",
		      NEGO("f\0octet\0timeout\00010\0", &l, 5) == 0 &&
			      o.timeout_s == 10 && OACK_IS("timeout\00010\0"));
	}
	CHECK("tsize of unknown size not acknowledged",
	      NEGO("f\0octet\0tsize\0000\0", &lim_default, UINT64_MAX) == 0 &&
		      o.nacked == 0);
	CHECK("tsize of an empty file left out (curl rejects tsize 0)",
	      NEGO("f\0octet\0tsize\0000\0blksize\0001024\0", &lim_default,
		   0) == 0 &&
		      OACK_IS("blksize\0001024\0"));
	n = REQ(pkt, TFTP_WRQ, "f\0octet\0tsize\0004096\0");
	tftp_req_parse(pkt, n, &req);
	tftp_opt_negotiate(&req, &lim_default, UINT64_MAX, &o);
	CHECK("WRQ tsize echoed (RFC 2349)",
	      o.tsize == 4096 && OACK_IS("tsize\0004096\0"));
	CHECK("OACK that does not fit", tftp_oack_build(&req, &o, buf, 8) == 0);

	/* Log escaping. */
	tftp_log_escape("a\"b\\c\n\x01\xff", 8, esc, sizeof(esc));
	CHECK("escape", strcmp(esc, "a\\\"b\\\\c\\x0a\\x01\\xff") == 0);
	tftp_log_escape("0123456789abcdef", 16, esc, 10);
	CHECK("escape truncates", strcmp(esc, "012345...") == 0);
	return unit_done();
}
