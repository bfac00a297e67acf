/* A room's overlays and versions as files in one directory (fleet_store.h):
 * NAME.ovl and NAME.map per client (overlay.h), versions/N.ovl, N.map and
 * N.info per committed version, versions/current. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "iscsi/fleet_rules.h"
#include "iscsi/fleet_store.h"

/* ovl_warn_fn: logs 80 % and 90 % of a limit. */
static void on_warn(void *arg, const char *name, unsigned pct, uint64_t used,
		    uint64_t limit)
{
	struct fleet_lun *fl = arg;

	if (name)
		log_line("overlay %s/%s: %u%% of its limit used (%llu of %llu "
			 "bytes)",
			 fl->dir, name, pct, (unsigned long long)used,
			 (unsigned long long)limit);
	else
		log_line("overlays %s: %u%% of the directory limit used (%llu "
			 "of %llu bytes)",
			 fl->dir, pct, (unsigned long long)used,
			 (unsigned long long)limit);
}

/* Adds delta 512-byte units to the directory's use. */
static void pool_add(struct fleet_lun *fl, int64_t delta)
{
	pthread_mutex_lock(&fl->pool.lock);
	if (delta < 0 && (uint64_t)-delta > fl->pool.used)
		fl->pool.used = 0;
	else
		fl->pool.used = (uint64_t)((int64_t)fl->pool.used + delta);
	pthread_mutex_unlock(&fl->pool.lock);
}

