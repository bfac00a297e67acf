/*
 * The boot storm straight through librbd: the ceiling of make bench-rbd's
 * storm row, and the RBD storm test's checker (tests/ceph/storm.sh).  The
 * trace is read by storm_trace.c, as bench/target/storm.c reads it.
 *
 *   storm_rbd clone CONF POOL/IMAGE@SNAP POOL/PREFIX N
 *       makes PREFIX000 .. PREFIX(N-1) fresh clones of the snapshot
 *       (removing them first when they exist)
 *   storm_rbd replay [-n N] [-v] [-g] [-t SEC] CONF POOL/PREFIX TRACE
 *       client K replays the trace on image PREFIX%03d(K), all at once,
 *       each at queue depth 1 back to back, as storm does over iSCSI:
 *       READ/WRITE as rbd_aio_read/rbd_aio_write, SYNCHRONIZE CACHE as
 *       rbd_aio_flush; the other commands (INQUIRY, READ CAPACITY, ...)
 *       have no librbd call and are counted as skipped, as is a READ past
 *       the end.  WRITEs carry client K's data (storm_seed(K)); -v checks
 *       every block a READ returns that the client wrote before, -g also
 *       that every other one is golden
 *   storm_rbd check CONF POOL/IMAGE K TRACE
 *       the image holds client K's data at every block the trace writes
 *       and the golden pattern at every other block the trace reads
 *   storm_rbd remove CONF POOL/PREFIX
 *       removes every image whose name starts with PREFIX (a bench's
 *       clones: the test cluster's memstore OSD holds 1 GiB)
 * replay prints one line of key=value pairs (cpu_s: this process's CPU
 * time, librbd's threads included); every mode exits 0 when all went
 * right, 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "storm_trace.h"

#define BLOCK STORM_BLOCK

struct client {
	int idx;
	rbd_image_t img;
	uint64_t size;
	size_t next; /* the command in flight or the next one */
	uint64_t seed;
	uint8_t *written; /* bitmap of blocks this client wrote */
	uint8_t *buf;
	size_t cap;
	uint64_t sent_ns;
	ssize_t rc; /* the finished command's result */
	int done;
};

static struct {
	struct storm_trace tr;
	struct client *cl;
	int n, verify, golden;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *ready; /* clients whose command finished, for the main thread */
	int n_ready;
	uint32_t *lat_us;
	size_t n_lat;
	uint64_t issued, skipped, failed, verified, bad_blocks;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens the pool of spec ("POOL/x") on cluster; *rest points past the
 * slash. */
static int open_pool(rados_t cluster, const char *spec, rados_ioctx_t *io,
		     const char **rest)
{
	char pool[128];
	const char *slash = strchr(spec, '/');
	int rc;

	if (!slash || (size_t)(slash - spec) >= sizeof(pool)) {
		fprintf(stderr, "storm_rbd: %s: expected POOL/NAME\n", spec);
		return -EINVAL;
	}
	memcpy(pool, spec, (size_t)(slash - spec));
	pool[slash - spec] = '\0';
	*rest = slash + 1;
	rc = rados_ioctx_create(cluster, pool, io);
	if (rc)
		fprintf(stderr, "storm_rbd: pool %s: %s\n", pool,
			strerror(-rc));
	return rc;
}

/* Connects to the cluster of conf and opens the pool of spec. */
static int connect_pool(const char *conf, const char *spec, rados_t *cluster,
			rados_ioctx_t *io, const char **rest)
{
	int rc;

	if ((rc = rados_create(cluster, NULL)) ||
	    (rc = rados_conf_read_file(*cluster, conf)) ||
	    (rc = rados_connect(*cluster))) {
		fprintf(stderr, "storm_rbd: %s: %s\n", conf, strerror(-rc));
		return rc;
	}
	return open_pool(*cluster, spec, io, rest);
}

/* storm_rbd clone: fresh clones PREFIX000.. of IMAGE@SNAP. */
static int do_clone(const char *conf, const char *parent, const char *prefix,
		    int n)
{
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_options_t opts;
	char image[256], name[256];
	const char *rest, *at, *pfx;
	rados_ioctx_t pio;
	int rc;

	if (connect_pool(conf, parent, &cluster, &pio, &rest))
		return 1;
	at = strchr(rest, '@');
	if (!at || (size_t)(at - rest) >= sizeof(image)) {
		fprintf(stderr, "storm_rbd: %s: expected POOL/IMAGE@SNAP\n",
			parent);
		return 2;
	}
	memcpy(image, rest, (size_t)(at - rest));
	image[at - rest] = '\0';
	if (open_pool(cluster, prefix, &io, &pfx))
		return 1;
	rbd_image_options_create(&opts);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%03d", pfx, i);
		rc = rbd_remove(io, name);
		if (rc && rc != -ENOENT) {
			fprintf(stderr, "storm_rbd: remove %s: %s\n", name,
				strerror(-rc));
			return 1;
		}
		rc = rbd_clone3(pio, image, at + 1, io, name, opts);
		if (rc) {
			fprintf(stderr, "storm_rbd: clone %s as %s: %s\n",
				parent, name, strerror(-rc));
			return 1;
		}
	}
	rbd_image_options_destroy(opts);
	rados_ioctx_destroy(io);
	rados_ioctx_destroy(pio);
	rados_shutdown(cluster);
	return 0;
}

