/* The TFTP transfer state machine: see tftp_session.h. */
#include "tftpd/tftp_session.h"

#include "common/bytes.h"

#include <errno.h>
#include <string.h>

#define CK_RING (TFTP_NETASCII_WINDOW_MAX + 1)

/* Returns the next free transmit slot, or NULL if the driver gave too few. */
static uint8_t *tx_slot(struct tftp_tx *tx)
{
	if (tx->n >= tx->max)
		return NULL;
	return tx->buf + (size_t)tx->n * tx->slot_len;
}

/* Queues a copy of a small packet. */
static void tx_copy(struct tftp_tx *tx, const uint8_t *pkt, size_t len)
{
	uint8_t *p = tx_slot(tx);

	if (!p || len > tx->slot_len)
		return;
	memcpy(p, pkt, len);
	tx->len[tx->n++] = len;
}

/* Ends the session. */
static void finish(struct tftp_session *s, enum tftp_result r)
{
	s->state = TFTP_ST_DONE;
	s->result = r;
	s->deadline_ms = 0;
}

/* Maps a local errno to an ERROR packet, sends it and ends the session. */
static void fail_local(struct tftp_session *s, int err, struct tftp_tx *tx)
{
	uint8_t pkt[64];
	uint16_t code = TFTP_EUNDEF;
	size_t n;

	if (err == ENOSPC || err == EDQUOT || err == EFBIG)
		code = TFTP_ENOSPACE;
	else if (err == EACCES || err == EPERM)
		code = TFTP_EACCESS;
	n = tftp_error_build(pkt, sizeof(pkt), code,
			     s->writing ? "Write error" : "Read error");
	tx_copy(tx, pkt, n);
	s->local_errno = err;
	finish(s, TFTP_LOCAL_ERROR);
}

/* Arms the retransmit timer at the current interval. */
static void arm(struct tftp_session *s, uint64_t now_ms)
{
	s->deadline_ms = now_ms + s->interval_ms;
}

/* Records progress: the peer answered, so the backoff starts over. */
static void progress(struct tftp_session *s)
{
	s->tries = 0;
	s->full_tries = 0;
	s->interval_ms = s->rto_ms;
}

/* Folds one round-trip sample into the RTO (RFC 6298 §2). */
static void rtt_sample(struct tftp_session *s, uint32_t r)
{
	uint32_t rto;

	if (!s->have_rtt) {
		s->srtt_ms = r;
		s->rttvar_ms = r / 2;
		s->have_rtt = 1;
	} else {
		uint32_t d = s->srtt_ms > r ? s->srtt_ms - r : r - s->srtt_ms;

		s->rttvar_ms = (3 * s->rttvar_ms + d) / 4;
		s->srtt_ms = (7 * s->srtt_ms + r) / 8;
	}
	rto = s->srtt_ms + (4 * s->rttvar_ms > 1 ? 4 * s->rttvar_ms : 1);
	if (rto < s->cfg.rto_min_ms)
		rto = s->cfg.rto_min_ms;
	if (rto > s->timeout_ms)
		rto = s->timeout_ms;
	s->rto_ms = rto;
}

int tftp_session_init(struct tftp_session *s, const struct tftp_req *req,
		      const struct tftp_opt_limits *lim, uint64_t file_size,
		      const struct tftp_session_cfg *cfg,
		      const struct tftp_io *io)
{
	struct tftp_opt_limits l = *lim;

	memset(s, 0, sizeof(*s));
	s->writing = req->op == TFTP_WRQ;
	s->netascii = req->netascii;
	s->io = *io;
	s->cfg = *cfg;
	if (s->netascii && l.windowsize_max > TFTP_NETASCII_WINDOW_MAX)
		l.windowsize_max = TFTP_NETASCII_WINDOW_MAX;
	/* A netascii file's size on the wire is unknown until converted. */
	if (s->netascii && !s->writing)
		file_size = UINT64_MAX;
	tftp_opt_negotiate(req, &l, file_size, &s->opt);

	/* RFC 2349: the timeout option is the interval the client asks the
	 * server to retransmit at; it caps our adaptive interval. */
	s->timeout_ms = s->opt.timeout_s ? s->opt.timeout_s * 1000u
					 : cfg->timeout_ms;
	if (s->timeout_ms < cfg->rto_min_ms)
		s->timeout_ms = cfg->rto_min_ms;
	s->rto_ms = s->timeout_ms < 1000 ? s->timeout_ms : 1000;
	s->interval_ms = s->rto_ms;

	s->base = s->next = 1;
	s->ck[1].off = 0;
	s->ck[1].pending = -1;
	if (s->opt.nacked) {
		s->ctl_len =
			tftp_oack_build(req, &s->opt, s->ctl, sizeof(s->ctl));
		if (!s->ctl_len)
			return -ENOBUFS;
	}
	return 0;
}

