/* Configuration parsing: see config.h. */
#include "iscsi/config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"
#include "iscsi/fleet_rules.h"

/* Formats an error message into err. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends p to a pointer array; returns 0 or -ENOMEM. */
static int push(void *arrp, size_t *n, size_t size, const void *elem)
{
	char **arr = arrp;
	char *na = realloc(*arr, (*n + 1) * size);

	if (!na)
		return -ENOMEM;
	memcpy(na + *n * size, elem, size);
	*arr = na;
	(*n)++;
	return 0;
}

/* RFC 7143 §4.2.7: iqn., eui. and naa. names of printable characters. */
static int name_valid(const char *s)
{
	size_t len = strlen(s);

	if (len < 5 || len > TCFG_NAME_MAX)
		return 0;
	if (strncasecmp(s, "iqn.", 4) && strncasecmp(s, "eui.", 4) &&
	    strncasecmp(s, "naa.", 4))
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:", *p))
			return 0;
	return 1;
}

int tcfg_split_addr(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon;
	size_t hlen;
	uint64_t v = 3260;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return -EINVAL;
		hlen = (size_t)(end - s - 1);
		s++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (!colon && end[1])
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hlen >= hostlen)
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (colon && parse_u64(colon + 1, 1, 65535, &v))
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

/* Reads a secret from a file: its first line, without the newline. */
static int read_secret_file(const char *path, char **out, char *err,
			    size_t errlen, const char *where)
{
	char buf[TCFG_SECRET_MAX + 2];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return fail(err, errlen, "%s: cannot read secret file %s: %s",
			    where, path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	if (strlen(buf) > TCFG_SECRET_MAX)
		return fail(err, errlen, "%s: secret in %s is too long", where,
			    path);
	*out = strdup(buf);
	return *out ? 0 : fail(err, errlen, "out of memory");
}

/* Parses USER:SECRET or USER:@FILE into a CHAP account. */
static int parse_chap(struct tcfg_chap *c, const char *arg, char *err,
		      size_t errlen, const char *where)
{
	const char *colon = strchr(arg, ':');

	if (c->user)
		return fail(err, errlen, "%s: CHAP account given twice", where);
	if (!colon || colon == arg || !colon[1])
		return fail(err, errlen, "%s: expected USER:SECRET, got '%s'",
			    where, arg);
	if ((size_t)(colon - arg) > TCFG_NAME_MAX)
		return fail(err, errlen, "%s: CHAP user name too long", where);
	c->user = strndup(arg, (size_t)(colon - arg));
	if (!c->user)
		return fail(err, errlen, "out of memory");
	if (colon[1] == '@')
		return read_secret_file(colon + 2, &c->secret, err, errlen,
					where);
	if (strlen(colon + 1) > TCFG_SECRET_MAX)
		return fail(err, errlen, "%s: CHAP secret too long", where);
	c->secret = strdup(colon + 1);
	return c->secret ? 0 : fail(err, errlen, "out of memory");
}

/* Starts a new target named name. */
static int add_target(struct tcfg *cfg, const char *name, const char *file,
		      int line, char *err, size_t errlen, const char *where)
{
	struct tcfg_target *t;

	if (!name_valid(name))
		return fail(
			err, errlen,
			"%s: '%s' is not an iSCSI name (iqn., eui. or naa.)",
			where, name);
	if (tcfg_find(cfg, name))
		return fail(err, errlen, "%s: target %s defined twice", where,
			    name);
	if (cfg->n_targets >= TCFG_MAX_TARGETS)
		return fail(err, errlen, "%s: too many targets", where);
	t = calloc(1, sizeof(*t));
	if (!t || !(t->name = strdup(name))) {
		free(t);
		return fail(err, errlen, "out of memory");
	}
	t->file = file;
	t->line = line;
	if (push(&cfg->targets, &cfg->n_targets, sizeof(t), &t)) {
		free(t->name);
		free(t);
		return fail(err, errlen, "out of memory");
	}
	return 0;
}

/* Adds a LUN given as PATH[,ro]. */
static int add_lun(struct tcfg_target *t, const char *arg, int line, char *err,
		   size_t errlen, const char *where)
{
	struct tcfg_lun l = { .line = line };
	size_t len = strlen(arg);

	if (strncmp(arg, "golden=", 7) == 0) {
		int rc;

		if (t->n_luns >= 256)
			return fail(err, errlen, "%s: more than 256 LUNs",
				    where);
		rc = fleet_lun_parse(&l, arg, err, errlen, where);
		if (rc == 0 && push(&t->luns, &t->n_luns, sizeof(l), &l))
			rc = fail(err, errlen, "out of memory");
		if (rc) {
			free(l.path);
			free(l.overlays);
			free(l.update);
		}
		return rc;
	}

	if (len > 3 && strcmp(arg + len - 3, ",ro") == 0) {
		l.ro = 1;
		len -= 3;
	} else if (len > 3 && strcmp(arg + len - 3, ",rw") == 0) {
		len -= 3;
	}
	if (len == 0)
		return fail(err, errlen, "%s: empty LUN path", where);
	if (strncmp(arg, "rbd:", 4) == 0) {
		char spec[3 * (TCFG_NAME_MAX + 1)], pool[TCFG_NAME_MAX + 1];
		char image[TCFG_NAME_MAX + 1], snap[TCFG_NAME_MAX + 1];

		if (len - 4 >= sizeof(spec))
			return fail(err, errlen, "%s: RBD name too long",
				    where);
		memcpy(spec, arg + 4, len - 4);
		spec[len - 4] = 0;
		if (tcfg_rbd_split(spec, pool, image, snap))
			return fail(
				err, errlen,
				"%s: expected rbd:POOL/IMAGE[@SNAP], got '%s'",
				where, arg);
		if (snap[0]) /* a snapshot cannot be written */
			l.ro = 1;
	}
	if (t->n_luns >= 256)
		return fail(err, errlen, "%s: more than 256 LUNs", where);
	l.path = strndup(arg, len);
	if (!l.path || push(&t->luns, &t->n_luns, sizeof(l), &l)) {
		free(l.path);
		return fail(err, errlen, "out of memory");
	}
	return 0;
}

int tcfg_rbd_split(const char *spec, char *pool, char *image, char *snap)
{
	const char *slash = strchr(spec, '/');
	const char *at = strchr(spec, '@');
	size_t ilen;

	if (!slash || slash == spec || (at && at < slash) ||
	    (size_t)(slash - spec) > TCFG_NAME_MAX || strchr(slash + 1, '/'))
		return -EINVAL;
	ilen = at ? (size_t)(at - slash - 1) : strlen(slash + 1);
	if (ilen == 0 || ilen > TCFG_NAME_MAX || (at && !at[1]) ||
	    (at && (strlen(at + 1) > TCFG_NAME_MAX || strchr(at + 1, '@'))))
		return -EINVAL;
	memcpy(pool, spec, (size_t)(slash - spec));
	pool[slash - spec] = 0;
	memcpy(image, slash + 1, ilen);
	image[ilen] = 0;
	strcpy(snap, at ? at + 1 : "");
	return 0;
}

/* Checks what a complete target needs. */
static int check_target(const struct tcfg_target *t, char *err, size_t errlen,
			const char *where)
{
	if (t->n_luns == 0)
		return fail(err, errlen, "%s: target %s has no LUN", where,
			    t->name);
	if (t->mutual.user && !t->chap.user)
		return fail(err, errlen,
			    "%s: target %s: mutual CHAP needs CHAP too", where,
			    t->name);
	/* RFC 7143 §12.1.3: the two directions must not share a secret. */
	if (t->mutual.user && strcmp(t->mutual.secret, t->chap.secret) == 0)
		return fail(
			err, errlen,
			"%s: target %s: CHAP and mutual CHAP secrets must differ",
			where, t->name);
	return 0;
}

/* Applies one target option (lun, chap, mutual-chap, allow, portal). */
static int target_option(struct tcfg_target *t, const char *key,
			 const char *val, int line, char *err, size_t errlen,
			 const char *where)
{
	if (strcmp(key, "lun") == 0)
		return add_lun(t, val, line, err, errlen, where);
	if (strcmp(key, "chap") == 0)
		return parse_chap(&t->chap, val, err, errlen, where);
	if (strcmp(key, "mutual-chap") == 0)
		return parse_chap(&t->mutual, val, err, errlen, where);
	if (strcmp(key, "allow") == 0) {
		char *p = strdup(val);

		if (!p || push(&t->allow, &t->n_allow, sizeof(p), &p)) {
			free(p);
			return fail(err, errlen, "out of memory");
		}
		return 0;
	}
	if (strcmp(key, "portal") == 0) {
		char host[256];
		unsigned port;

		if (t->portal)
			return fail(err, errlen, "%s: portal given twice",
				    where);
		if (tcfg_split_addr(val, host, sizeof(host), &port))
			return fail(err, errlen, "%s: bad portal '%s'", where,
				    val);
		t->portal = strdup(val);
		return t->portal ? 0 : fail(err, errlen, "out of memory");
	}
	return fail(err, errlen, "%s: unknown option '%s'", where, key);
}

/* Sets a global limit ("login-timeout 15"); returns 1 if key is one, 0 if
 * not, -1 with a message in err if its value is bad. */
static int limit_option(struct tcfg *cfg, const char *key, const char *val,
			char *err, size_t errlen, const char *where)
{
	static const struct {
		const char *key;
		size_t off;
		uint64_t min, max;
	} keys[] = {
		{ "login-timeout", offsetof(struct tcfg_limits, login_timeout),
		  1, 3600 },
		{ "idle-timeout", offsetof(struct tcfg_limits, idle_timeout), 0,
		  86400 },
		{ "max-connections", offsetof(struct tcfg_limits, max_conns), 1,
		  1000000 },
		{ "max-per-source",
		  offsetof(struct tcfg_limits, max_per_source), 1, 1000000 },
		{ "threads", offsetof(struct tcfg_limits, threads), 0, 64 },
	};

	if (strcmp(key, "control") == 0 || strcmp(key, "trace") == 0) {
		char **field = key[0] == 'c' ? &cfg->control : &cfg->trace;

		free(*field);
		*field = strdup(val);
		return *field ? 1 : fail(err, errlen, "out of memory");
	}
	if (strcmp(key, "ceph-conf") == 0 || strcmp(key, "ceph-id") == 0 ||
	    strcmp(key, "ceph-keyring") == 0) {
		char **p = key[5] == 'c'   ? &cfg->ceph.conf
			   : key[5] == 'i' ? &cfg->ceph.id
					   : &cfg->ceph.keyring;

		free(*p);
		*p = strdup(val);
		return *p ? 1 : fail(err, errlen, "out of memory");
	}
	if (strcmp(key, "ceph-timeout") == 0) {
		uint64_t v;

		if (parse_u64(val, 1, 3600, &v))
			return fail(
				err, errlen,
				"%s: ceph-timeout must be a number from 1 to 3600",
				where);
		cfg->ceph.timeout = (unsigned)v;
		return 1;
	}
	if (strcmp(key, "golden-cache") == 0) {
		uint64_t v;

		if (parse_u64(val, 0, 1048576, &v))
			return fail(
				err, errlen,
				"%s: golden-cache must be a number of MiB from 0 to 1048576",
				where);
		cfg->ceph.cache_mib = (unsigned)v;
		cfg->ceph.cache_set = 1;
		return 1;
	}
	if (strcmp(key, "reservations") == 0) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return fail(err, errlen,
				    "%s: reservations must be on or off",
				    where);
		cfg->no_reservations = strcmp(val, "off") == 0;
		return 1;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t v;

		if (strcmp(key, keys[i].key))
			continue;
		if (parse_u64(val, keys[i].min, keys[i].max, &v))
			return fail(err, errlen,
				    "%s: %s must be a number from %llu to %llu",
				    where, key, (unsigned long long)keys[i].min,
				    (unsigned long long)keys[i].max);
		*(unsigned *)((char *)&cfg->limits + keys[i].off) = (unsigned)v;
		return 1;
	}
	return 0;
}

