/* Shared helpers for the wupan-target unit tests and fuzzers: a one-target
 * environment over a memory LUN, PDU builders and a response reader. */
#ifndef WUPAN_TESTS_ISCSI_HARNESS_H
#define WUPAN_TESTS_ISCSI_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "iscsi/backend.h"
#include "iscsi/chap.h"
#include "iscsi/conn.h"
#include "iscsi/crc32c.h"
#include "iscsi/text.h"

#define H_IQN "iqn.2025-01.org.wupan:disk"
#define H_INI "iqn.2025-01.org.wupan:host1"
#define H_BLOCKS 2048

/* Everything one test connection needs. */
struct harness {
	struct iscsi_env env;
	struct iscsi_target tgt;
	struct iscsi_target *tgts[1];
	struct tcfg_target cfg;
	char *allow[1];
	struct tcfg_lun luns[2];
	struct scsi_lu lu[2];
	struct scsi_lu *lus[2];
	struct backend_mem mem[2];
	struct iscsi_conn c;
	uint32_t cmdsn;
	uint32_t itt;
	/* The last response read. */
	uint8_t bhs[ISCSI_BHS_LEN];
	uint8_t data[1 << 20];
	size_t len;
	uint8_t digest[4];
	size_t file_bytes; /* output bytes taken from file pieces */
};

static uint8_t h_random_state;

/* Predictable "randomness" so tests can compute CHAP answers. */
static inline void h_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(0x40 + h_random_state++);
}

/* Sets up a target with two LUNs (LUN 1 read-only) and a connection. */
static inline void h_init(struct harness *h, const char *chap,
			  const char *mutual, const char *allow)
{
	memset(h, 0, sizeof(*h));
	h->cfg.name = (char *)H_IQN;
	h->cfg.luns = h->luns;
	h->cfg.n_luns = 2;
	h->luns[1].ro = 1;
	if (chap) {
		h->cfg.chap.user = (char *)"user1";
		h->cfg.chap.secret = (char *)chap;
	}
	if (mutual) {
		h->cfg.mutual.user = (char *)"target1";
		h->cfg.mutual.secret = (char *)mutual;
	}
	if (allow) {
		h->allow[0] = (char *)allow;
		h->cfg.allow = h->allow;
		h->cfg.n_allow = 1;
	}
	for (int i = 0; i < 2; i++) {
		h->mem[i].size = H_BLOCKS * 512;
		h->mem[i].data = calloc(1, h->mem[i].size);
		backend_mem_attach(&h->mem[i], &h->lu[i], i == 0);
		h->lu[i].id = 0x123456789abcdef0ull + (uint64_t)i;
		h->lu[i].target = H_IQN;
		h->lus[i] = &h->lu[i];
	}
	h->lu[1].ro = 1;
	h->tgt.cfg = &h->cfg;
	h->tgt.map.luns = h->lus;
	h->tgt.map.n = 2;
	h->tgts[0] = &h->tgt;
	h->env.targets = h->tgts;
	h->env.n_targets = 1;
	h->env.random = h_random;
	h->env.next_tsih = 7;
	h_random_state = 0;
	iscsi_conn_init(&h->c, &h->env, "127.0.0.1:3260");
	h->itt = 0x100;
}

static inline void h_free(struct harness *h)
{
	iscsi_conn_release(&h->c);
	free(h->mem[0].data);
	free(h->mem[1].data);
}

