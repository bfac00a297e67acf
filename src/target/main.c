/* wupan-target: the socket driver around the pure iSCSI core.  It owns the
 * listening sockets, one epoll loop, signals, the backing files and the log;
 * everything protocol-shaped happens in conn.c, login.c and scsi.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/privdrop.h"
#include "common/version.h"
#include "target/backend.h"
#include "target/config.h"
#include "target/conn.h"
#include "target/hash.h"

#define RX_CAP (ISCSI_MAX_PDU + 65536)
#define MAX_LISTEN 64
#define MAX_CONNS 4096

/* A target with its opened units. */
struct drv_target {
	struct iscsi_target core;
	struct scsi_lu *lus;
	struct backend_file *files;
	size_t n;
};

/* One accepted connection. */
struct drv_conn {
	struct drv_conn *next;
	int fd;
	uint32_t events;
	struct iscsi_conn core;
	uint8_t *rx;
	size_t rx_off;  /* first unconsumed byte */
	size_t rx_len;  /* end of received bytes */
	char peer[80];
	int dead; /* closed; freed after the current batch of events */
};

static struct {
	char **argv;
	int argc;
	struct tcfg cfg;
	struct drv_target **targets;
	size_t n_targets;
	struct iscsi_env env;
	int epfd;
	int sigfd;
	int listen_fds[MAX_LISTEN];
	size_t n_listen;
	struct drv_conn *conns;
	size_t n_conns;
} drv;

/* Copies an untrusted name for logging, escaping what is not printable. */
static const char *escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 5 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x21 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
	}
	out[o] = 0;
	return out;
}

/* Fills buf from getrandom(2): CHAP challenges must be unpredictable. */
static void random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* No randomness means no safe challenge: stop. */
			log_line("getrandom: %s", strerror(errno));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Prints the synopsis. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: wupan-target [--config FILE] [--listen ADDR[:PORT]]...\n"
		"         [--target IQN --lun PATH[,ro] [--lun PATH[,ro]]...\n"
		"          [--chap USER:SECRET|USER:@FILE]\n"
		"          [--mutual-chap USER:SECRET|USER:@FILE]\n"
		"          [--allow INITIATOR-PATTERN]... [--portal ADDR:PORT]]...\n"
		"         [--user USER]\n"
		"       wupan-target --help | --version\n");
}

/* Syncs and closes the units opened so far (dt->n) and frees dt. */
static void target_close(struct drv_target *dt)
{
	for (size_t i = 0; i < dt->n; i++)
		backend_file_close(&dt->files[i]);
	free(dt->lus);
	free(dt->files);
	free(dt->core.map.luns);
	free(dt);
}

/* Opens the units of one target; returns NULL with err set. */
static struct drv_target *target_open(const struct tcfg_target *t, char *err,
				      size_t errlen)
{
	struct drv_target *dt = calloc(1, sizeof(*dt));
	char msg[512];

	if (!dt)
		goto err_alloc;
	dt->lus = calloc(t->n_luns, sizeof(*dt->lus));
	dt->files = calloc(t->n_luns, sizeof(*dt->files));
	dt->core.map.luns = calloc(t->n_luns, sizeof(*dt->core.map.luns));
	if (!dt->lus || !dt->files || !dt->core.map.luns)
		goto err_alloc;
	dt->core.cfg = t;
	for (size_t i = 0; i < t->n_luns; i++) {
		struct scsi_lu *lu = &dt->lus[i];
		uint8_t h[SHA256_LEN];
		struct hash_part parts[2] = {{t->name, strlen(t->name) + 1},
					     {&i, sizeof(i)}};

		if (backend_file_open(&dt->files[i], lu, t->luns[i].path,
				      t->luns[i].ro, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%d: LUN %zu: %s", t->file,
				 t->luns[i].line, i, msg);
			dt->n = i;
			goto err_open;
		}
		/* A stable identity per target and LUN: Windows tells disks
		 * apart by the NAA designator built from it. */
		sha256_parts(parts, 2, h);
		lu->id = 0;
		for (int k = 0; k < 8; k++)
			lu->id = lu->id << 8 | h[k];
		lu->target = t->name;
		dt->core.map.luns[i] = lu;
	}
	dt->n = t->n_luns;
	dt->core.map.n = t->n_luns;
	return dt;
err_alloc:
	snprintf(err, errlen, "out of memory");
err_open:
	if (dt)
		target_close(dt);
	return NULL;
}

