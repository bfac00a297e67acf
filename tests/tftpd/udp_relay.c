/*
 * wupan-udp-relay: a UDP relay between TFTP clients and a server that can
 * delay, drop, duplicate and reorder packets, for the lossy interop tests
 * and the LAN-like benchmark.  IPv4 only.
 *
 * usage: wupan-udp-relay --listen PORT --server PORT [--delay-us N]
 *        [--drop PERMILLE] [--dup PERMILLE] [--reorder PERMILLE] [--seed N]
 *        [--spare-requests]
 * Clients talk to 127.0.0.1:PORT.  Each client port gets its own upstream
 * socket; requests (RRQ, WRQ) go to the server's port, everything else to the
 * transfer ID the server answered from.  --spare-requests never drops a
 * request, so a test does not wait for a client's multi-second request
 * timer.  Counters are printed on SIGTERM.
 *
 * The faults are repeatable: each flow and direction draws from a generator
 * of its own, seeded from --seed and the flow's first packet (the request,
 * so the file name and options), and a packet held back for reordering
 * waits only for the next packet of its own flow and direction.  So a
 * client sees the same faults whatever other clients run through the relay
 * at the same time.  A held packet goes out after REORDER_HOLD_MS at the
 * latest, as on a real network: a reordered packet is late, not lost.
 */
#include "common/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS 256
#define QUEUE_LEN 8192
#define PKT_MAX 65536
#define REORDER_HOLD_MS 20

/* A packet waiting for its release time. */
struct held {
	uint64_t due_ns;
	int fd; /* socket to send from */
	struct sockaddr_in to;
	size_t len;
	uint8_t *data;
};

/* One client port's traffic; direction 0 is client to server. */
struct flow {
	struct sockaddr_in client;
	struct sockaddr_in server; /* the server's transfer ID once known */
	int fd;
	uint64_t rng[2]; /* fault generator per direction */
	struct held reorder[2]; /* a packet held back, per direction */
	int reorder_full[2];
};

static struct flow flows[MAX_FLOWS];
static int nflows;
static struct held queue[QUEUE_LEN];
static size_t qhead, qlen;
static uint64_t delay_ns, drop_pm, dup_pm, reorder_pm, seed = 1;
static int spare_requests;
static unsigned long n_in, n_drop, n_dup, n_reorder, n_qfull;
static volatile sig_atomic_t stop;

/* Returns a monotonic clock reading in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A small deterministic PRNG (xorshift64), so lossy runs can be repeated. */
static uint64_t rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Returns 1 with probability pm/1000, drawing from *state. */
static int chance(uint64_t *state, uint64_t pm)
{
	return pm && rnd(state) % 1000 < pm;
}

/* Seeds a new flow's generators from --seed and its first packet (FNV-1a),
 * so its faults do not depend on what else runs through the relay. */
static void seed_flow(struct flow *f, const uint8_t *data, size_t len)
{
	uint64_t h = 14695981039346656037ull ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ data[i]) * 1099511628211ull;
	for (int dir = 0; dir < 2; dir++) {
		f->rng[dir] = h ^ (dir ? 0x9e3779b97f4a7c15ull : 0);
		if (!f->rng[dir])
			f->rng[dir] = 1;
		/* Mix the seed in before the first draw. */
		for (int i = 0; i < 4; i++)
			rnd(&f->rng[dir]);
	}
}

/* Appends a packet to the delay queue (constant delay keeps it FIFO). */
static void enqueue(int fd, const struct sockaddr_in *to, const uint8_t *data,
		    size_t len)
{
	struct held *h;

	if (qlen == QUEUE_LEN) {
		n_qfull++;
		return;
	}
	h = &queue[(qhead + qlen) % QUEUE_LEN];
	h->data = realloc(h->data, len ? len : 1);
	if (!h->data)
		return;
	memcpy(h->data, data, len);
	h->len = len;
	h->fd = fd;
	h->to = *to;
	h->due_ns = now_ns() + delay_ns;
	qlen++;
}

