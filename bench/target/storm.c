/*
 * Boot storm: replays a trace of wupan-target --trace from N clients at once
 * (make bench-storm, tests/target/storm.sh).  Each client has an initiator
 * name of its own (PREFIX + number) and replays every command of the trace,
 * in the order they arrived, at queue depth 1, back to back: one iSCSI
 * session per session of the trace (iPXE's, then the operating system's),
 * opened when its first command comes and logged out after its last.  A
 * session whose recorded ISID is iPXE's (IANA enterprise 10019) gets one of
 * that format again, the others an OUI-format ISID, so an overlay LUN tells
 * a new boot from a reconnect as it would for the real guest.  WRITEs carry
 * data made from the seed and the block's LBA; with -v, every block a READ
 * returns that this client wrote before is checked.
 *
 * One thread, libiscsi's asynchronous API over every context, poll(2).
 *
 * usage: storm [-n CLIENTS] [-l LUN | -L BASE] [-i PREFIX] [-s] [-v] [-S]
 *              [-t SEC] HOST:PORT TARGET-IQN TRACE
 *   -l LUN     send every command to LUN instead of the recorded one
 *   -L BASE    client K sends every command to LUN BASE + K (one disk each)
 *   -s         one seed for all clients (they share one image)
 *   -S         a status other than the recorded one is a failure
 * Prints one line of key=value pairs (cpu_s: this program's own CPU time,
 * to tell when it, not the target, is the limit); exits 0 when every command
 * was answered (and, with -v, every checked block was right), 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BLOCK 512
#define IPXE_EN 10019 /* Fen Systems' IANA enterprise number, iPXE's ISID */

/* One command of the trace. */
struct cmd {
	uint32_t sess; /* index into the trace's sessions */
	int lun;
	int dir; /* SCSI_XFER_* */
	uint32_t edtl;
	uint8_t cdb[16];
	int cdb_len;
	int status; /* recorded, -1 if unknown */
	int block_io; /* a READ/WRITE of whole blocks at lba */
	uint64_t lba;
	uint32_t blocks;
	uint64_t t_us;
};

struct trace {
	struct cmd *cmds;
	size_t n, cap;
	char **sess; /* recorded session keys */
	uint64_t *isid; /* and their ISIDs */
	size_t *last; /* the index of each session's last command */
	size_t n_sess;
	uint64_t max_lba; /* past the last block any WRITE touches */
};

struct client;

/* One replayed session of one client. */
struct rsess {
	struct iscsi_context *ctx;
	struct client *cl;
	int state; /* 0 none, 1 connecting, 2 ready, 3 logging out, 4 gone */
};

struct client {
	int idx;
	char iqn[256];
	struct rsess *s;
	size_t next; /* the next command to send */
	uint64_t seed;
	uint8_t *written; /* bitmap of blocks this client wrote */
	uint8_t *wbuf; /* data of its WRITE in flight */
	size_t wcap;
	uint64_t sent_ns;
	int done;
};

static struct {
	struct trace tr;
	struct client *cl;
	int n;
	int lun_override;
	int lun_base;
	int shared, verify, strict;
	const char *portal, *target;
	uint32_t *lat_us;
	size_t n_lat;
	uint64_t answered, failed, status_differs, verified, bad_blocks;
	int fatal;
	int clients_done;
} g = { .lun_override = -1, .lun_base = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *status_str(int st)
{
	static const struct {
		const char *name;
		int st;
	} names[] = {
		{ "GOOD", 0 },
		{ "CHECK_CONDITION", 2 },
		{ "BUSY", 8 },
		{ "RESERVATION_CONFLICT", 0x18 },
		{ "TASK_SET_FULL", 0x28 },
		{ "TASK_ABORTED", 0x40 },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].st == st)
			return names[i].name;
	return NULL;
}

/* The recorded status of a trace line; -1 when it is not a SCSI status. */
static int status_parse(const char *s)
{
	static const char *const names[] = {
		"GOOD",          "CHECK_CONDITION",
		"BUSY",          "RESERVATION_CONFLICT",
		"TASK_SET_FULL", "TASK_ABORTED"
	};
	static const int values[] = { 0, 2, 8, 0x18, 0x28, 0x40 };

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return values[i];
	if (strncmp(s, "0x", 2) == 0)
		return (int)strtol(s, NULL, 16);
	return -1;
}

