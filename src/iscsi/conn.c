/* Connection framing and the full feature phase (RFC 7143 §11): SCSI
 * commands with Data-In, R2T and Data-Out, NOP, Text, Logout, task
 * management and Reject.  See conn.h. */
#include "iscsi/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"
#include "iscsi/crc32c.h"
#include "iscsi/scsi_sense.h"
#include "iscsi/text.h"

#define ISCSI_MAX_AHS 1020

/* The units this session sees: its own (session_open) or the target's. */
static struct scsi_lun_map *conn_map(struct iscsi_conn *c)
{
	return c->map ? c->map : &c->target->map;
}

void iscsi_conn_init(struct iscsi_conn *c, struct iscsi_env *env,
		     const char *local_addr)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->params.max_xmit = 8192;
	c->params.max_burst = 262144;
	c->params.first_burst = 65536;
	c->params.initial_r2t = 1;
	c->params.immediate_data = 1;
	c->params.time2wait = 2;
	c->next_ttt = 1;
	c->reads_tail = &c->reads;
	snprintf(c->local_addr, sizeof(c->local_addr), "%s", local_addr);
}

/* Frees a task no longer listed, unless disk I/O still uses it: then
 * iscsi_conn_io_done frees it. */
static void task_destroy(struct iscsi_conn *c, struct iscsi_task *t)
{
	while (t->io_wait) {
		struct iscsi_io *io = t->io_wait;

		t->io_wait = io->next;
		c->write_bytes -= io->len;
		free(io->buf);
		free(io);
	}
	if (t->io) {
		t->aborted = 1;
		return;
	}
	free(t->chunk);
	scsi_cmd_release(&t->cmd);
	free(t);
}

/* Takes a READ off the Data-In queue. */
static void reads_unlink(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_task **link = &c->reads;

	while (*link && *link != t)
		link = &(*link)->next_read;
	if (!*link)
		return;
	*link = t->next_read;
	if (c->reads_tail == &t->next_read)
		c->reads_tail = link;
	c->n_reads--;
}

/* Unlinks and frees one task. */
static void task_free(struct iscsi_conn *c, struct iscsi_task **link)
{
	struct iscsi_task *t = *link;

	*link = t->next;
	c->n_tasks--;
	if (t->state == ISCSI_TASK_READ)
		reads_unlink(c, t);
	task_destroy(c, t);
}

void iscsi_conn_release(struct iscsi_conn *c)
{
	while (c->tasks)
		task_free(c, &c->tasks);
	if (c->target)
		for (size_t i = 0; i < conn_map(c)->n; i++)
			scsi_lu_nexus_gone(conn_map(c)->luns[i], c);
	if (c->map && c->env->session_close)
		c->env->session_close(c->env, c);
	c->map = NULL;
	free(c->out.buf);
	free(c->out.ext);
	free(c->login.text);
	free(c->login.open_text);
	free(c->text_rsp);
	memset(&c->out, 0, sizeof(c->out));
	c->login.text = NULL;
	c->login.open_text = NULL;
	c->text_rsp = NULL;
}

struct iscsi_target *iscsi_env_find(struct iscsi_env *env, const char *name)
{
	for (size_t i = 0; i < env->n_targets; i++)
		if (strcasecmp(env->targets[i]->cfg->name, name) == 0)
			return env->targets[i];
	return NULL;
}

int iscsi_conn_wants_input(const struct iscsi_conn *c)
{
	return c->phase != ISCSI_PHASE_CLOSING && !c->login.opening &&
	       iscsi_obuf_backlog(&c->out) < ISCSI_OUT_HIGH &&
	       c->n_reads < ISCSI_MAX_READS &&
	       c->write_bytes < ISCSI_MAX_WRITE_BYTES;
}

size_t iscsi_obuf_backlog(const struct iscsi_obuf *o)
{
	return o->len - o->off + o->ext_bytes;
}

size_t iscsi_obuf_peek(const struct iscsi_obuf *o, struct iscsi_out *piece)
{
	const struct iscsi_ext *e = o->ext_n ? &o->ext[o->ext_head] : NULL;
	size_t buffered = o->len - o->off;

	piece->buf = NULL;
	piece->fd = -1;
	piece->off = 0;
	piece->more = 0;
	if (e && e->at == o->sent) {
		piece->fd = e->fd;
		piece->off = e->off;
		piece->len = e->len;
		piece->more = buffered > 0 || o->ext_n > 1;
		return piece->len;
	}
	piece->buf = o->buf + o->off;
	piece->len = buffered;
	if (e && e->at - o->sent < buffered) {
		piece->len = (size_t)(e->at - o->sent);
		piece->more = 1;
	}
	return piece->len;
}

void iscsi_obuf_consume(struct iscsi_obuf *o, size_t n)
{
	struct iscsi_ext *e = o->ext_n ? &o->ext[o->ext_head] : NULL;

	if (e && e->at == o->sent) {
		e->off += n;
		e->len -= n;
		o->ext_bytes -= n;
		if (!e->len) {
			o->ext_head = (o->ext_head + 1) % o->ext_cap;
			o->ext_n--;
		}
		return;
	}
	o->off += n;
	o->sent += n;
	if (o->off < o->len)
		return;
	o->off = o->len = 0;
	/* Give back the memory a large read needed once it is sent. */
	if (o->cap > (1u << 20)) {
		free(o->buf);
		o->buf = NULL;
		o->cap = 0;
	}
}

/* Queues len bytes of file fd at off after the buffered output so far.
 * Returns 0 or -ENOMEM. */
