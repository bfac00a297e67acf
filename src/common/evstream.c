/* Buffered streams on the event loop: see evstream.h. */
#include "common/evstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

/* Bytes one pump moves before it lets other sources run. */
#define EV_STREAM_BUDGET (2u << 20)

/* The loop's callback for a stream. */
static void stream_cb(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	struct ev_stream *st = (struct ev_stream *)s;

	/* A reset, or both directions shut: nothing can move any more. */
	if (ev & (EPOLLERR | EPOLLHUP)) {
		ev_stream_close(loop, st,
				ev & EPOLLERR ? EV_STREAM_ERROR
					      : EV_STREAM_EOF);
		return;
	}
	ev_stream_pump(loop, st);
}

int ev_stream_init(struct ev_loop *loop, struct ev_stream *st, int fd,
		   const struct ev_stream_ops *ops, size_t cap)
{
	int rc;

	st->src.type = EV_T_STREAM;
	st->src.fd = fd;
	st->src.cb = stream_cb;
	st->ops = ops;
	st->rx = malloc(cap);
	if (!st->rx)
		return -ENOMEM;
	st->rx_cap = cap;
	st->rx_off = st->rx_len = 0;
	st->eof = st->closing = 0;
	st->rx_bytes = st->tx_bytes = st->tx_file_bytes = 0;
	st->last_rx_ms = ev_now(loop);
	rc = ev_add(loop, &st->src, EPOLLIN | EPOLLRDHUP);
	if (rc) {
		free(st->rx);
		st->rx = NULL;
	}
	return rc;
}

int ev_stream_resize(struct ev_stream *st, size_t cap)
{
	uint8_t *nb;

	if (st->rx_off) {
		memmove(st->rx, st->rx + st->rx_off, st->rx_len - st->rx_off);
		st->rx_len -= st->rx_off;
		st->rx_off = 0;
	}
	if (cap < st->rx_len)
		cap = st->rx_len;
	nb = realloc(st->rx, cap ? cap : 1);
	if (!nb)
		return -ENOMEM;
	st->rx = nb;
	st->rx_cap = cap;
	return 0;
}

void ev_stream_close(struct ev_loop *loop, struct ev_stream *st,
		     const char *why)
{
	if (st->src.dead)
		return;
	ev_close(loop, &st->src);
	st->ops->closed(st, why);
}

void ev_stream_free(struct ev_stream *st)
{
	free(st->rx);
	st->rx = NULL;
}

/* Reads once if the core wants input and the buffer has room.  Returns
 * the bytes read, 0 if none, or -1 after closing the stream.  *dry says
 * the socket had less than the room: another recv now would only say
 * EAGAIN (level-triggered EPOLLIN reports what comes later). */
