/* wupan-target: the socket driver around the pure iSCSI core.  It owns the
 * listening sockets, one event loop per CPU with the connections spread
 * over them, the disk worker threads, signals, the backing files and the
 * log; everything protocol-shaped happens in conn.c, login.c and scsi.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/evstream.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/privdrop.h"
#include "common/version.h"
#include "iscsi/backend.h"
#include "iscsi/config.h"
#include "iscsi/conn.h"
#include "iscsi/fleet.h"
#include "iscsi/hash.h"
#include "iscsi/trace.h"

#define RX_CAP (ISCSI_MAX_PDU + 65536)
#define MAX_LISTEN 64
#define MAX_REACTORS 64
/* Logins whose session_open may run at once: a room switched on together
 * makes its overlays in parallel (each is latency, not CPU, on Ceph). */
#define OPEN_WORKERS 16

/* A target with its opened units. */
struct drv_target {
	struct iscsi_target core;
	struct scsi_lu *lus;
	struct backend_file *files;
	struct backend_rbd **rbd; /* per unit: its RBD image, or NULL */
	struct fleet_lun **fleet; /* overlay LUNs (fleet.h), else NULL */
	size_t n;
	struct drv_target *next_retired; /* removed by a reload, still used */
	struct tcfg_target *own_cfg; /* its definition, once retired */
};

struct drv_reactor;

/* One accepted connection.  It lives on one reactor; other threads touch
 * its core only under drv.lock, and close it only by marking it. */
struct drv_conn {
	struct ev_stream st; /* first: the loop's source */
	struct drv_conn *next; /* drv.conns, until freed */
	struct drv_conn *prev;
	struct drv_conn *next_kill;
	struct drv_reactor *r;
	struct ev_timer timer; /* login timeout, then idle check */
	struct iscsi_conn core;
	struct sockaddr_storage addr;
	char peer[80];
	const char *kill; /* another thread asks its reactor to close it */
	int closed; /* closed (under drv.lock), memory not yet freed */
	int pinged; /* a NOP-In ping is unanswered */
	int logged_out; /* the logout is already logged */
	int zombie; /* closed, freed when its last io completes */
	int hold; /* a failed CHAP answer waits out AUTH_DELAY_MS */
};

/* A wrong CHAP response is answered this late, so a peer guesses secrets
 * at max-per-source tries a second, not thousands. */
#define AUTH_DELAY_MS 1000

/* A connection accepted by the listening reactor, on its way to another. */
struct drv_newconn {
	struct drv_newconn *next;
	int fd;
	struct sockaddr_storage peer;
	char paddr[80];
	char laddr[80];
};

/* One event loop on its own thread: the connections spread over every
 * core.  Other threads reach it through its eventfd: new connections,
 * connections to close, and disk completions. */
struct drv_reactor {
	struct ev_loop *loop;
	pthread_t thread;
	size_t idx;
	struct ev_source wake; /* EV_T_WAKE */
	pthread_mutex_t lock; /* done */
	struct drv_newconn *inbox; /* drv.lock */
	struct iscsi_io *done;
	size_t n_conns; /* drv.lock */
	size_t kills; /* drv.lock: marked connections to close */
};

/* The disk worker threads: io from the reactors in, completions back to
 * the reactor of each connection, so no disk call runs on a loop.  A
 * second pool of the same kind runs logins' session_open (ISCSI_IO_OPEN):
 * making a room's overlay on Ceph takes many round trips, and neither a
 * loop nor a disk worker should wait for them. */
struct drv_workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct iscsi_io *todo;
	struct iscsi_io **todo_tail;
	int stop;
	pthread_t *threads;
	size_t n;
	atomic_size_t in_flight; /* submitted and not completed */
};

/* A listening socket (on reactor 0). */
struct drv_listener {
	struct ev_source src; /* first */
	struct ev_timer resume; /* after a pause for lack of descriptors */
};

/* The limits whose hits are logged, each rate-limited on its own. */
enum drv_limit {
	DRV_LIMIT_LOGIN,
	DRV_LIMIT_IDLE,
	DRV_LIMIT_SOURCE,
	DRV_LIMIT_TOTAL,
	DRV_LIMIT_FILES,
	DRV_LIMIT_N,
};

struct drv_limit_log {
	uint64_t last_ms;
	unsigned suppressed;
};

static struct {
	char **argv;
	int argc;
	/* drv.lock: the configuration, the targets and their units' state,
	 * the connection list, and every call into a connection's core
	 * (iscsi_conn_rx, iscsi_conn_io_done, iscsi_conn_release).  Sockets,
	 * Data-In framing and disk I/O run outside it. */
	pthread_mutex_t lock;
	struct tcfg cfg;
	struct drv_target **targets;
	size_t n_targets;
	struct drv_target *retired;
	struct iscsi_env env;
	struct ev_source sig;
	atomic_int running;
	struct drv_listener listeners[MAX_LISTEN];
	size_t n_listen;
	struct drv_conn *conns;
	size_t n_conns; /* open ones */
	size_t fd_cap; /* connections the open-file limit leaves room for */
	int reserve_fd; /* given up to refuse a connection at EMFILE */
	struct drv_limit_log limit_log[DRV_LIMIT_N];
	struct drv_workers w; /* its in_flight counts the opens' io too */
	struct drv_workers opens;
	struct drv_reactor r[MAX_REACTORS];
	size_t n_r;
	/* drv.lock: bytes the closed connections sent, and of them those
	 * sent straight from backing files (sendfile). */
	uint64_t tx_bytes;
	uint64_t tx_file_bytes;
} drv;