/* Queues a flow's held packet in direction dir, if there is one. */
static void unhold(struct flow *f, int dir)
{
	struct held *h = &f->reorder[dir];

	if (!f->reorder_full[dir])
		return;
	f->reorder_full[dir] = 0;
	enqueue(h->fd, &h->to, h->data, h->len);
}

/* Sends queued packets that are due, after queueing held packets that have
 * waited long enough; returns ns until the next release, or -1. */
static int64_t release(void)
{
	uint64_t now = now_ns(), next = UINT64_MAX;

	for (int i = 0; i < nflows; i++)
		for (int dir = 0; dir < 2; dir++) {
			if (!flows[i].reorder_full[dir])
				continue;
			if (flows[i].reorder[dir].due_ns <= now)
				unhold(&flows[i], dir);
			else if (flows[i].reorder[dir].due_ns < next)
				next = flows[i].reorder[dir].due_ns;
		}
	while (qlen) {
		struct held *h = &queue[qhead];

		if (h->due_ns > now) {
			if (h->due_ns < next)
				next = h->due_ns;
			break;
		}
		sendto(h->fd, h->data, h->len, 0, (struct sockaddr *)&h->to,
		       sizeof(h->to));
		qhead = (qhead + 1) % QUEUE_LEN;
		qlen--;
	}
	return next == UINT64_MAX ? -1 : (int64_t)(next - now);
}

/* Returns 1 if the packet is a request (RRQ or WRQ). */
static int is_request(const uint8_t *data, size_t len)
{
	return len >= 2 && data[0] == 0 && (data[1] == 1 || data[1] == 2);
}

/* Applies loss, duplication and reordering to one packet of flow f in
 * direction dir. */
static void forward(struct flow *f, int dir, int fd,
		    const struct sockaddr_in *to, const uint8_t *data,
		    size_t len)
{
	uint64_t *rng = &f->rng[dir];
	int request = is_request(data, len);

	n_in++;
	if (!(request && spare_requests) && chance(rng, drop_pm)) {
		n_drop++;
		return;
	}
	if (!request && chance(rng, reorder_pm) && !f->reorder_full[dir]) {
		/* Hold this one back until the flow's next packet in this
		 * direction has gone, or REORDER_HOLD_MS. */
		struct held *h = &f->reorder[dir];
		uint8_t *copy = realloc(h->data, len ? len : 1);

		if (copy) {
			h->data = copy;
			memcpy(h->data, data, len);
			h->len = len;
			h->fd = fd;
			h->to = *to;
			h->due_ns = now_ns() + REORDER_HOLD_MS * 1000000ull;
			f->reorder_full[dir] = 1;
			n_reorder++;
			return;
		}
	}
	enqueue(fd, to, data, len);
	if (chance(rng, dup_pm)) {
		n_dup++;
		enqueue(fd, to, data, len);
	}
	unhold(f, dir);
}

