/* The iSCSI core's asynchronous completion API: disk work handed to a
 * driver that completes it later, Data-In produced only as output drains,
 * and tasks aborted while their I/O is in flight. */
#include "test_iscsi_harness.h"
#include "unit.h"

/* The test's "driver": a FIFO of submitted io, run when the test says. */
static struct iscsi_io *q_head, **q_tail = &q_head;
static int q_len;

static void q_submit(struct iscsi_env *env, struct iscsi_io *io)
{
	(void)env;
	io->next = NULL;
	*q_tail = io;
	q_tail = &io->next;
	q_len++;
}

/* Runs and completes every queued io (and those they submit). */
static int q_run(void)
{
	int n = 0;

	while (q_head) {
		struct iscsi_io *io = q_head;

		q_head = io->next;
		if (!q_head)
			q_tail = &q_head;
		q_len--;
		iscsi_io_run(io);
		iscsi_conn_io_done(io->conn, io);
		n++;
	}
	return n;
}

static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, n);
}

/* Collects every Data-In byte of one READ, checking the backlog the core
 * keeps stays bounded; returns the bytes or -1 on a wrong PDU. */
static long read_all(struct harness *h, uint8_t *out, size_t cap,
		     size_t *max_backlog, int *status)
{
	long got = 0;

	*status = -1;
	for (int spins = 0; spins < 10000 && *status < 0; spins++) {
		int op;

		q_run();
		iscsi_conn_tx_fill(&h->c);
		if (iscsi_obuf_backlog(&h->c.out) > *max_backlog)
			*max_backlog = iscsi_obuf_backlog(&h->c.out);
		while ((op = h_recv(h)) >= 0) {
			if (op == ISCSI_OP_DATA_IN) {
				uint32_t off = get_be32(h->bhs + 40);

				if (off + h->len > cap)
					return -1;
				memcpy(out + off, h->data, h->len);
				got += (long)h->len;
				if (h->bhs[1] & ISCSI_DATAIN_STATUS)
					*status = h->bhs[3];
			} else if (op == ISCSI_OP_SCSI_RSP) {
				*status = h->bhs[3];
			} else {
				return -1;
			}
			/* One PDU at a time: the core refills as we drain. */
			break;
		}
	}
	return got;
}

int main(void)
{
	static struct harness hh;
	struct harness *h = &hh;
	static uint8_t buf[H_BLOCKS * 512];
	uint8_t cdb[16], bhs[ISCSI_BHS_LEN];
	size_t backlog = 0;
	int status;
	long got;

	/* A READ waits for its disk read, then streams out bounded. */
	h_init(h, NULL, NULL, NULL);
	h->env.submit = q_submit;
	for (size_t i = 0; i < h->mem[0].size; i++)
		h->mem[0].data[i] = (uint8_t)(i * 7 + i / 512);
	h_login_plain(h, "MaxRecvDataSegmentLength=65536|ImmediateData=Yes|"
			 "InitialR2T=No");
	cdb10(cdb, 0x28, 0, H_BLOCKS);
	h_cmd(h, 0, cdb, 'r', H_BLOCKS * 512, NULL, 0, 1);
	CHECK("async read: nothing before the disk answers",
	      h_recv(h) == -1 && q_len == 1 && h->c.n_io == 1);
	got = read_all(h, buf, sizeof(buf), &backlog, &status);
	CHECK("async read: every byte, GOOD",
	      got == H_BLOCKS * 512 && status == 0 &&
		      !memcmp(buf, h->mem[0].data, sizeof(buf)));
	CHECK("async read: output backlog bounded",
	      backlog > 0 && backlog <= ISCSI_OUT_LOW + ISCSI_READ_CHUNK +
						ISCSI_READ_CHUNK / 8192 * 64);
	CHECK("async read: nothing left",
	      h->c.n_io == 0 && h->c.n_reads == 0 && h->c.n_tasks == 0);

	/* Cached data is read inline: no io, the answer comes at once. */
	h->mem[0].cached = 1;
	backlog = 0;
	memset(buf, 0, sizeof(buf));
	cdb10(cdb, 0x28, 0, 64);
	h_cmd(h, 0, cdb, 'r', 64 * 512, NULL, 0, 1);
	CHECK("cached read: no io", q_len == 0 && h->c.n_io == 0);
	got = read_all(h, buf, sizeof(buf), &backlog, &status);
	CHECK("cached read: data",
	      got == 64 * 512 && status == 0 &&
		      !memcmp(buf, h->mem[0].data, 64 * 512));
	h->mem[0].cached = 0;

	/* A FUA WRITE is answered only after its write and its flush. */
	memset(buf, 0xab, 4096);
	h->mem[0].syncs = 0;
	cdb10(cdb, 0x2a, 100, 8);
	cdb[1] = 0x08;
	h_cmd(h, 0, cdb, 'w', 4096, buf, 4096, 1);
	CHECK("async FUA write: waits for the disk",
	      h_recv(h) == -1 && q_len == 1);
	q_run();
	CHECK("async FUA write: answered after write and flush",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0 &&
		      h->mem[0].syncs == 1 &&
		      !memcmp(h->mem[0].data + 100 * 512, buf, 4096));

	/* SYNCHRONIZE CACHE goes to the driver too. */
	cdb10(cdb, 0x35, 0, 0);
	h_cmd(h, 0, cdb, 'n', 0, NULL, 0, 1);
	CHECK("async sync cache: waits for the flush",
	      h_recv(h) == -1 && q_len == 1 && h->mem[0].syncs == 1);
	q_run();
	CHECK("async sync cache: answered", h_recv(h) == ISCSI_OP_SCSI_RSP &&
						    h->bhs[3] == 0 &&
						    h->mem[0].syncs == 2);

	/* ABORT TASK while the READ's disk read is in flight: no answer
	 * comes for it, and its memory goes when the io completes. */
	cdb10(cdb, 0x28, 0, 64);
	h_cmd(h, 0, cdb, 'r', 64 * 512, NULL, 0, 1);
	iscsi_pdu_init(bhs, ISCSI_OP_TMF_REQ | ISCSI_IMMEDIATE, 0x80 | 1, 0);
	put_be32(bhs + 16, 0x9999);
	put_be32(bhs + 20, h->itt);
	put_be32(bhs + 24, h->cmdsn);
	h_send(h, bhs, NULL, 0);
	CHECK("abort in flight: TMF answered at once",
	      h_recv(h) == ISCSI_OP_TMF_RSP && h->bhs[2] == 0 && q_len == 1);
	q_run();
	CHECK("abort in flight: no answer for the aborted READ",
	      h_recv(h) == -1 && h->c.n_io == 0 && h->c.n_tasks == 0);

	/* The session ends with io in flight: the driver waits for n_io. */
	cdb10(cdb, 0x2a, 0, 8);
	h_cmd(h, 0, cdb, 'w', 4096, buf, 4096, 1);
	CHECK("release: io counted", h->c.n_io == 1);
	q_run();
	h_free(h);
	return unit_done();
}
