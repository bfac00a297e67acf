/* Event loop and buffered streams over socketpairs: partial reads and
 * writes, full buffers, output backlog with input waiting, half-close,
 * timers and deferred free.  The toy protocol: a message is one length
 * byte and that many bytes; the answer repeats the payload `rep` times. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/evstream.h"
#include "unit.h"

struct toy {
	struct ev_stream st;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	size_t high; /* stop taking input above this backlog */
	size_t rep;
	int msgs;
	int closed;
	const char *why;
	int released;
	int busy;
	int calls; /* pump callbacks seen */
	/* A file range sent after the buffered output (sendfile). */
	int file_fd;
	uint64_t file_off;
	size_t file_len;
};

static ssize_t toy_rx(struct ev_stream *st, const uint8_t *buf, size_t len)
{
	struct toy *t = (struct toy *)st;
	size_t n, need;

	if (len < 1)
		return 0;
	if (buf[0] == 0xff)
		return -1; /* "close after sending" */
	if (len < 1 + (size_t)buf[0])
		return 0;
	n = buf[0];
	need = t->out_len + n * t->rep;
	if (need > t->out_cap) {
		t->out_cap = need * 2;
		t->out = realloc(t->out, t->out_cap);
	}
	for (size_t i = 0; i < t->rep; i++) {
		memcpy(t->out + t->out_len, buf + 1, n);
		t->out_len += n;
	}
	t->msgs++;
	return (ssize_t)(1 + n);
}

static size_t toy_peek(struct ev_stream *st, struct ev_out *out)
{
	struct toy *t = (struct toy *)st;

	if (t->out_len > t->out_off || !t->file_len) {
		out->buf = t->out + t->out_off;
		out->len = t->out_len - t->out_off;
		out->more = t->file_len > 0;
		return out->len;
	}
	out->fd = t->file_fd;
	out->off = t->file_off;
	out->len = t->file_len;
	return out->len;
}

static void toy_done(struct ev_stream *st, size_t n)
{
	struct toy *t = (struct toy *)st;

	if (t->out_len == t->out_off) {
		t->file_off += n;
		t->file_len -= n;
		return;
	}
	t->out_off += n;
	if (t->out_off == t->out_len)
		t->out_off = t->out_len = 0;
}

static int toy_wants(struct ev_stream *st)
{
	struct toy *t = (struct toy *)st;

	return t->out_len - t->out_off < t->high;
}

static int toy_busy(struct ev_stream *st)
{
	return ((struct toy *)st)->busy;
}

static void toy_closed(struct ev_stream *st, const char *why)
{
	struct toy *t = (struct toy *)st;

	t->closed++;
	t->why = why;
}

static void toy_release(struct ev_source *s)
{
	struct toy *t = (struct toy *)s;

	t->released++;
	ev_stream_free(&t->st);
	free(t->out);
	t->out = NULL;
}

static const struct ev_stream_ops toy_ops = {
	toy_rx, toy_peek, toy_done, toy_wants, toy_busy, toy_closed,
};

/* Counts pump callbacks: the loop calls the stream's cb. */
static void (*stream_cb_orig)(struct ev_loop *, struct ev_source *, uint32_t);

static void counting_cb(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	((struct toy *)s)->calls++;
	stream_cb_orig(loop, s, ev);
}

/* Makes a socketpair with small buffers; fd[0] is the stream's. */
static struct toy *toy_new(struct ev_loop *loop, int *peer, size_t rxcap,
			   size_t high, size_t rep)
{
	struct toy *t = calloc(1, sizeof(*t));
	int fd[2], sz = 4096;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd);
	setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fd[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	fcntl(fd[0], F_SETFL, O_NONBLOCK);
	t->high = high;
	t->rep = rep;
	ev_stream_init(loop, &t->st, fd[0], &toy_ops, rxcap);
	t->st.src.release = toy_release;
	stream_cb_orig = t->st.src.cb;
	t->st.src.cb = counting_cb;
	*peer = fd[1];
	return t;
}

/* Closes a toy stream and frees it, its peer and the loop. */
static void toy_end(struct ev_loop *loop, struct toy *t, int peer);

/* Runs the loop for a few rounds. */
static void spin(struct ev_loop *loop, int rounds, int wait_ms)
{
	while (rounds--)
		ev_run_once(loop, wait_ms);
}

/* Reads everything the peer can get now, non-blocking, counting bytes
 * and checking they are all byte v. */
