/* Unit tests for the TFTP transfer state machine (tftp_session.c), with an
 * in-memory file, injected time and a simulated lossy network. */
#include "common/bytes.h"
#include "tftpd/tftp_session.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT (TFTP_HDR_LEN + 2048)
#define SLOTS 64

/* An in-memory file for the session's io callbacks. */
struct memfile {
	uint8_t *data;
	size_t len, cap;
	int fail; /* negative errno to fail with, or 0 */
	unsigned reads;
};

static uint8_t txbuf[SLOT * SLOTS], scratch[SLOT];
static size_t txlen[SLOTS];
static struct tftp_tx tx;

/* io read callback over a memfile. */
static long mf_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct memfile *m = ctx;

	m->reads++;
	if (m->fail)
		return m->fail;
	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = (size_t)(m->len - off);
	memcpy(buf, m->data + off, len);
	return (long)len;
}

/* io write callback into a memfile. */
static int mf_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct memfile *m = ctx;

	if (m->fail)
		return m->fail;
	if (off + len > m->cap) {
		m->cap = (size_t)(off + len) * 2;
		m->data = realloc(m->data, m->cap);
	}
	memcpy(m->data + off, buf, len);
	if (off + len > m->len)
		m->len = (size_t)(off + len);
	return 0;
}

/* Resets the transmit buffer. */
static struct tftp_tx *txr(void)
{
	tx.buf = txbuf;
	tx.slot_len = SLOT;
	tx.max = SLOTS;
	tx.n = 0;
	tx.len = txlen;
	tx.scratch = scratch;
	return &tx;
}

/* Returns queued packet i. */
static uint8_t *txp(unsigned i)
{
	return txbuf + (size_t)i * SLOT;
}

/* Checks that queued packet i has opcode op and block number block. */
static int is_pkt(unsigned i, uint16_t op, uint16_t block)
{
	return i < tx.n && get_be16(txp(i)) == op &&
	       get_be16(txp(i) + 2) == block;
}

static uint64_t setup_max_upload; /* the --max-upload of setup() */

/* Sets up a session for a request literal (NUL-separated fields). */
static int setup(struct tftp_session *s, struct memfile *m, uint16_t op,
		 const char *lit, size_t litlen, uint16_t bs_max,
		 uint16_t ws_max)
{
	static uint8_t pkt[512];
	struct tftp_opt_limits lim = { bs_max, ws_max, 0 };
	struct tftp_session_cfg cfg = { 1000, 50, 5, setup_max_upload };
	struct tftp_io io = { mf_read, mf_write, m };
	struct tftp_req req;

	pkt[0] = 0;
	pkt[1] = (uint8_t)op;
	memcpy(pkt + 2, lit, litlen);
	if (tftp_req_parse(pkt, 2 + litlen, &req) != 0)
		return -1;
	return tftp_session_init(
		s, &req, &lim, op == TFTP_RRQ ? m->len : UINT64_MAX, &cfg, &io);
}

#define SETUP(s, m, op, lit) setup(s, m, op, lit, sizeof(lit) - 1, 2048, 64)

/* Feeds an ACK to a session. */
static void ack(struct tftp_session *s, uint16_t block, uint64_t now)
{
	uint8_t p[4];

	tftp_hdr_build(p, TFTP_ACK, block);
	tftp_session_input(s, p, 4, now, txr());
}

/* Feeds a DATA packet to a session. */
static void data(struct tftp_session *s, uint16_t block, const void *d,
		 size_t len, uint64_t now)
{
	uint8_t p[SLOT];

	tftp_hdr_build(p, TFTP_DATA, block);
	memcpy(p + 4, d, len);
	tftp_session_input(s, p, 4 + len, now, txr());
}

/* Feeds an ERROR packet to a session. */
static void error(struct tftp_session *s, uint16_t code, uint64_t now)
{
	uint8_t p[64];
	size_t n = tftp_error_build(p, sizeof(p), code, "x");

	tftp_session_input(s, p, n, now, txr());
}

/* Fills a buffer with a pattern that differs per offset. */
static uint8_t *pattern(size_t len)
{
	uint8_t *d = malloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + (i >> 16));
	return d;
}

static uint64_t rng = 88172645463325252ull;

/* xorshift64: deterministic loss patterns. */
static unsigned rnd(unsigned mod)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % mod);
}