static int obuf_add_file(struct iscsi_obuf *o, int fd, uint64_t off, size_t len)
{
	struct iscsi_ext *e;

	if (o->ext_n == o->ext_cap) {
		size_t cap = o->ext_cap ? o->ext_cap * 2 : 64;
		struct iscsi_ext *ne = malloc(cap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		/* Unrolled into the new ring from its start. */
		for (size_t i = 0; i < o->ext_n; i++)
			ne[i] = o->ext[(o->ext_head + i) % o->ext_cap];
		free(o->ext);
		o->ext = ne;
		o->ext_cap = cap;
		o->ext_head = 0;
	}
	e = &o->ext[(o->ext_head + o->ext_n) % o->ext_cap];
	e->at = o->sent + (o->len - o->off);
	e->fd = fd;
	e->off = off;
	e->len = len;
	o->ext_n++;
	o->ext_bytes += len;
	return 0;
}

/* Makes room for n more output bytes; returns where they go or NULL. */
static uint8_t *obuf_reserve(struct iscsi_obuf *o, size_t n)
{
	if (o->off && o->off == o->len)
		o->off = o->len = 0;
	if (n > o->cap - o->len) {
		size_t cap = o->cap ? o->cap : 65536;
		uint8_t *nb;

		if (o->off) {
			memmove(o->buf, o->buf + o->off, o->len - o->off);
			o->len -= o->off;
			o->off = 0;
		}
		while (n > cap - o->len)
			cap *= 2;
		if (cap != o->cap) {
			nb = realloc(o->buf, cap);
			if (!nb)
				return NULL;
			o->buf = nb;
			o->cap = cap;
		}
	}
	o->len += n;
	return o->buf + o->len - n;
}

/* Size of a PDU on the wire with this connection's digests. */
static size_t pdu_wire_len(const struct iscsi_conn *c, size_t data_len)
{
	int full = c->phase == ISCSI_PHASE_FULL;

	return ISCSI_BHS_LEN + (full && c->params.header_digest ? 4 : 0) +
	       iscsi_pad4(data_len) +
	       (full && c->params.data_digest && data_len ? 4 : 0);
}

/* Reserves a whole PDU; returns a pointer to its data segment, with the
 * BHS copied in front.  The caller fills the data, then seals it. */
static uint8_t *pdu_reserve(struct iscsi_conn *c, const uint8_t *bhs,
			    size_t data_len, uint8_t **pdu)
{
	int hd = c->phase == ISCSI_PHASE_FULL && c->params.header_digest;
	uint8_t *p = obuf_reserve(&c->out, pdu_wire_len(c, data_len));

	if (!p)
		return NULL;
	if (c->env->trace)
		c->env->trace(c, bhs);
	memcpy(p, bhs, ISCSI_BHS_LEN);
	if (hd)
		put_le32(p + ISCSI_BHS_LEN, crc32c(0, p, ISCSI_BHS_LEN));
	*pdu = p;
	return p + ISCSI_BHS_LEN + (hd ? 4 : 0);
}

/* Pads the data segment and appends the data digest. */
static void pdu_seal(struct iscsi_conn *c, uint8_t *data, size_t data_len)
{
	size_t pad = iscsi_pad4(data_len) - data_len;

	memset(data + data_len, 0, pad);
	if (c->phase == ISCSI_PHASE_FULL && c->params.data_digest && data_len)
		put_le32(data + data_len + pad,
			 crc32c(0, data, data_len + pad));
}

int iscsi_send(struct iscsi_conn *c, uint8_t *bhs, const void *data, size_t len)
{
	uint8_t *pdu, *d;

	put_be24(bhs + 5, (uint32_t)len);
	d = pdu_reserve(c, bhs, len, &pdu);
	if (!d)
		return -ENOMEM;
	if (len)
		memcpy(d, data, len);
	pdu_seal(c, d, len);
	return 0;
}

/* Fills the sequence numbers every target PDU carries. */
static void put_sns(struct iscsi_conn *c, uint8_t *bhs, int advance)
{
	put_be32(bhs + 24, advance ? c->stat_sn++ : c->stat_sn);
	put_be32(bhs + 28, c->exp_cmd_sn);
	put_be32(bhs + 32, c->exp_cmd_sn + ISCSI_QUEUE_DEPTH - 1);
}

/* Sends a Reject carrying the offending header (RFC 7143 §11.17). */
static int send_reject(struct iscsi_conn *c, const uint8_t *req, uint8_t reason)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_pdu_init(bhs, ISCSI_OP_REJECT, ISCSI_FLAG_FINAL, 0);
	bhs[2] = reason;
	put_be32(bhs + 16, ISCSI_RSVD_TAG);
	put_sns(c, bhs, 1);
	return iscsi_send(c, bhs, req, ISCSI_BHS_LEN);
}

/* Sets residual flags and count from what the initiator expected. */
static void put_residual(uint8_t *bhs, uint32_t edtl, uint32_t moved)
{
	if (moved > edtl) {
		bhs[1] |= ISCSI_FLAG_OVERFLOW;
		put_be32(bhs + 44, moved - edtl);
	} else if (moved < edtl) {
		bhs[1] |= ISCSI_FLAG_UNDERFLOW;
		put_be32(bhs + 44, edtl - moved);
	}
}

/* Sends a SCSI Response with status and any sense (RFC 7143 §11.4). */
static int send_scsi_rsp(struct iscsi_conn *c, uint32_t itt,
			 const struct scsi_cmd *cmd, uint32_t edtl,
			 uint32_t exp_data_sn)
{
	uint8_t bhs[ISCSI_BHS_LEN], sense[2 + SCSI_SENSE_LEN];
	size_t len = 0;

	iscsi_pdu_init(bhs, ISCSI_OP_SCSI_RSP, ISCSI_FLAG_FINAL, 0);
	bhs[3] = cmd->status;
	put_be32(bhs + 16, itt);
	put_sns(c, bhs, 1);
	put_be32(bhs + 36, exp_data_sn);
	if (cmd->status == SCSI_STATUS_CHECK) {
		put_be16(sense, cmd->sense_len);
		memcpy(sense + 2, cmd->sense, cmd->sense_len);
		len = 2 + (size_t)cmd->sense_len;
	}
	/* SAM-5: the amount the command meant to move decides residuals. */
	put_residual(bhs, edtl, cmd->xfer_len);
	return iscsi_send(c, bhs, sense, len);
}

/* Where Data-In bytes come from: a buffer, or (buf NULL) file fd from
 * foff on, sent by the driver without a copy. */
struct data_src {
	const uint8_t *buf;
	int fd;
	uint64_t foff;
};

/* Queues one Data-In PDU's data segment of n bytes, the i-th byte on of
 * src, after its header pdu; returns 0 or -ENOMEM. */
static int data_in_segment(struct iscsi_conn *c, uint8_t *d,
			   const struct data_src *src, uint32_t i, uint32_t n)
{
	size_t pad = iscsi_pad4(n) - n;
	uint8_t *p;

	if (src->buf) {
		memcpy(d, src->buf + i, n);
		pdu_seal(c, d, n);
		return 0;
	}
	/* Only without a data digest: the header is queued alone, the data
	 * follows from the file, then the padding. */
	if (obuf_add_file(&c->out, src->fd, src->foff + i, n))
		return -ENOMEM;
	if (!pad)
		return 0;
	p = obuf_reserve(&c->out, pad);
	if (!p)
		return -ENOMEM;
	memset(p, 0, pad);
	return 0;
}