static size_t drain(int fd, uint8_t v, int *bad)
{
	uint8_t buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			*bad |= buf[i] != v;
		total += (size_t)n;
	}
	return total;
}

/* Sends one toy message of n bytes of v. */
static void msg(int fd, uint8_t n, uint8_t v)
{
	uint8_t buf[256];

	buf[0] = n;
	memset(buf + 1, v, n);
	send(fd, buf, 1 + (size_t)n, 0);
}

static void test_partial_read(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, bad = 0;
	struct toy *t = toy_new(loop, &peer, 1024, 1 << 20, 1);
	uint8_t m[11] = { 10, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7 };

	send(peer, m, 4, 0);
	spin(loop, 3, 10);
	CHECK("partial read: no message from 4 of 11 bytes", t->msgs == 0);
	send(peer, m + 4, 7, 0);
	spin(loop, 3, 10);
	CHECK("partial read: one message once complete", t->msgs == 1);
	CHECK("partial read: answer", drain(peer, 7, &bad) == 10 && !bad);
	close(peer);
	spin(loop, 3, 10);
	CHECK("partial read: peer close ends the stream",
	      t->closed == 1 && t->why && !strcmp(t->why, EV_STREAM_EOF) &&
		      t->released == 1);
	free(t);
	ev_loop_free(loop);
}

static void test_partial_write(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, bad = 0;
	struct toy *t = toy_new(loop, &peer, 1024, 8 << 20, 4096);
	size_t got = 0;

	/* 100 bytes x 4096 = 400 KiB through a 4 KiB socket buffer. */
	msg(peer, 100, 3);
	for (int i = 0; i < 2000 && got < 409600; i++) {
		spin(loop, 1, 1);
		got += drain(peer, 3, &bad);
	}
	CHECK("partial write: every byte arrives", got == 409600 && !bad);
	CHECK("partial write: stream still open", t->closed == 0);
	ev_stream_close(loop, &t->st, "test");
	spin(loop, 1, 0);
	CHECK("close: release after the batch", t->released == 1);
	close(peer);
	free(t);
	ev_loop_free(loop);
}

/* The receive buffer filled to exactly its size while output is above
 * the high mark: no 0-byte recv taken for end of file. */
static void test_full_buffer(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, bad = 0;
	/* rx buffer 64 bytes: 8 messages of 7 payload bytes fill it. */
	struct toy *t = toy_new(loop, &peer, 64, 1, 2000);
	size_t got = 0;

	for (int i = 0; i < 40; i++)
		msg(peer, 7, 9);
	spin(loop, 20, 5);
	CHECK("full buffer: stream not closed", t->closed == 0);
	for (int i = 0; i < 4000 && got < 40u * 7 * 2000; i++) {
		spin(loop, 1, 1);
		got += drain(peer, 9, &bad);
	}
	CHECK("full buffer: every message answered",
	      t->msgs == 40 && got == 40u * 7 * 2000 && !bad);
	CHECK("full buffer: still open", t->closed == 0);
	toy_end(loop, t, peer);
}

/* Output drains while complete messages sit in the buffer: they are
 * answered without the peer sending anything more. */
static void test_no_stall(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, bad = 0;
	struct toy *t = toy_new(loop, &peer, 4096, 1, 300);
	size_t got = 0;

	for (int i = 0; i < 120; i++)
		msg(peer, 20, 5);
	for (int i = 0; i < 4000 && got < 120u * 20 * 300; i++) {
		spin(loop, 1, 1);
		got += drain(peer, 5, &bad);
	}
	CHECK("no stall: all 120 answered with no new input",
	      t->msgs == 120 && got == 120u * 20 * 300 && !bad);
	ev_stream_close(loop, &t->st, "test");
	spin(loop, 1, 0);
	close(peer);
	free(t);
	ev_loop_free(loop);
}

/* A peer half-closes while output is backlogged: the loop must sleep,
 * not spin on EPOLLRDHUP, and still deliver every answer. */