/* Points the core's environment at the current targets. */
static int env_update(void)
{
	struct iscsi_target **list =
		calloc(drv.n_targets ? drv.n_targets : 1, sizeof(*list));

	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < drv.n_targets; i++)
		list[i] = &drv.targets[i]->core;
	free(drv.env.targets);
	drv.env.targets = list;
	drv.env.n_targets = drv.n_targets;
	return 0;
}

/* Makes a listening socket for "ADDR[:PORT]"; returns fd or -1. */
static int listen_on(const char *spec, char *err, size_t errlen)
{
	char host[256], portstr[8];
	unsigned port;
	struct addrinfo hints = {0}, *ai;
	int fd, one = 1, rc;

	if (tcfg_split_addr(spec, host, sizeof(host), &port)) {
		snprintf(err, errlen, "bad address %s", spec);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto err_sock;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 256)) {
		close(fd);
		goto err_sock;
	}
	freeaddrinfo(ai);
	return fd;
err_sock:
	snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	return -1;
}

/* Formats a socket address as HOST:PORT with IPv6 in brackets. */
static void addr_str(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], host,
				  sizeof(host));
			snprintf(out, cap, "%s:%u", host, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			snprintf(out, cap, "[%s]:%u", host,
				 ntohs(s6->sin6_port));
		}
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(s4->sin_port));
	}
}

/* Changes what epoll watches for a connection, only when it differs. */
static void conn_set_events(struct drv_conn *dc, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = dc};

	if (ev == dc->events)
		return;
	epoll_ctl(drv.epfd, EPOLL_CTL_MOD, dc->fd, &e);
	dc->events = ev;
}

/* Closes a connection and logs the end of its session.  The memory stays
 * until conn_sweep, as later events of the same epoll batch may name it. */
static void conn_close(struct drv_conn *dc, const char *why)
{
	char ini[TCFG_NAME_MAX * 4 + 8];

	if (dc->dead)
		return;
	if (dc->core.phase == ISCSI_PHASE_FULL || why)
		log_line("logout initiator=%s addr=%s target=%s result=%s",
		      escape(dc->core.initiator, ini, sizeof(ini)), dc->peer,
		      dc->core.discovery ? "(discovery)"
		      : dc->core.target  ? dc->core.target->cfg->name
					 : "-",
		      why ? why : "closed");
	epoll_ctl(drv.epfd, EPOLL_CTL_DEL, dc->fd, NULL);
	close(dc->fd);
	dc->fd = -1;
	dc->dead = 1;
}

/* Frees the connections closed since the last sweep. */
static void conn_sweep(void)
{
	struct drv_conn **link = &drv.conns;

	while (*link) {
		struct drv_conn *dc = *link;

		if (!dc->dead) {
			link = &dc->next;
			continue;
		}
		*link = dc->next;
		iscsi_conn_release(&dc->core);
		free(dc->rx);
		free(dc);
		drv.n_conns--;
	}
}

/* RFC 7143 §6.3.5: a new session with the same initiator name, ISID and
 * target replaces the old one (iPXE reconnects this way). */
static void reinstate(struct drv_conn *dc)
{
	struct drv_conn *o, *next;

	for (o = drv.conns; o; o = next) {
		next = o->next;
		if (o == dc || o->dead || o->core.phase != ISCSI_PHASE_FULL ||
		    o->core.discovery != dc->core.discovery ||
		    o->core.target != dc->core.target ||
		    memcmp(o->core.isid, dc->core.isid, 6) ||
		    strcmp(o->core.initiator, dc->core.initiator))
			continue;
		conn_close(o, "reinstated");
	}
}