/* Index of session key, added if new. */
static uint32_t sess_index(struct trace *tr, const char *key)
{
	const char *x = strstr(key, ",i,0x");

	for (size_t i = 0; i < tr->n_sess; i++)
		if (strcmp(tr->sess[i], key) == 0)
			return (uint32_t)i;
	tr->sess = realloc(tr->sess, (tr->n_sess + 1) * sizeof(*tr->sess));
	tr->isid = realloc(tr->isid, (tr->n_sess + 1) * sizeof(*tr->isid));
	tr->last = realloc(tr->last, (tr->n_sess + 1) * sizeof(*tr->last));
	if (!tr->sess || !tr->isid || !tr->last) {
		fprintf(stderr, "storm: out of memory\n");
		exit(1);
	}
	tr->sess[tr->n_sess] = strdup(key);
	tr->isid[tr->n_sess] = x ? strtoull(x + 5, NULL, 16) : 0;
	return (uint32_t)tr->n_sess++;
}

/* Arrival order; commands of one moment keep the file's order. */
static int cmd_cmp(const void *a, const void *b)
{
	const struct cmd *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Reads a trace file (format in src/iscsi/trace.h). */
static int trace_load(struct trace *tr, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;

	if (!f) {
		fprintf(stderr, "storm: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char sess[600], op[40], lba[32], blocks[32], dir[4], st[40];
		char cdb[40];
		unsigned long long t, edtl, lat;
		int lun;
		struct cmd *c;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line,
			   "%llu %599s %d %39s %31s %31s %3s %llu %llu %39s %39s",
			   &t, sess, &lun, op, lba, blocks, dir, &edtl, &lat,
			   st, cdb) != 11 ||
		    strlen(cdb) % 2 || strlen(cdb) > 32 || strlen(cdb) < 12) {
			fprintf(stderr, "storm: %s:%u: not a trace line\n",
				path, lineno);
			fclose(f);
			return -1;
		}
		if (tr->n == tr->cap) {
			tr->cap = tr->cap ? 2 * tr->cap : 4096;
			tr->cmds =
				realloc(tr->cmds, tr->cap * sizeof(*tr->cmds));
			if (!tr->cmds) {
				fclose(f);
				return -1;
			}
		}
		c = &tr->cmds[tr->n++];
		memset(c, 0, sizeof(*c));
		c->t_us = t;
		c->sess = sess_index(tr, sess);
		c->lun = lun;
		c->dir = dir[0] == 'r'   ? SCSI_XFER_READ
			 : dir[0] == 'w' ? SCSI_XFER_WRITE
					 : SCSI_XFER_NONE;
		c->edtl = (uint32_t)edtl;
		c->status = status_parse(st);
		c->cdb_len = (int)strlen(cdb) / 2;
		for (int i = 0; i < c->cdb_len; i++)
			sscanf(cdb + 2 * i, "%2hhx", &c->cdb[i]);
		/* READ and WRITE (6/10/12/16) move whole blocks from lba. */
		c->block_io = (strncmp(op, "READ_", 5) == 0 ||
			       strncmp(op, "WRITE_", 6) == 0) &&
			      strcmp(op, "READ_CAPACITY_10") &&
			      strcmp(op, "READ_CAPACITY_16") &&
			      strncmp(op, "WRITE_SAME", 10) && lba[0] != '-';
		if (lba[0] != '-') {
			c->lba = strtoull(lba, NULL, 10);
			c->blocks = (uint32_t)strtoul(blocks, NULL, 10);
		}
		if (c->block_io && c->edtl != (uint64_t)c->blocks * BLOCK)
			c->block_io = 0;
		if (c->block_io && c->dir == SCSI_XFER_WRITE &&
		    c->lba + c->blocks > tr->max_lba)
			tr->max_lba = c->lba + c->blocks;
	}
	fclose(f);
	if (!tr->n) {
		fprintf(stderr, "storm: %s: no commands\n", path);
		return -1;
	}
	qsort(tr->cmds, tr->n, sizeof(*tr->cmds), cmd_cmp);
	for (size_t i = 0; i < tr->n; i++)
		tr->last[tr->cmds[i].sess] = i;
	return 0;
}

/* The 8-byte word at word index w of block lba for seed. */
static uint64_t pattern(uint64_t seed, uint64_t lba, unsigned w)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15u ^ (lba << 7 | w);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	return x;
}