void tcfg_limits_default(struct tcfg_limits *l)
{
	l->login_timeout = TCFG_LOGIN_TIMEOUT;
	l->idle_timeout = TCFG_IDLE_TIMEOUT;
	l->max_conns = TCFG_MAX_CONNS;
	l->max_per_source = TCFG_MAX_PER_SOURCE;
}

/* Adds a listen address after checking its syntax. */
static int add_listen(struct tcfg *cfg, const char *val, char *err,
		      size_t errlen, const char *where)
{
	char host[256], *p;
	unsigned port;

	if (tcfg_split_addr(val, host, sizeof(host), &port))
		return fail(err, errlen, "%s: bad listen address '%s'", where,
			    val);
	p = strdup(val);
	if (!p || push(&cfg->listen, &cfg->n_listen, sizeof(p), &p)) {
		free(p);
		return fail(err, errlen, "out of memory");
	}
	return 0;
}

int tcfg_parse_text(struct tcfg *cfg, const char *name, const char *text,
		    char *err, size_t errlen)
{
	struct tcfg_target *cur = NULL;
	size_t first = cfg->n_targets;
	int line = 0, rc;
	char where[300];

	while (*text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);
		char buf[1024], *key, *val, *extra, *save = NULL;

		line++;
		snprintf(where, sizeof(where), "%s:%d", name, line);
		if (len >= sizeof(buf))
			return fail(err, errlen, "%s: line too long", where);
		memcpy(buf, text, len);
		buf[len] = 0;
		text += len + (end ? 1 : 0);
		buf[strcspn(buf, "#")] = 0;
		key = strtok_r(buf, " \t\r", &save);
		if (!key)
			continue;
		val = strtok_r(NULL, " \t\r", &save);
		/* An overlay LUN takes the rest of the line (fleet_rules.h). */
		if (val && strcmp(key, "lun") == 0 &&
		    strncmp(val, "golden=", 7) == 0 && save && *save) {
			val[strlen(val)] = ' ';
			val[strcspn(val, "\r")] = 0;
			save = NULL;
		}
		extra = save ? strtok_r(NULL, " \t\r", &save) : NULL;
		if (!val)
			return fail(err, errlen, "%s: '%s' needs a value",
				    where, key);
		if (extra)
			return fail(err, errlen, "%s: unexpected '%s'", where,
				    extra);
		rc = limit_option(cfg, key, val, err, errlen, where);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		if (strcmp(key, "target") == 0) {
			if (cur && check_target(cur, err, errlen, where))
				return -1;
			if (add_target(cfg, val, name, line, err, errlen,
				       where))
				return -1;
			cur = cfg->targets[cfg->n_targets - 1];
		} else if (strcmp(key, "listen") == 0) {
			if (add_listen(cfg, val, err, errlen, where))
				return -1;
		} else if (!cur) {
			return fail(err, errlen, "%s: '%s' before any target",
				    where, key);
		} else if (target_option(cur, key, val, line, err, errlen,
					 where)) {
			return -1;
		}
	}
	for (size_t i = first; i < cfg->n_targets; i++) {
		snprintf(where, sizeof(where), "%s:%d", name,
			 cfg->targets[i]->line);
		if (check_target(cfg->targets[i], err, errlen, where))
			return -1;
	}
	return 0;
}

