/*
 * A lean iSCSI READ load generator for bench/target/bench.sh, so that the
 * share of the raw ceiling (tcp_pump.c) measures the target rather than
 * the client.  libiscsi copies each Data-In segment once more and spends
 * most of a core doing it; this client logs in (no digests, ImmediateData,
 * a 256 KiB MaxRecvDataSegmentLength), keeps DEPTH READ(10) commands in
 * flight on one connection and receives everything with recv() calls of
 * 64 KiB (the pump's receiver's size) into one scratch buffer: the
 * 48-byte headers are parsed where they land in the stream, the data is
 * left where it landed.  It is still a real client: it checks every
 * header (opcode, ITT, DataSN, buffer offset, segment length, StatSN,
 * status, residuals) and follows the target's command window.
 *
 *   lean_read URL read seq|rand BLOCKS DEPTH 1 SECONDS [--ios N]
 *             [--span BLOCKS] [--verify FILE]
 *
 * URL is iscsi://HOST:PORT/IQN/LUN (IPv4), BLOCKS the 512-byte blocks of
 * each READ, over the first 256 MiB of the LUN (or all of a smaller one):
 * the arguments of iscsi_bench.c, which only one session.  It prints the
 * same "iops N mbps N lat_us N bytes N" and adds "cpu_pct N", its own CPU
 * time over the run in percent of one core.  --ios N stops after N READs;
 * --span BLOCKS reads blocks [0, BLOCKS) whatever the capacity (a test
 * uses it to provoke an error status); --verify FILE compares every
 * Data-In byte with FILE at its place (the LUN's backing file) and fails
 * on a difference.  Exits 1 on any protocol or SCSI error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "iscsi/pdu.h"

#define MAX_DEPTH 256
#define RX_BUF 65536 /* what tcp_pump's receiver asks for per recv() */
#define OUR_MRDSL 262144u /* MaxRecvDataSegmentLength we declare */
#define SENSE_KEEP 32

struct slot {
	int busy;
	uint32_t itt;
	uint32_t lba;
	uint32_t len; /* expected data transfer length */
	uint32_t got; /* Data-In bytes so far */
	uint32_t datasn; /* next expected DataSN */
	uint64_t start_ns;
	uint8_t *capture; /* READ CAPACITY: where its data goes */
	uint8_t cdb[16];
	int redo; /* answered with a Unit Attention: to be sent again */
	int attentions;
};

struct lean {
	int fd;
	unsigned lun;
	uint32_t cmdsn, maxcmdsn, expstatsn, gen;
	struct slot slot[MAX_DEPTH];
	int depth, busy, redo;
	uint8_t tx[MAX_DEPTH * ISCSI_BHS_LEN + ISCSI_BHS_LEN];
	size_t tx_len;
	/* The receive state: a header being gathered, or a data segment
	 * (and its padding) being skipped. */
	uint8_t hdr[ISCSI_BHS_LEN];
	size_t hdr_got;
	size_t data_left, pad_left;
	struct slot *cur; /* the READ whose Data-In is being skipped */
	uint32_t cur_off; /* its offset in that READ */
	uint8_t sense[SENSE_KEEP];
	size_t sense_len;
	int logged_out;
	/* --verify */
	int vfd;
	uint8_t *vbuf;
	unsigned long long checked, bad;
	/* The load. */
	uint64_t ios_done, ios_issued, ios_limit, lat_ns, end_ns;
	uint32_t span, bpio, next_lba;
	int random_io;
	uint64_t rng;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reports a fatal error and ends the run: every failure is the target's
 * or the setup's, and the benchmark must not print a figure after one. */
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("lean_read: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			die("send: connection lost");
		buf += n;
		len -= (size_t)n;
	}
}

static void recv_all(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n <= 0)
			die("recv: connection closed during login");
		buf += n;
		len -= (size_t)n;
	}
}

/* Looks key up in a login answer ("k=v\0k=v\0..."); NULL if absent. */
static const char *key_find(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (size_t p = 0; p < len;) {
		const char *kv = text + p;
		size_t n = strnlen(kv, len - p);

		if (n > klen && !memcmp(kv, key, klen) && kv[klen] == '=')
			return kv + klen + 1;
		p += n + 1;
	}
	return NULL;
}

