/* The command trace (trace.h): the commands waiting for status in a small
 * hash by connection and task tag, finished lines in a buffer a writer
 * thread empties, so reactors only copy bytes. */
#include "iscsi/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fullio.h"
#include "iscsi/conn.h"
#include "iscsi/pdu.h"

#define TRACE_BUCKETS 4096
#define TRACE_BUF (1u << 20) /* lines waiting for the writer */
#define TRACE_HIGH (64u << 10) /* the writer starts at this much */
#define TRACE_FLUSH_MS 1000 /* and at least this often */
#define TRACE_LINE 768

/* A command waiting for its status. */
struct trace_cmd {
	struct trace_cmd *next;
	const struct iscsi_conn *conn;
	uint32_t itt;
	uint64_t t_us;
	char head[TRACE_LINE - 64]; /* the line up to its latency */
	char cdb[40];
};

static struct {
	int fd;
	int on;
	int stop;
	uint64_t off; /* where the writer goes on */
	uint64_t t0_us;
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the writer: data or stop */
	pthread_cond_t room; /* producers: the buffer was taken */
	char *buf, *spare;
	size_t len;
	struct trace_cmd *pending[TRACE_BUCKETS];
} tr = { .fd = -1 };

/* Microseconds of the monotonic clock. */
static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void iscsi_trace_cdb_parse(const uint8_t *cdb, struct iscsi_trace_cdb *out)
{
	/* Layouts: 6-byte (21-bit LBA, 8-bit count, 0 meaning 256 for
	 * READ/WRITE), 10-byte, 12-byte and 16-byte (SBC-4 §5). */
	enum { NONE, L6, L10, L12, L16 };
	static const struct {
		uint8_t op;
		const char *name;
		int layout;
	} ops[] = {
		{ 0x00, "TEST_UNIT_READY", NONE },
		{ 0x03, "REQUEST_SENSE", NONE },
		{ 0x08, "READ_6", L6 },
		{ 0x0a, "WRITE_6", L6 },
		{ 0x12, "INQUIRY", NONE },
		{ 0x15, "MODE_SELECT_6", NONE },
		{ 0x16, "RESERVE_6", NONE },
		{ 0x17, "RELEASE_6", NONE },
		{ 0x1a, "MODE_SENSE_6", NONE },
		{ 0x1b, "START_STOP_UNIT", NONE },
		{ 0x1e, "PREVENT_ALLOW", NONE },
		{ 0x25, "READ_CAPACITY_10", NONE },
		{ 0x28, "READ_10", L10 },
		{ 0x2a, "WRITE_10", L10 },
		{ 0x2e, "WRITE_VERIFY_10", L10 },
		{ 0x2f, "VERIFY_10", L10 },
		{ 0x35, "SYNC_CACHE_10", L10 },
		{ 0x41, "WRITE_SAME_10", L10 },
		{ 0x42, "UNMAP", NONE },
		{ 0x55, "MODE_SELECT_10", NONE },
		{ 0x5a, "MODE_SENSE_10", NONE },
		{ 0x5e, "PR_IN", NONE },
		{ 0x5f, "PR_OUT", NONE },
		{ 0x88, "READ_16", L16 },
		{ 0x89, "COMPARE_AND_WRITE", L16 },
		{ 0x8a, "WRITE_16", L16 },
		{ 0x8e, "WRITE_VERIFY_16", L16 },
		{ 0x8f, "VERIFY_16", L16 },
		{ 0x91, "SYNC_CACHE_16", L16 },
		{ 0x93, "WRITE_SAME_16", L16 },
		{ 0x9e, "SERVICE_ACTION_IN_16", NONE },
		{ 0xa0, "REPORT_LUNS", NONE },
		{ 0xa3, "MAINTENANCE_IN", NONE },
		{ 0xa8, "READ_12", L12 },
		{ 0xaa, "WRITE_12", L12 },
		{ 0xaf, "VERIFY_12", L12 },
	};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (ops[i].op != cdb[0])
			continue;
		out->name = ops[i].name;
		out->has_lba = ops[i].layout != NONE;
		switch (ops[i].layout) {
		case L6:
			out->lba = get_be24(cdb + 1) & 0x1fffffu;
			out->blocks = cdb[4] ? cdb[4] : 256;
			break;
		case L10:
			out->lba = get_be32(cdb + 2);
			out->blocks = get_be16(cdb + 7);
			break;
		case L12:
			out->lba = get_be32(cdb + 2);
			out->blocks = get_be32(cdb + 6);
			break;
		case L16:
			out->lba = get_be64(cdb + 2);
			out->blocks = cdb[0] == 0x89 ? cdb[13]
						     : get_be32(cdb + 10);
			break;
		}
		break;
	}
	/* SERVICE ACTION IN (16) is READ CAPACITY (16) at boot. */
	if (cdb[0] == 0x9e && (cdb[1] & 0x1f) == 0x10)
		out->name = "READ_CAPACITY_16";
}