int tcfg_parse_file(struct tcfg *cfg, const char *path, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;
	int rc;

	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    size > (1 << 24) || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return fail(err, errlen, "%s: cannot read or too large", path);
	}
	text = malloc((size_t)size + 1);
	if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
		free(text);
		fclose(f);
		return fail(err, errlen, "%s: cannot read", path);
	}
	fclose(f);
	text[size] = 0;
	if (memchr(text, 0, (size_t)size)) {
		free(text);
		return fail(err, errlen, "%s: contains a NUL byte", path);
	}
	rc = tcfg_parse_text(cfg, path, text, err, errlen);
	free(text);
	return rc;
}

/* Tells whether opt is one of the command line options. */
static int known_option(const char *opt)
{
	static const char *const opts[] = {
		"--config",         "--listen",
		"--target",         "--lun",
		"--chap",           "--mutual-chap",
		"--allow",          "--portal",
		"--user",           "--login-timeout",
		"--idle-timeout",   "--max-connections",
		"--max-per-source", "--reservations",
		"--threads",        "--control",
		"--trace",          "--ceph-conf",
		"--ceph-id",        "--ceph-keyring",
		"--ceph-timeout",   "--golden-cache",
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(opt, opts[i]) == 0)
			return 1;
	return 0;
}

int tcfg_parse_args(struct tcfg *cfg, int argc, char **argv, char *err,
		    size_t errlen)
{
	struct tcfg_target *cur = NULL;

	tcfg_limits_default(&cfg->limits);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		char where[64];
		int rc;

		snprintf(where, sizeof(where), "argument %d (%s)", i, opt);
		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
			return fail(err, errlen, "help");
		if (strcmp(opt, "--version") == 0)
			return fail(err, errlen, "version");
		if (!known_option(opt))
			return fail(err, errlen, "%s: unknown option", where);
		if (!val)
			return fail(err, errlen, "%s: needs a value", where);
		i++;
		rc = limit_option(cfg, opt + 2, val, err, errlen, where);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		if (strcmp(opt, "--config") == 0) {
			if (cfg->config_file)
				return fail(err, errlen, "%s: given twice",
					    where);
			cfg->config_file = strdup(val);
			if (!cfg->config_file)
				return fail(err, errlen, "out of memory");
		} else if (strcmp(opt, "--listen") == 0) {
			if (add_listen(cfg, val, err, errlen, where))
				return -1;
		} else if (strcmp(opt, "--user") == 0) {
			if (cfg->user)
				return fail(err, errlen, "%s: given twice",
					    where);
			cfg->user = strdup(val);
			if (!cfg->user)
				return fail(err, errlen, "out of memory");
		} else if (strcmp(opt, "--target") == 0) {
			if (cur && check_target(cur, err, errlen, where))
				return -1;
			if (add_target(cfg, val, "command line", i, err, errlen,
				       where))
				return -1;
			cur = cfg->targets[cfg->n_targets - 1];
		} else if (strncmp(opt, "--", 2) == 0 && cur &&
			   (strcmp(opt + 2, "lun") == 0 ||
			    strcmp(opt + 2, "chap") == 0 ||
			    strcmp(opt + 2, "mutual-chap") == 0 ||
			    strcmp(opt + 2, "allow") == 0 ||
			    strcmp(opt + 2, "portal") == 0)) {
			if (target_option(cur, opt + 2, val, i, err, errlen,
					  where))
				return -1;
		} else if (strncmp(opt, "--", 2) == 0 && !cur &&
			   (strcmp(opt + 2, "lun") == 0 ||
			    strcmp(opt + 2, "chap") == 0 ||
			    strcmp(opt + 2, "mutual-chap") == 0 ||
			    strcmp(opt + 2, "allow") == 0)) {
			return fail(err, errlen,
				    "%s: needs a --target before it", where);
		} else {
			return fail(err, errlen, "%s: unknown option", where);
		}
	}
	if (cur && check_target(cur, err, errlen, "command line"))
		return -1;
	if (cfg->config_file &&
	    tcfg_parse_file(cfg, cfg->config_file, err, errlen))
		return -1;
	if (cfg->n_targets == 0)
		return fail(err, errlen,
			    "no target defined (use --target or --config)");
	return 0;
}