/* Frames Data-In PDUs for bytes [off, off + len) of a transfer of total
 * bytes from src, cut to the initiator's segment and burst limits, with
 * the status in the last PDU when it is GOOD (RFC 7143 §11.7.4).  *sn is
 * the next DataSN.  Returns 0 or -ENOMEM. */
static int frame_data_in(struct iscsi_conn *c, const uint8_t *lun_field,
			 uint32_t itt, const struct scsi_cmd *cmd,
			 uint32_t edtl, uint32_t total, uint32_t off,
			 uint32_t len, const struct data_src *src, uint32_t *sn)
{
	uint32_t seg = c->params.max_xmit, burst = c->params.max_burst;
	uint32_t end = off + len;

	if (seg > burst)
		seg = burst;
	while (off < end) {
		uint32_t n = end - off < seg ? end - off : seg;
		uint32_t in_burst = off % burst;
		uint8_t bhs[ISCSI_BHS_LEN], *pdu, *d;
		int last;

		if (n > burst - in_burst)
			n = burst - in_burst;
		last = off + n == total;
		iscsi_pdu_init(bhs, ISCSI_OP_DATA_IN, 0, n);
		if (last || (off + n) % burst == 0)
			bhs[1] |= ISCSI_FLAG_FINAL;
		memcpy(bhs + 8, lun_field, 8);
		put_be32(bhs + 16, itt);
		put_be32(bhs + 20, ISCSI_RSVD_TAG);
		/* iPXE takes StatSN from every PDU: give it the last one. */
		put_be32(bhs + 24, c->stat_sn - 1);
		put_be32(bhs + 28, c->exp_cmd_sn);
		put_be32(bhs + 32, c->exp_cmd_sn + ISCSI_QUEUE_DEPTH - 1);
		put_be32(bhs + 36, (*sn)++);
		put_be32(bhs + 40, off);
		if (last && cmd->status == SCSI_STATUS_GOOD) {
			bhs[1] |= ISCSI_DATAIN_STATUS;
			put_residual(bhs, edtl, cmd->xfer_len);
			put_be32(bhs + 24, c->stat_sn++);
		}
		d = pdu_reserve(c, bhs, src->buf ? n : 0, &pdu);
		if (!d || data_in_segment(c, d, src, off - (end - len), n))
			return -ENOMEM;
		off += n;
	}
	return 0;
}

/* Sends the Data-In of a command that generated it (INQUIRY, MODE SENSE:
 * small, no disk), then the status if it did not ride on the data. */
static int send_data_in(struct iscsi_conn *c, const uint8_t *req,
			struct scsi_lu *lu, struct scsi_cmd *cmd, uint32_t edtl)
{
	uint32_t itt = get_be32(req + 16);
	uint32_t total = cmd->xfer_len < edtl ? cmd->xfer_len : edtl;
	uint32_t sn = 0;
	uint8_t *buf = total ? malloc(total) : NULL;
	int rc;

	if (total && !buf)
		return -ENOMEM;
	if (total && scsi_cmd_read(lu, cmd, 0, buf, total)) {
		free(buf);
		return send_scsi_rsp(c, itt, cmd, edtl, 0);
	}
	rc = frame_data_in(c, req + 8, itt, cmd, edtl, total, 0, total,
			   &(struct data_src){ buf, -1, 0 }, &sn);
	free(buf);
	if (rc)
		return rc;
	if (total == 0 || cmd->status != SCSI_STATUS_GOOD)
		return send_scsi_rsp(c, itt, cmd, edtl, sn);
	return 0;
}

/* Finds the pending task with the given initiator task tag. */
static struct iscsi_task **task_find(struct iscsi_conn *c, uint32_t itt)
{
	struct iscsi_task **link = &c->tasks;

	while (*link && (*link)->itt != itt)
		link = &(*link)->next;
	return link;
}

/* Finds the link that points at task t, or NULL. */
static struct iscsi_task **task_link(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_task **link = &c->tasks;

	while (*link && *link != t)
		link = &(*link)->next;
	return *link ? link : NULL;
}

void iscsi_io_run(struct iscsi_io *io)
{
	struct iscsi_task *t = io->task;

	switch (io->op) {
	case ISCSI_IO_READ:
		io->rc = scsi_cmd_read(t->lu, &t->cmd, io->off, io->buf,
				       io->len);
		break;
	case ISCSI_IO_WRITE:
		scsi_cmd_write(t->lu, &t->cmd, io->off, io->buf, io->len);
		break;
	case ISCSI_IO_FINISH:
		scsi_cmd_finish(t->lu, &t->cmd);
		break;
	case ISCSI_IO_OPEN:
		io->rc = io->conn->env->session_open(io->conn->env, io->conn);
		break;
	}
}

/* Hands io to the driver, or runs it now when there is no driver.  The
 * task may be answered and freed before this returns. */
static void io_submit(struct iscsi_conn *c, struct iscsi_task *t,
		      struct iscsi_io *io)
{
	io->conn = c;
	io->task = t;
	io->next = NULL;
	t->io = io;
	c->n_io++;
	if (c->env->submit) {
		c->env->submit(c->env, io);
		return;
	}
	iscsi_io_run(io);
	iscsi_conn_io_done(c, io);
}

/* Answers a task whose data has all moved: its medium work goes to the
 * driver when it touches the disk, and the answer waits for it. */
static int task_finish(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_task **link;
	int rc;

	t->state = ISCSI_TASK_FINISH;
	if (t->io)
		return 0; /* a write is in flight: its completion comes back */
	if (scsi_cmd_finish_io(&t->cmd)) {
		struct iscsi_io *io = calloc(1, sizeof(*io));

		if (!io) {
			scsi_sense_set(&t->cmd, SK_HARDWARE_ERROR,
				       ASC_INTERNAL_FAILURE);
		} else {
			io->op = ISCSI_IO_FINISH;
			io_submit(c, t, io);
			return 0;
		}
	} else {
		scsi_cmd_finish(t->lu, &t->cmd);
	}
	rc = send_scsi_rsp(c, t->itt, &t->cmd, t->edtl, t->r2t_count);
	link = task_link(c, t);
	if (link)
		task_free(c, link);
	return rc;
}