static void io_complete(struct iscsi_io *io);

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
		"         [--target IQN --lun PATH[,ro]|rbd:POOL/IMAGE[@SNAP][,ro]\n"
		"          [--lun ...]...\n"
		"          [--chap USER:SECRET|USER:@FILE]\n"
		"          [--mutual-chap USER:SECRET|USER:@FILE]\n"
		"          [--allow INITIATOR-PATTERN]... [--portal ADDR:PORT]]...\n"
		"         [--user USER] [--login-timeout SEC] [--idle-timeout SEC]\n"
		"         [--max-connections N] [--max-per-source N]\n"
		"         [--reservations on|off] [--threads N] [--control PATH]\n"
		"         [--trace FILE]\n"
		"         [--ceph-conf FILE] [--ceph-id NAME] [--ceph-keyring FILE]\n"
		"         [--ceph-timeout SEC] [--golden-cache MIB]\n"
		"       wupan-target ctl [--socket PATH] [--json] list | versions |\n"
		"         reset INITIATOR | commit INITIATOR [COMMENT] | rollback | prune\n"
		"       wupan-target --help | --version\n");
}

/* Syncs and closes the units opened so far (dt->n) and frees dt. */
static void target_close(struct drv_target *dt)
{
	for (size_t i = 0; i < dt->n; i++) {
		if (dt->fleet)
			fleet_lun_close(dt->fleet[i]);
		if (dt->rbd && dt->rbd[i]) {
			backend_rbd_close(dt->rbd[i]);
			free(dt->rbd[i]);
		} else {
			backend_file_close(&dt->files[i]);
		}
	}
	free(dt->lus);
	free(dt->files);
	free(dt->rbd);
	free(dt->fleet);
	free(dt->core.map.luns);
	if (dt->own_cfg)
		tcfg_target_free(dt->own_cfg);
	free(dt);
}

/* Opens the units of one target (rbd: ones through the cluster ceph
 * describes); returns NULL with err set. */