static void fill(uint8_t *buf, uint64_t seed, uint64_t lba, uint32_t blocks)
{
	for (uint32_t b = 0; b < blocks; b++)
		for (unsigned w = 0; w < BLOCK / 8; w++) {
			uint64_t v = pattern(seed, lba + b, w);

			memcpy(buf + (size_t)b * BLOCK + w * 8, &v, 8);
		}
}

static void client_next(struct client *cl);

/* The LUN a client sends command c to. */
static int cmd_lun(const struct client *cl, const struct cmd *c)
{
	if (g.lun_base >= 0)
		return g.lun_base + cl->idx;
	return g.lun_override >= 0 ? g.lun_override : c->lun;
}

static void fail(struct client *cl, const char *what, struct iscsi_context *ctx)
{
	fprintf(stderr, "storm: client %d (%s): %s: %s\n", cl->idx, cl->iqn,
		what, ctx ? iscsi_get_error(ctx) : "");
	g.fatal = 1;
}

static void logout_cb(struct iscsi_context *ctx, int status, void *data,
		      void *priv)
{
	struct rsess *s = priv;

	(void)ctx;
	(void)status;
	(void)data;
	s->state = 4;
}

/* Checks the blocks of a READ this client wrote before. */
static void verify_read(struct client *cl, const struct cmd *c,
			const struct scsi_task *task)
{
	uint8_t want[BLOCK];

	if (!g.verify || !c->block_io || c->dir != SCSI_XFER_READ)
		return;
	for (uint32_t b = 0; b < c->blocks; b++) {
		uint64_t lba = c->lba + b;

		if (lba >= g.tr.max_lba ||
		    !(cl->written[lba / 8] & (1u << (lba % 8))))
			continue;
		g.verified++;
		fill(want, cl->seed, lba, 1);
		if ((size_t)task->datain.size < (size_t)(b + 1) * BLOCK ||
		    memcmp(task->datain.data + (size_t)b * BLOCK, want,
			   BLOCK)) {
			if (g.bad_blocks++ < 5)
				fprintf(stderr,
					"storm: client %d: block %" PRIu64
					" is not what it wrote\n",
					cl->idx, lba);
		}
	}
}

static void cmd_cb(struct iscsi_context *ctx, int status, void *data,
		   void *priv)
{
	struct client *cl = priv;
	struct scsi_task *task = data;
	const struct cmd *c = &g.tr.cmds[cl->next];
	uint64_t lat = (now_ns() - cl->sent_ns) / 1000;

	if (status == SCSI_STATUS_CANCELLED || status == SCSI_STATUS_ERROR ||
	    status == SCSI_STATUS_TIMEOUT) {
		g.failed++;
		fail(cl, "command not answered", ctx);
	} else {
		g.answered++;
		g.lat_us[g.n_lat++] = lat > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)lat;
		if (c->status >= 0 && status != c->status) {
			if (g.status_differs++ < 5)
				fprintf(stderr,
					"storm: client %d: command %zu (%02x) "
					"got %s, recorded %s\n",
					cl->idx, cl->next, c->cdb[0],
					status_str(status) ? status_str(status)
							   : "?",
					status_str(c->status)
						? status_str(c->status)
						: "?");
		}
		if (status == SCSI_STATUS_GOOD)
			verify_read(cl, c, task);
	}
	scsi_free_scsi_task(task);
	if (g.fatal)
		return;
	/* After its last command a session logs out, as iPXE's ends when
	 * the operating system takes over. */
	if (g.tr.last[c->sess] == cl->next) {
		struct rsess *s = &cl->s[c->sess];

		s->state = 3;
		if (iscsi_logout_async(s->ctx, logout_cb, s))
			s->state = 4;
	}
	cl->next++;
	client_next(cl);
}