/* One login request and its answer; keys are "k=v" separated by '|'.
 * Returns the answer's flags byte; the answer's text lands in text. */
static uint8_t login_step(struct lean *c, uint8_t flags, const char *keys,
			  char *text, size_t *text_len, size_t text_cap)
{
	uint8_t req[ISCSI_BHS_LEN + 1024], rsp[ISCSI_BHS_LEN];
	size_t n = strlen(keys) + 1, dlen;

	if (n > 1024 - 3)
		die("login keys too long");
	iscsi_pdu_init(req, ISCSI_OP_LOGIN_REQ | ISCSI_IMMEDIATE, flags, n);
	/* ISID: random format (RFC 7143 §11.12.5), one per process. */
	req[8] = 0x80;
	put_be32(req + 9, (uint32_t)getpid());
	put_be32(req + 16, c->gen++);
	put_be32(req + 24, c->cmdsn);
	put_be32(req + 28, c->expstatsn);
	memset(req + ISCSI_BHS_LEN, 0, iscsi_pad4(n));
	memcpy(req + ISCSI_BHS_LEN, keys, n);
	for (size_t i = 0; i < n; i++)
		if (req[ISCSI_BHS_LEN + i] == '|')
			req[ISCSI_BHS_LEN + i] = 0;
	send_all(c->fd, req, ISCSI_BHS_LEN + iscsi_pad4(n));
	recv_all(c->fd, rsp, ISCSI_BHS_LEN);
	if (iscsi_pdu_opcode(rsp) != ISCSI_OP_LOGIN_RSP)
		die("login: answer with opcode 0x%02x", rsp[0]);
	if (rsp[36] || rsp[37])
		die("login refused: status class %u detail %u", rsp[36],
		    rsp[37]);
	dlen = get_be24(rsp + 5);
	if (dlen > text_cap)
		die("login answer of %zu bytes", dlen);
	recv_all(c->fd, (uint8_t *)text, iscsi_pad4(dlen));
	*text_len = dlen;
	c->expstatsn = get_be32(rsp + 24) + 1;
	c->cmdsn = get_be32(rsp + 28);
	c->maxcmdsn = get_be32(rsp + 32);
	return rsp[1];
}

/* Logs in to iqn, taking the negotiated values from the target's answer. */
static void login(struct lean *c, const char *iqn)
{
	static char text[16384];
	char keys[600];
	const char *v;
	size_t len;
	uint8_t fl;

	snprintf(keys, sizeof(keys),
		 "InitiatorName=iqn.2025-01.org.wupan:lean-read|TargetName=%s|"
		 "SessionType=Normal|AuthMethod=None",
		 iqn);
	fl = login_step(c, ISCSI_LOGIN_TRANSIT | ISCSI_STAGE_OPERATIONAL, keys,
			text, &len, sizeof(text));
	if (!(fl & ISCSI_LOGIN_TRANSIT))
		die("login: the target wants more of the security stage");
	snprintf(keys, sizeof(keys),
		 "HeaderDigest=None|DataDigest=None|"
		 "MaxRecvDataSegmentLength=%u|ImmediateData=Yes|"
		 "InitialR2T=No|MaxBurstLength=16776192|"
		 "FirstBurstLength=262144|ErrorRecoveryLevel=0|"
		 "MaxConnections=1",
		 OUR_MRDSL);
	/* Operational stage until the target agrees to full feature phase. */
	for (int i = 0;; i++) {
		fl = login_step(c,
				ISCSI_LOGIN_TRANSIT |
					ISCSI_STAGE_OPERATIONAL << 2 |
					ISCSI_STAGE_FULL,
				i ? "" : keys, text, &len, sizeof(text));
		v = key_find(text, len, "HeaderDigest");
		if (v && strcmp(v, "None"))
			die("login: HeaderDigest=%s", v);
		v = key_find(text, len, "DataDigest");
		if (v && strcmp(v, "None"))
			die("login: DataDigest=%s", v);
		v = key_find(text, len, "ErrorRecoveryLevel");
		if (v && strcmp(v, "0"))
			die("login: ErrorRecoveryLevel=%s", v);
		if (fl & ISCSI_LOGIN_TRANSIT && (fl & 3) == ISCSI_STAGE_FULL)
			break;
		if (i == 4)
			die("login: no full feature phase after 5 steps");
	}
}

