/* The event loop: see evloop.h. */
#include "common/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define EV_BATCH 64

struct ev_loop {
	int epfd;
	uint64_t now_ms;
	struct ev_timer **heap;
	size_t n_heap;
	size_t cap_heap;
	struct ev_source *ready;
	struct ev_source *ready_tail;
	struct ev_source *dead;
};

/* Reads CLOCK_MONOTONIC in milliseconds. */
static uint64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->now_ms = clock_ms();
	return loop;
}

/* Runs the release callbacks of the sources closed so far. */
static void reap(struct ev_loop *loop)
{
	while (loop->dead) {
		struct ev_source *s = loop->dead;

		loop->dead = s->next_dead;
		if (s->release)
			s->release(s);
	}
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	reap(loop);
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}

uint64_t ev_now(struct ev_loop *loop)
{
	return loop->now_ms;
}

int ev_add(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = s };

	s->dead = 0;
	s->queued = 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, s->fd, &e))
		return -errno;
	s->events = ev;
	return 0;
}

void ev_set_events(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = s };

	if (s->dead || ev == s->events)
		return;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s->fd, &e) == 0)
		s->events = ev;
}

void ev_close(struct ev_loop *loop, struct ev_source *s)
{
	if (s->dead)
		return;
	/* Off the ready list: its memory may be gone by the next round. */
	if (s->queued) {
		struct ev_source **link = &loop->ready, *prev = NULL;

		while (*link != s) {
			prev = *link;
			link = &(*link)->next_ready;
		}
		*link = s->next_ready;
		if (loop->ready_tail == s)
			loop->ready_tail = prev;
		s->queued = 0;
	}
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->dead = 1;
	s->next_dead = loop->dead;
	loop->dead = s;
}

void ev_ready(struct ev_loop *loop, struct ev_source *s)
{
	if (s->dead || s->queued)
		return;
	s->queued = 1;
	s->next_ready = NULL;
	if (loop->ready_tail)
		loop->ready_tail->next_ready = s;
	else
		loop->ready = s;
	loop->ready_tail = s;
}

/* Swaps two heap slots and fixes their back-pointers. */
static void heap_swap(struct ev_loop *loop, size_t a, size_t b)
{
	struct ev_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->slot = a + 1;
	loop->heap[b]->slot = b + 1;
}

/* Restores the heap order around slot i. */
static void heap_fix(struct ev_loop *loop, size_t i)
{
	while (i && loop->heap[(i - 1) / 2]->due_ms > loop->heap[i]->due_ms) {
		heap_swap(loop, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->n_heap &&
		    loop->heap[l]->due_ms < loop->heap[m]->due_ms)
			m = l;
		if (r < loop->n_heap &&
		    loop->heap[r]->due_ms < loop->heap[m]->due_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(loop, i, m);
		i = m;
	}
}

void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	loop->n_heap--;
	if (i == loop->n_heap)
		return;
	loop->heap[i] = loop->heap[loop->n_heap];
	loop->heap[i]->slot = i + 1;
	heap_fix(loop, i);
}

void ev_timer_set(struct ev_loop *loop, struct ev_timer *t, uint64_t ms)
{
	ev_timer_cancel(loop, t);
	if (loop->n_heap == loop->cap_heap) {
		size_t cap = loop->cap_heap ? 2 * loop->cap_heap : 64;
		struct ev_timer **h = realloc(loop->heap, cap * sizeof(*h));

		/* Out of memory: fire at once rather than never. */
		if (!h) {
			t->cb(loop, t);
			return;
		}
		loop->heap = h;
		loop->cap_heap = cap;
	}
	t->due_ms = loop->now_ms + ms;
	loop->heap[loop->n_heap] = t;
	t->slot = ++loop->n_heap;
	heap_fix(loop, loop->n_heap - 1);
}

/* Fires every timer that is due. */
static void run_timers(struct ev_loop *loop)
{
	while (loop->n_heap && loop->heap[0]->due_ms <= loop->now_ms) {
		struct ev_timer *t = loop->heap[0];

		ev_timer_cancel(loop, t);
		t->cb(loop, t);
	}
}

/* Calls the sources on the ready list as it was on entry; those queued
 * meanwhile wait for the next round. */
static void run_ready(struct ev_loop *loop)
{
	size_t n = 0;

	for (struct ev_source *s = loop->ready; s; s = s->next_ready)
		n++;
	while (loop->ready && n--) {
		struct ev_source *s = loop->ready;

		loop->ready = s->next_ready;
		if (!loop->ready)
			loop->ready_tail = NULL;
		s->queued = 0;
		s->cb(loop, s, 0);
	}
}

int ev_run_once(struct ev_loop *loop, int max_wait_ms)
{
	struct epoll_event evs[EV_BATCH];
	int wait = max_wait_ms, n;

	if (loop->ready)
		wait = 0;
	else if (loop->n_heap) {
		uint64_t due = loop->heap[0]->due_ms;
		int t = due <= loop->now_ms ? 0
			: due - loop->now_ms > 3600000
				? 3600000
				: (int)(due - loop->now_ms);

		if (wait < 0 || t < wait)
			wait = t;
	}
	n = epoll_wait(loop->epfd, evs, EV_BATCH, wait);
	loop->now_ms = clock_ms();
	if (n < 0)
		n = errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct ev_source *s = evs[i].data.ptr;

		if (!s->dead)
			s->cb(loop, s, evs[i].events);
	}
	run_timers(loop);
	run_ready(loop);
	reap(loop);
	return n;
}

size_t ev_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? (size_t)1 << 20
					    : (size_t)rl.rlim_cur;
}