/* Converts a file to netascii (RFC 764: LF becomes CR LF, CR becomes CR NUL)
 * from block k's checkpoint; returns the block's length or a negative errno. */
static long make_netascii(struct tftp_session *s, uint64_t k, uint8_t *dst,
			  uint8_t *scratch)
{
	size_t bs = s->opt.blksize, out = 0;
	uint64_t off = s->ck[k % CK_RING].off;
	int pending = s->ck[k % CK_RING].pending;

	if (pending >= 0) {
		dst[out++] = (uint8_t)pending;
		pending = -1;
	}
	while (out < bs) {
		/* Every source byte yields at least one output byte, so this
		 * never reads more than the block can take. */
		long n = s->io.read(s->io.ctx, off, scratch, bs - out);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		for (long i = 0; i < n && out < bs; i++) {
			uint8_t c = scratch[i];

			off++;
			if (c == '\n' || c == '\r') {
				dst[out++] = '\r';
				pending = c == '\n' ? '\n' : 0;
				if (out < bs) {
					dst[out++] = (uint8_t)pending;
					pending = -1;
				}
			} else {
				dst[out++] = c;
			}
		}
	}
	s->ck[(k + 1) % CK_RING].off = off;
	s->ck[(k + 1) % CK_RING].pending = pending;
	return (long)out;
}

/* Sends blocks from next up to the end of the window or the file. */
static void send_window(struct tftp_session *s, uint64_t now_ms,
			struct tftp_tx *tx, int fresh)
{
	uint64_t end = s->base + s->opt.windowsize;

	while (s->next < end && (!s->last || s->next <= s->last)) {
		uint8_t *p = tx_slot(tx);
		uint64_t k = s->next;
		long n;

		if (!p)
			break;
		if (s->netascii)
			n = make_netascii(s, k, p + TFTP_HDR_LEN, tx->scratch);
		else
			n = s->io.read(s->io.ctx, (k - 1) * s->opt.blksize,
				       p + TFTP_HDR_LEN, s->opt.blksize);
		if (n < 0) {
			fail_local(s, (int)-n, tx);
			return;
		}
		/* RFC 1350 §6: block numbers are 16 bits; past 65535 they
		 * wrap to 0, as tftp-hpa, iPXE and the PXE ROMs expect. */
		tftp_hdr_build(p, TFTP_DATA, (uint16_t)k);
		tx->len[tx->n++] = TFTP_HDR_LEN + (size_t)n;
		if ((size_t)n < s->opt.blksize)
			s->last = k;
		if (k > s->hi) {
			s->hi = k;
			s->bytes += (uint64_t)n;
		}
		s->next++;
	}
	if (fresh) {
		s->sample_block = s->next - 1;
		s->sample_at_ms = now_ms;
		s->sample_valid = 1;
	}
	arm(s, now_ms);
}

/* Sends and remembers a control packet (ACK n) for retransmission. */
static void send_ack(struct tftp_session *s, uint64_t block, struct tftp_tx *tx)
{
	s->ctl_len = tftp_hdr_build(s->ctl, TFTP_ACK, (uint16_t)block);
	tx_copy(tx, s->ctl, s->ctl_len);
}

void tftp_session_start(struct tftp_session *s, uint64_t now_ms,
			struct tftp_tx *tx)
{
	if (s->writing) {
		/* RFC 2347: an OACK answers a WRQ in place of ACK 0. */
		s->state = TFTP_ST_XFER;
		if (s->ctl_len)
			tx_copy(tx, s->ctl, s->ctl_len);
		else
			send_ack(s, 0, tx);
		arm(s, now_ms);
		return;
	}
	if (s->ctl_len) {
		/* RFC 2347: after an OACK, data starts once ACK 0 arrives. */
		s->state = TFTP_ST_OACK;
		tx_copy(tx, s->ctl, s->ctl_len);
		arm(s, now_ms);
		return;
	}
	s->state = TFTP_ST_XFER;
	send_window(s, now_ms, tx, 1);
}

