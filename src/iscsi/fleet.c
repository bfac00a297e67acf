/* Overlay LUNs in the daemon: see fleet.h. */
#include "iscsi/fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "iscsi/fleet_rules.h"
#include "iscsi/fleet_store.h"
#include "iscsi/overlay.h"

/* A session's own view of its target's units. */
struct fleet_session {
	struct scsi_lun_map map; /* first: c->map points here */
	struct scsi_lu *own;
	struct fleet_gen **gens;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fleet_lun *reg;

static void lingering_close(struct fleet_lun *fl, const char *name,
			    uint64_t until);

void fleet_sort_names(char **names, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0;
		     j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
}

struct fleet_lun *fleet_lun_open(const struct tcfg_lun *l,
				 struct backend_file *bf, struct scsi_lu *lu,
				 const struct tcfg_ceph *ceph,
				 void (*done)(struct iscsi_io *io), char *err,
				 size_t errlen)
{
	struct fleet_lun *fl = calloc(1, sizeof(*fl));
	int rc;

	if (!fl || !(fl->dir = strdup(l->overlays)) ||
	    !(fl->golden_path = strdup(l->path)) ||
	    (l->update && !(fl->update = strdup(l->update)))) {
		if (fl) {
			free(fl->dir);
			free(fl->golden_path);
		}
		free(fl);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fl->tmpl = lu;
	fl->golden = bf;
	fl->mode = l->mode;
	fl->limit = l->limit;
	fl->linger_ms = l->linger >= 0 ? (unsigned)l->linger
				       : FLEET_LINGER_DEFAULT;
	fl->linger_ms *= 1000;
	fl->pool.limit = l->dir_limit / OVL_BLOCK;
	if (strncmp(l->overlays, "rbd:", 4) == 0)
		rc = fleet_rbd_open(fl, ceph, l->spares, done, err, errlen);
	else
		rc = fleet_file_open(fl, err, errlen);
	if (rc) {
		free(fl->update);
		free(fl->dir);
		free(fl->golden_path);
		free(fl);
		return NULL;
	}
	pthread_mutex_init(&fl->lock, NULL);
	pthread_cond_init(&fl->opened, NULL);
	pthread_mutex_lock(&reg_lock);
	fl->next = reg;
	reg = fl;
	pthread_mutex_unlock(&reg_lock);
	return fl;
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
	/* Sessions end before their target: only lingering overlays are
	 * left open. */
	pthread_mutex_lock(&fl->lock);
	lingering_close(fl, NULL, UINT64_MAX);
	pthread_mutex_unlock(&fl->lock);
	fl->ops->close(fl);
	free(fl->update);
	pthread_mutex_destroy(&fl->lock);
	pthread_cond_destroy(&fl->opened);
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

/*
 * Lingering.  A PC's firmware logs out when it hands over to the OS, and
 * the OS logs in a moment later: closing the client's overlay between the
 * two and opening it again costs the room about a fifth of its boot on
 * Ceph (README, storm).  So a store that can (RBD) keeps an overlay open
 * for linger= seconds after its last session, letting another gateway
 * take it meanwhile; a login of the client here takes it back.  This
 * thread closes those whose time is up; it runs while there are any.
 */
static pthread_mutex_t linger_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned lingering; /* overlays lingering, in all LUNs */
static int reaper_on;

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* g no longer lingers (it is closed, or a login takes it back). */
static void linger_stop(struct fleet_gen *g)
{
	g->linger_until = 0;
	pthread_mutex_lock(&linger_lock);
	lingering--;
	pthread_mutex_unlock(&linger_lock);
}

/* Takes g off fl's list and closes it (fl->lock held). */
static void gen_drop(struct fleet_lun *fl, struct fleet_gen *g)
{
	gen_unlink(fl, g);
	fl->ops->gen_close(g);
	free(g);
}

/* Closes fl's lingering overlays whose time is up by until (UINT64_MAX:
 * all), only client name's if name is not NULL (fl->lock held): the
 * reaper, a LUN's close, and an operator's reset, commit or prune, which
 * want them closed. */
static void lingering_close(struct fleet_lun *fl, const char *name,
			    uint64_t until)
{
	for (struct fleet_gen *g = fl->gens, *next; g; g = next) {
		next = g->next;
		if (g->linger_until && g->linger_until <= until &&
		    (!name || !strcmp(g->client, name))) {
			linger_stop(g);
			gen_drop(fl, g);
		}
	}
}

static void *reaper_main(void *arg)
{
	struct timespec tick = { 0, 250 * 1000000 };

	(void)arg;
	pthread_mutex_lock(&linger_lock);
	while (lingering) {
		uint64_t now;

		pthread_mutex_unlock(&linger_lock);
		nanosleep(&tick, NULL);
		now = now_ms();
		/* Closing under reg_lock holds back other LUNs' logins for
		 * as long (a few ms a clone): expiries come after a room has
		 * booted, not while it boots. */
		pthread_mutex_lock(&reg_lock);
		for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
			pthread_mutex_lock(&fl->lock);
			lingering_close(fl, NULL, now);
			pthread_mutex_unlock(&fl->lock);
		}
		pthread_mutex_unlock(&reg_lock);
		pthread_mutex_lock(&linger_lock);
	}
	reaper_on = 0;
	pthread_mutex_unlock(&linger_lock);
	return NULL;
}

/* Lets g, its last session ended, linger; returns 0, or -1 if it cannot
 * (closed then by the caller). */
static int linger_start(struct fleet_gen *g)
{
	struct fleet_lun *fl = g->fl;
	pthread_attr_t attr;
	pthread_t t;
	int rc = 0;

	if (fl->ops->linger(g))
		return -1;
	pthread_mutex_lock(&linger_lock);
	if (!reaper_on) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, reaper_main, NULL);
		pthread_attr_destroy(&attr);
		reaper_on = rc == 0;
	}
	if (rc == 0)
		lingering++;
	pthread_mutex_unlock(&linger_lock);
	if (rc)
		return -1;
	/* The reaper reads it under fl->lock, held here. */
	g->linger_until = now_ms() + fl->linger_ms;
	return 0;
}