/* Takes Data-Out bytes for a task: buffered parameter data is copied at
 * once; medium writes are copied and queued for the driver, one at a time
 * per task.  Returns 0 or -ENOMEM. */
static int task_write(struct iscsi_conn *c, struct iscsi_task *t, uint32_t off,
		      const uint8_t *data, uint32_t len)
{
	struct iscsi_io *io, **tail;

	if (!len)
		return 0;
	if (t->cmd.kind == SCSI_K_PARAM) {
		scsi_cmd_write(t->lu, &t->cmd, off, data, len);
		return 0;
	}
	io = calloc(1, sizeof(*io));
	if (!io || !(io->buf = malloc(len))) {
		free(io);
		return -ENOMEM;
	}
	memcpy(io->buf, data, len);
	io->op = ISCSI_IO_WRITE;
	io->off = off;
	io->len = len;
	c->write_bytes += len;
	if (!t->io) {
		io_submit(c, t, io);
		return 0;
	}
	for (tail = &t->io_wait; *tail; tail = &(*tail)->next)
		;
	*tail = io;
	return 0;
}

/* Sends the next R2T of a task (RFC 7143 §11.8), or completes it. */
static int task_advance(struct iscsi_conn *c, struct iscsi_task **link)
{
	struct iscsi_task *t = *link;
	uint8_t bhs[ISCSI_BHS_LEN];
	uint32_t len;

	if (t->unsol_open || t->r2t_open)
		return 0;
	if (t->next_off < t->received)
		t->next_off = t->received;
	/* A failed command still needs its data drained only when it was
	 * solicited; we stop soliciting and answer now.  Its status is the
	 * worker's while a write is in flight. */
	if (t->next_off >= t->edtl ||
	    (!t->io && t->cmd.status != SCSI_STATUS_GOOD))
		return task_finish(c, t);
	len = t->edtl - t->next_off;
	if (len > c->params.max_burst)
		len = c->params.max_burst;
	iscsi_pdu_init(bhs, ISCSI_OP_R2T, ISCSI_FLAG_FINAL, 0);
	iscsi_lun_build(bhs + 8, t->lun);
	put_be32(bhs + 16, t->itt);
	put_be32(bhs + 20, t->ttt);
	put_sns(c, bhs, 0);
	put_be32(bhs + 36, t->r2tsn++);
	put_be32(bhs + 40, t->next_off);
	put_be32(bhs + 44, len);
	t->seq_off = t->next_off;
	t->seq_end = t->next_off + len;
	t->next_off += len;
	t->r2t_open = 1;
	t->r2t_count++;
	t->data_sn = 0;
	return iscsi_send(c, bhs, NULL, 0);
}

/* Whether the READ's next chunk is at hand, copied or as a file range. */
static int chunk_ready(const struct iscsi_task *t)
{
	return t->chunk || t->chunk_fd >= 0;
}

/* Starts the disk read of a READ's next chunk: a full chunk for the head
 * of the queue, a short read-ahead for the others.  Cached file data is
 * only located, to be sent from the page cache without a copy, unless a
 * data digest must be computed over it. */
static void read_start(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_io *io;
	uint8_t *buf;
	uint32_t len;

	if (t->io || chunk_ready(t) || t->framed >= t->total ||
	    t->cmd.status != SCSI_STATUS_GOOD)
		return;
	len = t->total - t->framed;
	if (len > (t == c->reads ? ISCSI_READ_CHUNK : ISCSI_READ_AHEAD))
		len = t == c->reads ? ISCSI_READ_CHUNK : ISCSI_READ_AHEAD;
	if (c->env->zerocopy && !c->params.data_digest &&
	    len >= ISCSI_ZEROCOPY_MIN &&
	    scsi_cmd_read_map(t->lu, &t->cmd, t->framed, len, &t->chunk_fd,
			      &t->chunk_foff) == 0) {
		t->chunk_len = len;
		return;
	}
	t->chunk_fd = -1;
	buf = malloc(len);
	/* Cached data is read right here: a worker's round trip costs more
	 * than the copy (most of a boot image is in the page cache). */
	if (buf && scsi_cmd_read_nowait(t->lu, &t->cmd, t->framed, buf, len) !=
			   -EAGAIN) {
		t->chunk = buf;
		t->chunk_len = len;
		return;
	}
	io = buf ? calloc(1, sizeof(*io)) : NULL;
	if (!io) {
		free(buf);
		scsi_sense_set(&t->cmd, SK_HARDWARE_ERROR,
			       ASC_INTERNAL_FAILURE);
		return;
	}
	io->buf = buf;
	io->op = ISCSI_IO_READ;
	io->off = t->framed;
	io->len = len;
	io_submit(c, t, io);
}

/* Frames the head READ's chunk; returns 0, or -1 to stop for now. */
static int read_frame(struct iscsi_conn *c, struct iscsi_task *t)
{
	struct iscsi_task **link;

	if (t->cmd.status == SCSI_STATUS_GOOD && chunk_ready(t)) {
		struct data_src src = { t->chunk, t->chunk_fd, t->chunk_foff };

		if (frame_data_in(c, t->lun_field, t->itt, &t->cmd, t->edtl,
				  t->total, t->framed, t->chunk_len, &src,
				  &t->data_sn))
			return -1;
		t->framed += t->chunk_len;
		free(t->chunk);
		t->chunk = NULL;
		t->chunk_fd = -1;
	}
	if (t->cmd.status == SCSI_STATUS_GOOD && t->framed < t->total) {
		read_start(c, t);
		return 0;
	}
	/* Done, or failed: the status went with the last Data-In, or goes
	 * in a response now. */
	if (t->cmd.status != SCSI_STATUS_GOOD)
		send_scsi_rsp(c, t->itt, &t->cmd, t->edtl, t->data_sn);
	link = task_link(c, t);
	if (link)
		task_free(c, link);
	if (c->reads)
		read_start(c, c->reads);
	return 0;
}

void iscsi_conn_tx_fill(struct iscsi_conn *c)
{
	while (c->reads && iscsi_obuf_backlog(&c->out) < ISCSI_OUT_LOW) {
		struct iscsi_task *t = c->reads;

		/* While a worker reads, the command is the worker's. */
		if (t->io)
			break;
		if (!chunk_ready(t) && t->cmd.status == SCSI_STATUS_GOOD) {
			read_start(c, t);
			if (t->io)
				break; /* the disk read is in flight */
		}
		if (read_frame(c, t))
			break;
	}
}

