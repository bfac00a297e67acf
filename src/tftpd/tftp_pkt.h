/* TFTP packet codec: RFC 1350 packets and RFC 2347 option lists. */
#ifndef WUPAN_TFTPD_TFTP_PKT_H
#define WUPAN_TFTPD_TFTP_PKT_H

#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
	TFTP_RRQ = 1,
	TFTP_WRQ = 2,
	TFTP_DATA = 3,
	TFTP_ACK = 4,
	TFTP_ERROR = 5,
	TFTP_OACK = 6, /* RFC 2347 */
};

/* Error codes of RFC 1350 §5 and RFC 2347 (8). */
enum tftp_errcode {
	TFTP_EUNDEF = 0,
	TFTP_ENOTFOUND = 1,
	TFTP_EACCESS = 2,
	TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4,
	TFTP_EBADID = 5,
	TFTP_EEXISTS = 6,
	TFTP_ENOUSER = 7,
	TFTP_EOPTNEG = 8,
};

#define TFTP_HDR_LEN 4
#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN 8 /* RFC 2348 */
#define TFTP_BLKSIZE_MAX 65464 /* RFC 2348 */
#define TFTP_MAX_OPTS 16

/* One "name\0value\0" pair of a request, pointing into the packet. */
struct tftp_opt {
	const char *name;
	const char *value;
	size_t value_len;
};

/* A parsed RRQ or WRQ.  Strings point into the packet buffer. */
struct tftp_req {
	uint16_t op;
	const char *file;
	size_t file_len;
	const char *mode;
	int netascii;
	size_t nopts;
	struct tftp_opt opts[TFTP_MAX_OPTS];
};

/* A parsed DATA, ACK or ERROR packet. */
struct tftp_pkt {
	uint16_t op;
	uint16_t block; /* DATA, ACK */
	uint16_t errcode; /* ERROR */
	const uint8_t *data; /* DATA payload, ERROR message (unterminated) */
	size_t data_len;
};

/* Parses an RRQ or WRQ; returns 0, -EINVAL (malformed) or -EPROTO (mode). */
int tftp_req_parse(const uint8_t *buf, size_t len, struct tftp_req *req);

/* Finds a request option by case-insensitive name (RFC 2347); or NULL. */
const struct tftp_opt *tftp_req_opt(const struct tftp_req *req,
				    const char *name);

/* Parses a DATA, ACK or ERROR packet; returns 0 or -EINVAL. */
int tftp_pkt_parse(const uint8_t *buf, size_t len, struct tftp_pkt *pkt);

/* Writes an opcode and block number header; returns TFTP_HDR_LEN. */
size_t tftp_hdr_build(uint8_t *buf, uint16_t op, uint16_t block);

/* Builds an ERROR packet, truncating msg to fit cap; returns its length. */
size_t tftp_error_build(uint8_t *buf, size_t cap, uint16_t code,
			const char *msg);

/* Short English text for an error code, for logs and ERROR packets. */
const char *tftp_errcode_str(uint16_t code);

#endif