/* Feeds one PDU (header + data, padded) to the connection. */
static inline ssize_t h_send(struct harness *h, uint8_t *bhs, const void *data,
			     size_t len)
{
	static uint8_t buf[ISCSI_MAX_PDU];
	int hd = h->c.phase == ISCSI_PHASE_FULL && h->c.params.header_digest;
	int dd = h->c.phase == ISCSI_PHASE_FULL && h->c.params.data_digest;
	size_t p = ISCSI_BHS_LEN;

	put_be24(bhs + 5, (uint32_t)len);
	memcpy(buf, bhs, ISCSI_BHS_LEN);
	if (hd) {
		put_le32(buf + p, crc32c(0, buf, ISCSI_BHS_LEN));
		p += 4;
	}
	if (len)
		memcpy(buf + p, data, len);
	memset(buf + p + len, 0, iscsi_pad4(len) - len);
	if (dd && len) {
		put_le32(buf + p + iscsi_pad4(len),
			 crc32c(0, buf + p, iscsi_pad4(len)));
		p += 4;
	}
	p += iscsi_pad4(len);
	return iscsi_conn_rx(&h->c, buf, p);
}

/* Takes n output bytes as a socket would (iscsi_obuf_peek, then
 * consume), reading file pieces with pread; counts the file bytes.
 * Returns 0, or -1 if fewer are queued (nothing is taken then). */
static inline int h_pull(struct harness *h, uint8_t *dst, size_t n)
{
	struct iscsi_obuf *o = &h->c.out;

	if (iscsi_obuf_backlog(o) < n)
		return -1;
	while (n) {
		struct iscsi_out piece;
		size_t k = iscsi_obuf_peek(o, &piece);

		if (!k)
			return -1;
		if (k > n)
			k = n;
		if (piece.fd >= 0) {
			if (pread(piece.fd, dst, k, (off_t)piece.off) !=
			    (ssize_t)k)
				return -1;
			h->file_bytes += k;
		} else {
			memcpy(dst, piece.buf, k);
		}
		iscsi_obuf_consume(o, k);
		dst += k;
		n -= k;
	}
	return 0;
}

/* Reads the next queued response into h->bhs/h->data (and its data
 * digest into h->digest); returns its opcode or -1 if none is queued. */
static inline int h_recv(struct harness *h)
{
	struct iscsi_obuf *o = &h->c.out;
	int hd = h->c.phase == ISCSI_PHASE_FULL && h->c.params.header_digest;
	int dd = h->c.phase == ISCSI_PHASE_FULL && h->c.params.data_digest;
	uint8_t bhs[ISCSI_BHS_LEN + 4];
	struct iscsi_out first;
	size_t rest;

	iscsi_conn_tx_fill(&h->c);
	/* A header is never split from the buffered bytes it starts. */
	if (iscsi_obuf_peek(o, &first) < ISCSI_BHS_LEN || first.fd >= 0)
		return -1;
	memcpy(bhs, first.buf, ISCSI_BHS_LEN);
	/* Login responses never carry digests (RFC 7143 §13.1). */
	if ((bhs[0] & 0x3f) == ISCSI_OP_LOGIN_RSP)
		hd = dd = 0;
	h->len = get_be24(bhs + 5);
	rest = (hd ? 4 : 0) + iscsi_pad4(h->len) + (dd && h->len ? 4 : 0);
	if (iscsi_obuf_backlog(o) < ISCSI_BHS_LEN + rest)
		return -1;
	h_pull(h, h->bhs, ISCSI_BHS_LEN);
	if (hd)
		h_pull(h, bhs, 4);
	h_pull(h, h->data, iscsi_pad4(h->len));
	if (dd && h->len)
		h_pull(h, h->digest, 4);
	h->data[h->len] = 0;
	return h->bhs[0] & 0x3f;
}

/* Builds "k=v\0" pairs from a string with '|' separators. */
static inline size_t h_text(uint8_t *out, const char *s)
{
	size_t n = strlen(s);

	memcpy(out, s, n);
	for (size_t i = 0; i < n; i++)
		if (out[i] == '|')
			out[i] = 0;
	out[n] = 0;
	return n + 1;
}