/* Queues a command in a free slot (the caller checked the window). */
static void issue(struct lean *c, struct slot *s, const uint8_t *cdb,
		  uint32_t lba, uint32_t len)
{
	uint8_t *h = c->tx + c->tx_len;

	iscsi_pdu_init(h, ISCSI_OP_SCSI_CMD,
		       ISCSI_FLAG_FINAL | ISCSI_CMD_READ | 1 /* simple */, 0);
	iscsi_lun_build(h + 8, c->lun);
	s->itt = (c->gen++ << 8) | (uint32_t)(s - c->slot);
	put_be32(h + 16, s->itt);
	put_be32(h + 20, len);
	put_be32(h + 24, c->cmdsn++);
	put_be32(h + 28, c->expstatsn);
	memcpy(h + 32, cdb, 16);
	memmove(s->cdb, cdb, 16);
	c->tx_len += ISCSI_BHS_LEN;
	s->busy = 1;
	s->lba = lba;
	s->len = len;
	s->got = 0;
	s->datasn = 0;
	s->start_ns = now_ns();
	c->busy++;
}

/* Fills free slots with READs while the run lasts and the target's
 * window (MaxCmdSN) allows. */
static void refill(struct lean *c, uint64_t now)
{
	for (int i = 0; i < c->depth; i++) {
		struct slot *s = &c->slot[i];
		uint8_t cdb[16] = { 0x28 };
		uint32_t lba;

		if (s->busy)
			continue;
		if (s->redo) {
			if (iscsi_sn_lt(c->maxcmdsn, c->cmdsn))
				return;
			s->redo = 0;
			c->redo--;
			issue(c, s, s->cdb, s->lba, s->len);
			continue;
		}
		if (now >= c->end_ns || c->ios_issued >= c->ios_limit ||
		    iscsi_sn_lt(c->maxcmdsn, c->cmdsn))
			return;
		if (c->random_io) {
			c->rng ^= c->rng << 13;
			c->rng ^= c->rng >> 7;
			c->rng ^= c->rng << 17;
			lba = (uint32_t)(c->rng % (c->span / c->bpio)) *
			      c->bpio;
		} else {
			lba = c->next_lba;
			c->next_lba = (c->next_lba + c->bpio) % c->span;
			if (c->next_lba + c->bpio > c->span)
				c->next_lba = 0;
		}
		put_be32(cdb + 2, lba);
		put_be16(cdb + 7, (uint16_t)c->bpio);
		issue(c, s, cdb, lba, c->bpio * 512);
		c->ios_issued++;
	}
}

/* The sequence numbers every target PDU carries (RFC 7143 §11.7.4). */
static void window(struct lean *c, const uint8_t *h)
{
	uint32_t max = get_be32(h + 32);

	if (iscsi_sn_lt(c->maxcmdsn, max))
		c->maxcmdsn = max;
}

/* StatSN of a status-bearing PDU: on one connection, in order. */
static void statsn(struct lean *c, const uint8_t *h)
{
	uint32_t sn = get_be32(h + 24);

	if (sn != c->expstatsn)
		die("StatSN %u, expected %u", sn, c->expstatsn);
	c->expstatsn = sn + 1;
}

/* The slot an ITT names, which must be a command in flight. */
static struct slot *slot_of(struct lean *c, uint32_t itt)
{
	struct slot *s = &c->slot[itt & 0xff];

	if ((itt & 0xff) >= (uint32_t)c->depth || !s->busy || s->itt != itt)
		die("answer for ITT 0x%08x, which is not in flight", itt);
	return s;
}

