/* The golden cache's core (src/iscsi/gcache.c): hits and misses, the bound
 * and least-recent eviction, pinned and loading chunks kept, failed loads,
 * and the map of a clone's existing objects. */
#include <errno.h>
#include <string.h>

#include "iscsi/gcache.h"
#include "unit.h"

#define C GCACHE_CHUNK

/* Gets and loads chunk (key, idx) with the byte v; returns it unpinned. */
static struct gcache_chunk *load(struct gcache *gc, uint64_t key, uint64_t idx,
				 int v)
{
	int fresh;
	struct gcache_chunk *ch = gcache_get(gc, key, idx, &fresh);

	if (!ch)
		return NULL;
	if (fresh) {
		memset(ch->data, v, C);
		gcache_loaded(gc, ch, 1);
	}
	gcache_unpin(gc, ch);
	return ch;
}

static void test_hits(void)
{
	struct gcache gc;
	struct gcache_chunk *a, *b;
	int fresh;

	CHECK("init", gcache_init(&gc, 4 * C) == 0);
	a = gcache_get(&gc, 1, 7, &fresh);
	CHECK("first get: a new loading chunk",
	      a && fresh && a->state == GCACHE_LOADING && a->pins == 1);
	b = gcache_get(&gc, 1, 7, &fresh);
	CHECK("second get while loading: the same chunk, not fresh",
	      b == a && !fresh && a->pins == 2);
	memset(a->data, 0x5a, C);
	gcache_loaded(&gc, a, 1);
	gcache_unpin(&gc, a);
	gcache_unpin(&gc, b);
	CHECK("loaded: ready, no pins",
	      a->state == GCACHE_READY && a->pins == 0);
	b = gcache_get(&gc, 1, 7, &fresh);
	CHECK("hit: same data", b == a && !fresh && b->data[C - 1] == 0x5a);
	gcache_unpin(&gc, b);
	b = gcache_get(&gc, 2, 7, &fresh);
	CHECK("another parent, same index: its own chunk",
	      b && b != a && fresh);
	gcache_loaded(&gc, b, 1);
	gcache_unpin(&gc, b);
	CHECK("counts: 2 hits (one while loading), 2 misses",
	      gc.hits == 2 && gc.misses == 2);
	gcache_free(&gc);
}

static void test_bound(void)
{
	struct gcache gc;
	struct gcache_chunk *p, *ch;
	int fresh;

	gcache_init(&gc, 3 * C + C / 2);
	CHECK("the bound in whole chunks", gc.cap == 3);
	load(&gc, 1, 0, 0);
	load(&gc, 1, 1, 1);
	load(&gc, 1, 2, 2);
	load(&gc, 1, 0, 0); /* 0 is now the most recent: 1 is the oldest */
	load(&gc, 1, 3, 3);
	CHECK("never more than the bound", gc.n == 3 && gc.evictions == 1);
	ch = gcache_get(&gc, 1, 1, &fresh);
	CHECK("the least recent one went", ch && fresh);
	gcache_loaded(&gc, ch, 1);
	gcache_unpin(&gc, ch);
	ch = gcache_get(&gc, 1, 0, &fresh);
	CHECK("a recent one stayed", ch && !fresh && ch->data[0] == 0);
	gcache_unpin(&gc, ch);

	/* Pinned chunks stay; when all are pinned, no new chunk. */
	gcache_resize(&gc, 2 * C);
	CHECK("resize evicts down to the new bound", gc.n == 2);
	p = gcache_get(&gc, 9, 0, &fresh);
	ch = gcache_get(&gc, 9, 1, &fresh);
	CHECK("two pinned loading chunks fill it", p && ch && gc.n == 2);
	CHECK("full of pinned chunks: NULL, the caller reads past",
	      gcache_get(&gc, 9, 2, &fresh) == NULL);
	gcache_loaded(&gc, p, 1);
	gcache_loaded(&gc, ch, 1);
	gcache_unpin(&gc, p);
	gcache_unpin(&gc, ch);
	p = gcache_get(&gc, 9, 2, &fresh);
	CHECK("unpinned: room again", p && fresh && gc.n == 2);
	gcache_loaded(&gc, p, 1);
	gcache_unpin(&gc, p);
	gcache_resize(&gc, 0);
	CHECK("bound 0: the cache is off and empty",
	      gc.n == 0 && gcache_get(&gc, 9, 2, &fresh) == NULL);
	gcache_free(&gc);
}

static void test_failed(void)
{
	struct gcache gc;
	struct gcache_chunk *a, *b;
	int fresh;

	gcache_init(&gc, 8 * C);
	a = gcache_get(&gc, 1, 5, &fresh);
	b = gcache_get(&gc, 1, 5, &fresh);
	gcache_loaded(&gc, a, 0);
	CHECK("failed load: its users see it",
	      a->state == GCACHE_FAILED && b == a);
	CHECK("failed load: out of the table", gc.n == 0);
	gcache_unpin(&gc, a);
	gcache_unpin(&gc, b); /* freed here (ASan would see a double free) */
	b = gcache_get(&gc, 1, 5, &fresh);
	CHECK("failed load: the next get loads again", b && fresh);
	gcache_loaded(&gc, b, 1);
	gcache_unpin(&gc, b);
	gcache_free(&gc);
}

static void test_objs(void)
{
	struct gcache_objs o;
	uint64_t obj = 1u << 22;

	CHECK("objs: bad order", gcache_objs_init(&o, 10 * obj, 40) == -EINVAL);
	CHECK("objs: init",
	      gcache_objs_init(&o, 10 * obj + 512, 22) == 0 && o.n == 11);
	CHECK("objs: none at first", !gcache_objs_any(&o, 0, 11 * obj - 512));
	gcache_objs_mark(&o, 3 * obj + 4096, 512);
	CHECK("objs: a write inside object 3 marks it",
	      gcache_objs_any(&o, 3 * obj, 512));
	CHECK("objs: the rest of object 3 too (librbd copies up whole objects)",
	      gcache_objs_any(&o, 4 * obj - 512, 512));
	CHECK("objs: objects 2 and 4 untouched",
	      !gcache_objs_any(&o, 2 * obj, obj) &&
		      !gcache_objs_any(&o, 4 * obj, obj));
	CHECK("objs: a range across 2..4 sees 3",
	      gcache_objs_any(&o, 2 * obj, 3 * obj));
	gcache_objs_mark(&o, 5 * obj - 512, 1024);
	CHECK("objs: a write across a boundary marks both",
	      gcache_objs_any(&o, 4 * obj, 512) &&
		      gcache_objs_any(&o, 5 * obj + obj - 512, 512));
	gcache_objs_mark(&o, 100 * obj, 512);
	CHECK("objs: past the end is not marked, and counts as existing",
	      gcache_objs_any(&o, 100 * obj, 512) &&
		      !gcache_objs_any(&o, 9 * obj, obj));
	gcache_objs_free(&o);
}

int main(void)
{
	test_hits();
	test_bound();
	test_failed();
	test_objs();
	return unit_done();
}