/* Handles an ACK in a read transfer. */
static void sender_ack(struct tftp_session *s, uint16_t block, uint64_t now_ms,
		       struct tftp_tx *tx)
{
	uint64_t acked;
	uint16_t diff;

	if (s->state == TFTP_ST_OACK) {
		if (block != 0)
			return;
		s->state = TFTP_ST_XFER;
		progress(s);
		send_window(s, now_ms, tx, 1);
		return;
	}
	/* Place the 16-bit number among the blocks in flight: anything from
	 * before the window is a stale duplicate, anything past it bogus. */
	diff = (uint16_t)(block - (uint16_t)(s->base - 1));
	if (diff == 0 || diff > s->next - s->base)
		/* A repeated ACK of what is already acknowledged is never
		 * answered: that is the Sorcerer's Apprentice bug (RFC 1123
		 * §4.2.3.1).  Only the timer retransmits. */
		return;
	acked = s->base - 1 + diff;
	if (s->sample_valid && acked >= s->sample_block) {
		uint64_t r = now_ms - s->sample_at_ms;

		rtt_sample(s, r > UINT32_MAX ? UINT32_MAX : (uint32_t)r);
		s->sample_valid = 0;
	}
	progress(s);
	if (s->last && acked >= s->last) {
		finish(s, TFTP_OK);
		return;
	}
	/* RFC 7440 §4: an ACK inside the window reports a gap; the window
	 * restarts right after the last block the client has in order. */
	s->base = acked + 1;
	s->next = s->base;
	send_window(s, now_ms, tx, 1);
}

/* Decodes netascii from src into dst (CR LF to LF, CR NUL to CR); returns
 * the length, at most len + 1.  Not in place: a CR carried over from the
 * last block followed by another byte yields two bytes from one, and would
 * overwrite input not read yet. */
static size_t from_netascii(struct tftp_session *s, uint8_t *dst,
			    const uint8_t *src, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = src[i];

		if (s->cr) {
			s->cr = 0;
			if (c == '\n') {
				dst[out++] = '\n';
				continue;
			}
			dst[out++] = '\r';
			if (c == 0)
				continue;
		}
		if (c == '\r')
			s->cr = 1;
		else
			dst[out++] = c;
	}
	return out;
}

/* Handles a DATA packet in a write transfer. */
static void receiver_data(struct tftp_session *s, const struct tftp_pkt *p,
			  uint64_t now_ms, struct tftp_tx *tx)
{
	uint64_t k = s->received + 1;
	int16_t d = (int16_t)(uint16_t)(p->block - (uint16_t)k);
	const uint8_t *data = p->data;
	size_t len = p->data_len;
	int final;

	if (s->state == TFTP_ST_DALLY) {
		/* Our final ACK was lost: repeat it. */
		if (d == -1)
			tx_copy(tx, s->ctl, s->ctl_len);
		return;
	}
	if (len > s->opt.blksize)
		return;
	if (d < 0) {
		/* A repeat of the last block acknowledged means that ACK was
		 * lost (RFC 1350 §6); older repeats are ignored. */
		if (d == -1 && (s->received % s->opt.windowsize == 0 ||
				s->opt.windowsize == 1))
			tx_copy(tx, s->ctl, s->ctl_len);
		return;
	}
	if (d > 0) {
		/* RFC 7440 §4: on a gap, acknowledge the last block received
		 * in order, once per gap. */
		if (s->gap_acked != s->received + 1) {
			s->gap_acked = s->received + 1;
			send_ack(s, s->received, tx);
		}
		return;
	}
	final = len < s->opt.blksize;
	if (s->netascii) {
		/* scratch holds slot_len >= blksize + 4 bytes. */
		uint8_t *buf = tx->scratch;

		len = from_netascii(s, buf, data, len);
		if (final && s->cr) {
			buf[len++] = '\r';
			s->cr = 0;
		}
		data = buf;
	}
	/* An upload is bounded: a client must not fill the server's disk. */
	if (s->cfg.max_upload && len > s->cfg.max_upload - s->woff) {
		fail_local(s, EFBIG, tx);
		return;
	}
	if (len) {
		int rc = s->io.write(s->io.ctx, s->woff, data, len);

		if (rc < 0) {
			fail_local(s, -rc, tx);
			return;
		}
	}
	s->woff += len;
	s->bytes += p->data_len;
	s->received = k;
	progress(s);
	if (final) {
		send_ack(s, k, tx);
		/* RFC 1350 §6: linger so a lost final ACK can be repeated. */
		s->state = TFTP_ST_DALLY;
		s->result = TFTP_OK;
		s->deadline_ms = now_ms + s->timeout_ms;
		return;
	}
	if (k % s->opt.windowsize == 0)
		send_ack(s, k, tx);
	arm(s, now_ms);
}