/* Sets the stop flag. */
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Prints usage and exits with status 2. */
static void usage(void)
{
	fprintf(stderr,
		"usage: wupan-udp-relay --listen PORT --server PORT "
		"[--delay-us N] [--drop PERMILLE]\n"
		"       [--dup PERMILLE] [--reorder PERMILLE] [--seed N] "
		"[--spare-requests]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "server", required_argument, NULL, 's' },
		{ "delay-us", required_argument, NULL, 'd' },
		{ "drop", required_argument, NULL, 'x' },
		{ "dup", required_argument, NULL, 'u' },
		{ "reorder", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 'S' },
		{ "spare-requests", no_argument, NULL, 'q' },
		{ 0 },
	};
	static uint8_t buf[PKT_MAX];
	uint64_t lport = 0, sport = 0, v;
	struct sockaddr_in la = { 0 }, srv = { 0 };
	struct sigaction sa;
	int lfd, c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'q') {
			spare_requests = 1;
			continue;
		}
		if (c == '?' || parse_u64(optarg, 0, UINT32_MAX, &v) != 0)
			usage();
		switch (c) {
		case 'l':
			lport = v;
			break;
		case 's':
			sport = v;
			break;
		case 'd':
			delay_ns = v * 1000;
			break;
		case 'x':
			drop_pm = v;
			break;
		case 'u':
			dup_pm = v;
			break;
		case 'r':
			reorder_pm = v;
			break;
		case 'S':
			seed = v ? v : 1;
			break;
		}
	}
	if (!lport || lport > 65535 || !sport || sport > 65535)
		usage();
	la.sin_family = srv.sin_family = AF_INET;
	la.sin_addr.s_addr = srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	la.sin_port = htons((uint16_t)lport);
	srv.sin_port = htons((uint16_t)sport);
	lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) != 0) {
		perror("wupan-udp-relay: bind");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	while (!stop) {
		struct pollfd pfd[MAX_FLOWS + 1];
		int64_t wait = release();
		struct timespec ts, *tsp = NULL;

		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < nflows; i++) {
			pfd[i + 1].fd = flows[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (wait >= 0) {
			ts.tv_sec = wait / 1000000000;
			ts.tv_nsec = wait % 1000000000;
			tsp = &ts;
		}
		if (ppoll(pfd, (nfds_t)nflows + 1, tsp, NULL) < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			for (;;) {
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);
				ssize_t n = recvfrom(lfd, buf, sizeof(buf),
						     MSG_DONTWAIT,
						     (struct sockaddr *)&from,
						     &fl);
				struct flow *f = NULL;

				if (n < 0)
					break;
				for (int i = 0; i < nflows; i++)
					if (flows[i].client.sin_port ==
						    from.sin_port &&
					    flows[i].client.sin_addr.s_addr ==
						    from.sin_addr.s_addr)
						f = &flows[i];
				if (!f) {
					struct sockaddr_in any = { 0 };

					if (nflows == MAX_FLOWS) {
						/* Recycle the oldest flow. */
						close(flows[0].fd);
						free(flows[0].reorder[0].data);
						free(flows[0].reorder[1].data);
						memmove(flows, flows + 1,
							sizeof(flows[0]) *
								(MAX_FLOWS -
								 1));
						nflows--;
					}
					f = &flows[nflows];
					memset(f, 0, sizeof(*f));
					seed_flow(f, buf, (size_t)n);
					f->fd = socket(
						AF_INET,
						SOCK_DGRAM | SOCK_NONBLOCK, 0);
					any.sin_family = AF_INET;
					any.sin_addr.s_addr =
						htonl(INADDR_LOOPBACK);
					if (f->fd < 0 ||
					    bind(f->fd, (struct sockaddr *)&any,
						 sizeof(any)) != 0) {
						perror("wupan-udp-relay");
						return 1;
					}
					f->client = from;
					f->server = srv;
					nflows++;
				}
				if (is_request(buf, (size_t)n))
					f->server = srv;
				forward(f, 0, f->fd, &f->server, buf,
					(size_t)n);
			}
		}
		for (int i = 0; i < nflows; i++) {
			if (!(pfd[i + 1].revents & POLLIN))
				continue;
			for (;;) {
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);
				ssize_t n = recvfrom(flows[i].fd, buf,
						     sizeof(buf), MSG_DONTWAIT,
						     (struct sockaddr *)&from,
						     &fl);

				if (n < 0)
					break;
				flows[i].server = from;
				forward(&flows[i], 1, lfd, &flows[i].client,
					buf, (size_t)n);
			}
		}
	}
	fprintf(stderr,
		"wupan-udp-relay: %lu packets, %lu dropped, %lu duplicated, "
		"%lu reordered, %lu queue overflows\n",
		n_in, n_drop, n_dup, n_reorder, n_qfull);
	return 0;
}
