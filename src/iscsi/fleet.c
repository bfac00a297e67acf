/* Overlay LUNs in the daemon: see fleet.h. */
#include "iscsi/fleet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "iscsi/fleet_rules.h"
#include "iscsi/overlay.h"

/* One open overlay of a client.  A reset replaces it by a new one; the
 * sessions of the old boot keep theirs (its files unlinked) until they
 * end. */
struct fleet_gen {
	struct ovl o; /* first: the unit's ctx, and the workers' lock */
	struct fleet_gen *next;
	struct fleet_lun *fl;
	int refs;	       /* sessions using it */
	int stale;	       /* replaced by a reset */
	struct fleet_ver *ver; /* the version below, NULL: golden */
	char client[TCFG_NAME_MAX + 1];
};

/* A committed version, open while a client overlay or a newer version
 * stands on it. */
struct fleet_ver {
	struct ovl o; /* first */
	struct fleet_ver *next;
	struct fleet_ver *parent; /* NULL: the golden image */
	unsigned num;
	int refs;
};

struct fleet_lun {
	struct fleet_lun *next;
	char *update;	  /* update seat pattern, or NULL */
	unsigned current; /* the version new overlays start from; 0: golden */
	int versfd;	  /* DIR/versions */
	struct fleet_ver *vers;
	struct scsi_lu *tmpl; /* the golden image, read-only */
	struct backend_file *golden;
	char *golden_path;
	char *dir;
	int dirfd;
	int mode;
	uint64_t limit;
	struct ovl_pool pool;
	pthread_mutex_t lock;
	struct fleet_gen *gens;
};