static struct drv_target *target_open(const struct tcfg_target *t,
				      const struct tcfg_ceph *ceph, char *err,
				      size_t errlen)
{
	struct drv_target *dt = calloc(1, sizeof(*dt));
	char msg[512];

	if (!dt)
		goto err_alloc;
	dt->lus = calloc(t->n_luns, sizeof(*dt->lus));
	dt->files = calloc(t->n_luns, sizeof(*dt->files));
	dt->core.map.luns = calloc(t->n_luns, sizeof(*dt->core.map.luns));
	dt->fleet = calloc(t->n_luns, sizeof(*dt->fleet));
	dt->rbd = calloc(t->n_luns, sizeof(*dt->rbd));
	if (!dt->lus || !dt->files || !dt->core.map.luns || !dt->fleet ||
	    !dt->rbd)
		goto err_alloc;
	dt->core.cfg = t;
	for (size_t i = 0; i < t->n_luns; i++) {
		struct scsi_lu *lu = &dt->lus[i];
		uint8_t h[SHA256_LEN];
		struct hash_part parts[2] = { { t->name, strlen(t->name) + 1 },
					      { &i, sizeof(i) } };

		dt->n = i; /* units opened so far, for target_close */
		if (!t->luns[i].overlays &&
		    strncmp(t->luns[i].path, "rbd:", 4) == 0) {
			dt->rbd[i] = calloc(1, sizeof(*dt->rbd[i]));
			if (!dt->rbd[i])
				goto err_alloc;
			if (backend_rbd_open(dt->rbd[i], lu,
					     t->luns[i].path + 4, t->luns[i].ro,
					     ceph, io_complete, msg,
					     sizeof(msg))) {
				free(dt->rbd[i]);
				dt->rbd[i] = NULL;
				goto err_lun;
			}
		} else if (t->luns[i].overlays &&
			   strncmp(t->luns[i].overlays, "rbd:", 4) == 0) {
			/* Overlays on Ceph open their golden snapshot. */
			dt->files[i].fd = -1;
			if (!(dt->fleet[i] = fleet_lun_open(
				      &t->luns[i], NULL, lu, ceph, io_complete,
				      msg, sizeof(msg))))
				goto err_lun;
			/* An overlay LUN shares its golden image read-only. */
		} else if (backend_file_open(&dt->files[i], lu, t->luns[i].path,
					     t->luns[i].ro ||
						     t->luns[i].overlays,
					     msg, sizeof(msg))) {
			goto err_lun;
		} else if (t->luns[i].overlays &&
			   !(dt->fleet[i] = fleet_lun_open(
				     &t->luns[i], &dt->files[i], lu, ceph,
				     io_complete, msg, sizeof(msg)))) {
			backend_file_close(&dt->files[i]);
			goto err_lun;
		}
		/* A stable identity per target and LUN: Windows tells disks
		 * apart by the NAA designator built from it. */
		sha256_parts(parts, 2, h);
		lu->id = 0;
		for (int k = 0; k < 8; k++)
			lu->id = lu->id << 8 | h[k];
		lu->target = t->name;
		lu->no_reservations = drv.cfg.no_reservations;
		dt->core.map.luns[i] = lu;
	}
	dt->n = t->n_luns;
	dt->core.map.n = t->n_luns;
	return dt;
err_lun:
	snprintf(err, errlen, "%s:%d: LUN %zu: %s", t->file,
		 t->luns[dt->n].line, dt->n, msg);
	goto err_open;
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
	struct addrinfo hints = { 0 }, *ai;
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

/* How often one kind of limit may reach the log. */
#define LIMIT_LOG_MS 10000

/* Reads CLOCK_MONOTONIC in milliseconds. */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Logs that a limit was hit, at most once per LIMIT_LOG_MS for each kind,
 * with the number of hits left out since.  Under drv.lock. */
static void limit_hit(enum drv_limit kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void limit_hit(enum drv_limit kind, const char *fmt, ...)
{
	struct drv_limit_log *l = &drv.limit_log[kind];
	uint64_t now = mono_ms();
	char msg[512];
	va_list ap;

	if (l->last_ms && now - l->last_ms < LIMIT_LOG_MS) {
		l->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->suppressed)
		log_line("limit: %s (and %u more since the last report)", msg,
			 l->suppressed);
	else
		log_line("limit: %s", msg);
	l->last_ms = now;
	l->suppressed = 0;
}

/* The connection a stream belongs to. */
static struct drv_conn *conn_of(struct ev_stream *st)
{
	return (struct drv_conn *)((char *)st - offsetof(struct drv_conn, st));
}

/* The connection an io belongs to. */
static struct drv_conn *conn_of_io(const struct iscsi_io *io)
{
	return (struct drv_conn *)((char *)io->conn -
				   offsetof(struct drv_conn, core));
}

/* Wakes a reactor's loop. */
static void reactor_wake(struct drv_reactor *r)
{
	uint64_t one = 1;

	if (write(r->wake.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort(); /* a lost wake-up would stall sessions */
}

/* Asks a connection's reactor to close it (any thread, under drv.lock). */
static void conn_mark(struct drv_conn *dc, const char *why)
{
	if (dc->kill || dc->closed)
		return;
	dc->kill = why;
	dc->r->kills++;
	reactor_wake(dc->r);
}

/* Closes a connection now (its own reactor, not under drv.lock); its
 * memory goes after the current batch. */
static void conn_close(struct drv_conn *dc, const char *why)
{
	ev_stream_close(dc->r->loop, &dc->st, why);
}

/* RFC 7143 §6.3.5: a new session with the same initiator name, ISID and
 * target replaces the old one (iPXE reconnects this way).  Under drv.lock. */
static void reinstate(struct drv_conn *dc)
{
	for (struct drv_conn *o = drv.conns; o; o = o->next) {
		if (o == dc || o->closed || o->core.phase != ISCSI_PHASE_FULL ||
		    o->core.discovery != dc->core.discovery ||
		    o->core.target != dc->core.target ||
		    memcmp(o->core.isid, dc->core.isid, 6) ||
		    strcmp(o->core.initiator, dc->core.initiator))
			continue;
		conn_mark(o, "reinstated");
	}
}

/* Logs what the core reported and follows its phase changes.  Under
 * drv.lock. */
static void conn_events(struct drv_conn *dc)
{
	struct iscsi_conn *c = &dc->core;
	struct ev_loop *loop = dc->r->loop;
	char ini[TCFG_NAME_MAX * 4 + 8], tgt[TCFG_NAME_MAX * 4 + 8];

	switch (c->event) {
	case ISCSI_EV_LOGIN_OK:
		log_line("login initiator=%s addr=%s target=%s result=ok",
			 escape(c->initiator, ini, sizeof(ini)), dc->peer,
			 c->discovery ? "(discovery)" : c->target->cfg->name);
		reinstate(dc);
		/* Authenticated: room for full-size PDUs, and the login
		 * timer becomes the idle timer. */
		if (ev_stream_resize(&dc->st, RX_CAP))
			c->phase = ISCSI_PHASE_CLOSING;
		if (drv.cfg.limits.idle_timeout)
			ev_timer_set(loop, &dc->timer,
				     drv.cfg.limits.idle_timeout * 1000ull);
		else
			ev_timer_cancel(loop, &dc->timer);
		break;
	case ISCSI_EV_LOGIN_FAIL:
		if (c->event_status == 0x0201) { /* authentication failure */
			dc->hold = 1;
			ev_timer_set(loop, &dc->timer, AUTH_DELAY_MS);
		}
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
		dc->logged_out = 1;
		c->phase = ISCSI_PHASE_CLOSING;
		break;
	default:
		break;
	}
	c->event = ISCSI_EV_NONE;
}

/* Stream: feeds buffered input to the core. */
static ssize_t conn_rx(struct ev_stream *st, const uint8_t *buf, size_t len)
{
	struct drv_conn *dc = conn_of(st);
	ssize_t used;

	pthread_mutex_lock(&drv.lock);
	used = iscsi_conn_rx(&dc->core, buf, len);
	conn_events(dc);
	if (dc->core.phase == ISCSI_PHASE_CLOSING)
		used = -1;
	pthread_mutex_unlock(&drv.lock);
	return used < 0 ? -1 : used;
}

/* Stream: the core's queued output, with Data-In produced as it drains
 * (outside drv.lock: it touches only this connection and its disk). */
static size_t conn_tx_peek(struct ev_stream *st, struct ev_out *out)
{
	struct iscsi_out piece;

	if (conn_of(st)->hold)
		return 0;
	iscsi_conn_tx_fill(&conn_of(st)->core);
	if (!iscsi_obuf_peek(&conn_of(st)->core.out, &piece))
		return 0;
	out->buf = piece.buf;
	out->fd = piece.fd;
	out->off = piece.off;
	out->len = piece.len;
	out->more = piece.more;
	return out->len;
}

/* Stream: output sent. */
static void conn_tx_done(struct ev_stream *st, size_t n)
{
	iscsi_obuf_consume(&conn_of(st)->core.out, n);
}

/* Stream: whether the core takes input now. */
static int conn_wants_input(struct ev_stream *st)
{
	return iscsi_conn_wants_input(&conn_of(st)->core);
}

/* Stream: work in flight that will still produce output. */
static int conn_busy(struct ev_stream *st)
{
	const struct iscsi_conn *c = &conn_of(st)->core;

	return c->n_io > 0 || c->n_reads > 0 || conn_of(st)->hold;
}

/* Stream: the connection ended; logs the end of its session. */
static void conn_closed(struct ev_stream *st, const char *why)
{
	struct drv_conn *dc = conn_of(st);
	char ini[TCFG_NAME_MAX * 4 + 8];

	pthread_mutex_lock(&drv.lock);
	if ((dc->core.phase == ISCSI_PHASE_FULL && !dc->logged_out) ||
	    (why && dc->core.phase == ISCSI_PHASE_FULL))
		log_line("logout initiator=%s addr=%s target=%s result=%s",
			 escape(dc->core.initiator, ini, sizeof(ini)), dc->peer,
			 dc->core.discovery ? "(discovery)"
			 : dc->core.target  ? dc->core.target->cfg->name
					    : "-",
			 why ? why : "closed");
	ev_timer_cancel(dc->r->loop, &dc->timer);
	dc->closed = 1;
	drv.tx_bytes += st->tx_bytes;
	drv.tx_file_bytes += st->tx_file_bytes;
	drv.n_conns--;
	dc->r->n_conns--;
	pthread_mutex_unlock(&drv.lock);
}

/* Closes the targets a reload removed once no connection uses them.
 * Under drv.lock. */
static void retired_sweep(void)
{
	struct drv_target **link = &drv.retired;

	while (*link) {
		struct drv_target *t = *link;
		int used = 0;

		for (struct drv_conn *dc = drv.conns; dc && !used;
		     dc = dc->next)
			used = dc->core.target == &t->core;
		if (used) {
			link = &t->next_retired;
			continue;
		}
		*link = t->next_retired;
		target_close(t);
	}
}

/* Frees a closed connection whose io has all completed.  Under drv.lock. */
static void conn_free(struct drv_conn *dc)
{
	if (dc->prev)
		dc->prev->next = dc->next;
	else
		drv.conns = dc->next;
	if (dc->next)
		dc->next->prev = dc->prev;
	iscsi_trace_forget(&dc->core);
	iscsi_conn_release(&dc->core);
	ev_stream_free(&dc->st);
	free(dc);
	if (drv.retired)
		retired_sweep();
}

/* Source: frees a closed connection after its batch of events, or marks
 * it for the last completion of its io. */
static void conn_release(struct ev_source *s)
{
	struct drv_conn *dc = conn_of((struct ev_stream *)s);

	pthread_mutex_lock(&drv.lock);
	if (dc->core.n_io)
		dc->zombie = 1;
	else
		conn_free(dc);
	pthread_mutex_unlock(&drv.lock);
}

/* Hands io, done on a worker or librbd thread, back to the reactor of its
 * connection. */
static void io_complete(struct iscsi_io *io)
{
	struct drv_reactor *r = conn_of_io(io)->r;
	int first;

	pthread_mutex_lock(&r->lock);
	first = !r->done;
	io->next = r->done;
	r->done = io;
	pthread_mutex_unlock(&r->lock);
	/* One wake-up per batch: whoever made the list non-empty wrote the
	 * eventfd, and the reactor reads it before it takes the list. */
	if (first)
		reactor_wake(r);
}

/* Worker thread: runs io until told to stop. */
static void *worker_main(void *arg)
{
	struct drv_workers *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct iscsi_io *io;
		struct backend_file *bf;
		int alone;

		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->todo)
			break;
		io = w->todo;
		w->todo = io->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->lock);
		if (io->op == ISCSI_IO_OPEN) { /* a login: no unit yet */
			iscsi_io_run(io);
		} else {
			bf = io->task->lu->ctx;
			alone = io->op == ISCSI_IO_FINISH &&
				io->task->cmd.cdb[0] == 0x89;
			if (alone)
				pthread_rwlock_wrlock(&bf->lock);
			else
				pthread_rwlock_rdlock(&bf->lock);
			iscsi_io_run(io);
			pthread_rwlock_unlock(&bf->lock);
		}
		io_complete(io);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* iscsi_env.submit: queues io for the workers (any reactor). */
static void worker_submit(struct iscsi_env *env, struct iscsi_io *io)
{
	struct drv_workers *w = env->driver;

	atomic_fetch_add(&w->in_flight, 1);
	/* An rbd: unit's reads, writes, flushes and discards go to librbd's
	 * own asynchronous calls: no worker waits on the network for them. */
	if (io->op == ISCSI_IO_OPEN)
		w = &drv.opens;
	else if (backend_rbd_is(io->task->lu) && backend_rbd_submit(io) == 0)
		return;
	io->next = NULL;
	pthread_mutex_lock(&w->lock);
	*w->todo_tail = io;
	w->todo_tail = &io->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* Completes the io the workers finished for reactor r (its thread). */
static void reactor_complete(struct drv_reactor *r)
{
	struct iscsi_io *io, *rev = NULL;

	pthread_mutex_lock(&r->lock);
	io = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);
	while (io) { /* oldest first */
		struct iscsi_io *next = io->next;

		io->next = rev;
		rev = io;
		io = next;
	}
	for (io = rev; io;) {
		struct iscsi_io *next = io->next;
		struct drv_conn *dc = conn_of_io(io);
		int pump, opened = io->op == ISCSI_IO_OPEN;

		pthread_mutex_lock(&drv.lock);
		iscsi_conn_io_done(&dc->core, io);
		atomic_fetch_sub(&drv.w.in_flight, 1);
		pump = !dc->zombie && !dc->closed;
		if (opened && pump) {
			/* The login's last response, or its failure. */
			conn_events(dc);
			if (dc->core.phase == ISCSI_PHASE_CLOSING)
				dc->st.closing = 1;
		}
		dc->core.event = ISCSI_EV_NONE;
		if (dc->zombie && !dc->core.n_io)
			conn_free(dc);
		pthread_mutex_unlock(&drv.lock);
		/* When the connection's next completion follows, one pump sends
		 * the answers of both: fewer, fuller sends. */
		if (pump && !(next && conn_of_io(next) == dc))
			ev_stream_pump(r->loop, &dc->st);
		io = next;
	}
}

/* Starts n threads of pool w; 0 or -1. */
static int pool_start(struct drv_workers *w, size_t n)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->todo_tail = &w->todo;
	w->threads = calloc(n, sizeof(*w->threads));
	if (!w->threads)
		return -1;
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w))
			return -1;
	return 0;
}

