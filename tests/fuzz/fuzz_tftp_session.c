/*
 * Fuzz target: the transfer state machine.  Input: one length byte and a
 * request (RRQ or WRQ), two bytes of file size, then events: a type byte
 * (even: packet, odd: timer), a time step byte and, for packets, a length
 * byte and that many bytes.  Aborts if the session emits a packet larger
 * than the negotiated block size, more packets than a window, an ERROR in a
 * read, or if an unanswered session never ends.
 */
#include "common/bytes.h"
#include "tftpd/tftp_session.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT (TFTP_HDR_LEN + 2048)
#define SLOTS 16

static uint8_t file[65536];
static size_t file_len;
static uint8_t wfile[1 << 20];

/* io read over the static file. */
static long f_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	(void)ctx;
	if (off >= file_len)
		return 0;
	if (len > file_len - off)
		len = (size_t)(file_len - off);
	memcpy(buf, file + off, len);
	return (long)len;
}

/* io write into a bounded buffer; past it, "disk full". */
static int f_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (off + len > sizeof(wfile))
		return -28; /* ENOSPC */
	memcpy(wfile + off, buf, len);
	return 0;
}

/* Checks the packets a call emitted. */
static void check_tx(const struct tftp_session *s, const struct tftp_tx *tx)
{
	for (unsigned i = 0; i < tx->n; i++) {
		const uint8_t *p = tx->buf + (size_t)i * tx->slot_len;

		if (tx->len[i] < 4 || tx->len[i] > tx->slot_len)
			abort();
		/* Reads here never fail, so a reader never sends an ERROR:
		 * boot firmware gives up on one after an OACK. */
		if (!s->writing && get_be16(p) == TFTP_ERROR)
			abort();
		if (get_be16(p) == TFTP_DATA &&
		    (s->writing ||
		     tx->len[i] > TFTP_HDR_LEN + (size_t)s->opt.blksize))
			abort();
	}
	if (tx->n > s->opt.windowsize + 1u)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t txbuf[SLOT * SLOTS], scratch[SLOT];
	static size_t txlen[SLOTS];
	struct tftp_opt_limits lim = { 2048, SLOTS, 0 };
	struct tftp_session_cfg cfg = { 1000, 50, 3, 0 };
	struct tftp_io io = { f_read, f_write, NULL };
	struct tftp_tx tx = { txbuf, SLOT, SLOTS, 0, txlen, scratch };
	struct tftp_session s;
	struct tftp_req req;
	uint64_t now = 0;
	size_t off, rl;

	if (size < 3)
		return 0;
	rl = data[0];
	if (1 + rl + 2 > size)
		return 0;
	if (tftp_req_parse(data + 1, rl, &req) != 0)
		return 0;
	off = 1 + rl;
	file_len = get_be16(data + off);
	for (size_t i = 0; i < file_len; i++)
		file[i] = (uint8_t)(i * 31 + (i >> 7));
	off += 2;
	if (tftp_session_init(&s, &req, &lim,
			      req.op == TFTP_RRQ ? file_len : UINT64_MAX, &cfg,
			      &io) != 0)
		return 0;
	tftp_session_start(&s, now, &tx);
	check_tx(&s, &tx);
	while (off + 2 <= size && s.state != TFTP_ST_DONE) {
		uint8_t type = data[off], step = data[off + 1];

		off += 2;
		now += step;
		tx.n = 0;
		if (type & 1) {
			if (s.deadline_ms > now)
				now = s.deadline_ms;
			tftp_session_timer(&s, now, &tx);
		} else {
			size_t len;

			if (off >= size)
				break;
			len = data[off++];
			if (off + len > size)
				len = size - off;
			tftp_session_input(&s, data + off, len, now, &tx);
			off += len;
		}
		check_tx(&s, &tx);
	}
	/* Whatever happened, an unanswered session must end. */
	for (int i = 0; i < 100 && s.state != TFTP_ST_DONE; i++) {
		tx.n = 0;
		if (s.deadline_ms > now)
			now = s.deadline_ms;
		tftp_session_timer(&s, now, &tx);
	}
	if (s.state != TFTP_ST_DONE)
		abort();
	return 0;
}
