/*
 * The boot-storm trace reader and the replay tools' data patterns
 * (storm_trace.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "storm_trace.h"

/* The recorded status of a trace line; -1 when it is not a SCSI status. */
int storm_status_parse(const char *s)
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
static uint32_t sess_index(struct storm_trace *tr, const char *key)
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
	const struct storm_cmd *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x < y ? -1 : x > y;
}

int storm_trace_load(struct storm_trace *tr, const char *path)
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
		struct storm_cmd *c;

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
		c->dir = dir[0] == 'r'   ? STORM_READ
			 : dir[0] == 'w' ? STORM_WRITE
					 : STORM_NONE;
		c->edtl = (uint32_t)edtl;
		c->status = storm_status_parse(st);
		c->cdb_len = (int)strlen(cdb) / 2;
		for (int i = 0; i < c->cdb_len; i++)
			sscanf(cdb + 2 * i, "%2hhx", &c->cdb[i]);
		/* READ and WRITE (6/10/12/16) move whole blocks from lba. */
		c->block_io = (strncmp(op, "READ_", 5) == 0 ||
			       strncmp(op, "WRITE_", 6) == 0) &&
			      strcmp(op, "READ_CAPACITY_10") &&
			      strcmp(op, "READ_CAPACITY_16") &&
			      strncmp(op, "WRITE_SAME", 10) && lba[0] != '-';
		c->flush = strncmp(op, "SYNC_CACHE", 10) == 0;
		if (lba[0] != '-') {
			c->lba = strtoull(lba, NULL, 10);
			c->blocks = (uint32_t)strtoul(blocks, NULL, 10);
		}
		if (c->block_io && c->edtl != (uint64_t)c->blocks * STORM_BLOCK)
			c->block_io = 0;
		if (c->block_io && c->dir == STORM_WRITE &&
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

uint64_t storm_seed(int idx, int shared)
{
	return shared ? 1 : (uint64_t)idx + 2;
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

void storm_fill(uint8_t *buf, uint64_t seed, uint64_t lba, uint32_t blocks)
{
	for (uint32_t b = 0; b < blocks; b++)
		for (unsigned w = 0; w < STORM_BLOCK / 8; w++) {
			uint64_t v = pattern(seed, lba + b, w);

			memcpy(buf + (size_t)b * STORM_BLOCK + w * 8, &v, 8);
		}
}

int storm_golden(const uint8_t *buf, uint64_t lba)
{
	for (unsigned i = 0; i < STORM_BLOCK; i++)
		if (buf[i] != (uint8_t)(lba * 7 + i + 1))
			return 0;
	return 1;
}

void storm_mark(uint8_t *written, const struct storm_cmd *c)
{
	for (uint32_t b = 0; b < c->blocks; b++)
		written[(c->lba + b) / 8] |=
			(uint8_t)(1u << ((c->lba + b) % 8));
}

int storm_marked(const uint8_t *written, uint64_t max_lba, uint64_t lba)
{
	return lba < max_lba && (written[lba / 8] & (1u << (lba % 8)));
}

void storm_check_read(struct storm_check *k, const struct storm_cmd *c,
		      const uint8_t *data, size_t len, int idx, uint64_t seed,
		      const uint8_t *written)
{
	uint8_t want[STORM_BLOCK];

	for (uint32_t b = 0; b < c->blocks; b++) {
		uint64_t lba = c->lba + b;
		const uint8_t *got = data + (size_t)b * STORM_BLOCK;
		int mine = storm_marked(written, k->max_lba, lba);

		if (!mine && !k->golden)
			continue;
		k->verified++;
		if (mine)
			storm_fill(want, seed, lba, 1);
		if (len < (size_t)(b + 1) * STORM_BLOCK ||
		    (mine ? memcmp(got, want, STORM_BLOCK) != 0
			  : !storm_golden(got, lba))) {
			if (k->bad++ < 5)
				fprintf(stderr,
					"storm: client %d: block %" PRIu64
					" is not %s\n",
					idx, lba,
					mine ? "what it wrote" : "golden");
		}
	}
}

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct storm_lat storm_latencies(uint32_t *lat, size_t n)
{
	struct storm_lat l = { 0, 0, 0 };

	if (!n)
		return l;
	qsort(lat, n, sizeof(*lat), u32cmp);
	l.p50 = lat[n / 2];
	l.p99 = lat[n * 99 / 100];
	l.max = lat[n - 1];
	return l;
}

double storm_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