/* Stops the threads of pool w once its queue is empty. */
static void pool_stop(struct drv_workers *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
}

/* Starts the worker threads: twice the CPUs, as most of their time is a
 * wait on the disk; and OPEN_WORKERS for logins.  Returns 0 or -1. */
static int workers_start(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 0 ? (size_t)cpus * 2 : 4;

	if (n < 4)
		n = 4;
	if (n > 32)
		n = 32;
	if (pool_start(&drv.w, n) || pool_start(&drv.opens, OPEN_WORKERS))
		return -1;
	drv.env.submit = worker_submit;
	drv.env.driver = &drv.w;
	return 0;
}

/* Lets every io finish (the reactors have stopped: this thread completes
 * it), then stops the workers. */
static void workers_stop(void)
{
	struct drv_workers *w = &drv.w;

	while (atomic_load(&w->in_flight)) {
		struct pollfd p[MAX_REACTORS];

		for (size_t i = 0; i < drv.n_r; i++) {
			p[i].fd = drv.r[i].wake.fd;
			p[i].events = POLLIN;
		}
		poll(p, drv.n_r, 100);
		for (size_t i = 0; i < drv.n_r; i++) {
			uint64_t n;

			if (read(drv.r[i].wake.fd, &n, sizeof(n)) < 0 &&
			    errno != EAGAIN)
				continue;
			reactor_complete(&drv.r[i]);
		}
	}
	pool_stop(w);
	pool_stop(&drv.opens);
}