void iscsi_conn_io_done(struct iscsi_conn *c, struct iscsi_io *io)
{
	struct iscsi_task *t = io->task, **link;
	enum iscsi_io_op op = io->op;

	c->n_io--;
	if (op == ISCSI_IO_OPEN) {
		int rc = io->rc;

		free(io);
		iscsi_login_opened(c, rc);
		return;
	}
	t->io = NULL;
	if (op == ISCSI_IO_WRITE)
		c->write_bytes -= io->len;
	if (op == ISCSI_IO_READ && !t->aborted) {
		t->chunk = io->buf;
		t->chunk_len = io->len;
		io->buf = NULL;
	}
	free(io->buf);
	free(io);
	if (t->aborted) {
		task_destroy(c, t);
		return;
	}
	if (t->state == ISCSI_TASK_READ)
		return; /* framed by iscsi_conn_tx_fill as the socket drains */
	if (t->io_wait) {
		io = t->io_wait;
		t->io_wait = io->next;
		io_submit(c, t, io);
		return;
	}
	if (t->state != ISCSI_TASK_FINISH)
		return; /* more Data-Out to come */
	if (op != ISCSI_IO_FINISH) {
		/* The last write is on its way to the medium: now the flush
		 * or other medium work, then the answer. */
		task_finish(c, t);
		return;
	}
	send_scsi_rsp(c, t->itt, &t->cmd, t->edtl, t->r2t_count);
	link = task_link(c, t);
	if (link)
		task_free(c, link);
}

/* Makes a task for a command that outlives its PDU; NULL on ENOMEM. */
static struct iscsi_task *task_new(struct iscsi_conn *c, const uint8_t *bhs,
				   struct scsi_lu *lu, struct scsi_cmd *cmd,
				   enum iscsi_task_state state)
{
	struct iscsi_task *t = calloc(1, sizeof(*t));
	int lun = iscsi_lun_parse(bhs + 8);

	if (!t)
		return NULL;
	t->state = state;
	t->itt = get_be32(bhs + 16);
	t->edtl = get_be32(bhs + 20);
	t->ttt = c->next_ttt++;
	if (c->next_ttt == ISCSI_RSVD_TAG)
		c->next_ttt = 1;
	t->lun = (unsigned)lun;
	memcpy(t->lun_field, bhs + 8, 8);
	t->lu = lu;
	t->cmd = *cmd;
	t->chunk_fd = -1;
	t->next = c->tasks;
	c->tasks = t;
	c->n_tasks++;
	return t;
}

/* Handles a SCSI Command PDU (RFC 7143 §11.3). */
static int rx_scsi_cmd(struct iscsi_conn *c, const uint8_t *bhs,
		       const uint8_t *data, size_t len)
{
	uint32_t itt = get_be32(bhs + 16), edtl = get_be32(bhs + 20);
	int lun = iscsi_lun_parse(bhs + 8);
	int write = bhs[1] & ISCSI_CMD_WRITE;
	struct scsi_cmd cmd;
	struct scsi_lu *lu;
	struct iscsi_task *t;
	int rc;

	if (c->discovery)
		return send_reject(c, bhs, ISCSI_REJECT_PROTOCOL);
	/* RFC 7143 §11.3.4: immediate data only when negotiated, never more
	 * than FirstBurstLength nor EDTL. */
	if (len && (!write || !c->params.immediate_data ||
		    len > c->params.first_burst || len > edtl))
		return send_reject(c, bhs, ISCSI_REJECT_PROTOCOL);
	if (*task_find(c, itt))
		return send_reject(c, bhs, ISCSI_REJECT_INVALID_FIELD);
	rc = scsi_cmd_start(conn_map(c), lun < 0 ? 0xffffffu : (unsigned)lun,
			    bhs + 32, c, c->port, &cmd);
	if (rc) /* out of memory: INTERNAL TARGET FAILURE */
		scsi_sense_set(&cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_FAILURE);
	lu = lun >= 0 && (size_t)lun < conn_map(c)->n ? conn_map(c)->luns[lun]
						      : NULL;
	if (cmd.status == SCSI_STATUS_GOOD && cmd.dir == SCSI_DIR_IN &&
	    cmd.kind != SCSI_K_READ) {
		rc = send_data_in(c, bhs, lu, &cmd,
				  (bhs[1] & ISCSI_CMD_READ) ? edtl : 0);
		scsi_cmd_release(&cmd);
		return rc;
	}
	if (cmd.status == SCSI_STATUS_GOOD && cmd.dir == SCSI_DIR_IN) {
		uint32_t want = (bhs[1] & ISCSI_CMD_READ) ? edtl : 0;

		if (cmd.xfer_len == 0 || want == 0) {
			rc = send_scsi_rsp(c, itt, &cmd, want, 0);
			scsi_cmd_release(&cmd);
			return rc;
		}
		t = task_new(c, bhs, lu, &cmd, ISCSI_TASK_READ);
		if (!t) {
			scsi_cmd_release(&cmd);
			return -ENOMEM;
		}
		t->edtl = want;
		t->total = cmd.xfer_len < want ? cmd.xfer_len : want;
		t->next_read = NULL;
		*c->reads_tail = t;
		c->reads_tail = &t->next_read;
		c->n_reads++;
		/* The disk read starts now; Data-In waits for the socket. */
		read_start(c, t);
		return 0;
	}
	if (cmd.status != SCSI_STATUS_GOOD || cmd.dir != SCSI_DIR_OUT ||
	    !write || edtl == 0) {
		/* Nothing to receive, or refused before any data: finish now
		 * (a flush goes to the driver); unsolicited Data-Out that
		 * still comes is dropped. */
		if (cmd.status == SCSI_STATUS_GOOD &&
		    scsi_cmd_finish_io(&cmd)) {
			t = task_new(c, bhs, lu, &cmd, ISCSI_TASK_FINISH);
			if (!t) {
				scsi_cmd_release(&cmd);
				return -ENOMEM;
			}
			/* Nothing is sent for it: Data-Out with its tag is
			 * dropped. */
			t->unsol_open = 0;
			return task_finish(c, t);
		}
		if (cmd.status == SCSI_STATUS_GOOD)
			scsi_cmd_finish(lu, &cmd);
		rc = send_scsi_rsp(c, itt, &cmd, edtl, 0);
		scsi_cmd_release(&cmd);
		return rc;
	}
	if (c->n_tasks >= ISCSI_MAX_TASKS) {
		cmd.status = SCSI_STATUS_TASK_SET_FULL;
		rc = send_scsi_rsp(c, itt, &cmd, edtl, 0);
		scsi_cmd_release(&cmd);
		return rc;
	}
	t = task_new(c, bhs, lu, &cmd, ISCSI_TASK_DATA_OUT);
	if (!t) {
		scsi_cmd_release(&cmd);
		return -ENOMEM;
	}
	if (len && task_write(c, t, 0, data, (uint32_t)len))
		return -ENOMEM;
	t->received = (uint32_t)len;
	t->next_off = t->received;
	/* RFC 7143 §11.3.1: F clear means unsolicited Data-Out follow, up
	 * to FirstBurstLength, when InitialR2T=No. */
	t->unsol_open = !(bhs[1] & ISCSI_FLAG_FINAL) &&
			!c->params.initial_r2t && t->received < edtl &&
			t->received < c->params.first_burst;
	t->seq_off = t->received;
	t->seq_end = edtl < c->params.first_burst ? edtl
						  : c->params.first_burst;
	return task_advance(c, &c->tasks);
}