/* Sends the client's next command (its session is logged in). */
static void send_cmd(struct client *cl)
{
	const struct cmd *c = &g.tr.cmds[cl->next];
	struct rsess *s = &cl->s[c->sess];
	struct scsi_task *task;
	struct iscsi_data out = { 0, NULL }, *outp = NULL;

	task = scsi_create_task(c->cdb_len, (unsigned char *)c->cdb, c->dir,
				(int)c->edtl);
	if (!task) {
		fail(cl, "out of memory", NULL);
		return;
	}
	if (c->dir == SCSI_XFER_WRITE) {
		/* libiscsi sends Data-Out from this buffer as the target
		 * asks (R2T): it stays the client's until the answer. */
		if (c->edtl > cl->wcap) {
			cl->wcap = c->edtl;
			free(cl->wbuf);
			cl->wbuf = malloc(cl->wcap);
			if (!cl->wbuf) {
				fail(cl, "out of memory", NULL);
				return;
			}
		}
		memset(cl->wbuf, 0, c->edtl);
		if (c->block_io) {
			fill(cl->wbuf, cl->seed, c->lba, c->blocks);
			for (uint32_t b = 0; b < c->blocks; b++)
				cl->written[(c->lba + b) / 8] |=
					(uint8_t)(1u << ((c->lba + b) % 8));
		}
		out.size = c->edtl;
		out.data = cl->wbuf;
		outp = &out;
	}
	cl->sent_ns = now_ns();
	if (iscsi_scsi_command_async(s->ctx, cmd_lun(cl, c), task, cmd_cb, outp,
				     cl)) {
		scsi_free_scsi_task(task);
		fail(cl, "cannot queue a command", s->ctx);
	}
}

static void connect_cb(struct iscsi_context *ctx, int status, void *data,
		       void *priv)
{
	struct rsess *s = priv;

	(void)data;
	if (status) {
		s->state = 4;
		fail(s->cl, "login", ctx);
		return;
	}
	s->state = 2;
	send_cmd(s->cl);
}