void tcfg_target_free(struct tcfg_target *t)
{
	for (size_t j = 0; j < t->n_luns; j++) {
		free(t->luns[j].path);
		free(t->luns[j].overlays);
		free(t->luns[j].update);
	}
	for (size_t j = 0; j < t->n_allow; j++)
		free(t->allow[j]);
	free(t->luns);
	free(t->allow);
	free(t->name);
	free(t->chap.user);
	free(t->chap.secret);
	free(t->mutual.user);
	free(t->mutual.secret);
	free(t->portal);
	free(t);
}

void tcfg_free(struct tcfg *cfg)
{
	for (size_t i = 0; i < cfg->n_targets; i++)
		tcfg_target_free(cfg->targets[i]);
	for (size_t i = 0; i < cfg->n_listen; i++)
		free(cfg->listen[i]);
	free(cfg->targets);
	free(cfg->listen);
	free(cfg->config_file);
	free(cfg->user);
	free(cfg->control);
	free(cfg->trace);
	free(cfg->ceph.conf);
	free(cfg->ceph.id);
	free(cfg->ceph.keyring);
	memset(cfg, 0, sizeof(*cfg));
}

int tcfg_glob(const char *pattern, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pattern == '*') {
			star = pattern++;
			resume = s;
		} else if (tolower((unsigned char)*pattern) ==
			   tolower((unsigned char)*s)) {
			pattern++;
			s++;
		} else if (star) {
			pattern = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == 0;
}