/* Handles a SCSI Data-Out PDU (RFC 7143 §11.7). */
static int rx_data_out(struct iscsi_conn *c, const uint8_t *bhs,
		       const uint8_t *data, size_t len)
{
	uint32_t itt = get_be32(bhs + 16), ttt = get_be32(bhs + 20);
	uint32_t off = get_be32(bhs + 40);
	struct iscsi_task **link = task_find(c, itt), *t = *link;

	/* Data for a command already answered (refused early or aborted) is
	 * dropped without comment. */
	if (!t || t->state != ISCSI_TASK_DATA_OUT)
		return 0;
	if (off > t->edtl || len > t->edtl - off)
		return send_reject(c, bhs, ISCSI_REJECT_INVALID_FIELD);
	if (ttt == ISCSI_RSVD_TAG) {
		if (!t->unsol_open)
			return send_reject(c, bhs, ISCSI_REJECT_PROTOCOL);
	} else if (ttt != t->ttt || !t->r2t_open) {
		return send_reject(c, bhs, ISCSI_REJECT_INVALID_FIELD);
	}
	/* RFC 7143 §11.7.5: DataSN counts from 0 in each R2T's sequence and
	 * in the unsolicited one; a gap cannot be recovered at ERL 0. */
	if (get_be32(bhs + 36) != t->data_sn++)
		return -EPROTO;
	/* §13.19: DataPDUInOrder=Yes (the only value we negotiate) puts the
	 * PDUs of a sequence at increasing offsets without overlays.  An
	 * overlay would leave part of the range unwritten while the byte
	 * count says done: like a DataSN gap, ERL 0 cannot recover it. */
	if (off != t->seq_off || len > t->seq_end - off)
		return -EPROTO;
	t->seq_off += (uint32_t)len;
	if (task_write(c, t, off, data, (uint32_t)len))
		return -ENOMEM;
	t->received += (uint32_t)len;
	if (bhs[1] & ISCSI_FLAG_FINAL) {
		if (ttt == ISCSI_RSVD_TAG)
			t->unsol_open = 0;
		else
			t->r2t_open = 0;
	}
	return task_advance(c, link);
}

/* Answers a NOP-Out that wants an answer (RFC 7143 §11.18, §11.19). */
static int rx_nop_out(struct iscsi_conn *c, const uint8_t *bhs,
		      const uint8_t *data, size_t len)
{
	uint8_t rsp[ISCSI_BHS_LEN];

	if (get_be32(bhs + 16) == ISCSI_RSVD_TAG)
		return 0; /* an answer to a ping of ours */
	if (len > c->params.max_xmit)
		len = c->params.max_xmit;
	iscsi_pdu_init(rsp, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, 0);
	memcpy(rsp + 8, bhs + 8, 8);
	memcpy(rsp + 16, bhs + 16, 4);
	put_be32(rsp + 20, ISCSI_RSVD_TAG);
	put_sns(c, rsp, 1);
	return iscsi_send(c, rsp, data, len);
}

int iscsi_conn_ping(struct iscsi_conn *c)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	if (c->phase != ISCSI_PHASE_FULL)
		return 0;
	iscsi_pdu_init(bhs, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, 0);
	put_be32(bhs + 16, ISCSI_RSVD_TAG);
	put_be32(bhs + 20, c->next_ttt++);
	if (c->next_ttt == ISCSI_RSVD_TAG)
		c->next_ttt = 1;
	/* §11.19.1: a ping does not advance StatSN. */
	put_sns(c, bhs, 0);
	return iscsi_send(c, bhs, NULL, 0);
}

/* Appends the SendTargets records of one target (RFC 7143 Appendix C). */
static void send_targets_one(struct iscsi_conn *c, const struct tcfg_target *t,
			     struct iscsi_text_out *out)
{
	char addr[300];

	iscsi_text_add(out, "TargetName", t->name);
	snprintf(addr, sizeof(addr), "%s,1",
		 t->portal ? t->portal : c->local_addr);
	iscsi_text_add(out, "TargetAddress", addr);
}

/* Tells whether SendTargets=VALUE names target t (RFC 7143 §13.3): All
 * lists every target in a discovery session, an empty value the session's
 * own target, a name that target. */
static int send_targets_match(const struct iscsi_conn *c,
			      const struct iscsi_kv *kv,
			      const struct tcfg_target *t)
{
	if (iscsi_kv_val_is(kv, "All"))
		return c->discovery || (c->target && c->target->cfg == t);
	if (kv->val_len == 0)
		return c->target && c->target->cfg == t;
	return kv->val_len == strlen(t->name) &&
	       !strncasecmp(kv->val, t->name, kv->val_len);
}