/* A command's status: GOOD, every byte delivered, no residual. */
static void complete(struct lean *c, struct slot *s, const uint8_t *h)
{
	uint8_t status = h[3], key = 0, asc = 0, ascq = 0;
	const uint8_t *sd = c->sense + 2; /* after SenseLength */

	if (status && c->sense_len >= 2 + 4 && (sd[0] & 0x7f) >= 0x72) {
		key = sd[1] & 0xf; /* descriptor format (SPC-4 §4.5.2) */
		asc = sd[2];
		ascq = sd[3];
	} else if (status && c->sense_len >= 2 + 14) {
		key = sd[2] & 0xf; /* fixed format (SPC-4 §4.5.3) */
		asc = sd[12];
		ascq = sd[13];
	}
	/* A Unit Attention means the command was not run (SAM-5 §5.14):
	 * tgtd reports POWER ON OR RESET to a new I_T nexus's first command.
	 * Like any initiator, send it again; a few in a row are an error. */
	if (status == 0x02 && key == 6 && s->attentions++ < 3) {
		s->busy = 0;
		s->redo = 1;
		c->busy--;
		c->redo++;
		return;
	}
	if (status && c->sense_len >= 2 + 4)
		die("ITT 0x%08x LBA %u: status 0x%02x, sense key %x ASC/ASCQ %02x/%02x",
		    s->itt, s->lba, status, key, asc, ascq);
	if (status)
		die("ITT 0x%08x LBA %u: status 0x%02x", s->itt, s->lba, status);
	if (h[1] & (ISCSI_FLAG_OVERFLOW | ISCSI_FLAG_UNDERFLOW) ||
	    get_be32(h + 44))
		die("ITT 0x%08x: residual %u", s->itt, get_be32(h + 44));
	if (s->got != s->len)
		die("ITT 0x%08x: %u of %u bytes", s->itt, s->got, s->len);
	s->busy = 0;
	s->attentions = 0;
	c->busy--;
	if (!s->capture) {
		c->ios_done++;
		c->lat_ns += now_ns() - s->start_ns;
	}
}

/* A whole header has arrived: checks it and sets up its data segment. */
static void header(struct lean *c)
{
	const uint8_t *h = c->hdr;
	struct iscsi_pdu_lens l;
	struct slot *s;
	uint32_t off;

	if (iscsi_pdu_lens_parse(h, 0, OUR_MRDSL, 0, 0, &l))
		die("PDU opcode 0x%02x: AHS or a segment over %u bytes", h[0],
		    OUR_MRDSL);
	c->data_left = l.data_len;
	c->pad_left = iscsi_pad4(l.data_len) - l.data_len;
	c->cur = NULL;
	c->sense_len = 0;
	switch (iscsi_pdu_opcode(h)) {
	case ISCSI_OP_DATA_IN: /* RFC 7143 §11.7 */
		window(c, h);
		s = slot_of(c, get_be32(h + 16));
		off = get_be32(h + 40);
		if (get_be32(h + 36) != s->datasn)
			die("ITT 0x%08x: DataSN %u, expected %u", s->itt,
			    get_be32(h + 36), s->datasn);
		if (off != s->got || l.data_len > s->len - s->got)
			die("ITT 0x%08x: %zu bytes at offset %u, %u of %u so far",
			    s->itt, l.data_len, off, s->got, s->len);
		if (h[1] & ISCSI_DATAIN_ACK)
			die("ITT 0x%08x: A bit at ErrorRecoveryLevel 0",
			    s->itt);
		s->datasn++;
		c->cur = s;
		c->cur_off = off;
		s->got += (uint32_t)l.data_len;
		break;
	case ISCSI_OP_SCSI_RSP: /* RFC 7143 §11.4 */
	case ISCSI_OP_NOP_IN:
	case ISCSI_OP_LOGOUT_RSP:
		window(c, h);
		break;
	case ISCSI_OP_REJECT:
		die("Reject, reason 0x%02x", h[2]);
		break;
	case ISCSI_OP_ASYNC:
		die("Async Message, event %u", h[36]);
		break;
	default:
		die("unexpected opcode 0x%02x", h[0]);
	}
}

