/* The golden cache's pure core: see gcache.h. */
#include "iscsi/gcache.h"

#include <errno.h>
#include <stdlib.h>

/* The bucket of (key, idx). */
static size_t bucket(const struct gcache *gc, uint64_t key, uint64_t idx)
{
	uint64_t h = (key * 0x9e3779b97f4a7c15u) ^ idx;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 32;
	return (size_t)(h % gc->n_buckets);
}

static void lru_unlink(struct gcache_chunk *ch)
{
	ch->prev->next = ch->next;
	ch->next->prev = ch->prev;
}

static void lru_push(struct gcache *gc, struct gcache_chunk *ch)
{
	ch->next = gc->lru.next;
	ch->prev = &gc->lru;
	gc->lru.next->prev = ch;
	gc->lru.next = ch;
}

/* Takes ch out of the hash table and the recency list. */
static void unlink_chunk(struct gcache *gc, struct gcache_chunk *ch)
{
	struct gcache_chunk **pp = &gc->buckets[bucket(gc, ch->key, ch->idx)];

	while (*pp != ch)
		pp = &(*pp)->hnext;
	*pp = ch->hnext;
	lru_unlink(ch);
	gc->n--;
}

static void chunk_free(struct gcache_chunk *ch)
{
	free(ch->data);
	free(ch);
}

/* Evicts unpinned ready chunks, least recent first, until at most want
 * chunks are held or none can go. */
static void evict_to(struct gcache *gc, size_t want)
{
	struct gcache_chunk *ch = gc->lru.prev;

	while (gc->n > want && ch != &gc->lru) {
		struct gcache_chunk *prev = ch->prev;

		if (!ch->pins && ch->state == GCACHE_READY) {
			unlink_chunk(gc, ch);
			chunk_free(ch);
			gc->evictions++;
		}
		ch = prev;
	}
}

int gcache_init(struct gcache *gc, uint64_t cap_bytes)
{
	gc->cap = (size_t)(cap_bytes / GCACHE_CHUNK);
	gc->n = 0;
	gc->n_buckets = 4096;
	gc->buckets = calloc(gc->n_buckets, sizeof(*gc->buckets));
	gc->lru.next = gc->lru.prev = &gc->lru;
	gc->hits = gc->misses = gc->evictions = 0;
	return gc->buckets ? 0 : -ENOMEM;
}

void gcache_resize(struct gcache *gc, uint64_t cap_bytes)
{
	gc->cap = (size_t)(cap_bytes / GCACHE_CHUNK);
	evict_to(gc, gc->cap);
}

void gcache_free(struct gcache *gc)
{
	while (gc->lru.next != &gc->lru) {
		struct gcache_chunk *ch = gc->lru.next;

		unlink_chunk(gc, ch);
		chunk_free(ch);
	}
	free(gc->buckets);
	gc->buckets = NULL;
}

struct gcache_chunk *gcache_get(struct gcache *gc, uint64_t key, uint64_t idx,
				int *fresh)
{
	struct gcache_chunk *ch;
	size_t b;

	*fresh = 0;
	if (!gc->cap)
		return NULL;
	b = bucket(gc, key, idx);
	for (ch = gc->buckets[b]; ch; ch = ch->hnext)
		if (ch->key == key && ch->idx == idx)
			break;
	if (ch) {
		lru_unlink(ch);
		lru_push(gc, ch);
		ch->pins++;
		gc->hits++;
		return ch;
	}
	evict_to(gc, gc->cap - 1);
	if (gc->n >= gc->cap)
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (ch)
		ch->data = malloc(GCACHE_CHUNK);
	if (!ch || !ch->data) {
		free(ch);
		return NULL;
	}
	ch->key = key;
	ch->idx = idx;
	ch->state = GCACHE_LOADING;
	ch->pins = 1;
	ch->hnext = gc->buckets[b];
	gc->buckets[b] = ch;
	lru_push(gc, ch);
	gc->n++;
	gc->misses++;
	*fresh = 1;
	return ch;
}

void gcache_loaded(struct gcache *gc, struct gcache_chunk *ch, int ok)
{
	ch->state = ok ? GCACHE_READY : GCACHE_FAILED;
	if (!ok) {
		/* Out of the table at once: the next reader tries again. */
		unlink_chunk(gc, ch);
		ch->prev = ch->next = ch->hnext = NULL;
		if (!ch->pins)
			chunk_free(ch);
	}
}

void gcache_unpin(struct gcache *gc, struct gcache_chunk *ch)
{
	if (--ch->pins)
		return;
	if (ch->state == GCACHE_FAILED)
		chunk_free(ch);
	else
		evict_to(gc, gc->cap);
}

int gcache_objs_init(struct gcache_objs *o, uint64_t size, unsigned order)
{
	if (order < 12 || order > 32)
		return -EINVAL;
	o->order = order;
	o->n = (size + (1ull << order) - 1) >> order;
	o->bits = calloc((size_t)(o->n / 8 + 1), 1);
	return o->bits ? 0 : -ENOMEM;
}

void gcache_objs_free(struct gcache_objs *o)
{
	free((void *)o->bits);
	o->bits = NULL;
}

void gcache_objs_mark(struct gcache_objs *o, uint64_t off, uint64_t len)
{
	uint64_t first = off >> o->order;
	uint64_t last = (off + (len ? len : 1) - 1) >> o->order;

	for (uint64_t i = first; i <= last && i < o->n; i++)
		atomic_fetch_or(&o->bits[i / 8], (uint8_t)(1u << (i % 8)));
}

int gcache_objs_any(const struct gcache_objs *o, uint64_t off, uint64_t len)
{
	uint64_t first = off >> o->order;
	uint64_t last = (off + (len ? len : 1) - 1) >> o->order;

	if (last >= o->n)
		return 1;
	for (uint64_t i = first; i <= last; i++)
		if (atomic_load(&o->bits[i / 8]) & (1u << (i % 8)))
			return 1;
	return 0;
}