/* A packet in flight in the simulated network. */
struct flight {
	uint8_t p[SLOT];
	size_t len;
};

/*
 * Runs a whole read transfer of m through a network that drops, duplicates
 * and reorders (per mille) in both directions, with a client that behaves
 * like RFC 7440's receiver.  Returns 1 if the client got exactly m's bytes
 * (expect_out if given) and the session ended TFTP_OK.  *retx counts server
 * timer firings.
 */
static int sim_read(struct memfile *m, const char *lit, size_t litlen,
		    unsigned drop, unsigned dup, unsigned reorder,
		    const uint8_t *expect, size_t expect_len, unsigned *timers)
{
	static struct flight to_cli[4096], to_srv[4096];
	struct tftp_session s;
	size_t nc = 0, ns = 0;
	uint8_t *got = malloc(expect_len + SLOT);
	size_t got_len = 0;
	uint64_t now = 1000, blk = 0, gap_for = UINT64_MAX;
	unsigned bs = 512, ws = 1, steps = 0;
	int done_cli = 0, ok;

	*timers = 0;
	if (setup(&s, m, TFTP_RRQ, lit, litlen, 2048, 64) != 0)
		return 0;
	tftp_session_start(&s, now, txr());
	if (s.opt.nacked) {
		bs = s.opt.blksize;
		ws = s.opt.windowsize;
	}
	while (s.state != TFTP_ST_DONE && steps++ < 5000000) {
		/* Server output into the network. */
		for (unsigned i = 0; i < tx.n; i++) {
			unsigned copies = rnd(1000) < drop  ? 0
					  : rnd(1000) < dup ? 2
							    : 1;

			while (copies-- && nc < 4096) {
				memcpy(to_cli[nc].p, txp(i), txlen[i]);
				to_cli[nc++].len = txlen[i];
			}
		}
		tx.n = 0;
		if (nc > 1 && rnd(1000) < reorder) {
			struct flight t = to_cli[nc - 1];

			to_cli[nc - 1] = to_cli[nc - 2];
			to_cli[nc - 2] = t;
		}
		/* The client consumes everything in flight, and reports a
		 * gap or a repeat at most once per flight (a real client
		 * would do it on its own timer). */
		gap_for = UINT64_MAX;
		for (size_t i = 0; i < nc; i++) {
			uint8_t *p = to_cli[i].p;
			uint16_t op = get_be16(p), b = get_be16(p + 2);
			size_t len = to_cli[i].len - 4;
			uint8_t a[4];
			int send = 0;

			if (op == TFTP_OACK) {
				if (blk == 0)
					send = 1,
					tftp_hdr_build(a, TFTP_ACK, 0);
			} else if (op == TFTP_DATA &&
				   b == (uint16_t)(blk + 1) && !done_cli) {
				memcpy(got + got_len, p + 4, len);
				got_len += len;
				blk++;
				if (len < bs)
					done_cli = 1;
				if (blk % ws == 0 || len < bs) {
					send = 1;
					tftp_hdr_build(a, TFTP_ACK,
						       (uint16_t)blk);
				}
			} else if (op == TFTP_DATA) {
				if ((b == (uint16_t)blk &&
				     (ws == 1 || done_cli)) ||
				    (b != (uint16_t)blk && gap_for != blk)) {
					gap_for = blk;
					send = 1;
					tftp_hdr_build(a, TFTP_ACK,
						       (uint16_t)blk);
				}
			}
			if (send && rnd(1000) >= drop && ns < 4096) {
				memcpy(to_srv[ns].p, a, 4);
				to_srv[ns++].len = 4;
			}
		}
		nc = 0;
		now += 1;
		for (size_t i = 0; i < ns && s.state != TFTP_ST_DONE; i++) {
			struct tftp_tx keep;

			tftp_session_input(&s, to_srv[i].p, to_srv[i].len, now,
					   txr());
			/* Queue output now; inputs later in the batch add
			 * to the same flight. */
			keep = tx;
			for (unsigned k = 0; k < keep.n && nc < 4096; k++) {
				if (rnd(1000) < drop)
					continue;
				memcpy(to_cli[nc].p, txp(k), txlen[k]);
				to_cli[nc++].len = txlen[k];
			}
			tx.n = 0;
		}
		ns = 0;
		if (nc == 0 && s.state != TFTP_ST_DONE) {
			now = s.deadline_ms;
			(*timers)++;
			tftp_session_timer(&s, now, txr());
		}
	}
	ok = s.result == TFTP_OK && got_len == expect_len &&
	     memcmp(got, expect, expect_len) == 0;
	free(got);
	return ok;
}