/* 512-byte units the closed overlay NAME.ovl allocates (0 if none). */
static uint64_t disk_units(struct fleet_lun *fl, const char *name)
{
	char path[TCFG_NAME_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s.ovl", name);
	return fstatat(fl->dirfd, path, &st, 0) ? 0 : (uint64_t)st.st_blocks;
}

/* Reads versions/NUM.info: its parent, time and comment. */
static int file_ver_info(struct fleet_lun *fl, unsigned num, unsigned *parent,
			 long long *when, char *comment, size_t clen)
{
	char path[32], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%u.info", num);
	fd = openat(fl->versfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	return fleet_ver_parse(buf, num, parent, when, comment, clen);
}

/* Writes a small file in versions/ durably (a temporary, then rename). */
static int ver_write(struct fleet_lun *fl, const char *name, const char *text)
{
	char tmp[64];
	size_t len = strlen(text);
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(fl->versfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		rc = -EIO;
	close(fd);
	if (rc == 0 && renameat(fl->versfd, tmp, fl->versfd, name))
		rc = -errno;
	if (rc == 0 && fsync(fl->versfd))
		rc = -errno;
	return rc;
}

/* Returns the highest committed version on disk (0: none). */
static unsigned file_ver_max(struct fleet_lun *fl)
{
	DIR *d = fdopendir(dup(fl->versfd));
	struct dirent *e;
	unsigned max = 0;

	if (d)
		rewinddir(d);
	while (d && (e = readdir(d))) {
		unsigned v;
		char tail[8];

		if (sscanf(e->d_name, "%u.%7s", &v, tail) == 2 && v > max &&
		    (!strcmp(tail, "map") || !strcmp(tail, "info")))
			max = v;
	}
	if (d)
		closedir(d);
	return max;
}

/* Opens version num (and those below it), or takes one more reference.
 * Returns NULL for the golden image (num 0) or on failure (*rc -1,
 * logged). */
static struct fleet_ver *ver_get(struct fleet_lun *fl, unsigned num, int *rc)
{
	struct fleet_ver *v;
	char name[16], err[300];
	unsigned parent = 0;

	*rc = 0;
	if (num == 0)
		return NULL;
	for (v = fl->vers; v; v = v->next) {
		if (v->num == num) {
			v->refs++;
			return v;
		}
	}
	if (file_ver_info(fl, num, &parent, NULL, NULL, 0)) {
		log_line("overlays %s: version %u is missing or damaged",
			 fl->dir, num);
		*rc = -1;
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		*rc = -1;
		return NULL;
	}
	snprintf(name, sizeof(name), "%u", num);
	if (ovl_open(&v->o, fl->versfd, name, fl->golden->fd, fl->tmpl->blocks,
		     0, NULL, err, sizeof(err))) {
		log_line("overlays %s: version %u: %s", fl->dir, num, err);
		free(v);
		*rc = -1;
		return NULL;
	}
	v->parent = ver_get(fl, parent, rc);
	if (*rc) {
		ovl_close(&v->o);
		free(v);
		return NULL;
	}
	ovl_set_lower(&v->o, v->parent ? &v->parent->o : NULL);
	v->num = num;
	v->refs = 1;
	v->next = fl->vers;
	fl->vers = v;
	return v;
}

/* Drops a reference to v. */
static void ver_put(struct fleet_lun *fl, struct fleet_ver *v)
{
	if (!v || --v->refs)
		return;
	for (struct fleet_ver **p = &fl->vers; *p; p = &(*p)->next) {
		if (*p == v) {
			*p = v->next;
			break;
		}
	}
	ovl_close(&v->o);
	ver_put(fl, v->parent);
	free(v);
}

/* Reads versions/current (0 if none). */
static unsigned file_current(struct fleet_lun *fl)
{
	char buf[32];
	int fd = openat(fl->versfd, "current", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned v = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		if (sscanf(buf, "%u", &v) != 1)
			v = 0;
	}
	return v;
}

int fleet_file_open(struct fleet_lun *fl, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;

	fl->dirfd = fl->versfd = -1;
	if (mkdir(fl->dir, 0700) && errno != EEXIST)
		goto err_dir;
	fl->dirfd = open(fl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fl->dirfd < 0)
		goto err_dir;
	if (mkdirat(fl->dirfd, "versions", 0700) && errno != EEXIST)
		goto err_dir;
	fl->versfd = openat(fl->dirfd, "versions",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fl->versfd < 0)
		goto err_dir;
	pthread_mutex_init(&fl->pool.lock, NULL);
	/* The directory's use starts with what its overlays hold. */
	d = fdopendir(dup(fl->dirfd));
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct stat st;

		if (n > 4 && !strcmp(e->d_name + n - 4, ".ovl") &&
		    !fstatat(fl->dirfd, e->d_name, &st, 0))
			fl->pool.used += (uint64_t)st.st_blocks;
	}
	if (d)
		closedir(d);
	fl->ops = &fleet_file_ops;
	return 0;
err_dir:
	snprintf(err, errlen, "overlay directory %s: %s", fl->dir,
		 strerror(errno));
	if (fl->dirfd >= 0)
		close(fl->dirfd);
	if (fl->versfd >= 0)
		close(fl->versfd);
	return -1;
}

/* fleet_store_ops.close */
static void file_close(struct fleet_lun *fl)
{
	close(fl->dirfd);
	close(fl->versfd);
	pthread_mutex_destroy(&fl->pool.lock);
}

/* fleet_store_ops.peek */
static int file_peek(struct fleet_lun *fl, const char *name,
		     enum ovl_phase *phase, unsigned *base)
{
	char b[OVL_BASE_MAX];
	int rc = ovl_peek(fl->dirfd, name, phase, b, sizeof(b));

	if (rc == 0 && base)
		*base = (unsigned)strtoul(b, NULL, 10);
	return rc;
}

/* fleet_store_ops.gen_open: a client whose overlay no open gen holds
 * has its space counted in the pool: ovl_set_limit counts it again. */
static int file_gen_open(struct fleet_lun *fl, struct fleet_gen *g, int fresh,
			 unsigned cur, char *err, size_t errlen)
{
	char curs[16];
	uint64_t units = 0;
	int held = 0, rc;

	for (struct fleet_gen *o = fl->gens; o; o = o->next)
		held |= !strcmp(o->client, g->client);
	if (!held) {
		units = disk_units(fl, g->client);
		pool_add(fl, -(int64_t)units);
	}
	snprintf(curs, sizeof(curs), "%u", cur);
	rc = ovl_open(&g->u.o, fl->dirfd, g->client, fl->golden->fd,
		      fl->tmpl->blocks, fresh, curs, err, errlen);
	if (rc == 0) {
		g->base = (unsigned)strtoul(g->u.o.base, NULL, 10);
		g->ver = ver_get(fl, g->base, &rc);
		if (rc) {
			snprintf(err, errlen, "its version %u cannot be opened",
				 g->base);
			ovl_close(&g->u.o);
		}
	}
	if (rc) {
		if (!fresh)
			pool_add(fl, (int64_t)units);
		return -EIO;
	}
	g->phase = g->u.o.phase;
	ovl_set_lower(&g->u.o, g->ver ? &g->ver->o : NULL);
	ovl_set_limit(&g->u.o, fl->limit, &fl->pool, on_warn, fl);
	return 0;
}

/* fleet_store_ops.gen_close */
static void file_gen_close(struct fleet_gen *g)
{
	struct fleet_lun *fl = g->fl;

	ovl_close(&g->u.o);
	ver_put(fl, g->ver);
	/* A kept overlay still holds its space on disk. */
	if (!g->stale)
		pool_add(fl, (int64_t)disk_units(fl, g->client));
}

/* fleet_store_ops.retire: ovl_open of the new overlay unlinks the old
 * files; their sessions keep them open. */
static int file_retire(struct fleet_gen *g)
{
	(void)g;
	return 0;
}

/* fleet_store_ops.set_phase */
static int file_set_phase(struct fleet_gen *g, enum ovl_phase phase)
{
	return ovl_set_phase(&g->u.o, phase);
}

/* fleet_store_ops.attach */
static void file_attach(struct fleet_gen *g, struct scsi_lu *lu)
{
	ovl_attach(&g->u.o, lu);
}

/* fleet_store_ops.usage */
static void file_usage(struct fleet_lun *fl, const char *name,
		       struct fleet_gen *g, uint64_t *alloc, long long *written,
		       long long *rd, long long *wr)
{
	if (g) {
		*alloc = ovl_bytes_allocated(&g->u.o);
		*written = (long long)ovl_bytes_written(&g->u.o);
		*rd = (long long)__atomic_load_n(&g->u.o.read_bytes,
						 __ATOMIC_RELAXED);
		*wr = (long long)__atomic_load_n(&g->u.o.write_bytes,
						 __ATOMIC_RELAXED);
	} else {
		*alloc = disk_units(fl, name) * 512;
		*written = -1;
		*rd = *wr = 0;
	}
}

/* fleet_store_ops.used */
static long long file_used(struct fleet_lun *fl)
{
	uint64_t used;

	pthread_mutex_lock(&fl->pool.lock);
	used = fl->pool.used * 512;
	pthread_mutex_unlock(&fl->pool.lock);
	return (long long)used;
}

/* fleet_store_ops.clients: the NAME.map files of the directory. */
static size_t file_clients(struct fleet_lun *fl, char ***names)
{
	DIR *d = fdopendir(dup(fl->dirfd));
	struct dirent *e;
	size_t n = 0, cap = 0;

	*names = NULL;
	/* The duplicate shares its offset with dirfd: start over. */
	if (d)
		rewinddir(d);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **nn;

		if (len <= 4 || strcmp(e->d_name + len - 4, ".map"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nn = realloc(*names, cap * sizeof(*nn));
			if (!nn)
				break;
			*names = nn;
		}
		if (!((*names)[n] = strndup(e->d_name, len - 4)))
			break;
		n++;
	}
	if (d)
		closedir(d);
	fleet_sort_names(*names, n);
	return n;
}

/* fleet_store_ops.elsewhere: one daemon owns a directory. */
static int file_elsewhere(struct fleet_lun *fl, const char *name)
{
	(void)fl;
	(void)name;
	return 0;
}

/* fleet_store_ops.discard */
static int file_discard(struct fleet_lun *fl, const char *name)
{
	char path[TCFG_NAME_MAX + 8];
	uint64_t units = disk_units(fl, name);

	snprintf(path, sizeof(path), "%s.map", name);
	if (unlinkat(fl->dirfd, path, 0))
		return -errno;
	snprintf(path, sizeof(path), "%s.ovl", name);
	unlinkat(fl->dirfd, path, 0);
	pool_add(fl, -(int64_t)units);
	return 0;
}

/* fleet_store_ops.commit: the seat's files move into versions/. */
static int file_commit(struct fleet_lun *fl, const char *name, unsigned num,
		       unsigned base, const char *comment, char *err,
		       size_t errlen)
{
	char from[TCFG_NAME_MAX + 8], to[32], info[700];
	uint64_t units = disk_units(fl, name);

	if (file_current(fl) != base)
		return -ESTALE;
	fleet_ver_build(info, sizeof(info), base, (long long)time(NULL),
			comment);
	snprintf(to, sizeof(to), "%u.info", num);
	/* The map moves first: a crash in between leaves the seat a data
	 * file without a map, which starts again empty, and a version
	 * nobody uses. */
	if (ver_write(fl, to, info))
		goto err;
	snprintf(from, sizeof(from), "%s.map", name);
	snprintf(to, sizeof(to), "%u.map", num);
	if (renameat(fl->dirfd, from, fl->versfd, to))
		goto err;
	snprintf(from, sizeof(from), "%s.ovl", name);
	snprintf(to, sizeof(to), "%u.ovl", num);
	if (renameat(fl->dirfd, from, fl->versfd, to) || fsync(fl->versfd) ||
	    fsync(fl->dirfd))
		goto err;
	snprintf(info, sizeof(info), "%u\n", num);
	if (ver_write(fl, "current", info))
		goto err;
	pool_add(fl, -(int64_t)units);
	return 0;
err:
	snprintf(err, errlen, "%s", strerror(errno));
	return -EIO;
}

/* fleet_store_ops.set_current */
static int file_set_current(struct fleet_lun *fl, unsigned from, unsigned to)
{
	char buf[16];

	if (file_current(fl) != from)
		return -ESTALE;
	snprintf(buf, sizeof(buf), "%u\n", to);
	return ver_write(fl, "current", buf);
}

/* fleet_store_ops.ver_remove: versions open here are still stood on. */
static int file_ver_remove(struct fleet_lun *fl, unsigned num)
{
	char path[32];

	for (struct fleet_ver *v = fl->vers; v; v = v->next)
		if (v->num == num)
			return -EBUSY;
	snprintf(path, sizeof(path), "%u.map", num);
	if (unlinkat(fl->versfd, path, 0) && errno == ENOENT)
		return -ENOENT;
	snprintf(path, sizeof(path), "%u.ovl", num);
	unlinkat(fl->versfd, path, 0);
	snprintf(path, sizeof(path), "%u.info", num);
	unlinkat(fl->versfd, path, 0);
	return 0;
}

const struct fleet_store_ops fleet_file_ops = {
	.close = file_close,
	.peek = file_peek,
	.gen_open = file_gen_open,
	.gen_close = file_gen_close,
	.retire = file_retire,
	.set_phase = file_set_phase,
	.attach = file_attach,
	.usage = file_usage,
	.used = file_used,
	.clients = file_clients,
	.elsewhere = file_elsewhere,
	.discard = file_discard,
	.current = file_current,
	.ver_max = file_ver_max,
	.ver_info = file_ver_info,
	.commit = file_commit,
	.set_current = file_set_current,
	.ver_remove = file_ver_remove,
};