/* The PDU whose header is in c->hdr is complete, data segment and all. */
static void pdu_done(struct lean *c)
{
	const uint8_t *h = c->hdr;
	struct slot *s;

	switch (iscsi_pdu_opcode(h)) {
	case ISCSI_OP_DATA_IN:
		if (h[1] & ISCSI_DATAIN_STATUS) {
			if (!(h[1] & ISCSI_FLAG_FINAL))
				die("Data-In with status but no F bit");
			statsn(c, h);
			complete(c, c->cur, h);
		}
		break;
	case ISCSI_OP_SCSI_RSP:
		statsn(c, h);
		s = slot_of(c, get_be32(h + 16));
		if (h[2])
			die("ITT 0x%08x: iSCSI response 0x%02x", s->itt, h[2]);
		if (get_be32(h + 36) != s->datasn && !h[3])
			die("ITT 0x%08x: ExpDataSN %u after %u Data-In", s->itt,
			    get_be32(h + 36), s->datasn);
		complete(c, s, h);
		break;
	case ISCSI_OP_NOP_IN:
		/* A ping from the target (RFC 7143 §11.19): answer it. */
		if (get_be32(h + 16) == ISCSI_RSVD_TAG &&
		    get_be32(h + 20) != ISCSI_RSVD_TAG) {
			uint8_t *o = c->tx + c->tx_len;

			iscsi_pdu_init(o, ISCSI_OP_NOP_OUT | ISCSI_IMMEDIATE,
				       ISCSI_FLAG_FINAL, 0);
			memcpy(o + 8, h + 8, 8);
			put_be32(o + 16, ISCSI_RSVD_TAG);
			memcpy(o + 20, h + 20, 4);
			put_be32(o + 24, c->cmdsn);
			put_be32(o + 28, c->expstatsn);
			c->tx_len += ISCSI_BHS_LEN;
		}
		break;
	case ISCSI_OP_LOGOUT_RSP:
		statsn(c, h);
		if (h[2])
			die("Logout response 0x%02x", h[2]);
		c->logged_out = 1;
		break;
	}
}

/* Checks n Data-In bytes at offset off of the READ in slot s against the
 * backing file. */
static void verify(struct lean *c, const struct slot *s, uint32_t off,
		   const uint8_t *p, size_t n)
{
	off_t at = (off_t)s->lba * 512 + off;

	if (s->capture) {
		memcpy(s->capture + off, p, n);
		return;
	}
	if (c->vfd < 0)
		return;
	if (pread(c->vfd, c->vbuf, n, at) != (ssize_t)n ||
	    memcmp(c->vbuf, p, n))
		c->bad += n;
	c->checked += n;
}

/* Walks the received bytes: headers are gathered (48-byte copies), data
 * segments are skipped where they lie. */
static void consume(struct lean *c, const uint8_t *p, size_t n)
{
	while (n) {
		size_t k;

		if (c->data_left) {
			k = n < c->data_left ? n : c->data_left;
			if (c->cur)
				verify(c, c->cur, c->cur_off, p, k);
			else if (c->sense_len < SENSE_KEEP) {
				size_t m = SENSE_KEEP - c->sense_len;

				m = m < k ? m : k;
				memcpy(c->sense + c->sense_len, p, m);
				c->sense_len += m;
			}
			c->cur_off += (uint32_t)k;
			c->data_left -= k;
		} else if (c->pad_left) {
			k = n < c->pad_left ? n : c->pad_left;
			c->pad_left -= k;
		} else {
			k = ISCSI_BHS_LEN - c->hdr_got;
			k = n < k ? n : k;
			memcpy(c->hdr + c->hdr_got, p, k);
			c->hdr_got += k;
			if (c->hdr_got == ISCSI_BHS_LEN)
				header(c);
		}
		p += k;
		n -= k;
		if (c->hdr_got == ISCSI_BHS_LEN && !c->data_left &&
		    !c->pad_left) {
			c->hdr_got = 0;
			pdu_done(c);
		}
	}
}

/* Sends what is queued and receives until done() holds. */
static void run(struct lean *c, int (*done)(const struct lean *))
{
	static uint8_t buf[RX_BUF];

	while (!done(c)) {
		ssize_t n;

		if (c->tx_len) {
			send_all(c->fd, c->tx, c->tx_len);
			c->tx_len = 0;
		}
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n <= 0)
			die("recv: %s", n ? "timed out or failed"
					  : "the target closed the connection");
		consume(c, buf, (size_t)n);
		refill(c, now_ns());
	}
}

static int idle(const struct lean *c)
{
	return c->busy == 0 && c->redo == 0;
}

static int logged_out(const struct lean *c)
{
	return c->logged_out;
}