/* Lets go of one session's use of g; fl->lock held. */
static void gen_put(struct fleet_gen *g)
{
	struct fleet_lun *fl = g->fl;

	if (--g->refs)
		return;
	if (!g->stale && fl->linger_ms && fl->ops->linger &&
	    linger_start(g) == 0)
		return;
	gen_drop(fl, g);
}

/* Records phase in g's overlay, unless it is there already. */
static void phase_record(struct fleet_lun *fl, struct fleet_gen *g,
			 enum ovl_phase phase)
{
	if (g->phase == phase)
		return;
	if (fl->ops->set_phase(g, phase))
		log_line("overlay %s/%s: cannot record its phase", fl->dir,
			 g->client);
	else
		g->phase = phase;
}

/* Opens a new overlay for name as ng, on version cur, by the boot rule
 * (b: decided already if *decided; else from the store's record of the
 * client).  Runs with fl->lock held, or without it for a store whose
 * opens may run in parallel: ng is then on fl->gens marked opening, and
 * touches nothing shared.  Returns 0, or -1 (logged). */
static int gen_make(struct fleet_lun *fl, struct fleet_gen *ng, int seat,
		    const uint8_t *isid, unsigned cur, struct fleet_boot *b,
		    int *decided, int *exists)
{
	enum ovl_phase phase = OVL_PHASE_FIRMWARE;
	char err[300];
	int rc;

	if (!*decided) {
		rc = fl->ops->peek(fl, ng->client, &phase, NULL);
		if (rc && rc != -ENOENT) {
			log_line("overlay %s/%s: cannot read its state (%s): "
				 "login refused",
				 fl->dir, ng->client, strerror(-rc));
			return -1;
		}
		*exists = rc == 0;
		*b = fleet_boot_decide(fl->mode == TCFG_OVL_RESET && !seat,
				       *exists, phase, isid);
		*decided = 1;
	}
	/* A new overlay starts from the current version. */
	rc = fl->ops->gen_open(fl, ng, !*exists ? FLEET_NEW : b->fresh, cur,
			       err, sizeof(err));
	if (rc) {
		log_line("overlay %s/%s: %s: login refused", fl->dir,
			 ng->client, err);
		return -1;
	}
	phase_record(fl, ng, b->phase);
	return 0;
}