static ssize_t stream_read(struct ev_loop *loop, struct ev_stream *st, int *dry)
{
	ssize_t n;

	if (st->eof || st->closing || !st->ops->wants_input(st))
		return 0;
	if (st->rx_off == st->rx_len) {
		st->rx_off = st->rx_len = 0;
	} else if (st->rx_len == st->rx_cap && st->rx_off) {
		memmove(st->rx, st->rx + st->rx_off, st->rx_len - st->rx_off);
		st->rx_len -= st->rx_off;
		st->rx_off = 0;
	}
	/* Never recv into no room: its 0 would read as end of file. */
	if (st->rx_len == st->rx_cap)
		return 0;
	n = recv(st->src.fd, st->rx + st->rx_len, st->rx_cap - st->rx_len,
		 MSG_DONTWAIT);
	*dry = n < (ssize_t)(st->rx_cap - st->rx_len);
	if (n > 0) {
		st->rx_len += (size_t)n;
		st->rx_bytes += (uint64_t)n;
		st->last_rx_ms = ev_now(loop);
		return n;
	}
	if (n == 0) {
		st->eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	ev_stream_close(loop, st, EV_STREAM_ERROR);
	return -1;
}

/* Offers the buffered input to the core; returns the bytes it took. */
static size_t stream_offer(struct ev_stream *st)
{
	size_t took = 0;

	while (!st->closing && !st->src.dead && st->rx_len > st->rx_off &&
	       st->ops->wants_input(st)) {
		ssize_t used = st->ops->rx(st, st->rx + st->rx_off,
					   st->rx_len - st->rx_off);

		if (used < 0) {
			st->closing = 1;
			st->rx_off = st->rx_len = 0;
			break;
		}
		if (used == 0)
			break;
		st->rx_off += (size_t)used;
		took += (size_t)used;
	}
	if (st->rx_off == st->rx_len)
		st->rx_off = st->rx_len = 0;
	return took;
}

/* Sends one piece of output: bytes, or a file range with sendfile(2).
 * Returns what send does; a file that ends before its range gives 0. */
static ssize_t stream_send(struct ev_stream *st, const struct ev_out *out)
{
	off_t off = (off_t)out->off;

	if (out->fd < 0)
		return send(st->src.fd, out->buf, out->len,
			    MSG_NOSIGNAL | MSG_DONTWAIT |
				    (out->more ? MSG_MORE : 0));
	return sendfile(st->src.fd, out->fd, &off, out->len);
}

/* Sends what the core has; returns the bytes sent, or -1 after closing
 * the stream.  *blocked says output is left for EPOLLOUT. */
static ssize_t stream_write(struct ev_loop *loop, struct ev_stream *st,
			    int *blocked)
{
	size_t sent = 0;

	*blocked = 0;
	while (!st->src.dead) {
		struct ev_out out = { NULL, -1, 0, 0, 0 };
		ssize_t n;

		if (!st->ops->tx_peek(st, &out))
			break;
		n = stream_send(st, &out);
		if (n > 0) {
			st->ops->tx_done(st, (size_t)n);
			st->tx_bytes += (uint64_t)n;
			if (out.fd >= 0)
				st->tx_file_bytes += (uint64_t)n;
			sent += (size_t)n;
			/* A short send means the socket is full: the next one
			 * would only say EAGAIN; EPOLLOUT says when to go on. */
			if (sent >= EV_STREAM_BUDGET || (size_t)n < out.len) {
				*blocked = 1;
				break;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*blocked = 1;
			break;
		}
		/* A file cut shorter under us: the header that announced its
		 * bytes is already out, so the stream cannot go on. */
		ev_stream_close(loop, st,
				n == 0 && out.fd >= 0 ? EV_STREAM_SHORT_FILE
						      : EV_STREAM_ERROR);
		return -1;
	}
	return (ssize_t)sent;
}

void ev_stream_pump(struct ev_loop *loop, struct ev_stream *st)
{
	size_t moved = 0;
	int blocked = 0, yield = 0, dry = 0;
	uint32_t mask = 0;

	while (!st->src.dead) {
		ssize_t rd = dry ? 0 : stream_read(loop, st, &dry), wr;
		size_t took;

		if (rd < 0)
			return;
		took = stream_offer(st);
		if (st->src.dead)
			return;
		/* A message larger than the whole buffer cannot complete. */
		if (!st->closing && st->rx_len - st->rx_off == st->rx_cap &&
		    st->ops->wants_input(st)) {
			ev_stream_close(loop, st, "message too large");
			return;
		}
		wr = stream_write(loop, st, &blocked);
		if (wr < 0)
			return;
		moved += (size_t)rd + (size_t)wr;
		if (!rd && !took && !wr)
			break;
		if (moved >= EV_STREAM_BUDGET) {
			yield = 1;
			break;
		}
	}
	if (st->src.dead)
		return;
	if ((st->eof || st->closing) && !blocked && !yield &&
	    !st->ops->busy(st)) {
		ev_stream_close(loop, st, st->closing ? NULL : EV_STREAM_EOF);
		return;
	}
	if (yield) {
		ev_ready(loop, &st->src);
		return;
	}
	/* After a half-close EPOLLIN and EPOLLRDHUP stay out: level
	 * triggered, they would fire until the output is flushed. */
	if (!st->eof && !st->closing && st->rx_len < st->rx_cap &&
	    st->ops->wants_input(st))
		mask |= EPOLLIN | EPOLLRDHUP;
	if (blocked)
		mask |= EPOLLOUT;
	ev_set_events(loop, &st->src, mask);
}