/* A session's own view of its target's units. */
struct fleet_session {
	struct scsi_lun_map map; /* first: c->map points here */
	struct scsi_lu *own;
	struct fleet_gen **gens;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fleet_lun *reg;

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

/* Reads versions/NUM.info: its parent, time and comment.  Returns 0 or a
 * negative errno. */
static int ver_info(struct fleet_lun *fl, unsigned num, unsigned *parent,
		    long long *when, char *comment, size_t clen)
{
	char path[32], buf[1024];
	ssize_t n;
	int fd;
	unsigned long long p = 0;
	long long t = 0;
	const char *c;

	snprintf(path, sizeof(path), "%u.info", num);
	fd = openat(fl->versfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	if (sscanf(buf, "parent %llu\ntime %lld\n", &p, &t) != 2 || p >= num)
		return -EINVAL;
	*parent = (unsigned)p;
	if (when)
		*when = t;
	if (comment) {
		c = strstr(buf, "\ncomment ");
		snprintf(comment, clen, "%s", c ? c + 9 : "");
		comment[strcspn(comment, "\n")] = 0;
	}
	return 0;
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
static unsigned ver_max(struct fleet_lun *fl)
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

/* Opens version num (and those below it), or takes one more reference;
 * fl->lock held.  Returns NULL for the golden image (num 0) or on failure
 * (*rc -1, logged). */
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
	if (ver_info(fl, num, &parent, NULL, NULL, 0)) {
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

/* Drops a reference to v; fl->lock held. */
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
static unsigned current_read(struct fleet_lun *fl)
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

struct fleet_lun *fleet_lun_open(const struct tcfg_lun *l,
				 struct backend_file *bf, struct scsi_lu *lu,
				 char *err, size_t errlen)
{
	struct fleet_lun *fl = calloc(1, sizeof(*fl));
	DIR *d;
	struct dirent *e;

	if (!fl || !(fl->dir = strdup(l->overlays)) ||
	    !(fl->golden_path = strdup(l->path))) {
		if (fl)
			free(fl->dir);
		free(fl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (mkdir(l->overlays, 0700) && errno != EEXIST)
		goto err_dir;
	fl->dirfd = open(l->overlays, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fl->dirfd < 0)
		goto err_dir;
	if (mkdirat(fl->dirfd, "versions", 0700) && errno != EEXIST)
		goto err_dir;
	fl->versfd =
	    openat(fl->dirfd, "versions", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fl->versfd < 0 || (l->update && !(fl->update = strdup(l->update))))
		goto err_dir;
	fl->current = current_read(fl);
	fl->tmpl = lu;
	fl->golden = bf;
	fl->mode = l->mode;
	fl->limit = l->limit;
	pthread_mutex_init(&fl->lock, NULL);
	pthread_mutex_init(&fl->pool.lock, NULL);
	fl->pool.limit = l->dir_limit / OVL_BLOCK;
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
	pthread_mutex_lock(&reg_lock);
	fl->next = reg;
	reg = fl;
	pthread_mutex_unlock(&reg_lock);
	return fl;
err_dir:
	snprintf(err, errlen, "overlay directory %s: %s", l->overlays,
		 strerror(errno));
	if (fl->dirfd > 0)
		close(fl->dirfd);
	if (fl->versfd > 0)
		close(fl->versfd);
	free(fl->update);
	free(fl->dir);
	free(fl->golden_path);
	free(fl);
	return NULL;
}

void fleet_lun_close(struct fleet_lun *fl)
{
	if (!fl)
		return;
	pthread_mutex_lock(&reg_lock);
	for (struct fleet_lun **p = &reg; *p; p = &(*p)->next) {
		if (*p == fl) {
			*p = fl->next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	/* Sessions end before their target: nothing is left open. */
	close(fl->dirfd);
	close(fl->versfd);
	free(fl->update);
	pthread_mutex_destroy(&fl->lock);
	pthread_mutex_destroy(&fl->pool.lock);
	free(fl->dir);
	free(fl->golden_path);
	free(fl);
}

/* Finds the overlay LUN whose golden unit is lu, or NULL. */
static struct fleet_lun *lun_find(const struct scsi_lu *lu)
{
	struct fleet_lun *fl;

	pthread_mutex_lock(&reg_lock);
	for (fl = reg; fl && fl->tmpl != lu; fl = fl->next)
		;
	pthread_mutex_unlock(&reg_lock);
	return fl;
}

/* Takes g off fl's list of open overlays (if on it); fl->lock held. */
static void gen_unlink(struct fleet_lun *fl, struct fleet_gen *g)
{
	for (struct fleet_gen **p = &fl->gens; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			return;
		}
	}
}

/* Lets go of one session's use of g; fl->lock held. */
static void gen_put(struct fleet_gen *g)
{
	struct fleet_lun *fl = g->fl;
	uint64_t left;

	if (--g->refs)
		return;
	gen_unlink(fl, g);
	ovl_close(&g->o);
	ver_put(fl, g->ver);
	/* A kept overlay still holds its space on disk. */
	left = g->stale ? 0 : disk_units(fl, g->client);
	pool_add(fl, (int64_t)left);
	free(g);
}

/* Gives the session of initiator (ISID isid) its overlay on fl, by the
 * boot rule; NULL (logged) if it cannot be opened. */
static struct fleet_gen *
client_attach(struct fleet_lun *fl, const char *initiator, const uint8_t *isid)
{
	char name[TCFG_NAME_MAX + 1], err[300];
	struct fleet_gen *g, *ng;
	struct fleet_boot b;
	enum ovl_phase phase = OVL_PHASE_FIRMWARE;
	const char *action;
	int exists, rc, seat;
	char cur[16];

	if (fleet_client_name(initiator, name, sizeof(name)))
		return NULL;
	pthread_mutex_lock(&fl->lock);
	for (g = fl->gens; g && strcmp(g->client, name); g = g->next)
		;
	if (g) {
		exists = 1;
		phase = g->o.phase;
	} else {
		rc = ovl_peek(fl->dirfd, name, &phase, NULL, 0);
		if (rc && rc != -ENOENT) {
			log_line("overlay %s/%s: cannot read its map (%s): "
				 "login refused",
				 fl->dir, name, strerror(-rc));
			pthread_mutex_unlock(&fl->lock);
			return NULL;
		}
		exists = rc == 0;
	}
	/* The update seat keeps its overlay across boots until commit. */
	seat = fl->update && tcfg_glob(fl->update, initiator);
	b = fleet_boot_decide(fl->mode == TCFG_OVL_RESET && !seat, exists,
			      phase, isid);
	action = !exists ? "created" : b.fresh ? "reset" : "kept";
	if (g && b.fresh) {
		/* Sessions of the previous boot keep the old files. */
		gen_unlink(fl, g);
		g->stale = 1;
		g = NULL;
	} else if (!g) {
		/* Counted again by ovl_set_limit once open. */
		pool_add(fl, -(int64_t)disk_units(fl, name));
	}
	if (!g) {
		ng = calloc(1, sizeof(*ng));
		if (!ng) {
			pthread_mutex_unlock(&fl->lock);
			return NULL;
		}
		/* A new overlay starts from the current version. */
		snprintf(cur, sizeof(cur), "%u", fl->current);
		rc = ovl_open(&ng->o, fl->dirfd, name, fl->golden->fd,
			      fl->tmpl->blocks, b.fresh, cur, err, sizeof(err));
		if (rc == 0) {
			ng->ver = ver_get(
			    fl, (unsigned)strtoul(ng->o.base, NULL, 10), &rc);
			if (rc) {
				snprintf(err, sizeof(err),
					 "its version %s cannot be opened",
					 ng->o.base);
				ovl_close(&ng->o);
			}
		}
		if (rc) {
			log_line("overlay %s/%s: %s: login refused", fl->dir,
				 name, err);
			if (!b.fresh)
				pool_add(fl, (int64_t)disk_units(fl, name));
			free(ng);
			pthread_mutex_unlock(&fl->lock);
			return NULL;
		}
		ng->fl = fl;
		snprintf(ng->client, sizeof(ng->client), "%s", name);
		ovl_set_lower(&ng->o, ng->ver ? &ng->ver->o : NULL);
		ovl_set_limit(&ng->o, fl->limit, &fl->pool, on_warn, fl);
		ng->next = fl->gens;
		fl->gens = ng;
		g = ng;
	}
	if (g->o.phase != b.phase && ovl_set_phase(&g->o, b.phase))
		log_line("overlay %s/%s: cannot record its phase", fl->dir,
			 name);
	g->refs++;
	log_line("overlay %s/%s: isid=%02x%02x%02x%02x%02x%02x login=%s "
		 "overlay=%s phase=%s version=%s%s",
		 fl->dir, name, isid[0], isid[1], isid[2], isid[3], isid[4],
		 isid[5], fleet_isid_ipxe(isid) ? "ipxe" : "os", action,
		 b.phase == OVL_PHASE_OS ? "os" : "firmware",
		 g->o.base[0] ? g->o.base : "0", seat ? " seat=update" : "");
	pthread_mutex_unlock(&fl->lock);
	return g;
}

int fleet_session_open(struct iscsi_env *env, struct iscsi_conn *c)
{
	const struct scsi_lun_map *tm = &c->target->map;
	struct fleet_session *fs;
	size_t any = 0;

	(void)env;
	for (size_t i = 0; i < tm->n; i++)
		any += lun_find(tm->luns[i]) != NULL;
	if (!any)
		return 0;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -1;
	fs->map.n = tm->n;
	fs->map.luns = calloc(tm->n, sizeof(*fs->map.luns));
	fs->own = calloc(tm->n, sizeof(*fs->own));
	fs->gens = calloc(tm->n, sizeof(*fs->gens));
	if (!fs->map.luns || !fs->own || !fs->gens)
		goto err;
	for (size_t i = 0; i < tm->n; i++) {
		struct fleet_lun *fl = lun_find(tm->luns[i]);
		struct scsi_lu *lu = &fs->own[i];

		fs->map.luns[i] = tm->luns[i];
		if (!fl)
			continue;
		fs->gens[i] = client_attach(fl, c->initiator, c->isid);
		if (!fs->gens[i])
			goto err;
		/* The golden unit's identity, so the client's disk keeps
		 * its name across resets; reservations of its own. */
		lu->id = fl->tmpl->id;
		lu->target = fl->tmpl->target;
		lu->no_reservations = fl->tmpl->no_reservations;
		ovl_attach(&fs->gens[i]->o, lu);
		fs->map.luns[i] = lu;
	}
	c->map = &fs->map;
	return 0;
err:
	c->map = &fs->map;
	fleet_session_close(env, c);
	return -1;
}

void fleet_session_close(struct iscsi_env *env, struct iscsi_conn *c)
{
	struct fleet_session *fs = (struct fleet_session *)c->map;

	(void)env;
	if (!fs)
		return;
	for (size_t i = 0; fs->gens && i < fs->map.n; i++) {
		struct fleet_gen *g = fs->gens[i];
		struct fleet_lun *fl;

		if (!g)
			continue;
		fl = g->fl;
		pthread_mutex_lock(&fl->lock);
		gen_put(g); /* may free g */
		pthread_mutex_unlock(&fl->lock);
	}
	free(fs->map.luns);
	free(fs->own);
	free(fs->gens);
	free(fs);
	c->map = NULL;
}

/* Writes s as a JSON string. */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* Reports one client of fl (fl->lock held). */
static void report_client(FILE *out, struct fleet_lun *fl, const char *name,
			  int json, int first)
{
	struct fleet_gen *g;
	enum ovl_phase phase = OVL_PHASE_FIRMWARE;
	int sessions = 0;
	uint64_t alloc = 0, rd = 0, wr = 0;
	long long written = -1;

	for (g = fl->gens; g && strcmp(g->client, name); g = g->next)
		;
	if (g) {
		sessions = g->refs;
		phase = g->o.phase;
		alloc = ovl_bytes_allocated(&g->o);
		written = (long long)ovl_bytes_written(&g->o);
		rd = __atomic_load_n(&g->o.read_bytes, __ATOMIC_RELAXED);
		wr = __atomic_load_n(&g->o.write_bytes, __ATOMIC_RELAXED);
	} else {
		if (ovl_peek(fl->dirfd, name, &phase, NULL, 0))
			return;
		alloc = disk_units(fl, name) * 512;
	}
	if (json) {
		fprintf(out, "%s{\"name\":", first ? "" : ",");
		json_str(out, name);
		fprintf(out,
			",\"sessions\":%d,\"phase\":\"%s\",\"allocated\":%llu,"
			"\"written\":",
			sessions, phase == OVL_PHASE_OS ? "os" : "firmware",
			(unsigned long long)alloc);
		if (written < 0)
			fputs("null", out);
		else
			fprintf(out, "%lld", written);
		fprintf(out, ",\"read_bytes\":%llu,\"write_bytes\":%llu}",
			(unsigned long long)rd, (unsigned long long)wr);
	} else {
		fprintf(out, "  %-44s %8d %-8s %12llu", name, sessions,
			phase == OVL_PHASE_OS ? "os" : "firmware",
			(unsigned long long)alloc);
		if (written < 0)
			fputs(" -", out);
		else
			fprintf(out, " %lld", written);
		fprintf(out, " %llu %llu\n", (unsigned long long)rd,
			(unsigned long long)wr);
	}
}

/* Collects the client names of fl's directory, sorted; returns how many
 * (names freed by the caller). */
static size_t client_names(struct fleet_lun *fl, char ***names)
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
	for (size_t i = 1; i < n; i++)
		for (size_t j = i;
		     j > 0 && strcmp((*names)[j - 1], (*names)[j]) > 0; j--) {
			char *t = (*names)[j];

			(*names)[j] = (*names)[j - 1];
			(*names)[j - 1] = t;
		}
	return n;
}

void fleet_report(FILE *out, int json)
{
	int first_lun = 1;

	pthread_mutex_lock(&reg_lock);
	if (json)
		fputs("{\"luns\":[", out);
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		char **names;
		size_t n;
		uint64_t used;

		pthread_mutex_lock(&fl->lock);
		pthread_mutex_lock(&fl->pool.lock);
		used = fl->pool.used * 512;
		pthread_mutex_unlock(&fl->pool.lock);
		n = client_names(fl, &names);
		if (json) {
			fprintf(out, "%s{\"overlays\":", first_lun ? "" : ",");
			json_str(out, fl->dir);
			fputs(",\"golden\":", out);
			json_str(out, fl->golden_path);
			fprintf(out, ",\"target\":");
			json_str(out, fl->tmpl->target ? fl->tmpl->target : "");
			fprintf(out,
				",\"mode\":\"%s\",\"limit\":%llu,"
				"\"dir_limit\":%llu,\"used\":%llu,"
				"\"clients\":[",
				fl->mode == TCFG_OVL_RESET ? "reset"
							   : "persistent",
				(unsigned long long)fl->limit,
				(unsigned long long)fl->pool.limit * 512,
				(unsigned long long)used);
		} else {
			fprintf(out, "overlays %s golden %s mode %s used %llu",
				fl->dir, fl->golden_path,
				fl->mode == TCFG_OVL_RESET ? "reset"
							   : "persistent",
				(unsigned long long)used);
			if (fl->limit)
				fprintf(out, " limit %llu",
					(unsigned long long)fl->limit);
			if (fl->pool.limit)
				fprintf(out, " dir-limit %llu",
					(unsigned long long)fl->pool.limit *
					    512);
			fprintf(out, "\n  %-44s %8s %-8s %12s %s\n", "CLIENT",
				"SESSIONS", "PHASE", "ALLOCATED",
				"WRITTEN READ-BYTES WRITE-BYTES");
		}
		for (size_t i = 0; i < n; i++) {
			report_client(out, fl, names[i], json, i == 0);
			free(names[i]);
		}
		free(names);
		if (json)
			fputs("]}", out);
		pthread_mutex_unlock(&fl->lock);
		first_lun = 0;
	}
	if (json)
		fputs("]}\n", out);
	pthread_mutex_unlock(&reg_lock);
}

int fleet_reset(const char *initiator, FILE *out)
{
	char name[TCFG_NAME_MAX + 1], path[TCFG_NAME_MAX + 8];
	int rc = 0, found = 0;

	if (fleet_client_name(initiator, name, sizeof(name))) {
		fprintf(out, "no such client\n");
		return -1;
	}
	pthread_mutex_lock(&reg_lock);
	/* Refuse before discarding anything. */
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		pthread_mutex_lock(&fl->lock);
		for (struct fleet_gen *g = fl->gens; g; g = g->next) {
			if (!strcmp(g->client, name) && g->refs) {
				fprintf(out,
					"refused: %s has %d session%s open "
					"on %s; its overlay can be "
					"discarded once it has logged out "
					"(shut the PC down first)\n",
					name, g->refs, g->refs > 1 ? "s" : "",
					fl->dir);
				rc = -1;
			}
		}
		pthread_mutex_unlock(&fl->lock);
	}
	for (struct fleet_lun *fl = reg; fl && rc == 0; fl = fl->next) {
		uint64_t units;

		pthread_mutex_lock(&fl->lock);
		units = disk_units(fl, name);
		snprintf(path, sizeof(path), "%s.map", name);
		if (unlinkat(fl->dirfd, path, 0) == 0) {
			found = 1;
			snprintf(path, sizeof(path), "%s.ovl", name);
			unlinkat(fl->dirfd, path, 0);
			pool_add(fl, -(int64_t)units);
			fprintf(out, "discarded %s/%s\n", fl->dir, name);
			log_line("overlay %s/%s: discarded by the operator",
				 fl->dir, name);
		}
		pthread_mutex_unlock(&fl->lock);
	}
	pthread_mutex_unlock(&reg_lock);
	if (rc == 0 && !found) {
		fprintf(out, "no overlay of %s\n", name);
		rc = -1;
	}
	return rc;
}

/* Marks in keep[] (n entries) version v and those below it. */
static void keep_chain(struct fleet_lun *fl, unsigned v, uint8_t *keep,
		       unsigned n)
{
	while (v && v < n && !keep[v]) {
		unsigned parent;

		keep[v] = 1;
		if (ver_info(fl, v, &parent, NULL, NULL, 0))
			break;
		v = parent;
	}
}

void fleet_versions(FILE *out, int json)
{
	int first_lun = 1;

	pthread_mutex_lock(&reg_lock);
	if (json)
		fputs("{\"luns\":[", out);
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		unsigned max;
		int first = 1;

		pthread_mutex_lock(&fl->lock);
		max = ver_max(fl);
		if (json) {
			fprintf(out, "%s{\"overlays\":", first_lun ? "" : ",");
			json_str(out, fl->dir);
			fprintf(out,
				",\"current\":%u,\"update\":", fl->current);
			if (fl->update)
				json_str(out, fl->update);
			else
				fputs("null", out);
			fputs(",\"versions\":[", out);
		} else {
			fprintf(out, "overlays %s current %u update %s\n",
				fl->dir, fl->current,
				fl->update ? fl->update : "-");
			fprintf(out, "  %s 0 golden %s\n",
				fl->current == 0 ? "*" : " ", fl->golden_path);
		}
		for (unsigned v = 1; v <= max; v++) {
			unsigned parent;
			long long when;
			char comment[512], stamp[32];
			time_t t;
			struct tm tm;

			if (ver_info(fl, v, &parent, &when, comment,
				     sizeof(comment)))
				continue;
			t = (time_t)when;
			gmtime_r(&t, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ",
				 &tm);
			if (json) {
				fprintf(out,
					"%s{\"version\":%u,\"parent\":%u,"
					"\"time\":\"%s\",\"comment\":",
					first ? "" : ",", v, parent, stamp);
				json_str(out, comment);
				fprintf(out, ",\"current\":%s}",
					v == fl->current ? "true" : "false");
				first = 0;
			} else {
				fprintf(out, "  %s %u parent %u %s %s\n",
					v == fl->current ? "*" : " ", v, parent,
					stamp, comment);
			}
		}
		if (json)
			fputs("]}", out);
		pthread_mutex_unlock(&fl->lock);
		first_lun = 0;
	}
	if (json)
		fputs("]}\n", out);
	pthread_mutex_unlock(&reg_lock);
}

/* Commits the update seat name's overlay on fl as version max + 1;
 * fl->lock held.  Returns 0 or -1 (said on out). */
static int commit_one(struct fleet_lun *fl, const char *name,
		      const char *comment, FILE *out)
{
	char base[OVL_BASE_MAX], from[TCFG_NAME_MAX + 8], to[32], info[700];
	char one[501];
	enum ovl_phase phase;
	unsigned num, b;
	uint64_t units;
	int rc;

	for (struct fleet_gen *g = fl->gens; g; g = g->next) {
		if (!strcmp(g->client, name) && g->refs) {
			fprintf(out,
				"refused: the update seat %s has %d "
				"session%s open on %s; shut it down "
				"before committing its work\n",
				name, g->refs, g->refs > 1 ? "s" : "", fl->dir);
			return -1;
		}
	}
	rc = ovl_peek(fl->dirfd, name, &phase, base, sizeof(base));
	if (rc) {
		fprintf(out, "nothing to commit: %s has no overlay on %s\n",
			name, fl->dir);
		return -1;
	}
	b = (unsigned)strtoul(base, NULL, 10);
	if (b != fl->current) {
		fprintf(out,
			"refused: %s's overlay was made on version %u, "
			"but version %u is current; discard it (ctl "
			"reset) and redo the update\n",
			name, b, fl->current);
		return -1;
	}
	num = ver_max(fl) + 1;
	snprintf(one, sizeof(one), "%s", comment);
	for (char *p = one; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' '; /* the comment is one line */
	snprintf(info, sizeof(info), "parent %u\ntime %lld\ncomment %s\n", b,
		 (long long)time(NULL), one);
	snprintf(to, sizeof(to), "%u.info", num);
	units = disk_units(fl, name);
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
	fl->current = num;
	pool_add(fl, -(int64_t)units);
	fprintf(out, "%s: version %u committed from %s (on version %u)\n",
		fl->dir, num, name, b);
	log_line("overlays %s: version %u committed from %s: %s", fl->dir, num,
		 name, comment);
	return 0;
err:
	fprintf(out, "commit on %s failed: %s\n", fl->dir, strerror(errno));
	return -1;
}

int fleet_commit(const char *initiator, const char *comment, FILE *out)
{
	char name[TCFG_NAME_MAX + 1];
	int rc = 0, seats = 0;

	if (fleet_client_name(initiator, name, sizeof(name)))
		return -1;
	pthread_mutex_lock(&reg_lock);
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		if (!fl->update || !tcfg_glob(fl->update, initiator))
			continue;
		seats++;
		pthread_mutex_lock(&fl->lock);
		rc |= commit_one(fl, name, comment, out);
		pthread_mutex_unlock(&fl->lock);
	}
	pthread_mutex_unlock(&reg_lock);
	if (!seats) {
		fprintf(out,
			"refused: %s is not the update seat of any "
			"overlay LUN (update=)\n",
			initiator);
		return -1;
	}
	return rc;
}

int fleet_rollback(FILE *out)
{
	int done = 0, rc = 0;

	pthread_mutex_lock(&reg_lock);
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		unsigned parent;
		char buf[16];

		pthread_mutex_lock(&fl->lock);
		if (fl->current &&
		    !ver_info(fl, fl->current, &parent, NULL, NULL, 0)) {
			snprintf(buf, sizeof(buf), "%u\n", parent);
			if (ver_write(fl, "current", buf)) {
				fprintf(out, "rollback on %s failed\n",
					fl->dir);
				rc = -1;
			} else {
				fprintf(out,
					"%s: version %u is current (was "
					"%u); running clients keep theirs "
					"until they boot again\n",
					fl->dir, parent, fl->current);
				log_line(
				    "overlays %s: rolled back from version "
				    "%u to %u",
				    fl->dir, fl->current, parent);
				fl->current = parent;
				done++;
			}
		}
		pthread_mutex_unlock(&fl->lock);
	}
	pthread_mutex_unlock(&reg_lock);
	if (!done && !rc) {
		fprintf(out, "nothing to roll back: every overlay LUN is at "
			     "its golden image\n");
		rc = -1;
	}
	return rc;
}

int fleet_prune(FILE *out)
{
	int pruned = 0;

	pthread_mutex_lock(&reg_lock);
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		unsigned max;
		uint8_t *keep;
		char **names, base[OVL_BASE_MAX];
		size_t n;

		pthread_mutex_lock(&fl->lock);
		max = ver_max(fl);
		keep = calloc(max + 1, 1);
		if (!keep) {
			pthread_mutex_unlock(&fl->lock);
			continue;
		}
		/* Kept: the current version, what any overlay on disk or
		 * any open session stands on, and all below them. */
		keep_chain(fl, fl->current, keep, max + 1);
		n = client_names(fl, &names);
		for (size_t i = 0; i < n; i++) {
			enum ovl_phase ph;

			if (!ovl_peek(fl->dirfd, names[i], &ph, base,
				      sizeof(base)))
				keep_chain(fl,
					   (unsigned)strtoul(base, NULL, 10),
					   keep, max + 1);
			free(names[i]);
		}
		free(names);
		for (struct fleet_ver *v = fl->vers; v; v = v->next)
			keep_chain(fl, v->num, keep, max + 1);
		for (unsigned v = 1; v <= max; v++) {
			char path[32];

			if (keep[v])
				continue;
			snprintf(path, sizeof(path), "%u.map", v);
			if (unlinkat(fl->versfd, path, 0) && errno == ENOENT)
				continue;
			snprintf(path, sizeof(path), "%u.ovl", v);
			unlinkat(fl->versfd, path, 0);
			snprintf(path, sizeof(path), "%u.info", v);
			unlinkat(fl->versfd, path, 0);
			fprintf(out, "%s: version %u removed\n", fl->dir, v);
			log_line("overlays %s: version %u pruned", fl->dir, v);
			pruned++;
		}
		free(keep);
		pthread_mutex_unlock(&fl->lock);
	}
	pthread_mutex_unlock(&reg_lock);
	if (!pruned)
		fprintf(out, "nothing to prune\n");
	return 0;
}
