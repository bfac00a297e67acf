/* wupan-target: the socket driver around the pure iSCSI core.  It owns the
 * listening sockets, one epoll loop, signals, the backing files and the log;
 * everything protocol-shaped happens in conn.c, login.c and scsi.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/evstream.h"
#include "common/log.h"
#include "common/privdrop.h"
#include "common/version.h"
#include "target/backend.h"
#include "target/config.h"
#include "target/conn.h"
#include "target/fleet.h"
#include "target/hash.h"

#define RX_CAP (ISCSI_MAX_PDU + 65536)
#define MAX_LISTEN 64

/* A target with its opened units. */
struct drv_target {
	struct iscsi_target core;
	struct scsi_lu *lus;
	struct backend_file *files;
	struct fleet_lun **fleet; /* overlay LUNs (fleet.h), else NULL */
	size_t n;
};

/* One accepted connection. */
struct drv_conn {
	struct ev_stream st; /* first: the loop's source */
	struct drv_conn *next;
	struct drv_conn *prev;
	struct ev_timer timer; /* login timeout, then idle check */
	struct iscsi_conn core;
	struct sockaddr_storage addr;
	char peer[80];
	int pinged;     /* a NOP-In ping is unanswered */
	int logged_out; /* the logout is already logged */
	int zombie;     /* closed, freed when its last io completes */
	int hold;       /* a failed CHAP answer waits out AUTH_DELAY_MS */
};

/* A wrong CHAP response is answered this late, so a peer guesses secrets
 * at max-per-source tries a second, not thousands. */
#define AUTH_DELAY_MS 1000

/* The disk worker threads: io from the loop in, completions back through
 * an eventfd, so no disk call ever runs on the loop. */
struct drv_workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct iscsi_io *todo;
	struct iscsi_io **todo_tail;
	struct iscsi_io *done;
	int stop;
	pthread_t *threads;
	size_t n;
	struct ev_source efd; /* EV_T_WAKE: completions are waiting */
	size_t in_flight;     /* submitted and not completed (loop's) */
};

/* A listening socket. */
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
	struct tcfg cfg;
	struct drv_target **targets;
	size_t n_targets;
	struct iscsi_env env;
	struct ev_loop *loop;
	struct ev_source sig;
	int running;
	struct drv_listener listeners[MAX_LISTEN];
	size_t n_listen;
	struct drv_conn *conns;
	size_t n_conns;
	size_t fd_cap;  /* connections the open-file limit leaves room for */
	int reserve_fd; /* given up to refuse a connection at EMFILE */
	struct drv_limit_log limit_log[DRV_LIMIT_N];
	struct drv_workers w;
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
		"         [--user USER] [--login-timeout SEC] [--idle-timeout SEC]\n"
		"         [--max-connections N] [--max-per-source N]\n"
		"         [--reservations on|off]\n"
		"       wupan-target --help | --version\n");
}

