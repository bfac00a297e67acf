/* TFTP packet codec: see tftp_pkt.h.  RFC 1350 §5, RFC 2347. */
#include "tftpd/tftp_pkt.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Returns the length of the NUL-terminated field at off, or -1 if the packet
 * ends before its NUL. */
static long field_len(const uint8_t *buf, size_t len, size_t off)
{
	const uint8_t *nul;

	if (off >= len)
		return -1;
	nul = memchr(buf + off, 0, len - off);
	if (!nul)
		return -1;
	return (long)(nul - (buf + off));
}

int tftp_req_parse(const uint8_t *buf, size_t len, struct tftp_req *req)
{
	size_t off = 2;
	long n;

	memset(req, 0, sizeof(*req));
	if (len < 2)
		return -EINVAL;
	req->op = get_be16(buf);
	if (req->op != TFTP_RRQ && req->op != TFTP_WRQ)
		return -EINVAL;

	n = field_len(buf, len, off);
	if (n <= 0)
		return -EINVAL;
	req->file = (const char *)buf + off;
	req->file_len = (size_t)n;
	off += (size_t)n + 1;

	n = field_len(buf, len, off);
	if (n <= 0)
		return -EINVAL;
	req->mode = (const char *)buf + off;
	off += (size_t)n + 1;
	/* RFC 1350 §5: mode names are case-insensitive; "mail" is obsolete. */
	if (strcasecmp(req->mode, "octet") == 0)
		req->netascii = 0;
	else if (strcasecmp(req->mode, "netascii") == 0)
		req->netascii = 1;
	else
		return -EPROTO;

	while (off < len) {
		const char *name = (const char *)buf + off;
		long vn;

		n = field_len(buf, len, off);
		/* Some PXE ROMs pad the request with NUL bytes after the last
		 * option; an unterminated tail is ignored the same way rather
		 * than failing a boot over bytes that carry no option. */
		if (n <= 0)
			break;
		vn = field_len(buf, len, off + (size_t)n + 1);
		if (vn < 0)
			break;
		/* RFC 2347 does not define repeated options: the first wins,
		 * and options past our table are ignored like unknown ones. */
		if (req->nopts < TFTP_MAX_OPTS && !tftp_req_opt(req, name)) {
			struct tftp_opt *o = &req->opts[req->nopts++];

			o->name = name;
			o->value = name + n + 1;
			o->value_len = (size_t)vn;
		}
		off += (size_t)n + 1 + (size_t)vn + 1;
	}
	return 0;
}

const struct tftp_opt *tftp_req_opt(const struct tftp_req *req,
				    const char *name)
{
	for (size_t i = 0; i < req->nopts; i++)
		if (strcasecmp(req->opts[i].name, name) == 0)
			return &req->opts[i];
	return NULL;
}

int tftp_pkt_parse(const uint8_t *buf, size_t len, struct tftp_pkt *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	if (len < TFTP_HDR_LEN)
		return -EINVAL;
	pkt->op = get_be16(buf);
	switch (pkt->op) {
	case TFTP_DATA:
		pkt->block = get_be16(buf + 2);
		pkt->data = buf + TFTP_HDR_LEN;
		pkt->data_len = len - TFTP_HDR_LEN;
		return 0;
	case TFTP_ACK:
		/* Trailing bytes after an ACK are tolerated: some stacks pad
		 * short UDP payloads. */
		pkt->block = get_be16(buf + 2);
		return 0;
	case TFTP_ERROR: {
		const uint8_t *nul;

		pkt->errcode = get_be16(buf + 2);
		pkt->data = buf + TFTP_HDR_LEN;
		nul = memchr(pkt->data, 0, len - TFTP_HDR_LEN);
		pkt->data_len = nul ? (size_t)(nul - pkt->data)
				    : len - TFTP_HDR_LEN;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

size_t tftp_hdr_build(uint8_t *buf, uint16_t op, uint16_t block)
{
	put_be16(buf, op);
	put_be16(buf + 2, block);
	return TFTP_HDR_LEN;
}

size_t tftp_error_build(uint8_t *buf, size_t cap, uint16_t code,
			const char *msg)
{
	size_t n = strlen(msg);

	if (cap < TFTP_HDR_LEN + 1)
		return 0;
	if (n > cap - TFTP_HDR_LEN - 1)
		n = cap - TFTP_HDR_LEN - 1;
	tftp_hdr_build(buf, TFTP_ERROR, code);
	memcpy(buf + TFTP_HDR_LEN, msg, n);
	buf[TFTP_HDR_LEN + n] = 0;
	return TFTP_HDR_LEN + n + 1;
}

const char *tftp_errcode_str(uint16_t code)
{
	static const char *const text[] = {
		[TFTP_EUNDEF] = "Undefined error",
		[TFTP_ENOTFOUND] = "File not found",
		[TFTP_EACCESS] = "Access violation",
		[TFTP_ENOSPACE] = "Disk full or allocation exceeded",
		[TFTP_EBADOP] = "Illegal TFTP operation",
		[TFTP_EBADID] = "Unknown transfer ID",
		[TFTP_EEXISTS] = "File already exists",
		[TFTP_ENOUSER] = "No such user",
		[TFTP_EOPTNEG] = "Option negotiation failed",
	};

	if (code < sizeof(text) / sizeof(text[0]))
		return text[code];
	return "Unknown error";
}