static const struct ev_stream_ops conn_ops = {
	.rx = conn_rx,
	.tx_peek = conn_tx_peek,
	.tx_done = conn_tx_done,
	.wants_input = conn_wants_input,
	.busy = conn_busy,
	.closed = conn_closed,
};

/* Timer: the login timeout before the full feature phase, then the idle
 * check: silence for idle-timeout seconds brings a NOP-In ping, and
 * silence for as long again ends the connection. */
static void conn_timer(struct ev_loop *loop, struct ev_timer *t)
{
	struct drv_conn *dc =
		(struct drv_conn *)((char *)t -
				    offsetof(struct drv_conn, timer));
	uint64_t idle_ms = drv.cfg.limits.idle_timeout * 1000ull;
	uint64_t quiet = ev_now(loop) - dc->st.last_rx_ms;
	const char *close_why = NULL;
	int pump = 0;

	pthread_mutex_lock(&drv.lock);
	if (dc->hold) {
		dc->hold = 0;
		ev_timer_set(loop, t, 5000); /* then a closing timeout */
		pump = 1;
	} else if (dc->core.phase == ISCSI_PHASE_CLOSING) {
		close_why = "closing timeout";
	} else if (dc->core.phase != ISCSI_PHASE_FULL) {
		limit_hit(DRV_LIMIT_LOGIN, "login timeout (%us) addr=%s",
			  drv.cfg.limits.login_timeout, dc->peer);
		close_why = "login timeout";
	} else if (!idle_ms) {
		/* nothing to watch */
	} else if (quiet < idle_ms) {
		dc->pinged = 0;
		ev_timer_set(loop, t, idle_ms - quiet);
	} else if (dc->pinged) {
		limit_hit(DRV_LIMIT_IDLE, "idle timeout (%us) addr=%s",
			  drv.cfg.limits.idle_timeout, dc->peer);
		close_why = "idle timeout";
	} else {
		dc->pinged = 1;
		iscsi_conn_ping(&dc->core);
		ev_timer_set(loop, t, idle_ms);
		pump = 1;
	}
	pthread_mutex_unlock(&drv.lock);
	if (close_why)
		conn_close(dc, close_why);
	else if (pump)
		ev_stream_pump(loop, &dc->st);
}

/* Takes nc off r's inbox, if it is there.  Under drv.lock. */
static void inbox_unlink(struct drv_reactor *r, struct drv_newconn *nc)
{
	for (struct drv_newconn **link = &r->inbox; *link;
	     link = &(*link)->next) {
		if (*link == nc) {
			*link = nc->next;
			return;
		}
	}
}

/* Makes a connection handed over by the listening reactor (its new
 * reactor's thread).  nc leaves the inbox only as the connection joins
 * drv.conns, so the per-source count always sees one of the two. */
static void conn_create(struct drv_reactor *r, struct drv_newconn *nc)
{
	struct drv_conn *dc = calloc(1, sizeof(*dc));

	if (dc) {
		memcpy(dc->peer, nc->paddr, sizeof(dc->peer));
		dc->addr = nc->peer;
		dc->r = r;
		iscsi_conn_init(&dc->core, &drv.env, nc->laddr);
	}
	/* Before login only a login PDU fits: an unauthenticated peer pins a
	 * small buffer, not a full-size one. */
	if (!dc || ev_stream_init(r->loop, &dc->st, nc->fd, &conn_ops,
				  ISCSI_LOGIN_MAX_PDU + 1024)) {
		close(nc->fd);
		free(dc);
		pthread_mutex_lock(&drv.lock);
		inbox_unlink(r, nc);
		drv.n_conns--;
		r->n_conns--;
		pthread_mutex_unlock(&drv.lock);
		return;
	}
	dc->st.src.release = conn_release;
	dc->timer.cb = conn_timer;
	ev_timer_set(r->loop, &dc->timer,
		     drv.cfg.limits.login_timeout * 1000ull);
	pthread_mutex_lock(&drv.lock);
	inbox_unlink(r, nc);
	dc->next = drv.conns;
	if (drv.conns)
		drv.conns->prev = dc;
	drv.conns = dc;
	pthread_mutex_unlock(&drv.lock);
}

/* Source: a reactor's eventfd: new connections, connections other
 * threads marked for closing, and disk completions. */