/* Logs what the core reported. */
static void conn_events(struct drv_conn *dc)
{
	struct iscsi_conn *c = &dc->core;
	char ini[TCFG_NAME_MAX * 4 + 8], tgt[TCFG_NAME_MAX * 4 + 8];

	switch (c->event) {
	case ISCSI_EV_LOGIN_OK:
		log_line("login initiator=%s addr=%s target=%s result=ok",
		      escape(c->initiator, ini, sizeof(ini)), dc->peer,
		      c->discovery ? "(discovery)" : c->target->cfg->name);
		reinstate(dc);
		break;
	case ISCSI_EV_LOGIN_FAIL:
		log_line("login initiator=%s addr=%s target=%s result=failed "
		      "status=0x%04x reason=%s",
		      escape(c->initiator[0] ? c->initiator : "-", ini,
			     sizeof(ini)),
		      dc->peer,
		      escape(c->target_name[0] ? c->target_name : "-", tgt,
			     sizeof(tgt)),
		      c->event_status, c->event_reason);
		break;
	case ISCSI_EV_LOGOUT:
		log_line("logout initiator=%s addr=%s target=%s result=ok",
		      escape(c->initiator, ini, sizeof(ini)), dc->peer,
		      c->discovery ? "(discovery)" : c->target->cfg->name);
		c->phase = ISCSI_PHASE_CLOSING;
		break;
	default:
		break;
	}
	c->event = ISCSI_EV_NONE;
}