#define SIM(m, lit, drop, dup, re, exp, explen, timers) \
	sim_read(m, lit, sizeof(lit) - 1, drop, dup, re, exp, explen, timers)

int main(void)
{
	struct tftp_session s;
	struct memfile m = { 0 };
	unsigned timers;
	uint8_t *src;

	/* RFC 1350 lock-step, no options: DATA 1 goes out at once. */
	m.data = src = pattern(1025);
	m.len = 1025;
	CHECK("init", SETUP(&s, &m, TFTP_RRQ, "f\0octet\0") == 0);
	tftp_session_start(&s, 0, txr());
	CHECK("no options: DATA 1 first, 512 bytes",
	      is_pkt(0, TFTP_DATA, 1) && tx.n == 1 && txlen[0] == 516 &&
		      memcmp(txp(0) + 4, src, 512) == 0);
	ack(&s, 1, 1);
	CHECK("ACK 1 brings DATA 2",
	      is_pkt(0, TFTP_DATA, 2) && tx.n == 1 &&
		      memcmp(txp(0) + 4, src + 512, 512) == 0);
	ack(&s, 1, 2);
	CHECK("duplicate ACK not answered (Sorcerer's Apprentice, RFC 1123 "
	      "§4.2.3.1)",
	      tx.n == 0);
	ack(&s, 9, 2);
	CHECK("ACK of an unsent block ignored", tx.n == 0);
	ack(&s, 2, 3);
	CHECK("last block is short", is_pkt(0, TFTP_DATA, 3) && txlen[0] == 5 &&
					     txp(0)[4] == src[1024]);
	ack(&s, 3, 4);
	CHECK("ACK of last block ends OK",
	      s.state == TFTP_ST_DONE && s.result == TFTP_OK &&
		      s.bytes == 1025 && tx.n == 0);
	free(src);

	/* Sizes at block boundaries. */
	m.data = NULL;
	m.len = 0;
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	CHECK("0-byte file: one empty DATA",
	      is_pkt(0, TFTP_DATA, 1) && txlen[0] == 4);
	ack(&s, 1, 1);
	CHECK("0-byte file done", s.result == TFTP_OK && s.bytes == 0);
	m.data = src = pattern(512);
	m.len = 512;
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	ack(&s, 1, 1);
	CHECK("512-byte file ends with an empty DATA 2 (RFC 1350 §6)",
	      is_pkt(0, TFTP_DATA, 2) && txlen[0] == 4);
	ack(&s, 2, 2);
	CHECK("512-byte file done", s.result == TFTP_OK && s.bytes == 512);
	free(src);

	/* Options: OACK first, data after ACK 0 (RFC 2347). */
	m.data = src = pattern(3000);
	m.len = 3000;
	CHECK("init OVMF",
	      SETUP(&s, &m, TFTP_RRQ,
		    "f\0octet\0blksize\0001468\0windowsize\0004\0") == 0);
	tftp_session_start(&s, 0, txr());
	CHECK("OACK first", tx.n == 1 && get_be16(txp(0)) == TFTP_OACK);
	ack(&s, 1, 1);
	CHECK("only ACK 0 answers an OACK", tx.n == 0);
	ack(&s, 0, 2);
	CHECK("ACK 0 opens a window: blocks 1..3 of 1468",
	      tx.n == 3 && is_pkt(0, TFTP_DATA, 1) && is_pkt(2, TFTP_DATA, 3) &&
		      txlen[0] == 1472 && txlen[2] == 4 + 3000 - 2 * 1468);
	ack(&s, 3, 3);
	CHECK("windowed transfer done", s.result == TFTP_OK && s.bytes == 3000);

	/* The UEFI tsize probe: OACK, then ERROR 8 from the client. */
	SETUP(&s, &m, TFTP_RRQ,
	      "f\0octet\0tsize\0000\0blksize\0001468\0windowsize\0004\0");
	tftp_session_start(&s, 0, txr());
	error(&s, TFTP_EOPTNEG, 5);
	CHECK("probe abort: session ends, nothing sent back (no ERROR after "
	      "OACK)",
	      s.state == TFTP_ST_DONE && s.result == TFTP_PEER_ERROR &&
		      s.peer_errcode == TFTP_EOPTNEG && tx.n == 0 &&
		      strcmp(tftp_result_str(&s), "client-aborted-options") ==
			      0);
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0blksize\0001468\0");
	tftp_session_start(&s, 0, txr());
	data(&s, 1, "x", 1, 1);
	CHECK("DATA to a reader after OACK ignored, not answered",
	      tx.n == 0 && s.state == TFTP_ST_OACK);

	/* Windows: RFC 7440 with gaps and stale ACKs. */
	free(src);
	m.data = src = pattern(512 * 20);
	m.len = 512 * 20;
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0windowsize\0004\0");
	tftp_session_start(&s, 0, txr());
	ack(&s, 0, 1);
	CHECK("window of 4", tx.n == 4 && is_pkt(3, TFTP_DATA, 4));
	ack(&s, 4, 2);
	CHECK("next window 5..8",
	      tx.n == 4 && is_pkt(0, TFTP_DATA, 5) && is_pkt(3, TFTP_DATA, 8));
	ack(&s, 6, 3);
	CHECK("ACK inside the window restarts after it: 7..10",
	      tx.n == 4 && is_pkt(0, TFTP_DATA, 7) && is_pkt(3, TFTP_DATA, 10));
	ack(&s, 6, 4);
	ack(&s, 3, 4);
	CHECK("stale and repeated ACKs ignored", tx.n == 0);
	tftp_session_timer(&s, 4, txr());
	CHECK("timer before deadline does nothing", tx.n == 0);
	tftp_session_timer(&s, s.deadline_ms, txr());
	CHECK("timeout resends the window from its base",
	      tx.n == 4 && is_pkt(0, TFTP_DATA, 7));

	/* Retransmission, backoff and the retry limit. */
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	{
		uint64_t now = 0, prev_gap = 0;
		unsigned sent = 0, grows = 1;

		while (s.state != TFTP_ST_DONE && sent < 100) {
			uint64_t gap = s.deadline_ms - now;

			if (gap < prev_gap)
				grows = 0;
			prev_gap = gap;
			now = s.deadline_ms;
			tftp_session_timer(&s, now, txr());
			sent += tx.n;
			if (tx.n)
				CHECK("retransmission is DATA 1",
				      is_pkt(0, TFTP_DATA, 1));
		}
		CHECK("unanswered transfer gives up (no amplification)",
		      s.result == TFTP_TIMEOUT && sent == 5 &&
			      strcmp(tftp_result_str(&s), "timeout") == 0);
		CHECK("intervals never shrink", grows);
		CHECK("gives up after retries x timeout", now == 6000);
	}
	/* A lost final ACK: every block sent, then silence. */
	m.len = 100;
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	while (s.state != TFTP_ST_DONE)
		tftp_session_timer(&s, s.deadline_ms, txr());
	CHECK("final ACK lost: logged apart from a plain timeout",
	      strcmp(tftp_result_str(&s), "timeout-final-ack") == 0);
	m.len = 512 * 20;

	/* Adaptive RTO: quick ACKs shrink the interval to the minimum. */
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	for (uint16_t b = 1; b <= 10; b++)
		ack(&s, b, b);
	CHECK("RTO adapts to a fast client (RFC 6298)",
	      s.rto_ms == 50 && s.deadline_ms == 10 + 50);
	tftp_session_timer(&s, 60, txr());
	CHECK("backoff doubles", s.deadline_ms == 60 + 100);
	ack(&s, 11, 61);
	CHECK("progress resets the backoff", s.deadline_ms == 61 + 50);
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0timeout\0003\0");
	CHECK("timeout option caps the interval (RFC 2349)",
	      s.timeout_ms == 3000);

	/* Local I/O errors become ERROR packets. */
	m.fail = -EIO;
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	CHECK("read error: ERROR 0 and the session ends",
	      is_pkt(0, TFTP_ERROR, TFTP_EUNDEF) &&
		      s.result == TFTP_LOCAL_ERROR && s.local_errno == EIO);
	m.fail = 0;

	/* Rollover: 70000 blocks of 8 bytes wrap the 16-bit block number. */
	free(src);
	m.data = src = pattern(8 * 70000 + 3);
	m.len = 8 * 70000 + 3;
	SETUP(&s, &m, TFTP_RRQ, "f\0octet\0blksize\0008\0windowsize\00016\0");
	tftp_session_start(&s, 0, txr());
	ack(&s, 0, 0);
	{
		uint64_t b = 0, now = 0;
		int wrapped_ok = 1, content_ok = 1;

		while (s.state != TFTP_ST_DONE && tx.n) {
			unsigned n = tx.n;

			for (unsigned i = 0; i < n; i++) {
				b++;
				if (get_be16(txp(i) + 2) != (uint16_t)b)
					wrapped_ok = 0;
				if (memcmp(txp(i) + 4, src + (b - 1) * 8,
					   txlen[i] - 4) != 0)
					content_ok = 0;
				if (b == 65536 && get_be16(txp(i) + 2) != 0)
					wrapped_ok = 0;
			}
			ack(&s, (uint16_t)b, ++now);
		}
		CHECK("block numbers wrap 65535 -> 0 and continue",
		      wrapped_ok && b == 70001);
		CHECK("content right across the wrap", content_ok);
		CHECK("rollover transfer completes",
		      s.result == TFTP_OK && s.bytes == m.len);
	}
	free(src);

	/* Netascii (RFC 764): LF -> CR LF, CR -> CR NUL, pairs split across
	 * blocks, and a window rebuilt from checkpoints. */
	{
		static const char in[] = "ab\ncd\r\nxyz\r\n\n\rend";
		static const char want[] =
			"ab\r\ncd\r\0\r\nxyz\r\0\r\n\r\n\r\0end";
		uint8_t out[64];
		size_t ol = 0;

		m.data = (uint8_t *)in;
		m.len = sizeof(in) - 1;
		SETUP(&s, &m, TFTP_RRQ,
		      "f\0netascii\0blksize\0008\0windowsize\0003\0tsize\0000\0");
		CHECK("netascii: tsize not offered (size unknown)",
		      s.opt.nacked == 2);
		tftp_session_start(&s, 0, txr());
		ack(&s, 0, 1);
		ack(&s, 1, 2); /* a gap report: resend from block 2 */
		CHECK("netascii window rebuilt after a gap",
		      tx.n == 3 && is_pkt(0, TFTP_DATA, 2));
		memcpy(out, "ab\r\ncd\r\0", 8);
		ol = 8;
		for (uint16_t b = 2; s.state != TFTP_ST_DONE && b < 20;) {
			unsigned n = tx.n;

			for (unsigned i = 0; i < n; i++, b++) {
				memcpy(out + ol, txp(i) + 4, txlen[i] - 4);
				ol += txlen[i] - 4;
			}
			ack(&s, (uint16_t)(b - 1), b);
		}
		CHECK("netascii encoding", s.result == TFTP_OK &&
						   ol == sizeof(want) - 1 &&
						   memcmp(out, want, ol) == 0);

		/* And back through a WRQ session. */
		m.data = NULL;
		m.len = m.cap = 0;
		SETUP(&s, &m, TFTP_WRQ, "f\0netascii\0blksize\0008\0");
		tftp_session_start(&s, 0, txr());
		for (size_t off = 0, b = 1; off <= ol; off += 8, b++)
			data(&s, (uint16_t)b, out + off,
			     ol - off < 8 ? ol - off : 8, b);
		CHECK("netascii decoding",
		      s.state == TFTP_ST_DALLY && m.len == sizeof(in) - 1 &&
			      memcmp(m.data, in, m.len) == 0);
		free(m.data);
	}

	/* A bare CR (not followed by NUL, as sloppy clients send it) at a
	 * block end: the bytes after it in the next block stay intact. */
	m.data = NULL;
	m.len = m.cap = 0;
	SETUP(&s, &m, TFTP_WRQ, "f\0netascii\0blksize\0008\0");
	tftp_session_start(&s, 0, txr());
	data(&s, 1, "abcdefg\r", 8, 1);
	data(&s, 2, "AB", 2, 2);
	CHECK("netascii: bare CR at a block end",
	      s.state == TFTP_ST_DALLY && m.len == 10 &&
		      memcmp(m.data, "abcdefg\rAB", 10) == 0);
	free(m.data);

	/* An upload past --max-upload ends with "disk full". */
	m.data = NULL;
	m.len = m.cap = 0;
	setup_max_upload = 10;
	SETUP(&s, &m, TFTP_WRQ, "f\0octet\0blksize\0008\0");
	setup_max_upload = 0;
	tftp_session_start(&s, 0, txr());
	data(&s, 1, "12345678", 8, 1);
	data(&s, 2, "12345678", 8, 2);
	CHECK("upload limit: disk full, nothing past the limit",
	      s.result == TFTP_LOCAL_ERROR && m.len == 8 &&
		      is_pkt(0, TFTP_ERROR, TFTP_ENOSPACE));
	free(m.data);

	/* WRQ: ACK 0, data, dally on the final block. */
	m.data = NULL;
	m.len = m.cap = 0;
	SETUP(&s, &m, TFTP_WRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	CHECK("WRQ without options: ACK 0", is_pkt(0, TFTP_ACK, 0));
	src = pattern(600);
	data(&s, 1, src, 512, 1);
	CHECK("DATA 1 acknowledged", is_pkt(0, TFTP_ACK, 1));
	data(&s, 1, src, 512, 2);
	CHECK("repeated DATA 1 re-acknowledged (lost ACK)",
	      is_pkt(0, TFTP_ACK, 1) && m.len == 512);
	data(&s, 3, src, 512, 2);
	CHECK("DATA from the future: ACK of the last in order",
	      is_pkt(0, TFTP_ACK, 1));
	data(&s, 2, src + 512, 88, 3);
	CHECK("final DATA: ACK, dally",
	      is_pkt(0, TFTP_ACK, 2) && s.state == TFTP_ST_DALLY &&
		      m.len == 600 && memcmp(m.data, src, 600) == 0);
	data(&s, 2, src + 512, 88, 4);
	CHECK("final DATA repeated: final ACK repeated",
	      is_pkt(0, TFTP_ACK, 2));
	tftp_session_timer(&s, s.deadline_ms, txr());
	CHECK("dally ends OK", s.result == TFTP_OK && s.bytes == 600);
	free(m.data);
	m.data = NULL;
	m.len = m.cap = 0;
	SETUP(&s, &m, TFTP_WRQ, "f\0octet\0tsize\000600\0windowsize\0002\0");
	tftp_session_start(&s, 0, txr());
	CHECK("WRQ with options: OACK instead of ACK 0 (RFC 2347)",
	      tx.n == 1 && get_be16(txp(0)) == TFTP_OACK);
	data(&s, 1, src, 512, 1);
	CHECK("window 2: no ACK after block 1", tx.n == 0);
	data(&s, 2, src + 512, 88, 2);
	CHECK("final block always acknowledged", is_pkt(0, TFTP_ACK, 2));
	free(m.data);
	m.data = NULL;
	m.len = m.cap = 0;
	m.fail = -ENOSPC;
	SETUP(&s, &m, TFTP_WRQ, "f\0octet\0");
	tftp_session_start(&s, 0, txr());
	data(&s, 1, src, 512, 1);
	CHECK("disk full: ERROR 3", is_pkt(0, TFTP_ERROR, TFTP_ENOSPACE) &&
					    s.result == TFTP_LOCAL_ERROR);
	m.fail = 0;
	free(src);

	/* Whole transfers through a lossy network. */
	m.data = src = pattern(100000);
	m.len = 100000;
	CHECK("lock-step, no loss",
	      SIM(&m, "f\0octet\0", 0, 0, 0, src, 100000, &timers) &&
		      timers == 0);
	CHECK("lock-step, 10% loss, dups, reordering",
	      SIM(&m, "f\0octet\0", 100, 50, 100, src, 100000, &timers) &&
		      timers > 10);
	CHECK("windowsize 4, 10% loss, dups, reordering",
	      SIM(&m, "f\0octet\0blksize\0001468\0windowsize\0004\0", 100, 50,
		  100, src, 100000, &timers));
	CHECK("windowsize 16, 20% loss",
	      SIM(&m, "f\0octet\0blksize\000512\0windowsize\00016\0", 200, 0, 0,
		  src, 100000, &timers));
	free(src);
	m.data = src = pattern(8 * 65536 * 2 + 5);
	m.len = 8 * 65536 * 2 + 5;
	CHECK("two rollovers, windowsize 8, 5% loss",
	      SIM(&m, "f\0octet\0blksize\0008\0windowsize\0008\0", 50, 20, 20,
		  src, m.len, &timers) &&
		      timers > 100);
	free(src);
	return unit_done();
}