static void reactor_ready(struct ev_loop *loop, struct ev_source *s,
			  uint32_t ev)
{
	struct drv_reactor *r =
		(struct drv_reactor *)((char *)s -
				       offsetof(struct drv_reactor, wake));
	struct drv_newconn *nc;
	struct drv_conn *kill = NULL;
	uint64_t n;

	(void)loop;
	(void)ev;
	/* Read before the done list is taken: io_complete wakes only for the
	 * first io of a batch. */
	if (read(s->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	/* Each stays in the inbox until conn_create links it. */
	for (;;) {
		pthread_mutex_lock(&drv.lock);
		nc = r->inbox;
		pthread_mutex_unlock(&drv.lock);
		if (!nc)
			break;
		conn_create(r, nc);
		free(nc);
	}
	pthread_mutex_lock(&drv.lock);
	if (r->kills) {
		r->kills = 0;
		for (struct drv_conn *dc = drv.conns; dc; dc = dc->next) {
			if (dc->r != r || !dc->kill || dc->closed)
				continue;
			dc->next_kill = kill;
			kill = dc;
		}
	}
	pthread_mutex_unlock(&drv.lock);
	while (kill) {
		struct drv_conn *next = kill->next_kill;

		conn_close(kill, kill->kill);
		kill = next;
	}
	reactor_complete(r);
}

/* A reactor thread: runs its loop until the daemon stops. */
static void *reactor_main(void *arg)
{
	struct drv_reactor *r = arg;

	while (atomic_load(&drv.running))
		ev_run_once(r->loop, -1);
	return NULL;
}

/* Makes the reactors: one per CPU unless --threads says otherwise; the
 * first runs on the main thread.  Returns 0 or -1. */
static int reactors_init(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = drv.cfg.limits.threads ? drv.cfg.limits.threads
		   : cpus > 0             ? (size_t)cpus
					  : 1;

	if (n > MAX_REACTORS)
		n = MAX_REACTORS;
	for (drv.n_r = 0; drv.n_r < n; drv.n_r++) {
		struct drv_reactor *r = &drv.r[drv.n_r];

		r->idx = drv.n_r;
		r->loop = ev_loop_new();
		pthread_mutex_init(&r->lock, NULL);
		r->wake.type = EV_T_WAKE;
		r->wake.cb = reactor_ready;
		r->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!r->loop || r->wake.fd < 0 ||
		    ev_add(r->loop, &r->wake, EPOLLIN))
			return -1;
	}
	return 0;
}

/* Makes room for one more connection under the caps and picks the
 * reactor with the fewest; returns it, or NULL to refuse.  Under
 * drv.lock. */
static struct drv_reactor *conn_admit(const struct sockaddr_storage *peer,
				      const char *addr)
{
	const struct tcfg_limits *lim = &drv.cfg.limits;
	struct drv_conn *oldest = NULL;
	struct drv_reactor *best = &drv.r[0];
	unsigned same = 0;

	for (struct drv_conn *dc = drv.conns; dc; dc = dc->next) {
		if (dc->closed || dc->kill)
			continue;
		same += net_addr_same(&dc->addr, peer, 0);
		if (dc->core.phase == ISCSI_PHASE_LOGIN)
			oldest = dc; /* the list is newest first */
	}
	/* And those on their way to a reactor. */
	for (size_t i = 0; i < drv.n_r; i++)
		for (struct drv_newconn *nc = drv.r[i].inbox; nc; nc = nc->next)
			same += net_addr_same(&nc->peer, peer, 0);
	if (same >= lim->max_per_source) {
		limit_hit(DRV_LIMIT_SOURCE,
			  "%u connections from one address (max-per-source), "
			  "refusing addr=%s",
			  same, addr);
		return NULL;
	}
	if (drv.n_conns >= lim->max_conns || drv.n_conns >= drv.fd_cap) {
		/* Full: a connection that has not logged in yet is cheaper
		 * to lose than a booted PC's session, and the oldest is the
		 * likeliest to be idle. */
		if (!oldest) {
			limit_hit(DRV_LIMIT_TOTAL,
				  "%zu connections, all logged in "
				  "(max-connections), refusing addr=%s",
				  drv.n_conns, addr);
			return NULL;
		}
		limit_hit(DRV_LIMIT_TOTAL,
			  "%zu connections (max-connections): closing the "
			  "oldest not logged in, addr=%s",
			  drv.n_conns, oldest->peer);
		conn_mark(oldest, "connection limit");
	}
	for (size_t i = 1; i < drv.n_r; i++)
		if (drv.r[i].n_conns < best->n_conns)
			best = &drv.r[i];
	best->n_conns++;
	drv.n_conns++;
	return best;
}

/* Timer: listening again after a pause. */
static void listener_resume(struct ev_loop *loop, struct ev_timer *t)
{
	struct drv_listener *l =
		(struct drv_listener *)((char *)t -
					offsetof(struct drv_listener, resume));

	ev_set_events(loop, &l->src, EPOLLIN);
}

/* Out of file descriptors (an open-file limit lowered under us, or
 * descriptors the connection count does not see): the oldest connection
 * that has not logged in makes room, and the listener pauses until it is
 * gone.  With none to spare the pending connection is taken with the
 * reserve descriptor and closed, so the listener never spins the loop. */
static void accept_emfile(struct ev_loop *loop, struct drv_listener *l)
{
	struct drv_conn *oldest = NULL;
	int err = errno;

	pthread_mutex_lock(&drv.lock);
	for (struct drv_conn *dc = drv.conns; dc; dc = dc->next)
		if (!dc->closed && !dc->kill &&
		    dc->core.phase == ISCSI_PHASE_LOGIN)
			oldest = dc;
	limit_hit(DRV_LIMIT_FILES, "out of file descriptors (%s): %s",
		  strerror(err),
		  oldest ? "closing the oldest connection not logged in"
			 : "refusing new connections");
	if (oldest)
		conn_mark(oldest, "out of file descriptors");
	pthread_mutex_unlock(&drv.lock);
	if (!oldest && drv.reserve_fd >= 0) {
		int fd;

		close(drv.reserve_fd);
		fd = accept4(l->src.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		drv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return;
	}
	ev_set_events(loop, &l->src, 0);
	ev_timer_set(loop, &l->resume, oldest ? 20 : 1000);
}

/* Source: accepts pending connections on a listening socket and hands
 * each to the reactor with the fewest. */
static void accept_ready(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	struct drv_listener *l = (struct drv_listener *)s;

	(void)ev;
	/* A bounded batch: the listener stays readable if more wait. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int fd = accept4(s->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct drv_newconn *nc;
		struct drv_reactor *r;
		int one = 1, idle = 30, intvl = 10, cnt = 3;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_emfile(loop, l);
			return;
		}
		nc = calloc(1, sizeof(*nc));
		if (!nc) {
			close(fd);
			continue;
		}
		net_addr_str(&peer, nc->paddr, sizeof(nc->paddr));
		pthread_mutex_lock(&drv.lock);
		r = conn_admit(&peer, nc->paddr);
		pthread_mutex_unlock(&drv.lock);
		if (!r) {
			close(fd);
			free(nc);
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
		net_addr_str(&local, nc->laddr, sizeof(nc->laddr));
		nc->fd = fd;
		nc->peer = peer;
		if (r == &drv.r[0] && loop == r->loop) {
			conn_create(r, nc);
			free(nc);
			continue;
		}
		pthread_mutex_lock(&drv.lock);
		nc->next = r->inbox;
		r->inbox = nc;
		pthread_mutex_unlock(&drv.lock);
		reactor_wake(r);
	}
}

/* Re-reads the configuration (SIGHUP).  Targets defined exactly as before
 * keep their open units and sessions; the others' sessions end, and their
 * units close once no connection uses them. */
static void reload(void)
{
	struct tcfg ncfg = { 0 };
	struct drv_target **nt;
	char err[1024];
	size_t i;

	if (tcfg_parse_args(&ncfg, drv.argc, drv.argv, err, sizeof(err))) {
		log_line("reload failed, keeping the old configuration: %s",
			 err);
		tcfg_free(&ncfg);
		return;
	}
	nt = calloc(ncfg.n_targets, sizeof(*nt));
	if (!nt) {
		tcfg_free(&ncfg);
		return;
	}
	pthread_mutex_lock(&drv.lock);
	for (i = 0; i < ncfg.n_targets; i++) {
		for (size_t j = 0; j < drv.n_targets; j++) {
			struct tcfg_target *old =
				(struct tcfg_target *)drv.targets[j]->core.cfg;

			if (tcfg_target_same(old, ncfg.targets[i])) {
				nt[i] = drv.targets[j];
				break;
			}
		}
		if (!nt[i] && !(nt[i] = target_open(ncfg.targets[i], &ncfg.ceph,
						    err, sizeof(err)))) {
			log_line("reload failed, keeping the old "
				 "configuration: %s",
				 err);
			for (size_t k = 0; k < i; k++) {
				int reused = 0;

				for (size_t j = 0; j < drv.n_targets; j++)
					reused |= nt[k] == drv.targets[j];
				if (!reused)
					target_close(nt[k]);
			}
			pthread_mutex_unlock(&drv.lock);
			free(nt);
			tcfg_free(&ncfg);
			return;
		}
	}
	/* Sessions of targets that go away end now; the units close when
	 * the last of them is freed. */
	for (size_t j = 0; j < drv.n_targets; j++) {
		int kept = 0;

		for (i = 0; i < ncfg.n_targets; i++)
			kept |= nt[i] == drv.targets[j];
		if (kept)
			continue;
		for (struct drv_conn *dc = drv.conns; dc; dc = dc->next)
			if (dc->core.target == &drv.targets[j]->core)
				conn_mark(dc, "target changed by reload");
		drv.targets[j]->next_retired = drv.retired;
		drv.retired = drv.targets[j];
		/* Its sessions still read its definition: take it out of the
		 * old configuration before that is freed. */
		for (size_t k = 0; k < drv.cfg.n_targets; k++) {
			if (drv.cfg.targets[k] != drv.targets[j]->core.cfg)
				continue;
			drv.targets[j]->own_cfg = drv.cfg.targets[k];
			drv.cfg.targets[k] =
				drv.cfg.targets[--drv.cfg.n_targets];
			break;
		}
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
	retired_sweep();
	log_line("configuration reloaded: %zu targets", drv.n_targets);
	pthread_mutex_unlock(&drv.lock);
}

/* Ends every session, flushing what is queued and syncing the units (the
 * reactor threads have stopped). */
static void shutdown_all(void)
{
	for (struct drv_conn *dc = drv.conns; dc; dc = dc->next) {
		struct timeval tv = { 1, 0 };
		struct ev_out out;

		if (dc->closed)
			continue;
		/* A last bounded attempt to deliver queued responses. */
		fcntl(dc->st.src.fd, F_SETFL,
		      fcntl(dc->st.src.fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(dc->st.src.fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
			   sizeof(tv));
		while (conn_tx_peek(&dc->st, &out)) {
			off_t off = (off_t)out.off;
			ssize_t n = out.fd >= 0
					    ? sendfile(dc->st.src.fd, out.fd,
						       &off, out.len)
					    : send(dc->st.src.fd, out.buf,
						   out.len, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			conn_tx_done(&dc->st, (size_t)n);
		}
		shutdown(dc->st.src.fd, SHUT_RDWR);
		conn_close(dc, "target shutting down");
	}
	workers_stop();
	for (size_t i = 0; i < drv.n_r; i++)
		ev_run_once(drv.r[i].loop, 0); /* frees closed connections */
	for (size_t i = 0; i < drv.n_targets; i++)
		target_close(drv.targets[i]);
	while (drv.retired) {
		struct drv_target *t = drv.retired;

		drv.retired = t->next_retired;
		target_close(t);
	}
	free(drv.targets);
	free(drv.env.targets);
	tcfg_free(&drv.cfg);
}

/* Adds the listening sockets: --listen/listen lines, else all addresses,
 * plus every per-target portal not already covered. */
static int open_listeners(char *err, size_t errlen)
{
	const char *defaults[] = { "0.0.0.0:3260", "[::]:3260" };
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
		struct drv_listener *l;
		int fd;

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
		l = &drv.listeners[drv.n_listen++];
		l->src.type = EV_T_LISTENER;
		l->src.fd = fd;
		l->src.cb = accept_ready;
		l->resume.cb = listener_resume;
		if (ev_add(drv.r[0].loop, &l->src, EPOLLIN)) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			free(specs);
			return -1;
		}
		log_line("listening on %s", specs[i]);
	}
	free(specs);
	return 0;
}

/* Source: the signals, through a signalfd. */
static void signal_ready(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	struct signalfd_siginfo si;

	(void)loop;
	(void)ev;
	while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload();
			continue;
		}
		atomic_store(&drv.running, 0);
		for (size_t i = 0; i < drv.n_r; i++)
			reactor_wake(&drv.r[i]);
	}
}

int main(int argc, char **argv)
{
	char err[1024];
	sigset_t mask;
	size_t nofile;

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return fleet_ctl_main(argc - 1, argv + 1);
	log_init("wupan-target");
	pthread_mutex_init(&drv.lock, NULL);
	/* Data-In chunks and Data-Out copies (64 KiB to 256 KiB) come and go
	 * thousands of times a second: keep them on the heap and keep freed
	 * memory for the next one, instead of glibc's default of returning
	 * it (mmap/munmap, trimming) and faulting it in again, which halved
	 * sequential throughput.  Every buffer is bounded per connection, so
	 * what is kept is bounded too. */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
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
	/* Every connection is a descriptor: take what the hard limit
	 * allows, and keep some for the units, listeners and a reserve. */
	nofile = ev_raise_nofile();
	drv.fd_cap = nofile > 64 ? nofile - 64 : 1;
	drv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Blocked before the units open: librbd's threads inherit the
	 * mask, and one of them taking SIGTERM would end the process before
	 * the images are closed (their locks then wait out a timeout). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	drv.targets = calloc(drv.cfg.n_targets, sizeof(*drv.targets));
	if (!drv.targets)
		return 1;
	for (size_t i = 0; i < drv.cfg.n_targets; i++) {
		drv.targets[i] = target_open(drv.cfg.targets[i], &drv.cfg.ceph,
					     err, sizeof(err));
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
			log_line(
				"warning: target %s: Windows accepts CHAP secrets "
				"of 12 to 16 characters only",
				t->name);
	}
	drv.env.random = random_bytes;
	drv.env.zerocopy = 1;
	drv.env.session_open = fleet_session_open;
	drv.env.session_close = fleet_session_close;
	random_bytes(&drv.env.next_tsih, sizeof(drv.env.next_tsih));
	if (!drv.env.next_tsih)
		drv.env.next_tsih = 1;
	if (env_update())
		return 1;
	signal(SIGPIPE, SIG_IGN);
	drv.sig.type = EV_T_SIGNAL;
	drv.sig.cb = signal_ready;
	drv.sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (reactors_init() || drv.sig.fd < 0 ||
	    ev_add(drv.r[0].loop, &drv.sig, EPOLLIN)) {
		fprintf(stderr, "wupan-target: %s\n", strerror(errno));
		return 1;
	}
	if (open_listeners(err, sizeof(err)) ||
	    (drv.cfg.control &&
	     fleet_ctl_start(drv.cfg.control, err, sizeof(err)))) {
		fprintf(stderr, "wupan-target: %s\n", err);
		return 1;
	}
	/* Signals are masked by now: the writer thread must not take them. */
	if (drv.cfg.trace) {
		if (iscsi_trace_open(drv.cfg.trace, err, sizeof(err))) {
			fprintf(stderr, "wupan-target: %s\n", err);
			return 1;
		}
		drv.env.trace = iscsi_trace_pdu;
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
	if (workers_start()) {
		fprintf(stderr, "wupan-target: cannot start disk workers: %s\n",
			strerror(errno));
		return 1;
	}
	if (drv.fd_cap < drv.cfg.limits.max_conns)
		log_line(
			"warning: the open-file limit (%zu) allows only %zu of "
			"max-connections %u",
			nofile, drv.fd_cap, drv.cfg.limits.max_conns);
	atomic_store(&drv.running, 1);
	for (size_t i = 1; i < drv.n_r; i++) {
		if (pthread_create(&drv.r[i].thread, NULL, reactor_main,
				   &drv.r[i])) {
			fprintf(stderr, "wupan-target: cannot start threads\n");
			return 1;
		}
	}
	log_line("serving %zu targets on %zu threads", drv.n_targets, drv.n_r);
	reactor_main(&drv.r[0]);
	for (size_t i = 1; i < drv.n_r; i++)
		pthread_join(drv.r[i].thread, NULL);
	log_line("shutting down");
	shutdown_all();
	log_line("sent %llu bytes, %llu of them straight from backing files "
		 "(sendfile)",
		 (unsigned long long)drv.tx_bytes,
		 (unsigned long long)drv.tx_file_bytes);
	iscsi_trace_close();
	for (size_t i = 0; i < drv.n_listen; i++)
		close(drv.listeners[i].src.fd);
	close(drv.sig.fd);
	for (size_t i = 0; i < drv.n_r; i++) {
		close(drv.r[i].wake.fd);
		ev_loop_free(drv.r[i].loop);
	}
	return 0;
}