int tcfg_allows(const struct tcfg_target *t, const char *initiator)
{
	if (t->n_allow == 0)
		return 1;
	for (size_t i = 0; i < t->n_allow; i++)
		if (tcfg_glob(t->allow[i], initiator))
			return 1;
	return 0;
}

/* Compares two possibly NULL strings. */
static int str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int tcfg_target_same(const struct tcfg_target *a, const struct tcfg_target *b)
{
	if (strcasecmp(a->name, b->name) || a->n_luns != b->n_luns ||
	    a->n_allow != b->n_allow || !str_same(a->portal, b->portal) ||
	    !str_same(a->chap.user, b->chap.user) ||
	    !str_same(a->chap.secret, b->chap.secret) ||
	    !str_same(a->mutual.user, b->mutual.user) ||
	    !str_same(a->mutual.secret, b->mutual.secret))
		return 0;
	for (size_t i = 0; i < a->n_luns; i++)
		if (strcmp(a->luns[i].path, b->luns[i].path) ||
		    a->luns[i].ro != b->luns[i].ro ||
		    !a->luns[i].overlays != !b->luns[i].overlays ||
		    (a->luns[i].overlays &&
		     (strcmp(a->luns[i].overlays, b->luns[i].overlays) ||
		      a->luns[i].mode != b->luns[i].mode ||
		      a->luns[i].limit != b->luns[i].limit ||
		      a->luns[i].dir_limit != b->luns[i].dir_limit ||
		      a->luns[i].spares != b->luns[i].spares ||
		      a->luns[i].linger != b->luns[i].linger ||
		      !a->luns[i].update != !b->luns[i].update ||
		      (a->luns[i].update &&
		       strcmp(a->luns[i].update, b->luns[i].update)))))
			return 0;
	for (size_t i = 0; i < a->n_allow; i++)
		if (strcmp(a->allow[i], b->allow[i]))
			return 0;
	return 1;
}

struct tcfg_target *tcfg_find(const struct tcfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_targets; i++)
		if (strcasecmp(cfg->targets[i]->name, name) == 0)
			return cfg->targets[i];
	return NULL;
}