static void test_half_close(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, bad = 0, events = 0;
	struct toy *t = toy_new(loop, &peer, 4096, 1 << 20, 4000);
	size_t got = 0;

	for (int i = 0; i < 10; i++)
		msg(peer, 10, 4);
	shutdown(peer, SHUT_WR);
	spin(loop, 3, 10);
	t->calls = 0;
	for (int i = 0; i < 20; i++)
		events += ev_run_once(loop, 10);
	CHECK("half-close: no spinning while the peer does not read",
	      events == 0 && t->calls == 0);
	for (int i = 0; i < 4000 && got < 10u * 10 * 4000; i++) {
		spin(loop, 1, 1);
		got += drain(peer, 4, &bad);
	}
	CHECK("half-close: every answer delivered",
	      got == 10u * 10 * 4000 && !bad);
	spin(loop, 2, 5);
	CHECK("half-close: closed once output is sent",
	      t->closed == 1 && t->why && !strcmp(t->why, EV_STREAM_EOF));
	close(peer);
	free(t);
	ev_loop_free(loop);
}

/* Work in flight (busy) keeps a half-closed stream open; the orderly end
 * the core asks for closes it with no reason. */
static void test_busy_and_orderly(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, bad = 0;
	struct toy *t = toy_new(loop, &peer, 4096, 1 << 20, 1);
	uint8_t end = 0xff;

	t->busy = 1;
	msg(peer, 5, 1);
	shutdown(peer, SHUT_WR);
	spin(loop, 5, 5);
	CHECK("busy: not closed while work is in flight", t->closed == 0);
	t->busy = 0;
	ev_stream_pump(loop, &t->st);
	CHECK("busy: closed once idle", t->closed == 1);
	spin(loop, 1, 0);
	drain(peer, 1, &bad);
	close(peer);
	free(t);

	t = toy_new(loop, &peer, 4096, 1 << 20, 1);
	msg(peer, 5, 2);
	send(peer, &end, 1, 0);
	spin(loop, 5, 5);
	CHECK("orderly: closed without a reason",
	      t->closed == 1 && t->why == NULL && drain(peer, 2, &bad) == 5 &&
		      !bad);
	close(peer);
	free(t);
	ev_loop_free(loop);
}

/* A message larger than the buffer ends the stream instead of waiting. */
static void test_too_large(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer;
	struct toy *t = toy_new(loop, &peer, 32, 1 << 20, 1);

	msg(peer, 100, 1);
	spin(loop, 5, 5);
	CHECK("too large: closed",
	      t->closed == 1 && t->why && !strcmp(t->why, "message too large"));
	close(peer);
	free(t);
	ev_loop_free(loop);
}

struct tick {
	struct ev_timer t;
	int fired;
	int order;
};

static int tick_seq;

static void tick_cb(struct ev_loop *loop, struct ev_timer *t)
{
	struct tick *k = (struct tick *)t;

	(void)loop;
	k->fired++;
	k->order = ++tick_seq;
}

static void test_timers(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct tick a = { .t.cb = tick_cb }, b = { .t.cb = tick_cb },
		    c = { .t.cb = tick_cb }, d = { .t.cb = tick_cb };
	uint64_t start = ev_now(loop);

	ev_timer_set(loop, &a.t, 30);
	ev_timer_set(loop, &b.t, 10);
	ev_timer_set(loop, &c.t, 20);
	ev_timer_set(loop, &d.t, 15);
	ev_timer_cancel(loop, &d.t);
	ev_run_once(loop, 0);
	CHECK("timers: none early", !a.fired && !b.fired && !c.fired);
	while (!a.fired && ev_now(loop) - start < 1000)
		ev_run_once(loop, -1);
	CHECK("timers: all fire once",
	      a.fired == 1 && b.fired == 1 && c.fired == 1);
	CHECK("timers: in order", b.order < c.order && c.order < a.order);
	CHECK("timers: cancelled one does not fire", d.fired == 0);
	CHECK("timers: not before due", ev_now(loop) - start >= 30);
	/* The loop sleeps until the next timer instead of polling. */
	ev_timer_set(loop, &a.t, 50);
	start = ev_now(loop);
	CHECK("timers: one round waits for the timer",
	      ev_run_once(loop, -1) == 0 && a.fired == 2 &&
		      ev_now(loop) - start >= 50);
	ev_loop_free(loop);
}

struct pair {
	struct ev_source s;
	struct pair *other;
	int released;
	int called;
};

static void pair_cb(struct ev_loop *loop, struct ev_source *s, uint32_t ev)
{
	struct pair *p = (struct pair *)s;

	(void)ev;
	p->called++;
	/* Closes its partner, whose event may be later in the batch. */
	ev_close(loop, &p->other->s);
	ev_close(loop, s);
}

