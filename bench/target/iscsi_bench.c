/*
 * Load generator for bench/target/bench.sh, on libiscsi's async API:
 *   iscsi_bench URL read|write seq|rand BLOCKS_PER_IO DEPTH SESSIONS SECONDS
 * runs SESSIONS sessions with DEPTH commands in flight each, over the first
 * 256 MiB of the LUN (or all of a smaller one), and prints
 * "iops N mbps N lat_us N bytes N cpu_pct N" (cpu_pct: its own CPU time over
 * the run, in percent of one core).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

struct sess {
	struct iscsi_context *ctx;
	int lun;
	uint64_t next;
};

static int writing, random_io, bpio;
static uint32_t span_blocks = 256u * 2048u; /* 256 MiB, or the LUN */
static uint64_t done_ios, lat_ns_total, end_ns;
static unsigned char *wbuf;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process (user + system), in seconds. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

struct io {
	struct sess *s;
	uint64_t start;
};

static void issue(struct sess *s, struct io *io);

static void done_cb(struct iscsi_context *ctx, int status, void *data,
		    void *priv)
{
	struct io *io = priv;

	(void)ctx;
	if (status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "I/O failed: %s\n", iscsi_get_error(ctx));
		exit(1);
	}
	scsi_free_scsi_task(data);
	done_ios++;
	lat_ns_total += now_ns() - io->start;
	if (now_ns() < end_ns)
		issue(io->s, io);
}

static void issue(struct sess *s, struct io *io)
{
	uint32_t lba;
	struct scsi_task *t;

	if (random_io)
		lba = (uint32_t)(rand() % (span_blocks / bpio)) * bpio;
	else {
		lba = (uint32_t)(s->next % span_blocks);
		s->next += bpio;
	}
	io->s = s;
	io->start = now_ns();
	if (writing)
		t = iscsi_write10_task(s->ctx, s->lun, lba, wbuf, bpio * 512,
				       512, 0, 0, 0, 0, 0, done_cb, io);
	else
		t = iscsi_read10_task(s->ctx, s->lun, lba, bpio * 512, 512, 0,
				      0, 0, 0, 0, done_cb, io);
	if (!t) {
		fprintf(stderr, "cannot queue: %s\n", iscsi_get_error(s->ctx));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int depth, nsess, secs;
	struct sess *ss;
	struct pollfd *pfd;
	uint64_t start;
	double cpu0;

	if (argc != 8) {
		fprintf(stderr,
			"usage: iscsi_bench URL read|write seq|rand BLOCKS DEPTH SESSIONS SECONDS\n");
		return 2;
	}
	writing = !strcmp(argv[2], "write");
	random_io = !strcmp(argv[3], "rand");
	bpio = atoi(argv[4]);
	depth = atoi(argv[5]);
	nsess = atoi(argv[6]);
	secs = atoi(argv[7]);
	wbuf = calloc(bpio, 512);
	ss = calloc(nsess, sizeof(*ss));
	pfd = calloc(nsess, sizeof(*pfd));
	for (int i = 0; i < nsess; i++) {
		char name[96];
		struct iscsi_url *u;

		snprintf(name, sizeof(name), "iqn.2025-01.org.wupan:bench-%d",
			 i);
		ss[i].ctx = iscsi_create_context(name);
		u = iscsi_parse_full_url(ss[i].ctx, argv[1]);
		if (!u)
			return 2;
		iscsi_set_session_type(ss[i].ctx, ISCSI_SESSION_NORMAL);
		iscsi_set_header_digest(ss[i].ctx, ISCSI_HEADER_DIGEST_NONE);
		iscsi_set_targetname(ss[i].ctx, u->target);
		if (iscsi_full_connect_sync(ss[i].ctx, u->portal, u->lun)) {
			fprintf(stderr, "connect: %s\n",
				iscsi_get_error(ss[i].ctx));
			return 1;
		}
		ss[i].lun = u->lun;
		if (i == 0) {
			struct scsi_task *t = iscsi_readcapacity10_sync(
				ss[i].ctx, u->lun, 0, 0);
			struct scsi_readcapacity10 *rc =
				t ? scsi_datain_unmarshall(t) : NULL;

			if (rc && rc->lba + 1 < span_blocks)
				span_blocks = rc->lba + 1;
			if (t)
				scsi_free_scsi_task(t);
		}
		ss[i].next = (uint64_t)i * (span_blocks / nsess);
	}
	cpu0 = cpu_s();
	start = now_ns();
	end_ns = start + (uint64_t)secs * 1000000000u;
	for (int i = 0; i < nsess; i++)
		for (int d = 0; d < depth; d++)
			issue(&ss[i], calloc(1, sizeof(struct io)));
	for (;;) {
		int busy = 0;

		for (int i = 0; i < nsess; i++) {
			pfd[i].fd = iscsi_get_fd(ss[i].ctx);
			pfd[i].events = (short)iscsi_which_events(ss[i].ctx);
			busy |= iscsi_queue_length(ss[i].ctx) > 0;
		}
		if (!busy && now_ns() >= end_ns)
			break;
		if (poll(pfd, (nfds_t)nsess, 1000) < 0)
			return 1;
		for (int i = 0; i < nsess; i++)
			if (pfd[i].revents &&
			    iscsi_service(ss[i].ctx, pfd[i].revents) < 0) {
				fprintf(stderr, "service: %s\n",
					iscsi_get_error(ss[i].ctx));
				return 1;
			}
	}
	{
		double sec = (double)(now_ns() - start) / 1e9;

		printf("iops %.0f mbps %.1f lat_us %.1f bytes %llu cpu_pct %.0f\n",
		       (double)done_ios / sec,
		       (double)done_ios * bpio * 512 / sec / 1e6,
		       done_ios ? (double)lat_ns_total / (double)done_ios / 1e3
				: 0.0,
		       (unsigned long long)(done_ios * (uint64_t)bpio * 512),
		       (cpu_s() - cpu0) / sec * 100);
	}
	for (int i = 0; i < nsess; i++) {
		iscsi_logout_sync(ss[i].ctx);
		iscsi_destroy_context(ss[i].ctx);
	}
	return 0;
}