/* Sends a login request with the given stages and '|'-separated keys. */
static inline ssize_t h_login(struct harness *h, int transit, int csg, int nsg,
			      const char *keys)
{
	uint8_t bhs[ISCSI_BHS_LEN], text[4096];
	size_t len = keys ? h_text(text, keys) : 0;

	iscsi_pdu_init(bhs, ISCSI_OP_LOGIN_REQ | ISCSI_IMMEDIATE,
		       (uint8_t)((transit ? 0x80 : 0) | csg << 2 |
				 (transit ? nsg : 0)),
		       0);
	memcpy(bhs + 8, "\x80\x12\x34\x56\x00\x01", 6);
	put_be32(bhs + 16, h->itt);
	put_be32(bhs + 24, h->cmdsn);
	return h_send(h, bhs, text, len);
}

/* Login status of the last response. */
static inline unsigned h_status(const struct harness *h)
{
	return (unsigned)h->bhs[36] << 8 | h->bhs[37];
}

/* Returns the value of key in the last response's text, or NULL. */
static inline const char *h_key(struct harness *h, const char *key)
{
	size_t klen = strlen(key);

	for (size_t p = 0; p < h->len;) {
		const char *s = (const char *)h->data + p;
		size_t n = strnlen(s, h->len - p);

		if (n > klen && !memcmp(s, key, klen) && s[klen] == '=')
			return s + klen + 1;
		p += n + 1;
	}
	return NULL;
}

/* Logs in without authentication through both stages. */
static inline int h_login_plain(struct harness *h, const char *opkeys)
{
	if (h_login(h, 1, 0, 1,
		    "InitiatorName=" H_INI "|TargetName=" H_IQN
		    "|SessionType=Normal|AuthMethod=None") < 0 ||
	    h_recv(h) != ISCSI_OP_LOGIN_RSP || h_status(h))
		return -1;
	if (h_login(h, 1, 1, 3, opkeys) < 0 ||
	    h_recv(h) != ISCSI_OP_LOGIN_RSP || h_status(h))
		return -1;
	return h->c.phase == ISCSI_PHASE_FULL ? 0 : -1;
}

/* The keys iPXE sends in its operational stage. */
#define H_IPXE_OPS                                                           \
	"HeaderDigest=None|DataDigest=None|MaxConnections=1|InitialR2T=Yes|" \
	"ImmediateData=No|MaxRecvDataSegmentLength=8192|"                    \
	"MaxBurstLength=262144|FirstBurstLength=65536|DefaultTime2Wait=0|"   \
	"DefaultTime2Retain=0|MaxOutstandingR2T=1|DataPDUInOrder=Yes|"       \
	"DataSequenceInOrder=Yes|ErrorRecoveryLevel=0"

/* Sends a SCSI command with a 16-byte CDB and optional immediate data. */
static inline ssize_t h_cmd(struct harness *h, int lun, const uint8_t *cdb,
			    int rw, uint32_t edtl, const void *imm, size_t len,
			    int final)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_pdu_init(bhs, ISCSI_OP_SCSI_CMD,
		       (uint8_t)((final ? 0x80 : 0) | (rw == 'r' ? 0x40 : 0) |
				 (rw == 'w' ? 0x20 : 0)),
		       0);
	iscsi_lun_build(bhs + 8, (unsigned)lun);
	put_be32(bhs + 16, ++h->itt);
	put_be32(bhs + 20, edtl);
	put_be32(bhs + 24, h->cmdsn++);
	memcpy(bhs + 32, cdb, 16);
	return h_send(h, bhs, imm, len);
}

/* Sends a Data-Out PDU. */
static inline ssize_t h_data_out(struct harness *h, uint32_t itt, uint32_t ttt,
				 uint32_t datasn, uint32_t off,
				 const void *data, size_t len, int final)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_pdu_init(bhs, ISCSI_OP_DATA_OUT, final ? 0x80 : 0, 0);
	put_be32(bhs + 16, itt);
	put_be32(bhs + 20, ttt);
	put_be32(bhs + 36, datasn);
	put_be32(bhs + 40, off);
	return h_send(h, bhs, data, len);
}

#endif