/* Sends queued output; returns 0, or -1 if the connection is gone. */
static int conn_flush(struct drv_conn *dc)
{
	struct iscsi_obuf *o = &dc->core.out;

	while (o->off < o->len) {
		ssize_t n = send(dc->fd, o->buf + o->off, o->len - o->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		iscsi_obuf_consume(o, (size_t)n);
	}
	return 0;
}

/* Feeds buffered input to the core; returns the bytes it consumed. */
static size_t conn_process(struct drv_conn *dc)
{
	ssize_t used = iscsi_conn_rx(&dc->core, dc->rx + dc->rx_off,
				     dc->rx_len - dc->rx_off);

	conn_events(dc);
	if (used < 0) {
		dc->core.phase = ISCSI_PHASE_CLOSING;
		dc->rx_off = dc->rx_len = 0;
		return 0;
	}
	dc->rx_off += (size_t)used;
	if (dc->rx_off == dc->rx_len)
		dc->rx_off = dc->rx_len = 0;
	return (size_t)used;
}

/* Makes sure a PDU of the largest size fits from the first unconsumed
 * byte: the unconsumed bytes move to the front only when it would not. */
static void rx_compact(struct drv_conn *dc)
{
	if (dc->rx_off + ISCSI_MAX_PDU <= RX_CAP)
		return;
	memmove(dc->rx, dc->rx + dc->rx_off, dc->rx_len - dc->rx_off);
	dc->rx_len -= dc->rx_off;
	dc->rx_off = 0;
}

/* Handles readiness of one connection. */
static void conn_ready(struct drv_conn *dc, uint32_t ev)
{
	int eof = 0;

	if (dc->dead)
		return;
	/* A reset or error: nothing more can be sent or received. */
	if (ev & (EPOLLERR | EPOLLHUP)) {
		conn_close(dc, dc->core.phase == ISCSI_PHASE_FULL
				       ? "connection lost"
				       : NULL);
		return;
	}
	if (ev & EPOLLIN && iscsi_conn_wants_input(&dc->core)) {
		ssize_t n;

		rx_compact(dc);
		n = recv(dc->fd, dc->rx + dc->rx_len, RX_CAP - dc->rx_len,
			 MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			eof = 1;
		else if (n > 0)
			dc->rx_len += (size_t)n;
	}
	for (;;) {
		size_t used = 0;

		if (dc->rx_len > dc->rx_off &&
		    iscsi_conn_wants_input(&dc->core))
			used = conn_process(dc);
		if (conn_flush(dc)) {
			conn_close(dc, dc->core.phase == ISCSI_PHASE_FULL
					       ? "connection lost"
					       : NULL);
			return;
		}
		/* Output drained below the mark with input still waiting:
		 * go round again rather than wait for the socket. */
		if (!(used && dc->rx_len - dc->rx_off >= ISCSI_BHS_LEN &&
		      iscsi_conn_wants_input(&dc->core) &&
		      dc->core.out.len == dc->core.out.off))
			break;
	}
	if (eof && dc->core.out.off == dc->core.out.len) {
		conn_close(dc, dc->core.phase == ISCSI_PHASE_FULL
				       ? "connection lost"
				       : NULL);
		return;
	}
	if (dc->core.phase == ISCSI_PHASE_CLOSING &&
	    dc->core.out.off == dc->core.out.len) {
		conn_close(dc, NULL);
		return;
	}
	if (eof) {
		conn_close(dc, "connection lost");
		return;
	}
	conn_set_events(dc, (iscsi_conn_wants_input(&dc->core) ? EPOLLIN : 0) |
				    (dc->core.out.off < dc->core.out.len
					     ? EPOLLOUT
					     : 0) |
				    EPOLLRDHUP);
}

/* Accepts every pending connection on a listening socket. */
static void accept_all(int lfd)
{
	for (;;) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct drv_conn *dc;
		struct epoll_event e;
		char laddr[80];
		int one = 1, idle = 30, intvl = 10, cnt = 3;

		if (fd < 0)
			return;
		if (drv.n_conns >= MAX_CONNS) {
			close(fd);
			continue;
		}
		dc = calloc(1, sizeof(*dc));
		if (!dc || !(dc->rx = malloc(RX_CAP))) {
			free(dc);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* iPXE never answers NOP-In and its session is abandoned,
		 * not logged out, when the OS takes over: TCP keepalive is
		 * what finds it gone. */
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
			   sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
		getsockname(fd, (struct sockaddr *)&local, &llen);
		addr_str(&local, laddr, sizeof(laddr));
		addr_str(&peer, dc->peer, sizeof(dc->peer));
		dc->fd = fd;
		iscsi_conn_init(&dc->core, &drv.env, laddr);
		dc->events = EPOLLIN | EPOLLRDHUP;
		e.events = dc->events;
		e.data.ptr = dc;
		if (epoll_ctl(drv.epfd, EPOLL_CTL_ADD, fd, &e)) {
			close(fd);
			free(dc->rx);
			free(dc);
			continue;
		}
		dc->next = drv.conns;
		drv.conns = dc;
		drv.n_conns++;
	}
}

/* Re-reads the configuration (SIGHUP).  Targets defined exactly as before
 * keep their open units and sessions; the others' sessions end. */
static void reload(void)
{
	struct tcfg ncfg = {0};
	struct drv_target **nt;
	char err[1024];
	size_t i;

	if (tcfg_parse_args(&ncfg, drv.argc, drv.argv, err, sizeof(err))) {
		log_line("reload failed, keeping the old configuration: %s", err);
		tcfg_free(&ncfg);
		return;
	}
	nt = calloc(ncfg.n_targets, sizeof(*nt));
	if (!nt) {
		tcfg_free(&ncfg);
		return;
	}
	for (i = 0; i < ncfg.n_targets; i++) {
		for (size_t j = 0; j < drv.n_targets; j++) {
			struct tcfg_target *old =
				(struct tcfg_target *)drv.targets[j]->core.cfg;

			if (drv.targets[j] && tcfg_target_same(old, ncfg.targets[i])) {
				nt[i] = drv.targets[j];
				break;
			}
		}
		if (!nt[i] && !(nt[i] = target_open(ncfg.targets[i], err,
						    sizeof(err)))) {
			log_line("reload failed, keeping the old configuration: %s",
			      err);
			for (size_t k = 0; k < i; k++) {
				int reused = 0;

				for (size_t j = 0; j < drv.n_targets; j++)
					reused |= nt[k] == drv.targets[j];
				if (!reused)
					target_close(nt[k]);
			}
			free(nt);
			tcfg_free(&ncfg);
			return;
		}
	}
	/* Sessions of targets that go away end now. */
	for (size_t j = 0; j < drv.n_targets; j++) {
		int kept = 0;

		for (i = 0; i < ncfg.n_targets; i++)
			kept |= nt[i] == drv.targets[j];
		if (kept)
			continue;
		for (struct drv_conn *dc = drv.conns, *next; dc; dc = next) {
			next = dc->next;
			if (dc->core.target == &drv.targets[j]->core) {
				conn_close(dc, "target changed by reload");
				/* Its unit pointers die with the target. */
				iscsi_conn_release(&dc->core);
				dc->core.target = NULL;
			}
		}
		target_close(drv.targets[j]);
	}
	/* Kept targets keep pointing at their old definitions: swap those
	 * into the new configuration so the old one can be freed. */
	for (i = 0; i < ncfg.n_targets; i++) {
		struct tcfg_target *old = (struct tcfg_target *)nt[i]->core.cfg;

		if (old == ncfg.targets[i])
			continue;
		for (size_t j = 0; j < drv.cfg.n_targets; j++) {
			if (drv.cfg.targets[j] == old) {
				drv.cfg.targets[j] = ncfg.targets[i];
				ncfg.targets[i] = old;
				break;
			}
		}
		nt[i]->core.cfg = ncfg.targets[i];
	}
	tcfg_free(&drv.cfg);
	drv.cfg = ncfg;
	free(drv.targets);
	drv.targets = nt;
	drv.n_targets = ncfg.n_targets;
	env_update();
	log_line("configuration reloaded: %zu targets", drv.n_targets);
}

/* Ends every session, flushing what is queued and syncing the units. */
static void shutdown_all(void)
{
	while (drv.conns) {
		struct drv_conn *dc = drv.conns;

		if (!dc->dead) {
			struct timeval tv = {1, 0};

			/* A last bounded attempt to deliver queued
			 * responses. */
			fcntl(dc->fd, F_SETFL,
			      fcntl(dc->fd, F_GETFL) & ~O_NONBLOCK);
			setsockopt(dc->fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
				   sizeof(tv));
			conn_flush(dc);
			shutdown(dc->fd, SHUT_RDWR);
			conn_close(dc, "target shutting down");
		}
		conn_sweep();
	}
	for (size_t i = 0; i < drv.n_targets; i++)
		target_close(drv.targets[i]);
	free(drv.targets);
	free(drv.env.targets);
	tcfg_free(&drv.cfg);
}

/* Adds the listening sockets: --listen/listen lines, else all addresses,
 * plus every per-target portal not already covered. */
static int open_listeners(char *err, size_t errlen)
{
	const char *defaults[] = {"0.0.0.0:3260", "[::]:3260"};
	const char **specs = calloc(drv.cfg.n_listen + drv.cfg.n_targets + 2,
				    sizeof(*specs));
	size_t n = 0;

	if (!specs)
		return -1;
	for (size_t i = 0; i < drv.cfg.n_listen; i++)
		specs[n++] = drv.cfg.listen[i];
	if (!n) {
		specs[n++] = defaults[0];
		specs[n++] = defaults[1];
	}
	for (size_t i = 0; i < drv.cfg.n_targets; i++) {
		const char *p = drv.cfg.targets[i]->portal;
		int dup = 0;

		for (size_t j = 0; p && j < n; j++)
			dup |= strcmp(specs[j], p) == 0;
		if (p && !dup)
			specs[n++] = p;
	}
	for (size_t i = 0; i < n; i++) {
		int fd;
		struct epoll_event e = {.events = EPOLLIN};

		if (drv.n_listen == MAX_LISTEN) {
			snprintf(err, errlen, "too many listen addresses");
			free(specs);
			return -1;
		}
		fd = listen_on(specs[i], err, errlen);
		if (fd < 0) {
			/* An IPv6-less host still serves IPv4 by default. */
			if (specs[i] == defaults[1] && drv.n_listen) {
				log_line("not listening on IPv6: %s", err);
				continue;
			}
			free(specs);
			return -1;
		}
		e.data.ptr = NULL;
		e.data.u64 = (uint64_t)fd << 1 | 1; /* odd: a listener */
		epoll_ctl(drv.epfd, EPOLL_CTL_ADD, fd, &e);
		drv.listen_fds[drv.n_listen++] = fd;
		log_line("listening on %s", specs[i]);
	}
	free(specs);
	return 0;
}

int main(int argc, char **argv)
{
	char err[1024];
	sigset_t mask;
	int running = 1;

	log_init("wupan-target");
	drv.argc = argc;
	drv.argv = argv;
	if (tcfg_parse_args(&drv.cfg, argc, argv, err, sizeof(err))) {
		if (strcmp(err, "help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(err, "version") == 0) {
			fputs(WUPAN_VERSION_LINE("wupan-target"), stdout);
			return 0;
		}
		fprintf(stderr, "wupan-target: %s\n", err);
		usage(stderr);
		return 2;
	}
	drv.targets = calloc(drv.cfg.n_targets, sizeof(*drv.targets));
	if (!drv.targets)
		return 1;
	for (size_t i = 0; i < drv.cfg.n_targets; i++) {
		drv.targets[i] = target_open(drv.cfg.targets[i], err,
					     sizeof(err));
		if (!drv.targets[i]) {
			fprintf(stderr, "wupan-target: %s\n", err);
			return 2;
		}
		drv.n_targets++;
	}
	for (size_t i = 0; i < drv.cfg.n_targets; i++) {
		const struct tcfg_target *t = drv.cfg.targets[i];
		size_t a = t->chap.secret ? strlen(t->chap.secret) : 14;
		size_t b = t->mutual.secret ? strlen(t->mutual.secret) : 14;

		/* Windows' initiator refuses other lengths outright. */
		if (a < 12 || a > 16 || b < 12 || b > 16)
			log_line("warning: target %s: Windows accepts CHAP secrets "
			      "of 12 to 16 characters only",
			      t->name);
	}
	drv.env.random = random_bytes;
	random_bytes(&drv.env.next_tsih, sizeof(drv.env.next_tsih));
	if (!drv.env.next_tsih)
		drv.env.next_tsih = 1;
	if (env_update())
		return 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	drv.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	drv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (drv.sigfd < 0 || drv.epfd < 0) {
		fprintf(stderr, "wupan-target: %s\n", strerror(errno));
		return 1;
	}
	{
		struct epoll_event e = {.events = EPOLLIN};

		e.data.u64 = (uint64_t)drv.sigfd << 1 | 1;
		epoll_ctl(drv.epfd, EPOLL_CTL_ADD, drv.sigfd, &e);
	}
	if (open_listeners(err, sizeof(err))) {
		fprintf(stderr, "wupan-target: %s\n", err);
		return 1;
	}
	/* Port 3260 is bound and the backing files are open: root is no
	 * longer needed.  A reload then opens files as that user. */
	if (drv.cfg.user) {
		if (priv_drop(drv.cfg.user, NULL, err, sizeof(err))) {
			fprintf(stderr, "wupan-target: %s\n", err);
			return 1;
		}
		log_line("running as user %s", drv.cfg.user);
	}
	log_line("serving %zu targets", drv.n_targets);
	while (running) {
		struct epoll_event evs[64];
		int n = epoll_wait(drv.epfd, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 & 1) {
				int fd = (int)(evs[i].data.u64 >> 1);
				struct signalfd_siginfo si;

				if (fd != drv.sigfd) {
					accept_all(fd);
					continue;
				}
				while (read(fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload();
					else
						running = 0;
				}
				/* A reload may have freed connections that
				 * later events in this batch point at. */
				break;
			}
			conn_ready(evs[i].data.ptr, evs[i].events);
		}
		conn_sweep();
	}
	log_line("shutting down");
	shutdown_all();
	for (size_t i = 0; i < drv.n_listen; i++)
		close(drv.listen_fds[i]);
	return 0;
}