static void pair_release(struct ev_source *s)
{
	((struct pair *)s)->released++;
}

/* Two sources ready in one batch; the first closes the second. */
static void test_deferred_free(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct pair a = { 0 }, b = { 0 };
	int fa[2], fb[2];

	pipe(fa);
	pipe(fb);
	a.s.fd = fa[0];
	b.s.fd = fb[0];
	a.s.cb = b.s.cb = pair_cb;
	a.s.release = b.s.release = pair_release;
	a.other = &b;
	b.other = &a;
	ev_add(loop, &a.s, EPOLLIN);
	ev_add(loop, &b.s, EPOLLIN);
	write(fa[1], "x", 1);
	write(fb[1], "x", 1);
	ev_run_once(loop, 100);
	CHECK("deferred free: only one callback runs",
	      a.called + b.called == 1);
	CHECK("deferred free: both released once after the batch",
	      a.released == 1 && b.released == 1);
	close(fa[1]);
	close(fb[1]);
	ev_loop_free(loop);
}

static void toy_end(struct ev_loop *loop, struct toy *t, int peer)
{
	ev_stream_close(loop, &t->st, "test");
	spin(loop, 1, 0);
	close(peer);
	free(t);
	ev_loop_free(loop);
}

/* A file of len bytes, byte i holding (i * 7) & 0xff. */
static int pattern_file(size_t len)
{
	char path[] = "/tmp/test_evloop.XXXXXX";
	int fd = mkstemp(path);
	uint8_t *b = malloc(len);

	unlink(path);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7);
	if (write(fd, b, len) != (ssize_t)len) {
		close(fd);
		fd = -1;
	}
	free(b);
	return fd;
}

/* A header from the buffer, then a file range through sendfile: partial
 * sends into a 4 KiB socket buffer resume on EPOLLOUT, in order. */
static void test_file_output(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, fd = pattern_file(300000), ok = 1;
	struct toy *t = toy_new(loop, &peer, 1024, 8 << 20, 1);
	uint8_t buf[65536];
	size_t got = 0, want = 5 + 299000;

	t->file_fd = fd;
	t->file_off = 1000;
	t->file_len = 299000;
	msg(peer, 5, 0xee); /* the "header": 5 bytes of 0xee */
	for (int i = 0; i < 4000 && got < want; i++) {
		ssize_t n;

		spin(loop, 1, 1);
		while ((n = recv(peer, buf, 3000, MSG_DONTWAIT)) > 0) {
			for (ssize_t k = 0; k < n; k++, got++)
				ok &= buf[k] ==
				      (got < 5 ? 0xee
					       : (uint8_t)((got - 5 + 1000) *
							   7));
		}
	}
	CHECK("file output: header then every file byte, in order",
	      got == want && ok);
	CHECK("file output: counted as sent from a file",
	      t->st.tx_file_bytes == 299000 && t->st.tx_bytes == want);
	CHECK("file output: stream still open", t->closed == 0);
	close(fd);
	toy_end(loop, t, peer);
}

/* A file range past the end of its file (truncated under us): the stream
 * ends at once with a reason, instead of waiting for bytes that never
 * come. */
static void test_short_file(void)
{
	struct ev_loop *loop = ev_loop_new();
	int peer, fd = pattern_file(10000), bad = 0;
	struct toy *t = toy_new(loop, &peer, 1024, 8 << 20, 1);

	t->file_fd = fd;
	t->file_off = 8192;
	t->file_len = 65536;
	msg(peer, 5, 0xee);
	for (int i = 0; i < 200 && !t->closed; i++) {
		spin(loop, 1, 1);
		drain(peer, 0, &bad);
	}
	CHECK("short file: stream closed, not stalled",
	      t->closed == 1 && t->why &&
		      !strcmp(t->why, EV_STREAM_SHORT_FILE));
	CHECK("short file: the bytes that exist were sent",
	      t->st.tx_file_bytes == 10000 - 8192);
	close(fd);
	toy_end(loop, t, peer);
}

int main(void)
{
	test_partial_read();
	test_partial_write();
	test_full_buffer();
	test_no_stall();
	test_half_close();
	test_busy_and_orderly();
	test_too_large();
	test_timers();
	test_deferred_free();
	test_file_output();
	test_short_file();
	CHECK("nofile limit raised", ev_raise_nofile() >= 1024);
	return unit_done();
}
