/*
 * wupan-tftpd: the driver.  It owns the sockets, files, clock and log; every
 * protocol decision is made by tftp_session.c.  The common event loop
 * (src/common/evloop.h) serves all transfers, each on its own socket (its
 * transfer ID, RFC 1350 §4) with its own retransmit timer.
 */
#include "common/evloop.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/parse.h"
#include "common/privdrop.h"
#include "common/version.h"
#include "tftpd/tftp_log.h"
#include "tftpd/tftp_map.h"
#include "tftpd/tftp_opt.h"
#include "tftpd/tftp_path.h"
#include "tftpd/tftp_pkt.h"
#include "tftpd/tftp_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 16
#define RX_MAX 65536 /* largest UDP payload a client can send us */
#define CACHE_MAX (256 * 1024)
#define RTO_MIN_MS 50

struct config {
	const char *root;
	int root_fd;
	int allow_write;
	unsigned max_clients, max_per_client;
	unsigned blksize_max, windowsize_max;
	unsigned timeout_s, retries, timeout_max;
	uint64_t max_upload;
	int verbose;
	const char *user; /* --user: drop to it after binding */
	int chroot_root; /* --chroot: confine the process to root */
	struct tftp_map map;
};

/* A listening socket: a source of the common event loop, which calls
 * each source's own callback (no pointer comparisons to tell kinds apart). */
struct listener {
	struct ev_source src; /* first */
	int fd;
	int family;
};

/* One transfer: the session core plus what the driver holds for it. */
struct xfer {
	struct ev_source src; /* first; src.fd is fd */
	struct ev_timer timer; /* the session's retransmit deadline */
	int fd, file_fd, dir_fd;
	const char *wbase; /* WRQ: name in dir_fd to remove on failure */
	char wname[TFTP_PATH_MAX];
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct tftp_session s;
	uint64_t start_ms, req_hash;
	size_t idx; /* position in the active list */
	char client[INET6_ADDRSTRLEN + 8];
	char file[300];
	uint8_t *cache;
	size_t cache_cap, cache_len;
	uint64_t cache_off;
};

static struct config cfg;
static struct listener listeners[MAX_LISTEN];
static size_t nlisteners;
static struct xfer **active;
static size_t nactive;
static struct ev_loop *loop;
static int stop;
static uint8_t rxbuf[RX_MAX];
static struct {
	uint8_t *buf;
	size_t *len;
	uint8_t *scratch;
	size_t slot_len;
	unsigned max;
	struct mmsghdr *msgs;
	struct iovec *iov;
} txb;
static uint64_t last_drop_log_ms;
static unsigned long drops;

/* Returns a monotonic clock reading in milliseconds. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char usage_text[] =
	"usage: wupan-tftpd --root DIR [--listen ADDR[:PORT]]... "
	"[--allow-write] [--max-clients N]\n"
	"       [--max-per-client N] [--blksize-max N] "
	"[--windowsize-max N] [--timeout S]\n"
	"       [--timeout-max S] [--max-upload MIB] [--retries N] [--map FILE] [--user USER] [--chroot] [-v]\n"
	"       wupan-tftpd --help | --version\n";

/* Prints a usage error and exits with status 2. */
__attribute__((noreturn, format(printf, 1, 2))) static void
usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wupan-tftpd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	va_end(ap);
	exit(2);
}

/* FNV-1a over a request, to tell a retransmitted request from a new one. */
static uint64_t req_hash(const uint8_t *buf, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 1099511628211ull;
	return h;
}

/* Session read callback: serves blocks from a per-transfer read cache so a
 * lock-step transfer costs one pread per cache fill, not one per block. */
static long xfer_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	struct xfer *x = ctx;
	size_t done = 0;

	while (done < len) {
		if (off >= x->cache_off && off < x->cache_off + x->cache_len) {
			size_t n = (size_t)(x->cache_off + x->cache_len - off);

			if (n > len - done)
				n = len - done;
			memcpy(buf + done, x->cache + (off - x->cache_off), n);
			done += n;
			off += n;
			continue;
		}
		ssize_t r =
			pread(x->file_fd, x->cache, x->cache_cap, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		x->cache_off = off;
		x->cache_len = (size_t)r;
		if (r == 0)
			break;
	}
	return (long)done;
}