/* Length of a CDB by its group code (SAM-5 §5.2). */
static size_t cdb_len(uint8_t op)
{
	switch (op >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 5:
		return 12;
	default:
		return 16;
	}
}

/* Copies s with blanks, backslashes and what is not printable as \xNN:
 * initiator names come from the wire. */
static void escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 5 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch > 0x20 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
	}
	out[o] = 0;
}

/* The writer thread: empties the buffer when it fills or once a second. */
static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tr.lock);
	for (;;) {
		struct timespec until;
		char *b;
		size_t n;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TRACE_FLUSH_MS / 1000;
		while (!tr.stop && tr.len < TRACE_HIGH) {
			if (pthread_cond_timedwait(&tr.wake, &tr.lock,
						   &until) == ETIMEDOUT)
				break;
		}
		b = tr.buf;
		n = tr.len;
		tr.buf = tr.spare;
		tr.spare = b;
		tr.len = 0;
		pthread_cond_broadcast(&tr.room);
		if (!n && tr.stop)
			break;
		pthread_mutex_unlock(&tr.lock);
		/* A failed write loses lines, never stops the target. */
		if (n && full_pwrite(tr.fd, b, n, tr.off) == 0)
			tr.off += n;
		pthread_mutex_lock(&tr.lock);
	}
	pthread_mutex_unlock(&tr.lock);
	return NULL;
}

int iscsi_trace_open(const char *path, char *err, size_t errlen)
{
	static const char head[] =
		"# wupan-target trace 1: t_us session lun op lba blocks dir "
		"edtl latency_us status cdb\n";

	tr.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (tr.fd < 0) {
		snprintf(err, errlen, "--trace %s: %s", path, strerror(errno));
		return -1;
	}
	tr.buf = malloc(TRACE_BUF);
	tr.spare = malloc(TRACE_BUF);
	if (!tr.buf || !tr.spare) {
		snprintf(err, errlen, "--trace: out of memory");
		goto err_alloc;
	}
	pthread_mutex_init(&tr.lock, NULL);
	pthread_cond_init(&tr.wake, NULL);
	pthread_cond_init(&tr.room, NULL);
	memcpy(tr.buf, head, sizeof(head) - 1);
	tr.len = sizeof(head) - 1;
	tr.t0_us = now_us();
	if (pthread_create(&tr.writer, NULL, writer_main, NULL)) {
		snprintf(err, errlen, "--trace: cannot start its thread");
		goto err_alloc;
	}
	tr.on = 1;
	return 0;
err_alloc:
	free(tr.buf);
	free(tr.spare);
	close(tr.fd);
	tr.fd = -1;
	return -1;
}

/* Appends a finished line (under tr.lock); waits only when the writer is
 * a whole buffer behind. */
static void append(const char *line, size_t n)
{
	while (tr.len + n > TRACE_BUF && !tr.stop) {
		pthread_cond_signal(&tr.wake);
		pthread_cond_wait(&tr.room, &tr.lock);
	}
	if (tr.len + n > TRACE_BUF)
		return;
	memcpy(tr.buf + tr.len, line, n);
	tr.len += n;
	if (tr.len >= TRACE_HIGH)
		pthread_cond_signal(&tr.wake);
}

/* The bucket of a command. */
static struct trace_cmd **bucket(const struct iscsi_conn *c, uint32_t itt)
{
	uintptr_t h = (uintptr_t)c / sizeof(void *) * 31u + itt;

	return &tr.pending[(h ^ (h >> 12)) % TRACE_BUCKETS];
}

/* Names a SCSI status (SAM-5 §5.3.1). */
static const char *status_name(uint8_t status, char *buf, size_t cap)
{
	switch (status) {
	case 0x00:
		return "GOOD";
	case 0x02:
		return "CHECK_CONDITION";
	case 0x08:
		return "BUSY";
	case 0x18:
		return "RESERVATION_CONFLICT";
	case 0x28:
		return "TASK_SET_FULL";
	case 0x40:
		return "TASK_ABORTED";
	}
	snprintf(buf, cap, "0x%02x", status);
	return buf;
}

