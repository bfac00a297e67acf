/* One event loop for the daemons: epoll over typed sources, timers on a
 * min-heap, a ready list for work left over from a busy round, and deferred
 * free so a source closed in the middle of a batch of events is never
 * touched after its memory is gone.  Single-threaded: one loop per thread. */
#ifndef WUPAN_COMMON_EVLOOP_H
#define WUPAN_COMMON_EVLOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;

/* What a source is, so a daemon can tell its sources apart without
 * packing numbers into epoll's data field. */
enum ev_type {
	EV_T_LISTENER,
	EV_T_STREAM,
	EV_T_SIGNAL,
	EV_T_WAKE,
	EV_T_DGRAM,
	EV_T_OTHER,
};

/* A file descriptor watched by the loop.  cb gets the epoll events, or 0
 * when the source was put on the ready list with ev_ready(). */
struct ev_source {
	enum ev_type type;
	int fd;
	uint32_t events; /* the mask epoll watches now */
	void (*cb)(struct ev_loop *loop, struct ev_source *s, uint32_t ev);
	/* Called after the batch in which the source was closed. */
	void (*release)(struct ev_source *s);
	int dead;
	int queued; /* on the ready list */
	struct ev_source *next_ready;
	struct ev_source *next_dead;
};

/* A one-shot timer; re-arm it from its callback to repeat. */
struct ev_timer {
	uint64_t due_ms;
	size_t slot; /* index in the heap + 1; 0 when not armed */
	void (*cb)(struct ev_loop *loop, struct ev_timer *t);
};

/* Creates a loop; returns NULL on failure with errno set. */
struct ev_loop *ev_loop_new(void);

/* Frees the loop (sources still registered are not closed). */
void ev_loop_free(struct ev_loop *loop);

/* Milliseconds of CLOCK_MONOTONIC, cached once per loop round. */
uint64_t ev_now(struct ev_loop *loop);

/* Registers s->fd with the event mask ev; returns 0 or -errno. */
int ev_add(struct ev_loop *loop, struct ev_source *s, uint32_t ev);

/* Changes the mask of s, with no system call when it is unchanged. */
void ev_set_events(struct ev_loop *loop, struct ev_source *s, uint32_t ev);

/* Unregisters and closes s->fd now; s->release runs after the current
 * batch of events.  Safe to call twice. */
void ev_close(struct ev_loop *loop, struct ev_source *s);

/* Calls s->cb with 0 events before the loop waits again: for work a source
 * left undone to let others run. */
void ev_ready(struct ev_loop *loop, struct ev_source *s);

/* Arms t to fire in ms milliseconds (re-arms if armed). */
void ev_timer_set(struct ev_loop *loop, struct ev_timer *t, uint64_t ms);

/* Disarms t if armed. */
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t);

/* Runs one round: waits for events (at most max_wait_ms, -1 for the next
 * timer), dispatches them, fires due timers, runs the ready list and frees
 * closed sources.  Returns the number of events, or -errno. */
int ev_run_once(struct ev_loop *loop, int max_wait_ms);

/* Raises the soft open-file limit to the hard one; returns the new soft
 * limit. */
size_t ev_raise_nofile(void);

#endif