/* Moves the client on: log in the next command's session, or send it. */
static void client_next(struct client *cl)
{
	const struct cmd *c;
	struct rsess *s;
	char url[512];

	if (cl->next == g.tr.n) {
		cl->done = 1;
		return;
	}
	c = &g.tr.cmds[cl->next];
	s = &cl->s[c->sess];
	if (s->state == 2) {
		send_cmd(cl);
		return;
	}
	if (s->state != 0) {
		fail(cl, "the trace uses a session after its last command",
		     NULL);
		return;
	}
	s->ctx = iscsi_create_context(cl->iqn);
	if (!s->ctx) {
		fail(cl, "cannot make a context", NULL);
		return;
	}
	s->cl = cl;
	iscsi_set_targetname(s->ctx, g.target);
	iscsi_set_session_type(s->ctx, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(s->ctx, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_timeout(s->ctx, 30);
	if ((g.tr.isid[c->sess] >> 16) == 0x40002723u)
		iscsi_set_isid_en(s->ctx, IPXE_EN,
				  (uint32_t)(g.tr.isid[c->sess] & 0xffff));
	else
		iscsi_set_isid_oui(s->ctx, 0x00023d,
				   (uint32_t)(cl->idx * 16 + c->sess));
	snprintf(url, sizeof(url), "%s", g.portal);
	s->state = 1;
	if (iscsi_full_connect_async(s->ctx, url, cmd_lun(cl, c), connect_cb,
				     s)) {
		s->state = 4;
		fail(cl, "connect", s->ctx);
	}
}

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *prefix = "iqn.2026-01.org.wupan.storm:client";
	int opt, limit_s = 600, n_pfd = 0;
	uint64_t t0, t1, deadline;
	struct pollfd *pfd;
	struct rsess **who;
	struct rusage ru;
	size_t bitmap;

	g.n = 1;
	while ((opt = getopt(argc, argv, "n:l:L:i:svSt:")) != -1) {
		switch (opt) {
		case 'n':
			g.n = atoi(optarg);
			break;
		case 'l':
			g.lun_override = atoi(optarg);
			break;
		case 'L':
			g.lun_base = atoi(optarg);
			break;
		case 'i':
			prefix = optarg;
			break;
		case 's':
			g.shared = 1;
			break;
		case 'v':
			g.verify = 1;
			break;
		case 'S':
			g.strict = 1;
			break;
		case 't':
			limit_s = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 3 || g.n < 1 || g.n > 4096 || limit_s < 1)
		goto usage;
	g.portal = argv[optind];
	g.target = argv[optind + 1];
	if (trace_load(&g.tr, argv[optind + 2]))
		return 1;
	g.cl = calloc((size_t)g.n, sizeof(*g.cl));
	g.lat_us = calloc(g.tr.n * (size_t)g.n, sizeof(*g.lat_us));
	pfd = calloc(g.tr.n_sess * (size_t)g.n, sizeof(*pfd));
	who = calloc(g.tr.n_sess * (size_t)g.n, sizeof(*who));
	bitmap = (size_t)(g.tr.max_lba / 8 + 1);
	if (!g.cl || !g.lat_us || !pfd || !who)
		return 1;
	t0 = now_ns();
	deadline = t0 + (uint64_t)limit_s * 1000000000u;
	for (int i = 0; i < g.n; i++) {
		struct client *cl = &g.cl[i];

		cl->idx = i;
		snprintf(cl->iqn, sizeof(cl->iqn), "%s%03d", prefix, i);
		cl->seed = g.shared ? 1 : (uint64_t)i + 2;
		cl->s = calloc(g.tr.n_sess, sizeof(*cl->s));
		cl->written = calloc(bitmap, 1);
		if (!cl->s || !cl->written)
			return 1;
		client_next(cl);
	}
	while (!g.fatal) {
		int busy = 0;

		n_pfd = 0;
		for (int i = 0; i < g.n; i++) {
			struct client *cl = &g.cl[i];

			for (size_t k = 0; k < g.tr.n_sess; k++) {
				struct rsess *s = &cl->s[k];

				if (s->state == 4 && s->ctx) {
					iscsi_destroy_context(s->ctx);
					s->ctx = NULL;
				}
				if (s->state < 1 || s->state > 3)
					continue;
				busy = 1;
				pfd[n_pfd].fd = iscsi_get_fd(s->ctx);
				pfd[n_pfd].events =
					(short)iscsi_which_events(s->ctx);
				who[n_pfd++] = s;
			}
			busy |= !cl->done;
		}
		if (!busy)
			break;
		if (now_ns() > deadline) {
			fprintf(stderr, "storm: not done after %d s\n",
				limit_s);
			g.fatal = 1;
			break;
		}
		if (poll(pfd, (nfds_t)n_pfd, 100) < 0 && errno != EINTR) {
			perror("storm: poll");
			return 1;
		}
		for (int i = 0; i < n_pfd && !g.fatal; i++) {
			struct rsess *s = who[i];

			if (s->state < 1 || s->state > 3)
				continue;
			if (iscsi_service(s->ctx, pfd[i].revents) >= 0)
				continue;
			/* The target may close first after a logout. */
			if (s->state != 3)
				fail(s->cl, "connection", s->ctx);
			s->state = 4;
		}
	}
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru);
	qsort(g.lat_us, g.n_lat, sizeof(*g.lat_us), u32cmp);
	printf("clients=%d sessions=%zu commands=%zu answered=%" PRIu64
	       " failed=%" PRIu64 " status_differs=%" PRIu64
	       " verified_blocks=%" PRIu64 " bad_blocks=%" PRIu64
	       " wall_s=%.3f p50_us=%u p99_us=%u max_us=%u cmds_per_s=%.0f"
	       " cpu_s=%.3f\n",
	       g.n, g.tr.n_sess * (size_t)g.n, g.tr.n * (size_t)g.n, g.answered,
	       g.failed, g.status_differs, g.verified, g.bad_blocks,
	       (double)(t1 - t0) / 1e9, g.n_lat ? g.lat_us[g.n_lat / 2] : 0,
	       g.n_lat ? g.lat_us[g.n_lat * 99 / 100] : 0,
	       g.n_lat ? g.lat_us[g.n_lat - 1] : 0,
	       (double)g.answered / ((double)(t1 - t0) / 1e9),
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
			       1e6);
	if (g.fatal || g.answered != g.tr.n * (size_t)g.n || g.bad_blocks ||
	    (g.strict && g.status_differs)) {
		fprintf(stderr,
			"storm: FAILED: %" PRIu64 " of %zu commands "
			"answered, %" PRIu64 " bad blocks\n",
			g.answered, g.tr.n * (size_t)g.n, g.bad_blocks);
		return 1;
	}
	return 0;
usage:
	fprintf(stderr,
		"usage: storm [-n CLIENTS] [-l LUN | -L BASE] [-i PREFIX] [-s] "
		"[-v] [-S] [-t SEC] HOST:PORT TARGET-IQN TRACE\n");
	return 2;
}
