/*
 * Data-path load for wupan-target (tests/target/datapath.sh): a raw iSCSI
 * initiator over one TCP socket per session, so the test controls exactly
 * how PDUs are pipelined, when the client stops reading and when it
 * half-closes.  Modes (PORT on 127.0.0.1, IQN the target):
 *   mixed PORT IQN          16 x 1 MiB READ then 100 x 64 KiB WRITE with
 *                           immediate data, all sent before reading
 *   drain PORT IQN          120 x 256 KiB READ, nothing sent after them;
 *                           read from 1 s later, so the target's output
 *                           backlog is full and then drains at once
 *   halfclose PORT IQN SEC  8 x 1 MiB READ, shutdown(SHUT_WR), SEC seconds
 *                           without reading, then read every answer
 *   stopread PORT IQN N SEC N sessions queue 4 x 16 MiB READ each and stop
 *                           reading for SEC seconds
 *   idle PORT N SEC [SRC]   N connections that send nothing; after SEC
 *                           seconds prints how many the target closed
 *   login PORT IQN          logs in and runs TEST UNIT READY
 *   chapfail PORT IQN N     N logins with a wrong CHAP response, one after
 *                           the other; prints the tries per second
 *   pattern FILE MIB        writes MIB MiB of the check pattern to FILE and
 *                           drops it from the page cache
 *   verify PORT IQN MIB [digest|slow]
 *                           READs the first MIB MiB (1 MiB each, 8 at a
 *                           time) and checks every Data-In byte against it;
 *                           digest: with DataDigest=CRC32C, every digest
 *                           checked; slow: a 4 KiB receive buffer read 1500
 *                           bytes at a time (the target's sends are partial)
 *   race PORT IQN ROUNDS    each round pipelines a 64 KiB WRITE of version
 *                           v and a READ of the same blocks, then READs
 *                           them again: the racing READ sees each byte of
 *                           version v-1 or v, the later one only v
 *   stall PORT IQN N SEC    N x 1 MiB READ from LBA 0, not read for SEC
 *                           seconds (the file shrinks meanwhile), then read:
 *                           exits 0 when every READ was answered or the
 *                           target closed the connection, 1 on a hang
 *   readfail PORT IQN LBA   a 64 KiB READ at LBA must be answered with an
 *                           error status (past the end of a shrunk file)
 * Prints one "result" line and exits 0 when every command was answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BHS 48
#define MAX_CMDS 512

struct sess {
	int fd;
	uint32_t cmdsn;
	uint32_t itt;
	uint8_t *tx;
	size_t tx_len, tx_off, tx_cap;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	int answered[MAX_CMDS];
	int good[MAX_CMDS];
	int n_answered;
	int rejects;
	int closed; /* the target closed or reset the connection */
	uint32_t lba_of[MAX_CMDS]; /* verify: the LBA each READ started at */
	int verify;
	unsigned long long bad_bytes, checked;
	uint8_t *race; /* race: the Data-In of READ race_itt */
	uint32_t race_itt;
	unsigned isid;
};

static unsigned next_isid;
static int use_digest; /* DataDigest=CRC32C negotiated */
static int slow_reader; /* small receive buffer, small recv calls */
static unsigned long long bad_digests;