/* Session write callback. */
static int xfer_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len)
{
	struct xfer *x = ctx;

	while (len) {
		ssize_t r = pwrite(x->file_fd, buf, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Prepares the shared transmit buffer for a session call. */
static struct tftp_tx *tx_reset(struct tftp_tx *tx)
{
	tx->buf = txb.buf;
	tx->slot_len = txb.slot_len;
	tx->max = txb.max;
	tx->n = 0;
	tx->len = txb.len;
	tx->scratch = txb.scratch;
	return tx;
}

/* Sends what a session call queued: one sendmmsg for a whole window.  A full
 * socket buffer drops the rest; the retransmit timer recovers. */
static void tx_flush(int fd, const struct tftp_tx *tx)
{
	if (tx->n == 1) {
		if (send(fd, tx->buf, tx->len[0], 0) < 0 && cfg.verbose)
			log_line("send: %s", strerror(errno));
		return;
	}
	for (unsigned i = 0; i < tx->n; i++) {
		txb.iov[i].iov_base = tx->buf + (size_t)i * tx->slot_len;
		txb.iov[i].iov_len = tx->len[i];
		memset(&txb.msgs[i].msg_hdr, 0, sizeof(txb.msgs[i].msg_hdr));
		txb.msgs[i].msg_hdr.msg_iov = &txb.iov[i];
		txb.msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (unsigned sent = 0; sent < tx->n;) {
		int r = sendmmsg(fd, txb.msgs + sent, tx->n - sent, 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		sent += (unsigned)r;
	}
}

/* Logs one finished transfer and frees it. */
static void xfer_close(struct xfer *x, uint64_t now)
{
	const char *res = tftp_result_str(&x->s);
	char extra[64] = "";

	if (x->s.result == TFTP_PEER_ERROR)
		snprintf(extra, sizeof(extra), " error=%u", x->s.peer_errcode);
	else if (x->s.result == TFTP_LOCAL_ERROR)
		snprintf(extra, sizeof(extra), " error=\"%s\"",
			 strerror(x->s.local_errno));
	log_line("client=%s op=%s file=\"%s\" bytes=%llu blksize=%u "
		 "windowsize=%u result=%s%s duration=%.3fs",
		 x->client, x->s.writing ? "WRQ" : "RRQ", x->file,
		 (unsigned long long)x->s.bytes, x->s.opt.blksize,
		 x->s.opt.windowsize, res, extra,
		 (double)(now - x->start_ms) / 1000.0);
	if (x->s.writing && x->s.result != TFTP_OK && x->wbase)
		unlinkat(x->dir_fd, x->wbase, 0);
	ev_timer_cancel(loop, &x->timer);
	/* Closes x->fd; later events of this batch skip x, and its memory
	 * goes in xfer_release after the batch. */
	ev_close(loop, &x->src);
	if (x->file_fd >= 0)
		close(x->file_fd);
	if (x->dir_fd >= 0)
		close(x->dir_fd);
	active[x->idx] = active[--nactive];
	active[x->idx]->idx = x->idx;
}

/* Source: frees a closed transfer after its batch of events. */
static void xfer_release(struct ev_source *src)
{
	struct xfer *x = (struct xfer *)src;

	free(x->cache);
	free(x);
}

/* Arms the transfer's timer at its session's deadline. */
static void xfer_arm(struct xfer *x, uint64_t now)
{
	if (!x->s.deadline_ms)
		ev_timer_cancel(loop, &x->timer);
	else
		ev_timer_set(loop, &x->timer,
			     x->s.deadline_ms > now ? x->s.deadline_ms - now
						    : 0);
}

/* Refuses a request with an ERROR from a fresh transfer ID and logs it. */
static void refuse(int fd, const char *client, uint16_t op, const char *file,
		   uint16_t code, const char *why)
{
	uint8_t pkt[128];
	size_t n = tftp_error_build(pkt, sizeof(pkt), code,
				    why ? why : tftp_errcode_str(code));

	if (send(fd, pkt, n, 0) < 0 && cfg.verbose)
		log_line("send: %s", strerror(errno));
	log_line("client=%s op=%s file=\"%s\" result=refused error=%u (%s)",
		 client,
		 op == TFTP_WRQ   ? "WRQ"
		 : op == TFTP_RRQ ? "RRQ"
				  : "?",
		 file, code, why ? why : tftp_errcode_str(code));
}

/* Returns the largest blksize the path to the client carries unfragmented:
 * the MTU the kernel knows for the connected socket, less the IP, UDP and
 * TFTP headers (RFC 2348 asks not to exceed the MTU). */
static unsigned path_blksize(int fd, int family)
{
	int mtu = 0;
	socklen_t sl = sizeof(mtu);
	int hdr = (family == AF_INET ? 20 : 40) + 8 + TFTP_HDR_LEN;

	if (family == AF_INET) {
		if (getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &sl) != 0)
			return TFTP_BLKSIZE_MAX;
	} else if (getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &sl) != 0) {
		return TFTP_BLKSIZE_MAX;
	}
	if (mtu - hdr < TFTP_BLKSIZE_MIN)
		return TFTP_BLKSIZE_DEFAULT;
	return (unsigned)(mtu - hdr) > TFTP_BLKSIZE_MAX ? TFTP_BLKSIZE_MAX
							: (unsigned)(mtu - hdr);
}

/* Opens the transfer socket: bound to the address the request came to, so
 * multi-homed servers answer from the address the client talked to, and
 * connected to the client so the kernel drops strangers' packets. */
static int xfer_socket(const struct sockaddr_storage *local, socklen_t llen,
		       const struct sockaddr_storage *peer, socklen_t plen)
{
	int fd = socket(peer->ss_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (const struct sockaddr *)local, llen) != 0 ||
	    connect(fd, (const struct sockaddr *)peer, plen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Counts transfers from one address; finds one from the same port. */
static unsigned count_peer(const struct sockaddr_storage *peer,
			   struct xfer **same_port)
{
	unsigned n = 0;

	*same_port = NULL;
	for (size_t i = 0; i < nactive; i++) {
		if (!net_addr_same(&active[i]->peer, peer, 0))
			continue;
		n++;
		if (net_addr_same(&active[i]->peer, peer, 1))
			*same_port = active[i];
	}
	return n;
}

/* Logs dropped requests at most once a second, so a flood cannot flood the
 * log either. */
static void note_drop(uint64_t now, const char *client, const char *why)
{
	drops++;
	if (now - last_drop_log_ms < 1000 && last_drop_log_ms)
		return;
	last_drop_log_ms = now;
	log_line("dropping requests (%s; last from %s; %lu dropped so far)",
		 why, client, drops);
}

/* Opens the file of a request; returns 0 or a TFTP error code with *why. */
static int xfer_open(struct xfer *x, const struct tftp_req *req, uint64_t *size,
		     const char **why)
{
	char name[TFTP_PATH_MAX];
	long n = tftp_map_apply(&cfg.map, req->file, req->file_len, name,
				sizeof(name));
	int fd;

	*why = NULL;
	if (n < 0)
		return TFTP_EACCESS;
	if (req->op == TFTP_WRQ) {
		if (!cfg.allow_write) {
			*why = "Access violation: server is read-only";
			return TFTP_EACCESS;
		}
		fd = tftp_path_create(cfg.root_fd, name, &x->dir_fd, &x->wbase);
		if (fd >= 0) {
			/* wbase points into name: keep a copy. */
			size_t off = (size_t)(x->wbase - name);

			memcpy(x->wname, name, (size_t)n + 1);
			x->wbase = x->wname + off;
		} else {
			x->wbase = NULL; /* nothing was created */
		}
		*size = UINT64_MAX;
	} else {
		fd = tftp_path_open_read(cfg.root_fd, name, cfg.map.nocase,
					 size);
	}
	if (fd < 0)
		return tftp_path_errcode(fd) ? tftp_path_errcode(fd) : -1;
	x->file_fd = fd;
	return 0;
}

static void xfer_timer(struct ev_loop *l, struct ev_timer *t);
static void xfer_event(struct ev_loop *l, struct ev_source *src, uint32_t ev);

/* Handles one request that arrived on a listening socket. */
static void handle_request(const uint8_t *buf, size_t len,
			   const struct sockaddr_storage *peer, socklen_t plen,
			   const struct sockaddr_storage *local, socklen_t llen,
			   uint64_t now)
{
	struct tftp_opt_limits lim;
	struct tftp_session_cfg scfg;
	struct tftp_io io;
	struct tftp_req req;
	struct tftp_tx tx;
	struct xfer *x, *dup;
	char client[INET6_ADDRSTRLEN + 8];
	uint64_t size = UINT64_MAX, h;
	const char *why;
	int rc, fd;
	unsigned cap;

	/* Anything that is not a request is ignored: answering strangers'
	 * junk would make us a reflector. */
	if (len < 2 || buf[0] != 0 ||
	    (buf[1] != TFTP_RRQ && buf[1] != TFTP_WRQ))
		return;
	net_addr_str(peer, client, sizeof(client));
	h = req_hash(buf, len);
	if (count_peer(peer, &dup) && dup) {
		/* The same request again from the same port is the client
		 * retransmitting it; the transfer already under way answers.
		 * A different one means the client has moved on (UEFI sends
		 * its real request right after aborting the tsize probe). */
		if (dup->req_hash == h)
			return;
		tftp_session_abort(&dup->s, TFTP_SUPERSEDED);
		xfer_close(dup, now);
	}
	if (nactive >= cfg.max_clients) {
		note_drop(now, client, "--max-clients reached");
		return;
	}
	if (count_peer(peer, &dup) >= cfg.max_per_client) {
		note_drop(now, client, "--max-per-client reached");
		return;
	}
	fd = xfer_socket(local, llen, peer, plen);
	if (fd < 0) {
		log_line("client=%s: transfer socket: %s", client,
			 strerror(errno));
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		close(fd);
		return;
	}
	x->fd = fd;
	x->file_fd = x->dir_fd = -1;
	x->peer = *peer;
	x->peer_len = plen;
	x->start_ms = now;
	x->req_hash = h;
	memcpy(x->client, client, sizeof(client));

	rc = tftp_req_parse(buf, len, &req);
	if (rc != 0) {
		strcpy(x->file, "?");
		if (req.file)
			tftp_log_escape(req.file, req.file_len, x->file,
					sizeof(x->file));
		refuse(fd, client, req.op, x->file, TFTP_EBADOP,
		       rc == -EPROTO
			       ? "Illegal TFTP operation: unknown mode"
			       : "Illegal TFTP operation: malformed request");
		goto err_free;
	}
	tftp_log_escape(req.file, req.file_len, x->file, sizeof(x->file));
	rc = xfer_open(x, &req, &size, &why);
	if (rc != 0) {
		refuse(fd, client, req.op, x->file,
		       rc < 0 ? TFTP_EUNDEF : (uint16_t)rc, why);
		goto err_free;
	}
	if (req.op == TFTP_RRQ) {
		x->cache_cap = size < 4096        ? 4096
			       : size > CACHE_MAX ? CACHE_MAX
						  : (size_t)size;
		x->cache = malloc(x->cache_cap);
		if (!x->cache)
			goto err_free;
	}
	cap = path_blksize(fd, peer->ss_family);
	lim.blksize_max =
		(uint16_t)(cfg.blksize_max < cap ? cfg.blksize_max : cap);
	lim.windowsize_max = (uint16_t)cfg.windowsize_max;
	lim.timeout_max = (uint8_t)cfg.timeout_max;
	scfg.timeout_ms = cfg.timeout_s * 1000;
	scfg.rto_min_ms = RTO_MIN_MS;
	scfg.retries = cfg.retries;
	scfg.max_upload = cfg.max_upload;
	io.read = xfer_read;
	io.write = xfer_write;
	io.ctx = x;
	if (tftp_session_init(&x->s, &req, &lim, size, &scfg, &io) != 0) {
		refuse(fd, client, req.op, x->file, TFTP_EOPTNEG, NULL);
		goto err_free;
	}
	if (cfg.verbose)
		log_line("client=%s op=%s file=\"%s\" start blksize=%u "
			 "windowsize=%u oack=%s",
			 client, req.op == TFTP_WRQ ? "WRQ" : "RRQ", x->file,
			 x->s.opt.blksize, x->s.opt.windowsize,
			 x->s.opt.nacked ? "yes" : "no");
	x->src.type = EV_T_DGRAM;
	x->src.fd = fd;
	x->src.cb = xfer_event;
	x->src.release = xfer_release;
	x->timer.cb = xfer_timer;
	if (ev_add(loop, &x->src, EPOLLIN) != 0)
		goto err_free;
	x->idx = nactive;
	active[nactive++] = x;
	tftp_session_start(&x->s, now, tx_reset(&tx));
	tx_flush(fd, &tx);
	if (x->s.state == TFTP_ST_DONE)
		xfer_close(x, now);
	else
		xfer_arm(x, now);
	return;

err_free:
	if (x->file_fd >= 0)
		close(x->file_fd);
	if (x->wbase)
		unlinkat(x->dir_fd, x->wbase, 0);
	if (x->dir_fd >= 0)
		close(x->dir_fd);
	free(x->cache);
	free(x);
	close(fd);
}

/* Reads requests from a listening socket until it is drained. */
static void listener_ready(struct listener *l, uint64_t now)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer, local;
		char cbuf[256];
		struct iovec iov = { rxbuf, sizeof(rxbuf) };
		struct msghdr mh = { 0 };
		struct cmsghdr *c;
		socklen_t llen;
		ssize_t n;

		mh.msg_name = &peer;
		mh.msg_namelen = sizeof(peer);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(l->fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		memset(&local, 0, sizeof(local));
		local.ss_family = (sa_family_t)l->family;
		if (l->family == AF_INET) {
			struct sockaddr_in *s4 = (void *)&local;

			llen = sizeof(*s4);
			for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == IPPROTO_IP &&
				    c->cmsg_type == IP_PKTINFO) {
					struct in_pktinfo pi;

					memcpy(&pi, CMSG_DATA(c), sizeof(pi));
					s4->sin_addr = pi.ipi_addr;
				}
		} else {
			struct sockaddr_in6 *s6 = (void *)&local;

			llen = sizeof(*s6);
			for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == IPPROTO_IPV6 &&
				    c->cmsg_type == IPV6_PKTINFO) {
					struct in6_pktinfo pi;

					memcpy(&pi, CMSG_DATA(c), sizeof(pi));
					s6->sin6_addr = pi.ipi6_addr;
					if (IN6_IS_ADDR_LINKLOCAL(
						    &pi.ipi6_addr))
						s6->sin6_scope_id =
							pi.ipi6_ifindex;
				}
		}
		handle_request(rxbuf, (size_t)n, &peer, mh.msg_namelen, &local,
			       llen, now);
	}
}

/* Reads one packet of a transfer and feeds it to its session. */
static void xfer_ready(struct xfer *x, uint64_t now)
{
	struct tftp_tx tx;
	ssize_t n = recv(x->fd, rxbuf, sizeof(rxbuf), MSG_DONTWAIT);

	if (n < 0) {
		/* ICMP port unreachable: the client is gone, stop sending
		 * to it instead of retrying into the void. */
		if (errno == ECONNREFUSED) {
			tftp_session_abort(&x->s, TFTP_PEER_GONE);
			xfer_close(x, now);
		}
		return;
	}
	tftp_session_input(&x->s, rxbuf, (size_t)n, now, tx_reset(&tx));
	tx_flush(x->fd, &tx);
	if (x->s.state == TFTP_ST_DONE)
		xfer_close(x, now);
	else
		xfer_arm(x, now);
}

/* Timer: a transfer's retransmit deadline passed. */
static void xfer_timer(struct ev_loop *l, struct ev_timer *t)
{
	struct xfer *x =
		(struct xfer *)((char *)t - offsetof(struct xfer, timer));
	uint64_t now = now_ms();
	struct tftp_tx tx;

	(void)l;
	tftp_session_timer(&x->s, now, tx_reset(&tx));
	tx_flush(x->fd, &tx);
	if (x->s.state == TFTP_ST_DONE)
		xfer_close(x, now);
	else
		xfer_arm(x, now);
}

/* Source: a transfer's socket is readable. */
static void xfer_event(struct ev_loop *l, struct ev_source *src, uint32_t ev)
{
	(void)l;
	(void)ev;
	xfer_ready((struct xfer *)src, now_ms());
}

/* Source: a listening socket is readable. */
static void listener_event(struct ev_loop *l, struct ev_source *src,
			   uint32_t ev)
{
	(void)l;
	(void)ev;
	listener_ready((struct listener *)src, now_ms());
}

/* Parses ADDR, ADDR:PORT, [V6ADDR]:PORT or *:PORT into listeners. */
static void add_listen(const char *arg)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port_s = NULL;
	uint64_t port = 69;
	size_t hl;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (!end || (end[1] && end[1] != ':'))
			usage_err("bad --listen '%s'", arg);
		hl = (size_t)(end - arg - 1);
		if (hl >= sizeof(host))
			usage_err("bad --listen '%s'", arg);
		memcpy(host, arg + 1, hl);
		host[hl] = 0;
		if (end[1] == ':')
			port_s = end + 2;
	} else {
		const char *colon = strchr(arg, ':');

		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - arg) : strlen(arg);
		if (hl >= sizeof(host))
			usage_err("bad --listen '%s'", arg);
		memcpy(host, arg, hl);
		host[hl] = 0;
		if (colon)
			port_s = colon + 1;
	}
	if (port_s && parse_u64(port_s, 1, 65535, &port) != 0)
		usage_err("bad port in --listen '%s'", arg);
	for (int fam = 0; fam < 2; fam++) {
		struct listener *l;
		struct sockaddr_storage ss;
		socklen_t sl;
		int one = 1, any = host[0] == 0 || strcmp(host, "*") == 0;

		memset(&ss, 0, sizeof(ss));
		if (fam == 0) {
			struct sockaddr_in *s4 = (void *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			if (!any &&
			    inet_pton(AF_INET, host, &s4->sin_addr) != 1)
				continue;
			sl = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (void *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			if (!any &&
			    inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
				continue;
			sl = sizeof(*s6);
		}
		if (nlisteners >= MAX_LISTEN)
			usage_err("too many --listen addresses");
		l = &listeners[nlisteners];
		l->family = ss.ss_family;
		l->fd = socket(ss.ss_family,
			       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (l->fd < 0) {
			if (any && errno == EAFNOSUPPORT)
				continue; /* no IPv6 on this host */
			usage_err("socket for '%s': %s", arg, strerror(errno));
		}
		if (fam == 0)
			setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &one,
				   sizeof(one));
		else {
			setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				   sizeof(one));
			setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				   sizeof(one));
		}
		if (bind(l->fd, (struct sockaddr *)&ss, sl) != 0) {
			if (any && fam == 1 && errno == EADDRNOTAVAIL) {
				close(l->fd);
				continue;
			}
			fprintf(stderr,
				"wupan-tftpd: cannot listen on %s: %s\n", arg,
				strerror(errno));
			exit(2);
		}
		nlisteners++;
	}
	if (!nlisteners)
		usage_err("bad address in --listen '%s'", arg);
}