/* storm_rbd remove: the images named PREFIX... */
static int do_remove(const char *conf, const char *prefix)
{
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_spec_t *images = NULL;
	size_t n = 0;
	const char *pfx;
	int rc, bad = 0;

	if (connect_pool(conf, prefix, &cluster, &io, &pfx))
		return 1;
	rc = rbd_list2(io, NULL, &n);
	if (rc == -ERANGE) {
		images = calloc(n, sizeof(*images));
		rc = images ? rbd_list2(io, images, &n) : -ENOMEM;
	}
	if (rc) {
		fprintf(stderr, "storm_rbd: list: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(images[i].name, pfx, strlen(pfx)))
			continue;
		rc = rbd_remove(io, images[i].name);
		if (rc) {
			fprintf(stderr, "storm_rbd: remove %s: %s\n",
				images[i].name, strerror(-rc));
			bad = 1;
		}
	}
	if (images)
		rbd_image_spec_list_cleanup(images, n);
	free(images);
	rados_ioctx_destroy(io);
	rados_shutdown(cluster);
	return bad;
}

/* Checks the blocks a READ of client cl returned in cl->buf. */
static void verify_read(struct client *cl, const struct storm_cmd *c)
{
	struct storm_check k = { g.golden, g.tr.max_lba, 0, 0 };

	storm_check_read(&k, c, cl->buf, (size_t)c->blocks * BLOCK, cl->idx,
			 cl->seed, cl->written);
	g.verified += k.verified;
	g.bad_blocks += k.bad;
}

/* librbd's completion (one of its threads): hands the client to main. */
static void done_cb(rbd_completion_t comp, void *arg)
{
	struct client *cl = arg;

	cl->rc = rbd_aio_get_return_value(comp);
	rbd_aio_release(comp);
	pthread_mutex_lock(&g.mu);
	g.ready[g.n_ready++] = cl->idx;
	pthread_cond_signal(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

/* Sends the client's next command that librbd has a call for; marks it
 * done when the trace ends.  Returns -1 when librbd refused one. */
static int client_next(struct client *cl)
{
	rbd_completion_t comp;
	const struct storm_cmd *c;
	uint64_t off, len;
	int rc;

	for (; cl->next < g.tr.n; cl->next++) {
		c = &g.tr.cmds[cl->next];
		if (c->flush)
			break;
		if (c->block_io &&
		    (c->lba + c->blocks) * (uint64_t)BLOCK <= cl->size)
			break;
		g.skipped++;
	}
	if (cl->next == g.tr.n) {
		cl->done = 1;
		return 0;
	}
	c = &g.tr.cmds[cl->next];
	off = c->lba * BLOCK;
	len = (uint64_t)c->blocks * BLOCK;
	if (len > cl->cap) {
		free(cl->buf);
		cl->cap = len;
		cl->buf = malloc(len);
		if (!cl->buf)
			return -1;
	}
	if (rbd_aio_create_completion(cl, done_cb, &comp))
		return -1;
	cl->sent_ns = now_ns();
	g.issued++;
	if (c->flush) {
		rc = rbd_aio_flush(cl->img, comp);
	} else if (c->dir == STORM_WRITE) {
		storm_fill(cl->buf, cl->seed, c->lba, c->blocks);
		storm_mark(cl->written, c);
		rc = rbd_aio_write(cl->img, off, len, (const char *)cl->buf,
				   comp);
	} else {
		rc = rbd_aio_read(cl->img, off, len, (char *)cl->buf, comp);
	}
	if (rc) {
		rbd_aio_release(comp);
		return -1;
	}
	return 0;
}

/* storm_rbd replay. */
static int do_replay(int argc, char **argv)
{
	rados_t cluster;
	rados_ioctx_t io;
	const char *pfx;
	int opt, limit_s = 600, done = 0, fatal = 0;
	uint64_t t_open, t0, t1;
	struct timespec until;
	struct storm_lat lat;
	size_t bitmap;

	g.n = 1;
	while ((opt = getopt(argc, argv, "n:vgt:")) != -1) {
		switch (opt) {
		case 'n':
			g.n = atoi(optarg);
			break;
		case 'v':
			g.verify = 1;
			break;
		case 'g':
			g.verify = g.golden = 1;
			break;
		case 't':
			limit_s = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 3 || g.n < 1 || g.n > 1000 || limit_s < 1)
		return 2;
	if (storm_trace_load(&g.tr, argv[optind + 2]))
		return 1;
	t_open = now_ns();
	if (connect_pool(argv[optind], argv[optind + 1], &cluster, &io, &pfx))
		return 1;
	g.cl = calloc((size_t)g.n, sizeof(*g.cl));
	g.ready = calloc((size_t)g.n, sizeof(*g.ready));
	g.lat_us = calloc(g.tr.n * (size_t)g.n, sizeof(*g.lat_us));
	bitmap = (size_t)(g.tr.max_lba / 8 + 1);
	if (!g.cl || !g.ready || !g.lat_us)
		return 1;
	for (int i = 0; i < g.n; i++) {
		struct client *cl = &g.cl[i];
		char name[256];
		int rc;

		cl->idx = i;
		cl->seed = storm_seed(i, 0);
		cl->written = calloc(bitmap, 1);
		snprintf(name, sizeof(name), "%s%03d", pfx, i);
		rc = rbd_open(io, name, &cl->img, NULL);
		if (!rc)
			rc = rbd_get_size(cl->img, &cl->size);
		if (rc || !cl->written) {
			fprintf(stderr, "storm_rbd: open %s: %s\n", name,
				strerror(rc ? -rc : ENOMEM));
			return 1;
		}
	}
	t0 = now_ns();
	for (int i = 0; i < g.n; i++)
		if (client_next(&g.cl[i]))
			fatal = 1;
		else
			done += g.cl[i].done;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += limit_s;
	pthread_mutex_lock(&g.mu);
	while (!fatal && done < g.n) {
		int idx;
		struct client *cl;
		const struct storm_cmd *c;
		uint64_t lat;

		if (!g.n_ready) {
			if (pthread_cond_timedwait(&g.cv, &g.mu, &until) ==
			    ETIMEDOUT) {
				fprintf(stderr,
					"storm_rbd: not done after %d s\n",
					limit_s);
				fatal = 1;
			}
			continue;
		}
		idx = g.ready[--g.n_ready];
		pthread_mutex_unlock(&g.mu);
		cl = &g.cl[idx];
		c = &g.tr.cmds[cl->next];
		lat = (now_ns() - cl->sent_ns) / 1000;
		g.lat_us[g.n_lat++] = lat > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)lat;
		if (cl->rc < 0 || (c->dir == STORM_READ && !c->flush &&
				   cl->rc != (ssize_t)c->blocks * BLOCK)) {
			if (g.failed++ < 5)
				fprintf(stderr,
					"storm_rbd: client %d: command %zu: "
					"%s\n",
					idx, cl->next,
					cl->rc < 0 ? strerror((int)-cl->rc)
						   : "short read");
		} else if (g.verify && c->dir == STORM_READ && !c->flush) {
			verify_read(cl, c);
		}
		cl->next++;
		if (client_next(cl))
			fatal = 1;
		done += cl->done;
		pthread_mutex_lock(&g.mu);
	}
	pthread_mutex_unlock(&g.mu);
	t1 = now_ns();
	lat = storm_latencies(g.lat_us, g.n_lat);
	printf("clients=%d commands=%zu issued=%" PRIu64 " skipped=%" PRIu64
	       " failed=%" PRIu64 " verified_blocks=%" PRIu64
	       " bad_blocks=%" PRIu64 " open_s=%.3f wall_s=%.3f p50_us=%u"
	       " p99_us=%u max_us=%u cpu_s=%.3f\n",
	       g.n, g.tr.n * (size_t)g.n, g.issued, g.skipped, g.failed,
	       g.verified, g.bad_blocks, (double)(t0 - t_open) / 1e9,
	       (double)(t1 - t0) / 1e9, lat.p50, lat.p99, lat.max,
	       storm_cpu_s());
	if (fatal || g.failed || g.bad_blocks) {
		fprintf(stderr,
			"storm_rbd: FAILED: %" PRIu64 " failed, %" PRIu64
			" bad blocks\n",
			g.failed, g.bad_blocks);
		return 1;
	}
	/* Only a finished run closes its images: one stuck in librbd would
	 * hang here. */
	for (int i = 0; i < g.n; i++)
		rbd_close(g.cl[i].img);
	rados_ioctx_destroy(io);
	rados_shutdown(cluster);
	return 0;
}

/* storm_rbd check: the image after client idx's replay. */
static int do_check(const char *conf, const char *spec, int idx,
		    const char *path)
{
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t img;
	const char *name;
	uint8_t got[BLOCK], want[BLOCK], *buf = NULL;
	uint64_t size, own = 0;
	uint8_t *written;
	struct storm_check k = { 1, 0, 0, 0 };
	int rc;

	if (storm_trace_load(&g.tr, path) ||
	    connect_pool(conf, spec, &cluster, &io, &name))
		return 1;
	rc = rbd_open_read_only(io, name, &img, NULL);
	if (!rc)
		rc = rbd_get_size(img, &size);
	if (rc) {
		fprintf(stderr, "storm_rbd: open %s: %s\n", spec,
			strerror(-rc));
		return 1;
	}
	k.max_lba = g.tr.max_lba;
	written = calloc((size_t)(g.tr.max_lba / 8 + 1), 1);
	if (!written)
		return 1;
	for (size_t i = 0; i < g.tr.n; i++)
		if (g.tr.cmds[i].block_io && g.tr.cmds[i].dir == STORM_WRITE)
			storm_mark(written, &g.tr.cmds[i]);
	/* Every block the trace reads, as the last of its READs saw it. */
	for (size_t i = 0; i < g.tr.n; i++) {
		const struct storm_cmd *c = &g.tr.cmds[i];
		size_t len = (size_t)c->blocks * BLOCK;
		ssize_t n;

		if (!c->block_io || c->dir != STORM_READ ||
		    (c->lba + c->blocks) * (uint64_t)BLOCK > size)
			continue;
		free(buf);
		buf = malloc(len);
		n = buf ? rbd_read(img, c->lba * BLOCK, len, (char *)buf) : -1;
		if (n != (ssize_t)len) {
			k.bad++;
			continue;
		}
		storm_check_read(&k, c, buf, len, idx, storm_seed(idx, 0),
				 written);
	}
	free(buf);
	/* The trace's written blocks are read back even if it never did. */
	for (uint64_t lba = 0; lba < g.tr.max_lba; lba++) {
		if (!storm_marked(written, g.tr.max_lba, lba))
			continue;
		storm_fill(want, storm_seed(idx, 0), lba, 1);
		if (rbd_read(img, lba * BLOCK, BLOCK, (char *)got) != BLOCK ||
		    memcmp(got, want, BLOCK)) {
			if (k.bad++ < 5)
				fprintf(stderr,
					"storm_rbd: %s: written block %" PRIu64
					" does not hold the client's data\n",
					spec, lba);
		}
		own++;
	}
	printf("verified_blocks=%" PRIu64 " own_blocks=%" PRIu64
	       " bad_blocks=%" PRIu64 "\n",
	       k.verified, own, k.bad);
	rbd_close(img);
	rados_ioctx_destroy(io);
	rados_shutdown(cluster);
	return k.bad || !own || !k.verified;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && !strcmp(argv[1], "clone") && argc == 6)
		rc = do_clone(argv[2], argv[3], argv[4], atoi(argv[5]));
	else if (argc >= 2 && !strcmp(argv[1], "replay"))
		rc = do_replay(argc - 1, argv + 1);
	else if (argc == 6 && !strcmp(argv[1], "check"))
		rc = do_check(argv[2], argv[3], atoi(argv[4]), argv[5]);
	else if (argc == 4 && !strcmp(argv[1], "remove"))
		rc = do_remove(argv[2], argv[3]);
	if (rc == 2)
		fprintf(stderr,
			"usage: storm_rbd clone CONF POOL/IMAGE@SNAP POOL/PREFIX N\n"
			"       storm_rbd replay [-n N] [-v] [-g] [-t SEC] CONF "
			"POOL/PREFIX TRACE\n"
			"       storm_rbd check CONF POOL/IMAGE K TRACE\n"
			"       storm_rbd remove CONF POOL/PREFIX\n");
	return rc;
}