/* A SCSI Command arrives: remember it with its time. */
static void cmd_start(const struct iscsi_conn *c, const uint8_t *bhs)
{
	const uint8_t *cdb = bhs + 32;
	struct iscsi_trace_cdb d;
	struct trace_cmd *t = malloc(sizeof(*t)), **b;
	char sess[2 * SCSI_PORT_NAME_MAX], op[16], lba[48];
	char dir = (bhs[1] & ISCSI_CMD_READ)    ? 'r'
		   : (bhs[1] & ISCSI_CMD_WRITE) ? 'w'
						: '-';
	int lun = iscsi_lun_parse(bhs + 8);
	size_t n = cdb_len(cdb[0]);

	if (!t)
		return;
	iscsi_trace_cdb_parse(cdb, &d);
	if (!d.name) {
		snprintf(op, sizeof(op), "OP_%02x", cdb[0]);
		d.name = op;
	}
	if (d.has_lba)
		snprintf(lba, sizeof(lba), "%llu %lu",
			 (unsigned long long)d.lba, (unsigned long)d.blocks);
	else
		snprintf(lba, sizeof(lba), "- -");
	escape(c->port, sess, sizeof(sess));
	t->conn = c;
	t->itt = get_be32(bhs + 16);
	t->t_us = now_us();
	snprintf(t->head, sizeof(t->head), "%llu %s %d %s %s %c %lu",
		 (unsigned long long)(t->t_us - tr.t0_us), sess, lun, d.name,
		 lba, dir, (unsigned long)get_be32(bhs + 20));
	for (size_t i = 0; i < n; i++)
		snprintf(t->cdb + 2 * i, 3, "%02x", cdb[i]);
	pthread_mutex_lock(&tr.lock);
	b = bucket(c, t->itt);
	t->next = *b;
	*b = t;
	pthread_mutex_unlock(&tr.lock);
}

/* A status is queued: the command's line is complete. */
static void cmd_end(const struct iscsi_conn *c, uint32_t itt, const char *st)
{
	uint64_t t_us = now_us();
	struct trace_cmd **link, *t;
	char line[TRACE_LINE];
	int n;

	pthread_mutex_lock(&tr.lock);
	for (link = bucket(c, itt); *link; link = &(*link)->next)
		if ((*link)->conn == c && (*link)->itt == itt)
			break;
	t = *link;
	if (!t) {
		pthread_mutex_unlock(&tr.lock);
		return;
	}
	*link = t->next;
	n = snprintf(line, sizeof(line), "%s %llu %s %s\n", t->head,
		     (unsigned long long)(t_us - t->t_us), st, t->cdb);
	if (n > 0 && (size_t)n < sizeof(line))
		append(line, (size_t)n);
	pthread_mutex_unlock(&tr.lock);
	free(t);
}

void iscsi_trace_pdu(const struct iscsi_conn *c, const uint8_t *bhs)
{
	uint8_t op = iscsi_pdu_opcode(bhs);
	char buf[8];

	if (!tr.on)
		return;
	if (op == ISCSI_OP_SCSI_CMD)
		cmd_start(c, bhs);
	else if (op == ISCSI_OP_SCSI_RSP)
		cmd_end(c, get_be32(bhs + 16),
			bhs[2] ? "FAILURE" : status_name(bhs[3], buf, 8));
	else if (op == ISCSI_OP_DATA_IN && (bhs[1] & ISCSI_DATAIN_STATUS))
		cmd_end(c, get_be32(bhs + 16), status_name(bhs[3], buf, 8));
}

void iscsi_trace_forget(const struct iscsi_conn *c)
{
	if (!tr.on)
		return;
	pthread_mutex_lock(&tr.lock);
	for (size_t i = 0; i < TRACE_BUCKETS; i++) {
		struct trace_cmd **link = &tr.pending[i];

		while (*link) {
			struct trace_cmd *t = *link;

			if (t->conn != c) {
				link = &t->next;
				continue;
			}
			*link = t->next;
			free(t);
		}
	}
	pthread_mutex_unlock(&tr.lock);
}

void iscsi_trace_close(void)
{
	if (!tr.on)
		return;
	pthread_mutex_lock(&tr.lock);
	tr.stop = 1;
	pthread_cond_signal(&tr.wake);
	pthread_mutex_unlock(&tr.lock);
	pthread_join(tr.writer, NULL);
	tr.on = 0;
	for (size_t i = 0; i < TRACE_BUCKETS; i++) {
		while (tr.pending[i]) {
			struct trace_cmd *t = tr.pending[i];

			tr.pending[i] = t->next;
			free(t);
		}
	}
	close(tr.fd);
	tr.fd = -1;
	free(tr.buf);
	free(tr.spare);
}