/* Parses a bounded number option or exits with status 2. */
static unsigned num_arg(const char *name, const char *s, uint64_t min,
			uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, min, max, &v) != 0)
		usage_err("--%s must be a number from %llu to %llu, not '%s'",
			  name, (unsigned long long)min,
			  (unsigned long long)max, s);
	return (unsigned)v;
}

/* Reads and parses the --map file, or exits with status 2. */
static void load_map(const char *path)
{
	static char text[64 * 1024];
	FILE *f = fopen(path, "r");
	size_t n;
	unsigned line = 0;

	if (!f)
		usage_err("cannot open --map file %s: %s", path,
			  strerror(errno));
	n = fread(text, 1, sizeof(text), f);
	if (ferror(f) || !feof(f))
		usage_err("cannot read --map file %s (64 KiB at most)", path);
	fclose(f);
	if (tftp_map_parse(&cfg.map, text, n, &line) != 0)
		usage_err("%s:%u: bad map rule", path, line);
}

/* Source: SIGINT and SIGTERM, through a signalfd, set the stop flag. */
static void signal_event(struct ev_loop *l, struct ev_source *src, uint32_t ev)
{
	struct signalfd_siginfo si;

	(void)l;
	(void)ev;
	while (read(src->fd, &si, sizeof(si)) == sizeof(si))
		stop = 1;
}