/* CRC32C (Castagnoli), bit by bit: the iSCSI digest (RFC 7143 §12.1). */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connects to 127.0.0.1:port, from src if given. */
static int dial(int port, const char *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	if (slow_reader) {
		int sz = 4096;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (src) {
		struct sockaddr_in b = { .sin_family = AF_INET };

		inet_pton(AF_INET, src, &b.sin_addr);
		if (bind(fd, (struct sockaddr *)&b, sizeof(b))) {
			close(fd);
			return -1;
		}
	}
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Queues a PDU for sending. */
static void queue(struct sess *s, const uint8_t *bhs, const void *data,
		  size_t len)
{
	size_t need = BHS + ((len + 3) & ~(size_t)3);

	if (s->tx_len + need > s->tx_cap) {
		s->tx_cap = (s->tx_len + need) * 2;
		s->tx = realloc(s->tx, s->tx_cap);
	}
	memcpy(s->tx + s->tx_len, bhs, BHS);
	s->tx[s->tx_len + 5] = (uint8_t)(len >> 16);
	s->tx[s->tx_len + 6] = (uint8_t)(len >> 8);
	s->tx[s->tx_len + 7] = (uint8_t)len;
	memset(s->tx + s->tx_len + BHS, 0, need - BHS);
	if (len)
		memcpy(s->tx + s->tx_len + BHS, data, len);
	s->tx_len += need;
}

/* Blocking exchange of one login PDU; returns the status or -1. */
static int login_step(struct sess *s, uint8_t flags, const char *keys)
{
	uint8_t bhs[BHS] = { 0 }, rsp[BHS], text[1024];
	size_t n = strlen(keys), got = 0, dlen;

	memcpy(text, keys, n + 1);
	for (size_t i = 0; i < n; i++)
		if (text[i] == '|')
			text[i] = 0;
	bhs[0] = 0x43;
	bhs[1] = flags;
	memcpy(bhs + 8, "\x80\x12\x34\x56\x00\x00", 6);
	/* One ISID per session: the same one would reinstate the last. */
	bhs[12] = (uint8_t)(s->isid >> 8);
	bhs[13] = (uint8_t)s->isid;
	put32(bhs + 16, s->itt++);
	put32(bhs + 24, s->cmdsn);
	s->tx_len = s->tx_off = 0;
	queue(s, bhs, text, n + 1);
	if (send(s->fd, s->tx, s->tx_len, MSG_NOSIGNAL) != (ssize_t)s->tx_len)
		return -1;
	s->tx_len = 0;
	while (got < BHS) {
		ssize_t r = recv(s->fd, rsp + got, BHS - got, 0);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	dlen = ((size_t)rsp[5] << 16 | (size_t)rsp[6] << 8 | rsp[7]);
	dlen = (dlen + 3) & ~(size_t)3;
	while (dlen) {
		ssize_t r = recv(s->fd, text,
				 dlen < sizeof(text) ? dlen : sizeof(text), 0);

		if (r <= 0)
			return -1;
		dlen -= (size_t)r;
	}
	return rsp[36] << 8 | rsp[37];
}

/* Opens a session on a normal (non-discovery) login; 0 or -1. */
static int sess_open(struct sess *s, int port, const char *iqn)
{
	char keys[600];

	memset(s, 0, sizeof(*s));
	s->isid = ++next_isid;
	s->fd = dial(port, NULL);
	if (s->fd < 0)
		return -1;
	snprintf(keys, sizeof(keys),
		 "InitiatorName=iqn.2025-01.org.wupan:dp%d|TargetName=%s|"
		 "SessionType=Normal|AuthMethod=None",
		 getpid() % 100000, iqn);
	if (login_step(s, 0x81, keys))
		return -1;
	if (login_step(
		    s, 0x87,
		    use_digest
			    ? "HeaderDigest=None|DataDigest=CRC32C|"
			      "MaxRecvDataSegmentLength=262144|ImmediateData=Yes|"
			      "InitialR2T=No|FirstBurstLength=65536|"
			      "MaxBurstLength=262144|ErrorRecoveryLevel=0|"
			      "MaxConnections=1"
			    : "HeaderDigest=None|DataDigest=None|"
			      "MaxRecvDataSegmentLength=262144|ImmediateData=Yes|"
			      "InitialR2T=No|FirstBurstLength=65536|"
			      "MaxBurstLength=262144|ErrorRecoveryLevel=0|"
			      "MaxConnections=1"))
		return -1;
	/* The login was immediate: the first command takes its CmdSN. */
	s->itt = 0;
	fcntl(s->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Queues a READ(10) or WRITE(10) of `blocks` 512-byte blocks at lba;
 * writes carry all their data as immediate data. */
static void scsi_rw(struct sess *s, int write, uint32_t lba, uint32_t blocks,
		    const uint8_t *data)
{
	uint8_t bhs[BHS] = { 0 };
	uint32_t len = blocks * 512;

	bhs[0] = 0x01;
	bhs[1] = (uint8_t)(0x80 | (write ? 0x20 : 0x40) | 1); /* simple */
	bhs[9] = 0; /* LUN 0 */
	put32(bhs + 16, s->itt++);
	put32(bhs + 20, len);
	put32(bhs + 24, s->cmdsn++);
	bhs[32] = write ? 0x2a : 0x28;
	put32(bhs + 34, lba);
	bhs[39] = (uint8_t)(blocks >> 8);
	bhs[40] = (uint8_t)blocks;
	queue(s, bhs, write ? data : NULL, write ? len : 0);
}

/* Parses complete PDUs in the receive buffer. */
static void parse(struct sess *s)
{
	size_t p = 0;

	while (s->rx_len - p >= BHS) {
		const uint8_t *h = s->rx + p;
		size_t dlen = ((size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7]);
		size_t total = BHS + ((dlen + 3) & ~(size_t)3) +
			       (use_digest && dlen ? 4 : 0);
		uint32_t itt = get32(h + 16);
		int op = h[0] & 0x3f, status = -1;

		if (s->rx_len - p < total)
			break;
		if (use_digest && dlen) {
			size_t padded = (dlen + 3) & ~(size_t)3;
			const uint8_t *d = h + BHS + padded;
			uint32_t want = crc32c(h + BHS, padded);

			bad_digests += ((uint32_t)d[0] | (uint32_t)d[1] << 8 |
					(uint32_t)d[2] << 16 |
					(uint32_t)d[3] << 24) != want;
		}
		if (op == 0x25 && s->verify && itt < MAX_CMDS) {
			uint32_t off = get32(h + 40);

			for (size_t k = 0; k + 4 <= dlen; k += 4) {
				uint64_t byte = (uint64_t)s->lba_of[itt] * 512 +
						off + k;
				uint32_t want = (uint32_t)(byte / 4);
				const uint8_t *d = h + BHS + k;

				s->bad_bytes += memcmp(d, &want, 4) != 0 ? 4
									 : 0;
				s->checked += 4;
			}
		}
		if (op == 0x25 && s->race && itt == s->race_itt) {
			uint32_t off = get32(h + 40);

			if (off <= 65536 && dlen <= 65536 - off)
				memcpy(s->race + off, h + BHS, dlen);
		}
		if (op == 0x25 && (h[1] & 0x01))
			status = h[3];
		else if (op == 0x21)
			status = h[3];
		else if (op == 0x3f)
			s->rejects++;
		if (status >= 0 && itt < MAX_CMDS && !s->answered[itt]) {
			s->answered[itt] = 1;
			s->good[itt] = status == 0 && (op == 0x25 || h[2] == 0);
			s->n_answered++;
		}
		p += total;
	}
	memmove(s->rx, s->rx + p, s->rx_len - p);
	s->rx_len -= p;
}

/* Moves bytes both ways until `want` answers came, the deadline passed or
 * the connection ended; reading stops when read is 0. */
static void pump(struct sess *s, int want, double deadline, int read)
{
	while (s->n_answered < want && !s->closed && now_s() < deadline) {
		struct pollfd pf = { .fd = s->fd, .events = 0 };

		if (read)
			pf.events |= POLLIN;
		if (s->tx_off < s->tx_len)
			pf.events |= POLLOUT;
		if (!pf.events)
			break;
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (pf.revents & POLLOUT) {
			ssize_t n = send(s->fd, s->tx + s->tx_off,
					 s->tx_len - s->tx_off, MSG_NOSIGNAL);

			if (n > 0)
				s->tx_off += (size_t)n;
			else if (errno != EAGAIN)
				s->closed = 1;
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n;

			if (s->rx_cap - s->rx_len < 65536) {
				s->rx_cap = s->rx_cap * 2 + 65536;
				s->rx = realloc(s->rx, s->rx_cap);
			}
			n = recv(s->fd, s->rx + s->rx_len,
				 slow_reader ? 1500 : s->rx_cap - s->rx_len, 0);
			if (n > 0) {
				s->rx_len += (size_t)n;
				parse(s);
			} else if (n == 0 || errno != EAGAIN) {
				s->closed = 1;
			}
		}
	}
}

/* Prints the outcome of n commands; returns the exit status. */
static int report(const char *what, struct sess *s, int n)
{
	int good = 0;

	for (int i = 0; i < n; i++)
		good += s->good[i];
	printf("result %s answered=%d good=%d of=%d rejects=%d closed=%d\n",
	       what, s->n_answered, good, n, s->rejects, s->closed);
	return s->n_answered == n && good == n && !s->rejects ? 0 : 1;
}

static int mode_mixed(int port, const char *iqn)
{
	static uint8_t data[65536];
	struct sess s;
	int n = 0;

	if (sess_open(&s, port, iqn))
		return 2;
	memset(data, 0x5a, sizeof(data));
	for (int i = 0; i < 16; i++, n++)
		scsi_rw(&s, 0, (uint32_t)i * 2048, 2048, NULL);
	for (int i = 0; i < 100; i++, n++)
		scsi_rw(&s, 1, 40000 + (uint32_t)i * 128, 128, data);
	/* Everything goes out before a byte is read. */
	pump(&s, n, now_s() + 30, 0);
	pump(&s, n, now_s() + 30, 1);
	return report("mixed", &s, n);
}

static int mode_drain(int port, const char *iqn)
{
	struct sess s;
	int n = 120;

	if (sess_open(&s, port, iqn))
		return 2;
	for (int i = 0; i < n; i++)
		scsi_rw(&s, 0, (uint32_t)(i % 100) * 512, 512, NULL);
	pump(&s, n, now_s() + 10, 0);
	sleep(1);
	pump(&s, n, now_s() + 20, 1);
	return report("drain", &s, n);
}

static int mode_halfclose(int port, const char *iqn, int sec)
{
	struct sess s;
	int n = 8;

	if (sess_open(&s, port, iqn))
		return 2;
	for (int i = 0; i < n; i++)
		scsi_rw(&s, 0, (uint32_t)i * 2048, 2048, NULL);
	pump(&s, n, now_s() + 10, 0);
	shutdown(s.fd, SHUT_WR);
	printf("halfclosed\n");
	fflush(stdout);
	sleep((unsigned)sec);
	pump(&s, n, now_s() + 20, 1);
	return report("halfclose", &s, n);
}

static int mode_stopread(int port, const char *iqn, int n, int sec)
{
	struct sess *s = calloc((size_t)n, sizeof(*s));
	int rc = 0;

	for (int i = 0; i < n; i++) {
		if (sess_open(&s[i], port, iqn))
			return 2;
		for (int k = 0; k < 4; k++)
			scsi_rw(&s[i], 0, (uint32_t)k * 32768, 32768, NULL);
		pump(&s[i], 4, now_s() + 10, 0);
	}
	printf("queued\n");
	fflush(stdout);
	sleep((unsigned)sec);
	for (int i = 0; i < n; i++) {
		pump(&s[i], 4, now_s() + 30, 1);
		rc |= report("stopread", &s[i], 4);
	}
	return rc;
}

static int mode_idle(int port, int n, int sec, const char *src)
{
	int *fds = calloc((size_t)n, sizeof(*fds)), opened = 0, gone = 0;
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 0; i < n; i++) {
		fds[i] = dial(port, src);
		opened += fds[i] >= 0;
	}
	printf("opened %d\n", opened);
	fflush(stdout);
	sleep((unsigned)sec);
	for (int i = 0; i < n; i++) {
		char c;

		if (fds[i] < 0)
			continue;
		/* Closed by the target: end of file or a reset. */
		if (recv(fds[i], &c, 1, MSG_DONTWAIT) == 0 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK))
			gone++;
		close(fds[i]);
	}
	printf("result idle opened=%d closed_by_target=%d\n", opened, gone);
	return 0;
}

/* The pattern: each 4-byte word holds its own index (little-endian on
 * the machines this runs on). */
static int mode_pattern(const char *path, int mib)
{
	FILE *f = fopen(path, "wb");
	static uint32_t w[65536];

	if (!f)
		return 1;
	for (uint32_t chunk = 0; chunk < (uint32_t)mib * 4; chunk++) {
		for (uint32_t i = 0; i < 65536; i++)
			w[i] = chunk * 65536 + i;
		fwrite(w, sizeof(w), 1, f);
	}
	/* Out of the page cache, so the first read-back goes to the disk
	 * (a worker thread), the second to the cache. */
	fflush(f);
	fsync(fileno(f));
	posix_fadvise(fileno(f), 0, 0, POSIX_FADV_DONTNEED);
	return fclose(f) ? 1 : 0;
}

static int mode_verify(int port, const char *iqn, int mib)
{
	struct sess s;
	int n = mib, rc;

	if (sess_open(&s, port, iqn) || n > MAX_CMDS)
		return 2;
	s.verify = 1;
	for (int i = 0; i < n; i++) {
		s.lba_of[s.itt] = (uint32_t)i * 2048;
		scsi_rw(&s, 0, (uint32_t)i * 2048, 2048, NULL);
		if (i % 8 == 7 || i == n - 1)
			pump(&s, i + 1, now_s() + 30, 1);
	}
	rc = report("verify", &s, n);
	printf("result verify checked=%llu bad=%llu bad_digests=%llu\n",
	       s.checked, s.bad_bytes, bad_digests);
	return rc || s.bad_bytes || bad_digests ||
	       s.checked != (unsigned long long)mib << 20;
}

/* The word of version v at word index i of the race range. */
static uint32_t race_word(uint32_t v, uint32_t i)
{
	return v << 20 | i;
}

/* Checks a 64 KiB READ of the race range: every byte of version lo or hi
 * and at its own place.  Returns the words with a byte that is not.
 * Bytes, not words: a READ racing a WRITE of the same blocks may mix them
 * (SBC), and does below a word too: Data-In sent from the page cache is
 * copied out at the initiator's recv while the WRITE copies in (seen: one
 * word in about 50 runs of 40 rounds with its top byte new and the next
 * one old). */
static unsigned race_check(const struct sess *s, uint32_t lo, uint32_t hi)
{
	unsigned bad = 0;

	for (uint32_t i = 0; i < 16384; i++) {
		uint32_t w, a = race_word(lo, i), b = race_word(hi, i), odd = 0;

		memcpy(&w, s->race + i * 4, 4);
		for (int k = 0; k < 32; k += 8) {
			uint32_t m = 0xffu << k;

			odd |= (w & m) != (a & m) && (w & m) != (b & m);
		}
		bad += odd;
	}
	return bad;
}

static int mode_race(int port, const char *iqn, int rounds)
{
	static uint32_t data[16384];
	struct sess s;
	unsigned torn = 0, stale = 0;
	int n = 0;

	if (sess_open(&s, port, iqn) || rounds * 3 + 1 > MAX_CMDS)
		return 2;
	s.race = calloc(1, 65536);
	for (uint32_t i = 0; i < 16384; i++)
		data[i] = race_word(0, i);
	scsi_rw(&s, 1, 0, 128, (uint8_t *)data);
	pump(&s, ++n, now_s() + 10, 1);
	for (uint32_t v = 1; v <= (uint32_t)rounds; v++) {
		for (uint32_t i = 0; i < 16384; i++)
			data[i] = race_word(v, i);
		scsi_rw(&s, 1, 0, 128, (uint8_t *)data);
		s.race_itt = s.itt;
		scsi_rw(&s, 0, 0, 128, NULL);
		n += 2;
		pump(&s, n, now_s() + 10, 1);
		torn += race_check(&s, v - 1, v);
		/* The WRITE is answered: a READ now sees only version v. */
		s.race_itt = s.itt;
		scsi_rw(&s, 0, 0, 128, NULL);
		pump(&s, ++n, now_s() + 10, 1);
		stale += race_check(&s, v, v);
	}
	printf("result race rounds=%d bad_racing=%u bad_after=%u\n", rounds,
	       torn, stale);
	return report("race", &s, n) || torn || stale;
}

static int mode_stall(int port, const char *iqn, int n, int sec)
{
	struct sess s;

	if (sess_open(&s, port, iqn) || n > MAX_CMDS)
		return 2;
	for (int i = 0; i < n; i++)
		scsi_rw(&s, 0, (uint32_t)i * 2048, 2048, NULL);
	pump(&s, n, now_s() + 10, 0);
	printf("queued\n");
	fflush(stdout);
	sleep((unsigned)sec);
	pump(&s, n, now_s() + 15, 1);
	report("stall", &s, n);
	/* Answered (good or not) or cut off: anything but silence. */
	return s.n_answered == n || s.closed ? 0 : 1;
}

static int mode_readfail(int port, const char *iqn, uint32_t lba)
{
	struct sess s;

	if (sess_open(&s, port, iqn))
		return 2;
	scsi_rw(&s, 0, lba, 128, NULL);
	pump(&s, 1, now_s() + 10, 1);
	printf("result readfail answered=%d good=%d closed=%d\n", s.n_answered,
	       s.good[0], s.closed);
	return s.n_answered == 1 && !s.good[0] ? 0 : 1;
}

static int mode_login(int port, const char *iqn)
{
	struct sess s;
	uint8_t bhs[BHS] = { 0 };

	if (sess_open(&s, port, iqn)) {
		printf("result login failed\n");
		return 1;
	}
	bhs[0] = 0x01;
	bhs[1] = 0x81;
	put32(bhs + 16, s.itt++);
	put32(bhs + 24, s.cmdsn++);
	queue(&s, bhs, NULL, 0);
	pump(&s, 1, now_s() + 10, 1);
	return report("login", &s, 1);
}

static int mode_chapfail(int port, const char *iqn, int n)
{
	double t0 = now_s();
	int refused = 0;

	for (int i = 0; i < n; i++) {
		struct sess s;
		char keys[600];

		memset(&s, 0, sizeof(s));
		s.fd = dial(port, NULL);
		if (s.fd < 0)
			break;
		snprintf(keys, sizeof(keys),
			 "InitiatorName=iqn.2025-01.org.wupan:guess|"
			 "TargetName=%s|SessionType=Normal|AuthMethod=CHAP",
			 iqn);
		if (login_step(&s, 0x00, keys) == 0 &&
		    login_step(&s, 0x00, "CHAP_A=5") == 0 &&
		    login_step(&s, 0x81,
			       "CHAP_N=user|"
			       "CHAP_R=0x00000000000000000000000000000000") ==
			    0x0201)
			refused++;
		close(s.fd);
		free(s.tx);
	}
	printf("result chapfail refused=%d of=%d rate=%.1f/s\n", refused, n,
	       n / (now_s() - t0));
	return refused == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	int port = argc > 2 ? atoi(argv[2]) : 0;

	if (!strcmp(m, "mixed") && argc == 4)
		return mode_mixed(port, argv[3]);
	if (!strcmp(m, "drain") && argc == 4)
		return mode_drain(port, argv[3]);
	if (!strcmp(m, "halfclose") && argc == 5)
		return mode_halfclose(port, argv[3], atoi(argv[4]));
	if (!strcmp(m, "stopread") && argc == 6)
		return mode_stopread(port, argv[3], atoi(argv[4]),
				     atoi(argv[5]));
	if (!strcmp(m, "idle") && (argc == 5 || argc == 6))
		return mode_idle(port, atoi(argv[3]), atoi(argv[4]),
				 argc == 6 ? argv[5] : NULL);
	if (!strcmp(m, "chapfail") && argc == 5)
		return mode_chapfail(port, argv[3], atoi(argv[4]));
	if (!strcmp(m, "pattern") && argc == 4)
		return mode_pattern(argv[2], atoi(argv[3]));
	if (!strcmp(m, "verify") && (argc == 5 || argc == 6)) {
		use_digest = argc == 6 && !strcmp(argv[5], "digest");
		slow_reader = argc == 6 && !strcmp(argv[5], "slow");
		return mode_verify(port, argv[3], atoi(argv[4]));
	}
	if (!strcmp(m, "race") && argc == 5)
		return mode_race(port, argv[3], atoi(argv[4]));
	if (!strcmp(m, "stall") && argc == 6)
		return mode_stall(port, argv[3], atoi(argv[4]), atoi(argv[5]));
	if (!strcmp(m, "readfail") && argc == 5)
		return mode_readfail(port, argv[3],
				     (uint32_t)strtoul(argv[4], NULL, 10));
	if (!strcmp(m, "login") && argc == 4)
		return mode_login(port, argv[3]);
	fprintf(stderr, "usage: see the comment at the top of dp_client.c\n");
	return 2;
}
