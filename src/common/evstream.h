/* A buffered byte stream on the event loop: a bounded receive buffer that
 * a protocol core consumes in whole messages, and an output the core
 * produces as the socket drains.  It owns the rules that keep a daemon from
 * dropping, stalling or spinning on a connection:
 *  - recv is called only with room in the buffer (a 0-byte recv reads 0,
 *    which looks like end of file);
 *  - buffered input is offered again whenever the output drains, not only
 *    when the socket becomes readable;
 *  - a half-close takes EPOLLIN and EPOLLRDHUP out of the mask, so the
 *    level-triggered event does not fire forever while output is flushed;
 *  - a busy stream yields after a budget and goes on the ready list. */
#ifndef WUPAN_COMMON_EVSTREAM_H
#define WUPAN_COMMON_EVSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/evloop.h"

struct ev_stream;

/* A piece of output: len bytes at buf, or, when fd >= 0, len bytes of
 * file fd from off on, sent with sendfile(2) straight from the page
 * cache.  more says output follows at once (sent with MSG_MORE, so a
 * header and the file data after it share packets). */
struct ev_out {
	const uint8_t *buf;
	int fd;
	uint64_t off;
	size_t len;
	int more;
};

/* The protocol side of a stream. */
struct ev_stream_ops {
	/* Takes buffered input; returns the bytes consumed (0: a message is
	 * incomplete, or wants_input() turned 0), or -1 to stop reading,
	 * send what is queued and close. */
	ssize_t (*rx)(struct ev_stream *st, const uint8_t *buf, size_t len);
	/* Fills *out with the next output and returns its length (0 when
	 * nothing is queued); it may produce more output first. */
	size_t (*tx_peek)(struct ev_stream *st, struct ev_out *out);
	/* Marks n output bytes as sent. */
	void (*tx_done)(struct ev_stream *st, size_t n);
	/* Returns 1 if the core takes more input now. */
	int (*wants_input)(struct ev_stream *st);
	/* Returns 1 while the core still has work that will produce output
	 * later (e.g. disk I/O in flight): the stream is not closed then. */
	int (*busy)(struct ev_stream *st);
	/* The stream is closed (why is NULL after an orderly end); the
	 * memory can go in src.release. */
	void (*closed)(struct ev_stream *st, const char *why);
};

/* Why a stream ended, for the closed() callback. */
#define EV_STREAM_EOF "connection lost"
#define EV_STREAM_ERROR "connection error"
#define EV_STREAM_SHORT_FILE "file shorter than its output"

struct ev_stream {
	struct ev_source src;
	const struct ev_stream_ops *ops;
	uint8_t *rx;
	size_t rx_cap;
	size_t rx_off; /* first unconsumed byte */
	size_t rx_len; /* end of received bytes */
	int eof; /* the peer will send no more */
	int closing; /* the core asked to close once output is sent */
	uint64_t last_rx_ms; /* ev_now() of the last received byte */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t tx_file_bytes; /* of tx_bytes, sent from files */
};

/* Sets st up on fd with a receive buffer of cap bytes (a message that
 * does not fit ends the stream) and registers it with the loop; the
 * caller sets st->src.release.  Returns 0 or -errno (fd stays open). */
int ev_stream_init(struct ev_loop *loop, struct ev_stream *st, int fd,
		   const struct ev_stream_ops *ops, size_t cap);

/* Changes the receive buffer size (e.g. after login); returns 0 or
 * -ENOMEM.  Never below the buffered bytes. */
int ev_stream_resize(struct ev_stream *st, size_t cap);

/* Does all the stream can do now: reads, offers input, writes, and sets
 * the event mask; closes it when it is done. */
void ev_stream_pump(struct ev_loop *loop, struct ev_stream *st);

/* Closes the stream now (the core's closed() runs with why). */
void ev_stream_close(struct ev_loop *loop, struct ev_stream *st,
		     const char *why);

/* Frees the receive buffer (from the release callback). */
void ev_stream_free(struct ev_stream *st);

#endif
