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
 * usage: storm [-n CLIENTS] [-l LUN | -L BASE] [-i PREFIX] [-s] [-v] [-g]
 *              [-S] [-t SEC] HOST:PORT TARGET-IQN TRACE
 *   -l LUN     send every command to LUN instead of the recorded one
 *   -L BASE    client K sends every command to LUN BASE + K (one disk each)
 *   -s         one seed for all clients (they share one image)
 *   -g         -v, and every other block a READ returns must hold the
 *              golden pattern (storm_trace.h, tests/fleet/fleet_client.c)
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
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "storm_trace.h"

#define BLOCK STORM_BLOCK
#define IPXE_EN 10019 /* Fen Systems' IANA enterprise number, iPXE's ISID */

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
	struct storm_trace tr;
	struct client *cl;
	int n;
	int lun_override;
	int lun_base;
	int shared, verify, golden, strict;
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

static void client_next(struct client *cl);

/* The LUN a client sends command c to. */
static int cmd_lun(const struct client *cl, const struct storm_cmd *c)
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

/* Checks the blocks of a READ (-v, -g). */
static void verify_read(struct client *cl, const struct storm_cmd *c,
			const struct scsi_task *task)
{
	struct storm_check k = { g.golden, g.tr.max_lba, 0, 0 };

	if (!g.verify || !c->block_io || c->dir != STORM_READ)
		return;
	storm_check_read(&k, c, task->datain.data, (size_t)task->datain.size,
			 cl->idx, cl->seed, cl->written);
	g.verified += k.verified;
	g.bad_blocks += k.bad;
}

static void cmd_cb(struct iscsi_context *ctx, int status, void *data,
		   void *priv)
{
	struct client *cl = priv;
	struct scsi_task *task = data;
	const struct storm_cmd *c = &g.tr.cmds[cl->next];
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
	const struct storm_cmd *c = &g.tr.cmds[cl->next];
	struct rsess *s = &cl->s[c->sess];
	struct scsi_task *task;
	struct iscsi_data out = { 0, NULL }, *outp = NULL;

	task = scsi_create_task(c->cdb_len, (unsigned char *)c->cdb,
				c->dir == STORM_READ    ? SCSI_XFER_READ
				: c->dir == STORM_WRITE ? SCSI_XFER_WRITE
							: SCSI_XFER_NONE,
				(int)c->edtl);
	if (!task) {
		fail(cl, "out of memory", NULL);
		return;
	}
	if (c->dir == STORM_WRITE) {
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
			storm_fill(cl->wbuf, cl->seed, c->lba, c->blocks);
			storm_mark(cl->written, c);
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
	const struct storm_cmd *c;
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

int main(int argc, char **argv)
{
	const char *prefix = "iqn.2026-01.org.wupan.storm:client";
	int opt, limit_s = 600, n_pfd = 0;
	uint64_t t0, t1, deadline;
	struct pollfd *pfd;
	struct rsess **who;
	struct storm_lat lat;
	size_t bitmap;

	g.n = 1;
	while ((opt = getopt(argc, argv, "n:l:L:i:svgSt:")) != -1) {
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
		case 'g':
			g.verify = g.golden = 1;
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
	if (storm_trace_load(&g.tr, argv[optind + 2]))
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
		cl->seed = storm_seed(i, g.shared);
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
	lat = storm_latencies(g.lat_us, g.n_lat);
	printf("clients=%d sessions=%zu commands=%zu answered=%" PRIu64
	       " failed=%" PRIu64 " status_differs=%" PRIu64
	       " verified_blocks=%" PRIu64 " bad_blocks=%" PRIu64
	       " wall_s=%.3f p50_us=%u p99_us=%u max_us=%u cmds_per_s=%.0f"
	       " cpu_s=%.3f\n",
	       g.n, g.tr.n_sess * (size_t)g.n, g.tr.n * (size_t)g.n, g.answered,
	       g.failed, g.status_differs, g.verified, g.bad_blocks,
	       (double)(t1 - t0) / 1e9, lat.p50, lat.p99, lat.max,
	       (double)g.answered / ((double)(t1 - t0) / 1e9), storm_cpu_s());
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
		"[-v] [-g] [-S] [-t SEC] HOST:PORT TARGET-IQN TRACE\n");
	return 2;
}