void tftp_session_input(struct tftp_session *s, const uint8_t *buf, size_t len,
			uint64_t now_ms, struct tftp_tx *tx)
{
	struct tftp_pkt p;

	if (s->state == TFTP_ST_DONE || tftp_pkt_parse(buf, len, &p) != 0)
		return;
	if (p.op == TFTP_ERROR) {
		/* Never answered: the client is done with this transfer,
		 * e.g. UEFI aborting its tsize probe with error 8. */
		if (s->state == TFTP_ST_DALLY)
			finish(s, TFTP_OK);
		else {
			s->peer_errcode = p.errcode;
			finish(s, TFTP_PEER_ERROR);
		}
		return;
	}
	/* Anything else unexpected is dropped, not answered with an ERROR:
	 * OVMF and some BIOS PXE ROMs abandon the boot on any ERROR that
	 * follows an OACK. */
	if (!s->writing && p.op == TFTP_ACK)
		sender_ack(s, p.block, now_ms, tx);
	else if (s->writing && p.op == TFTP_DATA)
		receiver_data(s, &p, now_ms, tx);
}

void tftp_session_timer(struct tftp_session *s, uint64_t now_ms,
			struct tftp_tx *tx)
{
	if (s->state == TFTP_ST_DONE || !s->deadline_ms ||
	    now_ms < s->deadline_ms)
		return;
	if (s->state == TFTP_ST_DALLY) {
		finish(s, TFTP_OK);
		return;
	}
	/* Short adaptive intervals back off to the full timeout; only
	 * retransmissions at the full timeout count against the limit, so an
	 * unanswered transfer always ends. */
	if (s->interval_ms >= s->timeout_ms &&
	    ++s->full_tries > s->cfg.retries) {
		finish(s, TFTP_TIMEOUT);
		return;
	}
	s->tries++;
	s->interval_ms = s->interval_ms * 2 < s->timeout_ms ? s->interval_ms * 2
							    : s->timeout_ms;
	s->sample_valid = 0; /* Karn: no samples from retransmissions */
	if (s->state == TFTP_ST_XFER && !s->writing) {
		s->next = s->base;
		send_window(s, now_ms, tx, 0);
		return;
	}
	tx_copy(tx, s->ctl, s->ctl_len);
	arm(s, now_ms);
}

void tftp_session_abort(struct tftp_session *s, enum tftp_result result)
{
	if (s->state != TFTP_ST_DONE)
		finish(s, s->state == TFTP_ST_DALLY ? TFTP_OK : result);
}

const char *tftp_result_str(const struct tftp_session *s)
{
	switch (s->result) {
	case TFTP_RUNNING:
		return "running";
	case TFTP_OK:
		return "ok";
	case TFTP_TIMEOUT:
		/* Every block went out but the last ACK never came: the
		 * client most likely has the file and has moved on. */
		if (!s->writing && s->last && s->hi == s->last)
			return "timeout-final-ack";
		return "timeout";
	case TFTP_PEER_ERROR:
		/* RFC 2347: error 8 after an OACK is how UEFI firmware ends
		 * its tsize probe; it is not a failure. */
		return s->peer_errcode == TFTP_EOPTNEG
			       ? "client-aborted-options"
			       : "client-error";
	case TFTP_LOCAL_ERROR:
		return "io-error";
	case TFTP_PEER_GONE:
		return "client-gone";
	case TFTP_SUPERSEDED:
		return "superseded";
	case TFTP_STOPPED:
		return "server-stopped";
	}
	return "?";
}