/* Parses the command line into cfg. */
static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "allow-write", no_argument, NULL, 'w' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "max-per-client", required_argument, NULL, 'C' },
		{ "blksize-max", required_argument, NULL, 'b' },
		{ "windowsize-max", required_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'R' },
		{ "timeout-max", required_argument, NULL, 'T' },
		{ "max-upload", required_argument, NULL, 'U' },
		{ "map", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "user", required_argument, NULL, 'u' },
		{ "chroot", no_argument, NULL, 'X' },
		{ 0 },
	};
	const char *listen_args[MAX_LISTEN], *map = NULL;
	size_t nlisten = 0;
	struct stat st;
	int c;

	cfg.max_clients = 256;
	cfg.max_per_client = 32;
	cfg.blksize_max = TFTP_BLKSIZE_MAX;
	cfg.windowsize_max = 64;
	cfg.timeout_s = 1;
	cfg.timeout_max = 10;
	cfg.max_upload = 64ull << 20;
	cfg.retries = 5;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cfg.root = optarg;
			break;
		case 'l':
			if (nlisten >= MAX_LISTEN)
				usage_err("too many --listen addresses");
			listen_args[nlisten++] = optarg;
			break;
		case 'w':
			cfg.allow_write = 1;
			break;
		case 'c':
			cfg.max_clients =
				num_arg("max-clients", optarg, 1, 65536);
			break;
		case 'C':
			cfg.max_per_client =
				num_arg("max-per-client", optarg, 1, 65536);
			break;
		case 'b':
			cfg.blksize_max = num_arg("blksize-max", optarg,
						  TFTP_BLKSIZE_MIN,
						  TFTP_BLKSIZE_MAX);
			break;
		case 'W':
			cfg.windowsize_max =
				num_arg("windowsize-max", optarg, 1, 256);
			break;
		case 't':
			cfg.timeout_s = num_arg("timeout", optarg, 1, 255);
			break;
		case 'T':
			cfg.timeout_max =
				num_arg("timeout-max", optarg, 1, 255);
			break;
		case 'U':
			cfg.max_upload = (uint64_t)num_arg("max-upload", optarg,
							   1, UINT32_MAX)
					 << 20;
			break;
		case 'R':
			cfg.retries = num_arg("retries", optarg, 1, 100);
			break;
		case 'm':
			map = optarg;
			break;
		case 'v':
			cfg.verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			fputs(WUPAN_VERSION_LINE("wupan-tftpd"), stdout);
			exit(0);
		case 'u':
			cfg.user = optarg;
			break;
		case 'X':
			cfg.chroot_root = 1;
			break;
		case ':':
			usage_err("option %s needs an argument",
				  argv[optind - 1]);
		default:
			usage_err("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_err("unexpected argument '%s'", argv[optind]);
	if (!cfg.root)
		usage_err("--root DIR is required");
	if (stat(cfg.root, &st) != 0)
		usage_err("root %s: %s", cfg.root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		usage_err("root %s is not a directory", cfg.root);
	cfg.root_fd = open(cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg.root_fd < 0)
		usage_err("cannot open root %s: %s", cfg.root, strerror(errno));
	if (map)
		load_map(map);
	if (nlisten == 0)
		add_listen("*:69");
	for (size_t i = 0; i < nlisten; i++)
		add_listen(listen_args[i]);
}

/* Raises the open-file limit to what --max-clients needs (two descriptors a
 * transfer), as far as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg.max_clients * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_line("warning: open-file limit %llu is below what "
			 "--max-clients %u needs",
			 (unsigned long long)rl.rlim_cur, cfg.max_clients);
}

/* Allocates the shared transmit buffer: one window of the largest blocks. */
static void alloc_tx(void)
{
	txb.slot_len = TFTP_HDR_LEN + cfg.blksize_max;
	txb.max = cfg.windowsize_max;
	txb.buf = malloc(txb.slot_len * txb.max);
	txb.len = calloc(txb.max, sizeof(*txb.len));
	txb.scratch = malloc(txb.slot_len);
	txb.msgs = calloc(txb.max, sizeof(*txb.msgs));
	txb.iov = calloc(txb.max, sizeof(*txb.iov));
	active = calloc(cfg.max_clients, sizeof(*active));
	if (!txb.buf || !txb.len || !txb.scratch || !txb.msgs || !txb.iov ||
	    !active) {
		fprintf(stderr, "wupan-tftpd: out of memory\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static struct ev_source sig = { .type = EV_T_SIGNAL,
					.cb = signal_event };
	sigset_t mask;

	log_init("wupan-tftpd");
	parse_args(argc, argv);
	raise_nofile();
	alloc_tx();
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A hang-up (a closed terminal, a reload habit of init scripts) must
	 * not stop every PC's boot: there is nothing to reload. */
	signal(SIGHUP, SIG_IGN);

	loop = ev_loop_new();
	sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!loop || sig.fd < 0 || ev_add(loop, &sig, EPOLLIN) != 0) {
		perror("wupan-tftpd: event loop");
		return 1;
	}
	for (size_t i = 0; i < nlisteners; i++) {
		listeners[i].src.type = EV_T_DGRAM;
		listeners[i].src.fd = listeners[i].fd;
		listeners[i].src.cb = listener_event;
		if (ev_add(loop, &listeners[i].src, EPOLLIN) != 0) {
			perror("wupan-tftpd: event loop");
			return 1;
		}
	}
	/* Port 69 is bound and the root is open (files are opened beneath
	 * cfg.root_fd, which stays valid inside the chroot). */
	if (cfg.user || cfg.chroot_root) {
		char err[512];

		if (priv_drop(cfg.user, cfg.chroot_root ? cfg.root : NULL, err,
			      sizeof(err))) {
			fprintf(stderr, "wupan-tftpd: %s\n", err);
			return 1;
		}
		if (cfg.chroot_root)
			log_line("confined to %s", cfg.root);
		if (cfg.user)
			log_line("running as user %s", cfg.user);
	}
	log_line("serving %s on %zu socket(s)%s", cfg.root, nlisteners,
		 cfg.allow_write ? ", writes allowed" : ", read-only");

	while (!stop) {
		if (ev_run_once(loop, -1) < 0) {
			perror("wupan-tftpd: epoll_wait");
			return 1;
		}
	}
	while (nactive) {
		tftp_session_abort(&active[0]->s, TFTP_STOPPED);
		xfer_close(active[0], now_ms());
	}
	ev_loop_free(loop); /* frees the closed transfers */
	log_line("stopped");
	return 0;
}