/* Syncs and closes the units opened so far (dt->n) and frees dt. */
static void target_close(struct drv_target *dt)
{
	for (size_t i = 0; i < dt->n; i++) {
		if (dt->fleet)
			fleet_lun_close(dt->fleet[i]);
		backend_file_close(&dt->files[i]);
	}
	free(dt->lus);
	free(dt->files);
	free(dt->fleet);
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
	dt->fleet = calloc(t->n_luns, sizeof(*dt->fleet));
	if (!dt->lus || !dt->files || !dt->core.map.luns || !dt->fleet)
		goto err_alloc;
	dt->core.cfg = t;
	for (size_t i = 0; i < t->n_luns; i++) {
		struct scsi_lu *lu = &dt->lus[i];
		uint8_t h[SHA256_LEN];
		struct hash_part parts[2] = {{t->name, strlen(t->name) + 1},
					     {&i, sizeof(i)}};

		dt->n = i; /* units opened so far, for target_close */
		/* An overlay LUN shares its golden image read-only. */
		if (backend_file_open(&dt->files[i], lu, t->luns[i].path,
				      t->luns[i].ro || t->luns[i].overlays,
				      msg, sizeof(msg)))
			goto err_lun;
		if (t->luns[i].overlays &&
		    !(dt->fleet[i] = fleet_lun_open(&t->luns[i], &dt->files[i],
						    lu, msg, sizeof(msg)))) {
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

/* How often one kind of limit may reach the log. */
#define LIMIT_LOG_MS 10000

/* Logs that a limit was hit, at most once per LIMIT_LOG_MS for each kind,
 * with the number of hits left out since. */
static void limit_hit(enum drv_limit kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void limit_hit(enum drv_limit kind, const char *fmt, ...)
{
	struct drv_limit_log *l = &drv.limit_log[kind];
	uint64_t now = ev_now(drv.loop);
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

/* Closes a connection; its memory goes after the current batch. */
static void conn_close(struct drv_conn *dc, const char *why)
{
	ev_stream_close(drv.loop, &dc->st, why);
}

/* RFC 7143 §6.3.5: a new session with the same initiator name, ISID and
 * target replaces the old one (iPXE reconnects this way). */
static void reinstate(struct drv_conn *dc)
{
	struct drv_conn *o, *next;

	for (o = drv.conns; o; o = next) {
		next = o->next;
		if (o == dc || o->core.phase != ISCSI_PHASE_FULL ||
		    o->core.discovery != dc->core.discovery ||
		    o->core.target != dc->core.target ||
		    memcmp(o->core.isid, dc->core.isid, 6) ||
		    strcmp(o->core.initiator, dc->core.initiator))
			continue;
		conn_close(o, "reinstated");
	}
}

/* Logs what the core reported and follows its phase changes. */
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
		/* Authenticated: room for full-size PDUs, and the login
		 * timer becomes the idle timer. */
		if (ev_stream_resize(&dc->st, RX_CAP))
			c->phase = ISCSI_PHASE_CLOSING;
		if (drv.cfg.limits.idle_timeout)
			ev_timer_set(drv.loop, &dc->timer,
				     drv.cfg.limits.idle_timeout * 1000ull);
		else
			ev_timer_cancel(drv.loop, &dc->timer);
		break;
	case ISCSI_EV_LOGIN_FAIL:
		if (c->event_status == 0x0201) { /* authentication failure */
			dc->hold = 1;
			ev_timer_set(drv.loop, &dc->timer, AUTH_DELAY_MS);
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
	ssize_t used = iscsi_conn_rx(&dc->core, buf, len);

	conn_events(dc);
	if (used < 0 || dc->core.phase == ISCSI_PHASE_CLOSING)
		return -1;
	return used;
}

/* Stream: the core's queued output. */
static size_t conn_tx_peek(struct ev_stream *st, const uint8_t **buf)
{
	struct iscsi_obuf *o = &conn_of(st)->core.out;

	if (conn_of(st)->hold)
		return 0;
	iscsi_conn_tx_fill(&conn_of(st)->core);
	*buf = o->buf + o->off;
	return o->len - o->off;
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

	if ((dc->core.phase == ISCSI_PHASE_FULL && !dc->logged_out) ||
	    (why && dc->core.phase == ISCSI_PHASE_FULL))
		log_line("logout initiator=%s addr=%s target=%s result=%s",
		      escape(dc->core.initiator, ini, sizeof(ini)), dc->peer,
		      dc->core.discovery ? "(discovery)"
		      : dc->core.target  ? dc->core.target->cfg->name
					 : "-",
		      why ? why : "closed");
	ev_timer_cancel(drv.loop, &dc->timer);
	if (dc->prev)
		dc->prev->next = dc->next;
	else
		drv.conns = dc->next;
	if (dc->next)
		dc->next->prev = dc->prev;
	drv.n_conns--;
}

/* Source: frees a closed connection after its batch of events. */
static void conn_release(struct ev_source *s)
{
	struct drv_conn *dc = conn_of((struct ev_stream *)s);

	/* Workers still use its tasks: the last completion frees it. */
	if (dc->core.n_io) {
		dc->zombie = 1;
		return;
	}
	iscsi_conn_release(&dc->core);
	ev_stream_free(&dc->st);
	free(dc);
}

/* Worker thread: runs io until told to stop. */
static void *worker_main(void *arg)
{
	struct drv_workers *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct iscsi_io *io;
		struct backend_file *bf;
		uint64_t one = 1;
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
		bf = io->task->lu->ctx;
		alone = io->op == ISCSI_IO_FINISH &&
			io->task->cmd.cdb[0] == 0x89;
		if (alone)
			pthread_rwlock_wrlock(&bf->lock);
		else
			pthread_rwlock_rdlock(&bf->lock);
		iscsi_io_run(io);
		pthread_rwlock_unlock(&bf->lock);
		pthread_mutex_lock(&w->lock);
		io->next = w->done;
		w->done = io;
		if (write(w->efd.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort(); /* a lost wake-up would stall sessions */
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* iscsi_env.submit: queues io for the workers. */
static void worker_submit(struct iscsi_env *env, struct iscsi_io *io)
{
	struct drv_workers *w = env->driver;

	w->in_flight++;
	io->next = NULL;
	pthread_mutex_lock(&w->lock);
	*w->todo_tail = io;
	w->todo_tail = &io->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* Completes what the workers finished; returns how many. */
static size_t worker_complete(void)
{
	struct drv_workers *w = &drv.w;
	struct iscsi_io *io, *rev = NULL;
	uint64_t n;
	size_t count = 0;

	if (read(w->efd.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&w->lock);
	io = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->lock);
	/* Oldest first. */
	while (io) {
		struct iscsi_io *next = io->next;

		io->next = rev;
		rev = io;
		io = next;
	}
	for (io = rev; io;) {
		struct iscsi_io *next = io->next;
		struct drv_conn *dc = (struct drv_conn *)((char *)io->conn -
				offsetof(struct drv_conn, core));

		w->in_flight--;
		count++;
		iscsi_conn_io_done(&dc->core, io);
		if (dc->zombie) {
			if (!dc->core.n_io) {
				iscsi_conn_release(&dc->core);
				ev_stream_free(&dc->st);
				free(dc);
			}
		} else {
			ev_stream_pump(drv.loop, &dc->st);
		}
		io = next;
	}
	return count;
}

/* Source: the workers' eventfd. */
static void worker_ready(struct ev_loop *loop, struct ev_source *s,
			 uint32_t ev)
{
	(void)loop;
	(void)s;
	(void)ev;
	worker_complete();
}

/* Waits (blocking the loop) until a completion comes and handles it: for
 * reload and shutdown, which must not free units under a worker. */
static void worker_wait(void)
{
	struct pollfd p = {.fd = drv.w.efd.fd, .events = POLLIN};

	if (poll(&p, 1, 1000) > 0)
		worker_complete();
}

/* Starts the worker threads: twice the CPUs, as most of their time is a
 * wait on the disk.  Returns 0 or -1. */
static int workers_start(void)
{
	struct drv_workers *w = &drv.w;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 0 ? (size_t)cpus * 2 : 4;

	if (n < 4)
		n = 4;
	if (n > 32)
		n = 32;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->todo_tail = &w->todo;
	w->efd.type = EV_T_WAKE;
	w->efd.cb = worker_ready;
	w->efd.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->threads = calloc(n, sizeof(*w->threads));
	if (w->efd.fd < 0 || !w->threads || ev_add(drv.loop, &w->efd, EPOLLIN))
		return -1;
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w))
			return -1;
	drv.env.submit = worker_submit;
	drv.env.driver = w;
	return 0;
}

/* Lets every io finish, then stops the workers. */
static void workers_stop(void)
{
	struct drv_workers *w = &drv.w;

	while (w->in_flight)
		worker_wait();
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
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
		(struct drv_conn *)((char *)t - offsetof(struct drv_conn, timer));
	uint64_t idle_ms = drv.cfg.limits.idle_timeout * 1000ull;
	uint64_t quiet = ev_now(loop) - dc->st.last_rx_ms;

	if (dc->hold) {
		dc->hold = 0;
		ev_timer_set(loop, t, 5000); /* then a closing timeout */
		ev_stream_pump(loop, &dc->st);
		return;
	}
	if (dc->core.phase == ISCSI_PHASE_CLOSING) {
		conn_close(dc, "closing timeout");
		return;
	}
	if (dc->core.phase != ISCSI_PHASE_FULL) {
		limit_hit(DRV_LIMIT_LOGIN, "login timeout (%us) addr=%s",
			  drv.cfg.limits.login_timeout, dc->peer);
		conn_close(dc, "login timeout");
		return;
	}
	if (!idle_ms)
		return;
	if (quiet < idle_ms) {
		dc->pinged = 0;
		ev_timer_set(loop, t, idle_ms - quiet);
		return;
	}
	if (dc->pinged) {
		limit_hit(DRV_LIMIT_IDLE, "idle timeout (%us) addr=%s",
			  drv.cfg.limits.idle_timeout, dc->peer);
		conn_close(dc, "idle timeout");
		return;
	}
	dc->pinged = 1;
	iscsi_conn_ping(&dc->core);
	ev_timer_set(loop, t, idle_ms);
	ev_stream_pump(loop, &dc->st);
}

/* Compares the addresses (not ports) of two peers. */
static int same_host(const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       16);
	return 0;
}

/* Makes room for one more connection under the caps; returns 0 if it may
 * be accepted. */
static int conn_admit(const struct sockaddr_storage *peer, const char *addr)
{
	const struct tcfg_limits *lim = &drv.cfg.limits;
	struct drv_conn *oldest = NULL;
	unsigned same = 0;

	for (struct drv_conn *dc = drv.conns; dc; dc = dc->next) {
		same += same_host(&dc->addr, peer);
		if (dc->core.phase == ISCSI_PHASE_LOGIN)
			oldest = dc; /* the list is newest first */
	}
	if (same >= lim->max_per_source) {
		limit_hit(DRV_LIMIT_SOURCE,
			  "%u connections from one address (max-per-source), "
			  "refusing addr=%s",
			  same, addr);
		return -1;
	}
	if (drv.n_conns < lim->max_conns && drv.n_conns < drv.fd_cap)
		return 0;
	/* Full: a connection that has not logged in yet is cheaper to lose
	 * than a booted PC's session, and the oldest is the likeliest to be
	 * idle. */
	if (!oldest) {
		limit_hit(DRV_LIMIT_TOTAL,
			  "%zu connections, all logged in (max-connections), "
			  "refusing addr=%s",
			  drv.n_conns, addr);
		return -1;
	}
	limit_hit(DRV_LIMIT_TOTAL,
		  "%zu connections (max-connections): closing the oldest "
		  "not logged in, addr=%s",
		  drv.n_conns, oldest->peer);
	conn_close(oldest, "connection limit");
	return 0;
}

/* Timer: listening again after a pause. */
static void listener_resume(struct ev_loop *loop, struct ev_timer *t)
{
	struct drv_listener *l = (struct drv_listener *)((char *)t -
			offsetof(struct drv_listener, resume));

	ev_set_events(loop, &l->src, EPOLLIN);
}

/* Out of file descriptors: the pending connection is taken with the
 * reserve descriptor and closed at once, so the listener does not stay
 * readable and spin the loop; without a reserve the listener pauses. */
static void accept_emfile(struct drv_listener *l)
{
	limit_hit(DRV_LIMIT_FILES,
		  "out of file descriptors (%s), refusing new connections",
		  strerror(errno));
	if (drv.reserve_fd >= 0) {
		int fd;

		close(drv.reserve_fd);
		fd = accept4(l->src.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		drv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return;
	}
	ev_set_events(drv.loop, &l->src, 0);
	ev_timer_set(drv.loop, &l->resume, 1000);
}

/* Source: accepts pending connections on a listening socket. */
static void accept_ready(struct ev_loop *loop, struct ev_source *s,
			 uint32_t ev)
{
	struct drv_listener *l = (struct drv_listener *)s;

	(void)ev;
	/* A bounded batch: the listener stays readable if more wait. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		int fd = accept4(s->fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct drv_conn *dc;
		char laddr[80], paddr[80];
		int one = 1, idle = 30, intvl = 10, cnt = 3;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_emfile(l);
			return;
		}
		addr_str(&peer, paddr, sizeof(paddr));
		if (conn_admit(&peer, paddr)) {
			close(fd);
			continue;
		}
		dc = calloc(1, sizeof(*dc));
		if (!dc) {
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
		memcpy(dc->peer, paddr, sizeof(dc->peer));
		dc->addr = peer;
		iscsi_conn_init(&dc->core, &drv.env, laddr);
		/* Before login only a login PDU fits: an unauthenticated peer
		 * pins a small buffer, not a full-size one. */
		if (ev_stream_init(loop, &dc->st, fd, &conn_ops,
				   ISCSI_LOGIN_MAX_PDU + 1024)) {
			close(fd);
			free(dc);
			continue;
		}
		dc->st.src.release = conn_release;
		dc->timer.cb = conn_timer;
		ev_timer_set(loop, &dc->timer,
			     drv.cfg.limits.login_timeout * 1000ull);
		dc->next = drv.conns;
		if (drv.conns)
			drv.conns->prev = dc;
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
				/* Closing unlinks it: next stays valid. */
				conn_close(dc, "target changed by reload");
				/* Its io must land before the units go. */
				while (dc->core.n_io)
					worker_wait();
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
		struct timeval tv = {1, 0};
		const uint8_t *buf;
		size_t len;

		/* A last bounded attempt to deliver queued responses. */
		fcntl(dc->st.src.fd, F_SETFL,
		      fcntl(dc->st.src.fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(dc->st.src.fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
			   sizeof(tv));
		while ((len = conn_tx_peek(&dc->st, &buf))) {
			ssize_t n = send(dc->st.src.fd, buf, len, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			conn_tx_done(&dc->st, (size_t)n);
		}
		shutdown(dc->st.src.fd, SHUT_RDWR);
		conn_close(dc, "target shutting down");
	}
	workers_stop();
	ev_run_once(drv.loop, 0); /* frees the closed connections */
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
		if (ev_add(drv.loop, &l->src, EPOLLIN)) {
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
static void signal_ready(struct ev_loop *loop, struct ev_source *s,
			 uint32_t ev)
{
	struct signalfd_siginfo si;

	(void)loop;
	(void)ev;
	while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload();
		else
			drv.running = 0;
	}
}

int main(int argc, char **argv)
{
	char err[1024];
	sigset_t mask;
	size_t nofile;

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
	/* Every connection is a descriptor: take what the hard limit
	 * allows, and keep some for the units, listeners and a reserve. */
	nofile = ev_raise_nofile();
	drv.fd_cap = nofile > 64 ? nofile - 64 : 1;
	drv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
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
	drv.env.session_open = fleet_session_open;
	drv.env.session_close = fleet_session_close;
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
	drv.loop = ev_loop_new();
	drv.sig.type = EV_T_SIGNAL;
	drv.sig.cb = signal_ready;
	drv.sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!drv.loop || drv.sig.fd < 0 ||
	    ev_add(drv.loop, &drv.sig, EPOLLIN)) {
		fprintf(stderr, "wupan-target: %s\n", strerror(errno));
		return 1;
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
	if (workers_start()) {
		fprintf(stderr, "wupan-target: cannot start disk workers: %s\n",
			strerror(errno));
		return 1;
	}
	if (drv.fd_cap < drv.cfg.limits.max_conns)
		log_line("warning: the open-file limit (%zu) allows only %zu of "
		      "max-connections %u",
		      nofile, drv.fd_cap, drv.cfg.limits.max_conns);
	log_line("serving %zu targets", drv.n_targets);
	drv.running = 1;
	while (drv.running)
		ev_run_once(drv.loop, -1);
	log_line("shutting down");
	shutdown_all();
	for (size_t i = 0; i < drv.n_listen; i++)
		close(drv.listeners[i].src.fd);
	close(drv.sig.fd);
	ev_loop_free(drv.loop);
	return 0;
}