/* Sends the next piece of a pending Text response. */
static int text_rsp_next(struct iscsi_conn *c, const uint8_t *req)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	size_t n = c->text_rsp_len - c->text_rsp_off;
	int more;
	int rc;

	if (n > c->params.max_xmit)
		n = c->params.max_xmit;
	more = c->text_rsp_off + n < c->text_rsp_len;
	iscsi_pdu_init(bhs, ISCSI_OP_TEXT_RSP,
		       more ? ISCSI_FLAG_CONT : ISCSI_FLAG_FINAL, 0);
	memcpy(bhs + 8, req + 8, 8);
	memcpy(bhs + 16, req + 16, 4);
	if (more) {
		c->text_ttt = c->next_ttt++;
		if (c->next_ttt == ISCSI_RSVD_TAG)
			c->next_ttt = 1;
	}
	put_be32(bhs + 20, more ? c->text_ttt : ISCSI_RSVD_TAG);
	put_sns(c, bhs, 1);
	rc = iscsi_send(c, bhs, c->text_rsp + c->text_rsp_off, n);
	c->text_rsp_off += n;
	if (!more) {
		free(c->text_rsp);
		c->text_rsp = NULL;
		c->text_rsp_len = c->text_rsp_off = 0;
	}
	return rc;
}

/* Answers the keys of a Text request into out (RFC 7143 §11.10). */
static void text_answer(struct iscsi_conn *c, const struct iscsi_kv *kv,
			size_t n, struct iscsi_text_out *out)
{
	for (size_t i = 0; i < n; i++) {
		char key[ISCSI_KEY_MAX + 1];

		if (iscsi_kv_is(&kv[i], "SendTargets")) {
			for (size_t j = 0; j < c->env->n_targets; j++) {
				const struct tcfg_target *t =
					c->env->targets[j]->cfg;

				if (!tcfg_allows(t, c->initiator))
					continue;
				if (send_targets_match(c, &kv[i], t))
					send_targets_one(c, t, out);
			}
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)kv[i].key_len,
			 kv[i].key);
		/* RFC 7143 §13: in the full feature phase only the segment
		 * size may change; the leading-only keys are refused. */
		if (iscsi_kv_is(&kv[i], "MaxRecvDataSegmentLength")) {
			iscsi_negotiate_key(c, &kv[i], out);
			continue;
		}
		if (iscsi_kv_is(&kv[i], "InitiatorAlias"))
			continue;
		{
			struct iscsi_params saved = c->params;
			uint8_t scratch[256];
			struct iscsi_text_out probe = { scratch, 0,
							sizeof(scratch), 0 };
			int known = iscsi_negotiate_key(c, &kv[i], &probe);

			c->params = saved;
			iscsi_text_add(out, key,
				       known ? "Reject" : "NotUnderstood");
		}
	}
}

/* Handles a Text request: SendTargets and renegotiation (RFC 7143 §11.10). */
static int rx_text(struct iscsi_conn *c, const uint8_t *bhs,
		   const uint8_t *data, size_t len)
{
	uint32_t ttt = get_be32(bhs + 20);
	struct iscsi_kv kv[ISCSI_TEXT_MAX_PAIRS];
	struct iscsi_text_out out = { NULL, 0, 0, 1 };
	size_t n, cap = ISCSI_TEXT_RSP_MAX;

	if (ttt != ISCSI_RSVD_TAG) {
		if (!c->text_rsp || ttt != c->text_ttt)
			return send_reject(c, bhs, ISCSI_REJECT_INVALID_FIELD);
		return text_rsp_next(c, bhs);
	}
	/* A new request abandons any unfinished one. */
	free(c->text_rsp);
	c->text_rsp = NULL;
	if (bhs[1] & ISCSI_FLAG_CONT)
		return send_reject(c, bhs, ISCSI_REJECT_UNSUPPORTED);
	if (iscsi_text_parse(data, len, kv, ISCSI_TEXT_MAX_PAIRS, &n))
		return send_reject(c, bhs, ISCSI_REJECT_PROTOCOL);
	/* SendTargets=All over thousands of targets outgrows any fixed
	 * buffer: answer again into a larger one until it fits. */
	while (out.overflow) {
		uint8_t *nb;

		if (cap > ISCSI_TEXT_RSP_LIMIT) {
			free(out.buf);
			return send_reject(c, bhs, ISCSI_REJECT_PROTOCOL);
		}
		nb = realloc(out.buf, cap);
		if (!nb) {
			free(out.buf);
			return -ENOMEM;
		}
		out.buf = nb;
		out.cap = cap;
		out.len = 0;
		out.overflow = 0;
		text_answer(c, kv, n, &out);
		cap *= 2;
	}
	c->text_rsp = out.buf;
	c->text_rsp_len = out.len;
	c->text_rsp_off = 0;
	return text_rsp_next(c, bhs);
}

/* Handles a Logout request (RFC 7143 §11.14, §11.15). */
static int rx_logout(struct iscsi_conn *c, const uint8_t *bhs)
{
	uint8_t rsp[ISCSI_BHS_LEN];
	int reason = bhs[1] & 0x7f;

	iscsi_pdu_init(rsp, ISCSI_OP_LOGOUT_RSP, ISCSI_FLAG_FINAL, 0);
	/* ERL 0: a connection cannot be removed for recovery. */
	rsp[2] = reason == 2 ? 2 : 0;
	memcpy(rsp + 16, bhs + 16, 4);
	put_sns(c, rsp, 1);
	if (reason != 2) {
		c->phase = ISCSI_PHASE_CLOSING;
		c->event = ISCSI_EV_LOGOUT;
	}
	return iscsi_send(c, rsp, NULL, 0);
}

/* Drops pending tasks, all of them or those of one LUN. */
static void tasks_drop(struct iscsi_conn *c, int lun)
{
	struct iscsi_task **link = &c->tasks;

	while (*link) {
		if (lun < 0 || (*link)->lun == (unsigned)lun)
			task_free(c, link);
		else
			link = &(*link)->next;
	}
}