/* Gives the session of initiator (ISID isid) its overlay on fl, by the
 * boot rule; NULL (logged) if it cannot be opened. */
static struct fleet_gen *
client_attach(struct fleet_lun *fl, const char *initiator, const uint8_t *isid)
{
	char name[TCFG_NAME_MAX + 1];
	struct fleet_gen *g, *ng;
	struct fleet_boot b = { 0 };
	const char *action;
	int exists = 1, decided = 0, rc, seat, unlocked, resumed = 0;

	if (fleet_client_name(initiator, name, sizeof(name)))
		return NULL;
	pthread_mutex_lock(&fl->lock);
	/* Another session of this client is opening its overlay: its
	 * outcome decides this one's. */
	for (;;) {
		for (g = fl->gens; g && strcmp(g->client, name); g = g->next)
			;
		if (!g || !g->opening)
			break;
		pthread_cond_wait(&fl->opened, &fl->lock);
	}
	/* The update seat keeps its overlay across boots until commit. */
	seat = fl->update && tcfg_glob(fl->update, initiator);
	if (g) {
		b = fleet_boot_decide(fl->mode == TCFG_OVL_RESET && !seat, 1,
				      g->phase, isid);
		decided = 1;
	}
	if (g && g->linger_until && b.fresh) {
		/* A new boot: the previous one's overlay, left open for it,
		 * goes (removed as the new one is made). */
		linger_stop(g);
		gen_drop(fl, g);
		g = NULL;
	} else if (g && g->linger_until) {
		/* Its previous login's overlay is still open: taken back,
		 * unless another gateway took it meanwhile. */
		linger_stop(g);
		g->refs = 1;
		g->opening = 1;
		g->pin = g->base;
		unlocked = fl->ops->open_unlocked;
		if (unlocked)
			pthread_mutex_unlock(&fl->lock);
		rc = fl->ops->resume(g);
		if (unlocked)
			pthread_mutex_lock(&fl->lock);
		g->opening = 0;
		pthread_cond_broadcast(&fl->opened);
		if (rc) {
			log_line("overlay %s/%s: its overlay, left open after "
				 "its last logout, cannot be taken back (%s): "
				 "opened again",
				 fl->dir, name,
				 rc == -EAGAIN   ? "another gateway holds it"
				 : rc == -ESTALE ? "replaced through another "
						   "gateway"
						 : strerror(-rc));
			gen_drop(fl, g);
			g = NULL;
		} else {
			resumed = 1;
		}
	}
	if (g && b.fresh) {
		/* Sessions of the previous boot keep the old overlay. */
		rc = fl->ops->retire(g);
		if (rc) {
			log_line("overlay %s/%s: the overlay of its previous "
				 "boot cannot make way (%s): login refused",
				 fl->dir, name, strerror(-rc));
			pthread_mutex_unlock(&fl->lock);
			return NULL;
		}
		gen_unlink(fl, g);
		g->stale = 1;
		g = NULL;
	}
	if (g) {
		phase_record(fl, g, b.phase);
		if (!resumed)
			g->refs++;
	} else {
		ng = calloc(1, sizeof(*ng));
		if (!ng) {
			pthread_mutex_unlock(&fl->lock);
			return NULL;
		}
		ng->fl = fl;
		snprintf(ng->client, sizeof(ng->client), "%s", name);
		ng->refs = 1;
		ng->opening = 1;
		/* What prune must keep while the overlay is being made. */
		ng->pin = fl->ops->current(fl);
		ng->next = fl->gens;
		fl->gens = ng;
		unlocked = fl->ops->open_unlocked;
		if (unlocked)
			pthread_mutex_unlock(&fl->lock);
		rc = gen_make(fl, ng, seat, isid, ng->pin, &b, &decided,
			      &exists);
		if (unlocked)
			pthread_mutex_lock(&fl->lock);
		ng->opening = 0;
		pthread_cond_broadcast(&fl->opened);
		if (rc) {
			gen_unlink(fl, ng);
			free(ng);
			pthread_mutex_unlock(&fl->lock);
			return NULL;
		}
		g = ng;
	}
	action = !exists ? "created" : b.fresh ? "reset" : "kept";
	log_line("overlay %s/%s: isid=%02x%02x%02x%02x%02x%02x login=%s "
		 "overlay=%s phase=%s version=%u%s%s",
		 fl->dir, name, isid[0], isid[1], isid[2], isid[3], isid[4],
		 isid[5], fleet_isid_ipxe(isid) ? "ipxe" : "os", action,
		 b.phase == OVL_PHASE_OS ? "os" : "firmware", g->base,
		 seat ? " seat=update" : "", resumed ? " open=lingered" : "");
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
		fl->ops->attach(fs->gens[i], lu);
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

/* Writes n, or "-" (null in JSON) if negative. */
static void num_or_none(FILE *out, long long n, int json)
{
	if (n >= 0)
		fprintf(out, "%lld", n);
	else
		fputs(json ? "null" : "-", out);
}

/* Reports one client of fl (fl->lock held). */
static void report_client(FILE *out, struct fleet_lun *fl, const char *name,
			  int json, int first)
{
	struct fleet_gen *g;
	enum ovl_phase phase = OVL_PHASE_FIRMWARE;
	unsigned base = 0;
	int sessions = 0;
	uint64_t alloc = 0;
	long long nums[3]; /* written, read and written since opened */
	static const char *const keys[3] = {
		",\"written\":", ",\"read_bytes\":", ",\"write_bytes\":"
	};

	for (g = fl->gens; g && strcmp(g->client, name); g = g->next)
		;
	if (g && g->opening) {
		/* Its login is making it: what the store has so far. */
		sessions = g->refs;
		g = NULL;
		if (fl->ops->peek(fl, name, &phase, &base))
			base = 0;
	} else if (g) {
		sessions = g->refs;
		phase = g->phase;
		base = g->base;
	} else if (fl->ops->peek(fl, name, &phase, &base)) {
		return;
	}
	fl->ops->usage(fl, name, g, &alloc, &nums[0], &nums[1], &nums[2]);
	if (json) {
		fprintf(out, "%s{\"name\":", first ? "" : ",");
		json_str(out, name);
		fprintf(out,
			",\"sessions\":%d,\"phase\":\"%s\",\"version\":%u,"
			"\"allocated\":%llu",
			sessions, phase == OVL_PHASE_OS ? "os" : "firmware",
			base, (unsigned long long)alloc);
	} else {
		fprintf(out, "  %-44s %8d %-8s %7u %12llu", name, sessions,
			phase == OVL_PHASE_OS ? "os" : "firmware", base,
			(unsigned long long)alloc);
	}
	for (int i = 0; i < 3; i++) {
		fputs(json ? keys[i] : " ", out);
		num_or_none(out, nums[i], json);
	}
	fputs(json ? "}" : "\n", out);
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
		long long used;
		unsigned ready = 0, want = 0;

		pthread_mutex_lock(&fl->lock);
		used = fl->ops->used(fl);
		if (fl->ops->spares)
			fl->ops->spares(fl, &ready, &want);
		n = fl->ops->clients(fl, &names);
		if (json) {
			fprintf(out, "%s{\"overlays\":", first_lun ? "" : ",");
			json_str(out, fl->dir);
			fputs(",\"golden\":", out);
			json_str(out, fl->golden_path);
			fprintf(out, ",\"target\":");
			json_str(out, fl->tmpl->target ? fl->tmpl->target : "");
			fprintf(out,
				",\"mode\":\"%s\",\"limit\":%llu,"
				"\"dir_limit\":%llu,\"used\":",
				fl->mode == TCFG_OVL_RESET ? "reset"
							   : "persistent",
				(unsigned long long)fl->limit,
				(unsigned long long)fl->pool.limit * 512);
			num_or_none(out, used, 1);
			if (want)
				fprintf(out,
					",\"spares\":%u,\"spares_ready\":%u",
					want, ready);
			fputs(",\"clients\":[", out);
		} else {
			fprintf(out, "overlays %s golden %s mode %s used ",
				fl->dir, fl->golden_path,
				fl->mode == TCFG_OVL_RESET ? "reset"
							   : "persistent");
			num_or_none(out, used, 0);
			if (fl->limit)
				fprintf(out, " limit %llu",
					(unsigned long long)fl->limit);
			if (fl->pool.limit)
				fprintf(out, " dir-limit %llu",
					(unsigned long long)fl->pool.limit *
						512);
			if (want)
				fprintf(out, " spares %u/%u", ready, want);
			fprintf(out, "\n  %-44s %8s %-8s %7s %12s %s\n",
				"CLIENT", "SESSIONS", "PHASE", "VERSION",
				"ALLOCATED", "WRITTEN READ-BYTES WRITE-BYTES");
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
	char name[TCFG_NAME_MAX + 1];
	int rc = 0, found = 0;

	if (fleet_client_name(initiator, name, sizeof(name))) {
		fprintf(out, "no such client\n");
		return -1;
	}
	pthread_mutex_lock(&reg_lock);
	/* Refuse before discarding anything. */
	for (struct fleet_lun *fl = reg; fl; fl = fl->next) {
		pthread_mutex_lock(&fl->lock);
		lingering_close(fl, name, UINT64_MAX);
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
		if (rc == 0 && fl->ops->elsewhere(fl, name)) {
			fprintf(out,
				"refused: %s has its overlay on %s open "
				"through another gateway\n",
				name, fl->dir);
			rc = -1;
		}
		pthread_mutex_unlock(&fl->lock);
	}
	for (struct fleet_lun *fl = reg; fl && rc == 0; fl = fl->next) {
		int r;

		pthread_mutex_lock(&fl->lock);
		r = fl->ops->discard(fl, name);
		if (r == 0) {
			found = 1;
			fprintf(out, "discarded %s/%s\n", fl->dir, name);
			log_line("overlay %s/%s: discarded by the operator",
				 fl->dir, name);
		} else if (r != -ENOENT) {
			fprintf(out, "cannot discard %s/%s: %s\n", fl->dir,
				name, strerror(-r));
			rc = -1;
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
		if (fl->ops->ver_info(fl, v, &parent, NULL, NULL, 0))
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
		unsigned max, cur;
		int first = 1;

		pthread_mutex_lock(&fl->lock);
		max = fl->ops->ver_max(fl);
		cur = fl->ops->current(fl);
		if (json) {
			fprintf(out, "%s{\"overlays\":", first_lun ? "" : ",");
			json_str(out, fl->dir);
			fprintf(out, ",\"current\":%u,\"update\":", cur);
			if (fl->update)
				json_str(out, fl->update);
			else
				fputs("null", out);
			fputs(",\"versions\":[", out);
		} else {
			fprintf(out, "overlays %s current %u update %s\n",
				fl->dir, cur, fl->update ? fl->update : "-");
			fprintf(out, "  %s 0 golden %s\n", cur == 0 ? "*" : " ",
				fl->golden_path);
		}
		for (unsigned v = 1; v <= max; v++) {
			unsigned parent;
			long long when;
			char comment[512], stamp[32];
			time_t t;
			struct tm tm;

			if (fl->ops->ver_info(fl, v, &parent, &when, comment,
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
					v == cur ? "true" : "false");
				first = 0;
			} else {
				fprintf(out, "  %s %u parent %u %s %s\n",
					v == cur ? "*" : " ", v, parent, stamp,
					comment);
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
	char one[501], err[300] = "";
	enum ovl_phase phase;
	unsigned num, b, cur;
	int rc;

	lingering_close(fl, name, UINT64_MAX);
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
	if (fl->ops->elsewhere(fl, name)) {
		fprintf(out,
			"refused: the update seat %s has its overlay on %s "
			"open through another gateway; shut it down before "
			"committing its work\n",
			name, fl->dir);
		return -1;
	}
	rc = fl->ops->peek(fl, name, &phase, &b);
	if (rc) {
		fprintf(out, "nothing to commit: %s has no overlay on %s\n",
			name, fl->dir);
		return -1;
	}
	cur = fl->ops->current(fl);
	if (b != cur) {
		fprintf(out,
			"refused: %s's overlay was made on version %u, "
			"but version %u is current; discard it (ctl "
			"reset) and redo the update\n",
			name, b, cur);
		return -1;
	}
	num = fl->ops->ver_max(fl) + 1;
	snprintf(one, sizeof(one), "%s", comment);
	for (char *p = one; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' '; /* the comment is one line */
	rc = fl->ops->commit(fl, name, num, b, one, err, sizeof(err));
	if (rc == -ESTALE) {
		fprintf(out,
			"refused: the current version of %s changed meanwhile "
			"(another gateway?); try again\n",
			fl->dir);
		return -1;
	}
	if (rc) {
		fprintf(out, "commit on %s failed: %s\n", fl->dir,
			err[0] ? err : strerror(-rc));
		return -1;
	}
	fprintf(out, "%s: version %u committed from %s (on version %u)\n",
		fl->dir, num, name, b);
	log_line("overlays %s: version %u committed from %s: %s", fl->dir, num,
		 name, comment);
	return 0;
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
		unsigned parent, cur;

		pthread_mutex_lock(&fl->lock);
		cur = fl->ops->current(fl);
		if (cur &&
		    !fl->ops->ver_info(fl, cur, &parent, NULL, NULL, 0)) {
			if (fl->ops->set_current(fl, cur, parent)) {
				fprintf(out, "rollback on %s failed\n",
					fl->dir);
				rc = -1;
			} else {
				fprintf(out,
					"%s: version %u is current (was "
					"%u); running clients keep theirs "
					"until they boot again\n",
					fl->dir, parent, cur);
				log_line(
					"overlays %s: rolled back from version "
					"%u to %u",
					fl->dir, cur, parent);
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
		char **names;
		size_t n;

		pthread_mutex_lock(&fl->lock);
		/* Overlays left open here would keep versions (a clone
		 * replaced through another gateway stays until it is closed
		 * here): an operator's prune closes them. */
		lingering_close(fl, NULL, UINT64_MAX);
		max = fl->ops->ver_max(fl);
		keep = calloc(max + 1, 1);
		if (!keep) {
			pthread_mutex_unlock(&fl->lock);
			continue;
		}
		/* Kept: the current version, what any client overlay or
		 * open session stands on, and all below them; the store
		 * refuses to remove what else stands on a version (an
		 * open one, a clone another gateway made). */
		keep_chain(fl, fl->ops->current(fl), keep, max + 1);
		n = fl->ops->clients(fl, &names);
		for (size_t i = 0; i < n; i++) {
			enum ovl_phase ph;
			unsigned base;

			if (!fl->ops->peek(fl, names[i], &ph, &base))
				keep_chain(fl, base, keep, max + 1);
			free(names[i]);
		}
		free(names);
		for (struct fleet_gen *g = fl->gens; g; g = g->next)
			keep_chain(fl, g->opening ? g->pin : g->base, keep,
				   max + 1);
		/* Newest first: a version stands on the one below. */
		for (unsigned v = max; v >= 1; v--) {
			int r;

			if (keep[v])
				continue;
			r = fl->ops->ver_remove(fl, v);
			if (r == -ENOENT || r == -EBUSY)
				continue;
			if (r) {
				fprintf(out, "%s: version %u: %s\n", fl->dir, v,
					strerror(-r));
				continue;
			}
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