/* READ CAPACITY(10): the LUN's size in blocks, capped at 2^32 - 1. */
static uint32_t capacity(struct lean *c)
{
	uint8_t cdb[16] = { 0x25 }, data[8];
	struct slot *s = &c->slot[0];

	s->capture = data;
	issue(c, s, cdb, 0, sizeof(data));
	run(c, idle);
	s->capture = NULL;
	if (get_be32(data + 4) != 512)
		die("block size %u, not 512", get_be32(data + 4));
	return get_be32(data) == 0xffffffffu ? 0xffffffffu : get_be32(data) + 1;
}

static int dial(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("cannot connect to %s:%d", host, port);
	/* Like the pump's sender; and no wait without an end. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: lean_read iscsi://HOST:PORT/IQN/LUN read seq|rand BLOCKS DEPTH 1 SECONDS [--ios N] [--span BLOCKS] [--verify FILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct lean c;
	char host[64], iqn[256];
	int port, secs;
	uint32_t span = 0;
	uint64_t start;
	double cpu0, sec;
	const char *vfile = NULL;

	if (argc < 8 || strcmp(argv[2], "read") ||
	    (strcmp(argv[3], "seq") && strcmp(argv[3], "rand")) ||
	    sscanf(argv[1], "iscsi://%63[0-9.]:%d/%255[^/]/%u", host, &port,
		   iqn, &c.lun) != 4)
		return usage();
	c.random_io = !strcmp(argv[3], "rand");
	c.bpio = (uint32_t)atoi(argv[4]);
	c.depth = atoi(argv[5]);
	secs = atoi(argv[7]);
	c.ios_limit = UINT64_MAX;
	c.vfd = -1;
	for (int i = 8; i < argc; i += 2) {
		if (i + 1 == argc)
			return usage();
		if (!strcmp(argv[i], "--ios"))
			c.ios_limit = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--span"))
			span = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--verify"))
			vfile = argv[i + 1];
		else
			return usage();
	}
	if (c.bpio < 1 || c.bpio > OUR_MRDSL / 512 || c.depth < 1 ||
	    c.depth > MAX_DEPTH || strcmp(argv[6], "1") || secs < 1)
		return usage();
	if (vfile) {
		c.vfd = open(vfile, O_RDONLY);
		c.vbuf = malloc(RX_BUF);
		if (c.vfd < 0 || !c.vbuf)
			die("cannot open %s", vfile);
	}
	c.fd = dial(host, port);
	login(&c, iqn);
	c.span = 256u * 2048u;
	if (span)
		c.span = span;
	else if (capacity(&c) < c.span)
		c.span = capacity(&c);
	if (c.span < c.bpio)
		die("the LUN has fewer than %u blocks", c.bpio);
	c.rng = 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
	cpu0 = cpu_s();
	start = now_ns();
	c.end_ns = start + (uint64_t)secs * 1000000000u;
	refill(&c, start);
	run(&c, idle);
	sec = (double)(now_ns() - start) / 1e9;
	printf("iops %.0f mbps %.1f lat_us %.1f bytes %llu cpu_pct %.0f\n",
	       (double)c.ios_done / sec,
	       (double)c.ios_done * c.bpio * 512 / sec / 1e6,
	       c.ios_done ? (double)c.lat_ns / (double)c.ios_done / 1e3 : 0.0,
	       (unsigned long long)c.ios_done * c.bpio * 512,
	       (cpu_s() - cpu0) / sec * 100);
	if (vfile) {
		printf("verify checked %llu bad %llu\n", c.checked, c.bad);
		if (c.bad || c.checked != c.ios_done * c.bpio * 512)
			die("Data-In differs from %s", vfile);
	}
	/* Logout, closing the session (RFC 7143 §11.14). */
	iscsi_pdu_init(c.tx, ISCSI_OP_LOGOUT_REQ | ISCSI_IMMEDIATE,
		       ISCSI_FLAG_FINAL, 0);
	put_be32(c.tx + 16, c.gen++ << 8 | 0xff);
	put_be32(c.tx + 24, c.cmdsn);
	put_be32(c.tx + 28, c.expstatsn);
	c.tx_len = ISCSI_BHS_LEN;
	run(&c, logged_out);
	close(c.fd);
	return 0;
}