/* Handles a Task Management Function request (RFC 7143 §11.5). */
static int rx_tmf(struct iscsi_conn *c, const uint8_t *bhs)
{
	uint8_t rsp[ISCSI_BHS_LEN], result = ISCSI_TMF_RSP_COMPLETE;
	int fn = bhs[1] & 0x7f, lun = iscsi_lun_parse(bhs + 8);
	struct iscsi_task **link;
	int lun_ok;

	/* A discovery session has no target to manage (found by fuzzing). */
	if (c->discovery)
		return send_reject(c, bhs, ISCSI_REJECT_PROTOCOL);
	lun_ok = lun >= 0 && (size_t)lun < conn_map(c)->n;
	switch (fn) {
	case ISCSI_TMF_ABORT_TASK:
		link = task_find(c, get_be32(bhs + 20));
		if (*link) {
			task_free(c, link);
		} else {
			/* Already answered: libiscsi (AbortTaskSimpleAsync)
			 * expects "task does not exist" then, as tgtd says. */
			result = ISCSI_TMF_RSP_NO_TASK;
		}
		break;
	case ISCSI_TMF_ABORT_TASK_SET:
	case ISCSI_TMF_CLEAR_TASK_SET:
		/* A LUN we cannot parse names no task set: dropping "all"
		 * would abort every other LUN's commands. */
		if (!lun_ok) {
			result = ISCSI_TMF_RSP_NO_LUN;
			break;
		}
		tasks_drop(c, lun);
		break;
	case ISCSI_TMF_LUN_RESET:
		if (!lun_ok) {
			result = ISCSI_TMF_RSP_NO_LUN;
			break;
		}
		tasks_drop(c, lun);
		scsi_lu_reset(conn_map(c)->luns[lun]);
		break;
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET:
		tasks_drop(c, -1);
		for (size_t i = 0; i < conn_map(c)->n; i++)
			scsi_lu_reset(conn_map(c)->luns[i]);
		/* §11.5.1: a cold reset also ends the connection. */
		if (fn == ISCSI_TMF_TARGET_COLD_RESET)
			c->phase = ISCSI_PHASE_CLOSING;
		break;
	case ISCSI_TMF_TASK_REASSIGN:
		result = 4; /* allegiance reassignment needs ERL 2 */
		break;
	case ISCSI_TMF_CLEAR_ACA:
		result = ISCSI_TMF_RSP_NOT_SUPPORTED;
		break;
	default:
		result = ISCSI_TMF_RSP_REJECTED;
		break;
	}
	iscsi_pdu_init(rsp, ISCSI_OP_TMF_RSP, ISCSI_FLAG_FINAL, 0);
	rsp[2] = result;
	memcpy(rsp + 16, bhs + 16, 4);
	put_sns(c, rsp, 1);
	return iscsi_send(c, rsp, NULL, 0);
}

/* Checks CmdSN of a command-carrying PDU (RFC 7143 §4.2.2.1); returns 1 if
 * it is to be executed, 0 if it is to be ignored. */
static int cmdsn_accept(struct iscsi_conn *c, const uint8_t *bhs)
{
	uint32_t sn = get_be32(bhs + 24);

	if (bhs[0] & ISCSI_IMMEDIATE)
		return 1;
	/* One connection delivers in order: anything but the next CmdSN is
	 * a duplicate or out of the window, and is dropped. */
	if (sn != c->exp_cmd_sn)
		return 0;
	c->exp_cmd_sn++;
	return 1;
}

/* Dispatches one full-feature-phase PDU. */
static int rx_pdu(struct iscsi_conn *c, const uint8_t *bhs, const uint8_t *data,
		  size_t len)
{
	uint8_t op = iscsi_pdu_opcode(bhs);

	if (c->phase == ISCSI_PHASE_LOGIN) {
		if (op != ISCSI_OP_LOGIN_REQ)
			return -EPROTO; /* §6.1: only Login before FFP */
		return iscsi_login_rx(c, bhs, data, len);
	}
	switch (op) {
	case ISCSI_OP_SCSI_CMD:
		if (!cmdsn_accept(c, bhs))
			return 0;
		if (c->env->trace)
			c->env->trace(c, bhs);
		return rx_scsi_cmd(c, bhs, data, len);
	case ISCSI_OP_DATA_OUT:
		return rx_data_out(c, bhs, data, len);
	case ISCSI_OP_NOP_OUT:
		if (!cmdsn_accept(c, bhs))
			return 0;
		return rx_nop_out(c, bhs, data, len);
	case ISCSI_OP_TEXT_REQ:
		if (!cmdsn_accept(c, bhs))
			return 0;
		return rx_text(c, bhs, data, len);
	case ISCSI_OP_LOGOUT_REQ:
		if (!cmdsn_accept(c, bhs))
			return 0;
		return rx_logout(c, bhs);
	case ISCSI_OP_TMF_REQ:
		if (!cmdsn_accept(c, bhs))
			return 0;
		return rx_tmf(c, bhs);
	case ISCSI_OP_SNACK:
		return send_reject(c, bhs, ISCSI_REJECT_SNACK);
	default:
		return send_reject(c, bhs, ISCSI_REJECT_UNSUPPORTED);
	}
}

ssize_t iscsi_conn_rx(struct iscsi_conn *c, const uint8_t *buf, size_t len)
{
	size_t pos = 0;

	while (iscsi_conn_wants_input(c) && len - pos >= ISCSI_BHS_LEN) {
		const uint8_t *bhs = buf + pos;
		int full = c->phase == ISCSI_PHASE_FULL;
		int hd = full && c->params.header_digest;
		int dd = full && c->params.data_digest;
		struct iscsi_pdu_lens l;
		const uint8_t *data;
		int rc;

		/* A length we will not accept leaves no way to find the
		 * next PDU: the connection ends (RFC 7143 §7.4.1). */
		if (iscsi_pdu_lens_parse(bhs, ISCSI_MAX_AHS,
					 full ? ISCSI_OUR_MRDSL
					      : ISCSI_LOGIN_MRDSL,
					 hd, dd, &l))
			return -EPROTO;
		if (l.total > len - pos)
			break;
		data = bhs + ISCSI_BHS_LEN + l.ahs_len + (hd ? 4 : 0);
		if (hd && get_le32(bhs + ISCSI_BHS_LEN + l.ahs_len) !=
				  crc32c(0, bhs, ISCSI_BHS_LEN + l.ahs_len))
			return -EPROTO; /* §7.8: header digest error */
		if (dd && l.data_len &&
		    get_le32(data + iscsi_pad4(l.data_len)) !=
			    crc32c(0, data, iscsi_pad4(l.data_len))) {
			/* §7.8: a data digest error cannot be recovered at
			 * ERL 0; tell the initiator and end the connection. */
			send_reject(c, bhs, ISCSI_REJECT_DIGEST);
			return -EPROTO;
		}
		rc = rx_pdu(c, bhs, data, l.data_len);
		pos += l.total;
		if (rc < 0)
			return -EPROTO;
	}
	return (ssize_t)pos;
}
