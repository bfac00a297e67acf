/* Unit tests for the full feature phase: Data-In cut to the initiator's
 * segment size, R2T and Data-Out, immediate and unsolicited data, NOP, Text
 * SendTargets, Logout, task management, CmdSN window, digests, Reject. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_iscsi_harness.h"
#include "unit.h"

/* A READ(10) or WRITE(10) CDB. */
static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, blocks);
}

int main(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	uint8_t cdb[16], buf[16384], bhs[ISCSI_BHS_LEN];
	uint32_t itt, ttt;
	int n, ok;

	/* iPXE: a 16 KiB read comes back as two 8 KiB Data-In PDUs. */
	h_init(h, NULL, NULL, NULL);
	CHECK("ipxe: login", h_login_plain(h, H_IPXE_OPS) == 0);
	for (int i = 0; i < 32 * 512; i++)
		h->mem[0].data[512 + i] = (uint8_t)(i * 7);
	cdb10(cdb, 0x28, 1, 32);
	h_cmd(h, 0, cdb, 'r', 32 * 512, NULL, 0, 1);
	CHECK("read: first Data-In",
	      h_recv(h) == ISCSI_OP_DATA_IN && h->len == 8192 &&
		      get_be32(h->bhs + 40) == 0 &&
		      !(h->bhs[1] & ISCSI_DATAIN_STATUS) &&
		      get_be32(h->bhs + 36) == 0);
	CHECK("read: data", memcmp(h->data, h->mem[0].data + 512, 8192) == 0);
	CHECK("read: last Data-In with status",
	      h_recv(h) == ISCSI_OP_DATA_IN && h->len == 8192 &&
		      get_be32(h->bhs + 40) == 8192 &&
		      (h->bhs[1] & 0x81) == 0x81 && h->bhs[3] == 0 &&
		      get_be32(h->bhs + 36) == 1);
	CHECK("read: nothing more", h_recv(h) == -1);
	CHECK("read: ExpCmdSN advanced",
	      get_be32(h->bhs + 28) == 1 &&
		      get_be32(h->bhs + 32) == ISCSI_QUEUE_DEPTH);
	/* An 8 KiB read fits one PDU: data, status and StatSN together. */
	cdb10(cdb, 0x28, 0, 16);
	h_cmd(h, 0, cdb, 'r', 8192, NULL, 0, 1);
	CHECK("read: single PDU with status",
	      h_recv(h) == ISCSI_OP_DATA_IN && h->len == 8192 &&
		      (h->bhs[1] & 0x81) == 0x81 && h_recv(h) == -1);

	/* A medium error takes back the Data-In and answers with sense. */
	h->mem[0].fail = 1;
	cdb10(cdb, 0x28, 0, 1);
	h_cmd(h, 0, cdb, 'r', 512, NULL, 0, 1);
	CHECK("read: medium error",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 2 &&
		      h->data[2 + 2] == 3 && h->data[2 + 12] == 0x11 &&
		      h_recv(h) == -1);
	h->mem[0].fail = 0;

	/* READ past the end. */
	cdb10(cdb, 0x28, H_BLOCKS - 1, 2);
	h_cmd(h, 0, cdb, 'r', 1024, NULL, 0, 1);
	CHECK("read: out of range",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 2 &&
		      h->data[2 + 2] == 5 && h->data[2 + 12] == 0x21);

	/* iPXE write: R2T, then 512-byte Data-Out PDUs. */
	cdb10(cdb, 0x2a, 10, 4);
	h_cmd(h, 0, cdb, 'w', 2048, NULL, 0, 1);
	itt = h->itt;
	CHECK("write: R2T", h_recv(h) == ISCSI_OP_R2T &&
				    get_be32(h->bhs + 40) == 0 &&
				    get_be32(h->bhs + 44) == 2048 &&
				    get_be32(h->bhs + 16) == itt);
	ttt = get_be32(h->bhs + 20);
	memset(buf, 0xa5, 2048);
	for (int i = 0; i < 4; i++)
		h_data_out(h, itt, ttt, (uint32_t)i, (uint32_t)i * 512,
			   buf + i * 512, 512, i == 3);
	CHECK("write: good", h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0 &&
				     get_be32(h->bhs + 16) == itt);
	CHECK("write: on medium",
	      h->mem[0].data[10 * 512] == 0xa5 &&
		      h->mem[0].data[14 * 512 - 1] == 0xa5 &&
		      h->mem[0].data[14 * 512] == 0);
	CHECK("write: no task left", h->c.n_tasks == 0);

	/* A write larger than MaxBurstLength takes two R2Ts. */
	h->c.params.max_burst = 1024;
	h_cmd(h, 0, cdb, 'w', 2048, NULL, 0, 1);
	itt = h->itt;
	CHECK("burst: first R2T",
	      h_recv(h) == ISCSI_OP_R2T && get_be32(h->bhs + 44) == 1024);
	ttt = get_be32(h->bhs + 20);
	h_data_out(h, itt, ttt, 0, 0, buf, 1024, 1);
	CHECK("burst: second R2T", h_recv(h) == ISCSI_OP_R2T &&
					   get_be32(h->bhs + 40) == 1024 &&
					   get_be32(h->bhs + 36) == 1);
	h_data_out(h, itt, ttt, 0, 1024, buf, 1024, 1);
	CHECK("burst: good", h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0 &&
				     get_be32(h->bhs + 36) == 2);
	h->c.params.max_burst = 262144;

	/* Data-Out beyond the expected length is refused. */
	h_cmd(h, 0, cdb, 'w', 2048, NULL, 0, 1);
	itt = h->itt;
	h_recv(h);
	ttt = get_be32(h->bhs + 20);
	h_data_out(h, itt, ttt, 0, 2000, buf, 512, 1);
	CHECK("data-out: bad offset rejected",
	      h_recv(h) == ISCSI_OP_REJECT &&
		      h->bhs[2] == ISCSI_REJECT_INVALID_FIELD);
	/* Task management: abort the open write. */
	iscsi_pdu_init(bhs, ISCSI_OP_TMF_REQ | 0x40,
		       0x80 | ISCSI_TMF_ABORT_TASK, 0);
	put_be32(bhs + 16, 0x999);
	put_be32(bhs + 20, itt);
	put_be32(bhs + 24, h->cmdsn);
	h_send(h, bhs, NULL, 0);
	CHECK("abort: complete", h_recv(h) == ISCSI_OP_TMF_RSP &&
					 h->bhs[2] == 0 && h->c.n_tasks == 0);
	h_data_out(h, itt, ttt, 0, 0, buf, 512, 1);
	CHECK("abort: late data dropped", h_recv(h) == -1);
	h_send(h, bhs, NULL, 0);
	CHECK("abort: unknown task",
	      h_recv(h) == ISCSI_OP_TMF_RSP && h->bhs[2] == 1);
	iscsi_pdu_init(bhs, ISCSI_OP_TMF_REQ | 0x40, 0x80 | ISCSI_TMF_LUN_RESET,
		       0);
	iscsi_lun_build(bhs + 8, 9);
	h_send(h, bhs, NULL, 0);
	CHECK("lun reset: no such LUN",
	      h_recv(h) == ISCSI_OP_TMF_RSP && h->bhs[2] == 2);
	iscsi_lun_build(bhs + 8, 0);
	h_send(h, bhs, NULL, 0);
	CHECK("lun reset", h_recv(h) == ISCSI_OP_TMF_RSP && h->bhs[2] == 0);
	bhs[1] = 0x80 | ISCSI_TMF_TASK_REASSIGN;
	h_send(h, bhs, NULL, 0);
	CHECK("reassign refused at ERL 0",
	      h_recv(h) == ISCSI_OP_TMF_RSP && h->bhs[2] == 4);

	/* Write to the read-only LUN. */
	cdb10(cdb, 0x2a, 0, 1);
	h_cmd(h, 1, cdb, 'w', 512, NULL, 0, 1);
	CHECK("read-only", h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 2 &&
				   h->data[2 + 2] == 7 &&
				   h->data[2 + 12] == 0x27);

	/* NOP-Out ping gets a NOP-In echo; a reply to ours gets nothing. */
	iscsi_pdu_init(bhs, ISCSI_OP_NOP_OUT | 0x40, 0x80, 0);
	put_be32(bhs + 16, 0x4242);
	put_be32(bhs + 20, ISCSI_RSVD_TAG);
	h_send(h, bhs, "ping", 4);
	CHECK("nop: echo", h_recv(h) == ISCSI_OP_NOP_IN &&
				   get_be32(h->bhs + 16) == 0x4242 &&
				   h->len == 4 && !memcmp(h->data, "ping", 4));
	put_be32(bhs + 16, ISCSI_RSVD_TAG);
	put_be32(bhs + 20, 5);
	h_send(h, bhs, NULL, 0);
	CHECK("nop: reply to ours", h_recv(h) == -1);

	/* CmdSN outside the window is ignored. */
	{
		uint32_t saved = h->cmdsn;

		h->cmdsn += 1000;
		cdb10(cdb, 0x00, 0, 0);
		h_cmd(h, 0, cdb, 0, 0, NULL, 0, 1);
		CHECK("cmdsn: out of window ignored", h_recv(h) == -1);
		h->cmdsn = saved;
		h_cmd(h, 0, cdb, 0, 0, NULL, 0, 1);
		CHECK("cmdsn: in order served",
		      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0);
	}

	/* Unknown opcode and SNACK are rejected; the connection lives on. */
	iscsi_pdu_init(bhs, 0x1c, 0x80, 0);
	CHECK("unknown opcode", h_send(h, bhs, NULL, 0) == ISCSI_BHS_LEN &&
					h_recv(h) == ISCSI_OP_REJECT &&
					h->len == ISCSI_BHS_LEN);
	iscsi_pdu_init(bhs, ISCSI_OP_SNACK, 0x80, 0);
	h_send(h, bhs, NULL, 0);
	CHECK("snack rejected", h_recv(h) == ISCSI_OP_REJECT);
	/* Immediate data when ImmediateData=No is a protocol error. */
	cdb10(cdb, 0x2a, 0, 1);
	h_cmd(h, 0, cdb, 'w', 512, buf, 512, 1);
	CHECK("immediate data refused", h_recv(h) == ISCSI_OP_REJECT);
	/* An oversized data segment cannot be framed: the connection ends. */
	iscsi_pdu_init(bhs, ISCSI_OP_NOP_OUT, 0x80, 0);
	put_be24(bhs + 5, ISCSI_OUR_MRDSL + 4);
	CHECK("oversized segment",
	      iscsi_conn_rx(&h->c, bhs, ISCSI_BHS_LEN) == -EPROTO);
	/* A partial PDU waits for more bytes. */
	iscsi_pdu_init(bhs, ISCSI_OP_NOP_OUT, 0x80, 100);
	CHECK("partial PDU waits",
	      iscsi_conn_rx(&h->c, bhs, ISCSI_BHS_LEN) == 0);
	/* Logout. */
	iscsi_pdu_init(bhs, ISCSI_OP_LOGOUT_REQ | 0x40, 0x80, 0);
	put_be32(bhs + 16, 0x77);
	h_send(h, bhs, NULL, 0);
	CHECK("logout", h_recv(h) == ISCSI_OP_LOGOUT_RSP && h->bhs[2] == 0 &&
				h->c.phase == ISCSI_PHASE_CLOSING &&
				h->c.event == ISCSI_EV_LOGOUT);
	CHECK("closing takes no more input", !iscsi_conn_wants_input(&h->c));
	h_free(h);

	/* Linux-style: immediate data plus unsolicited Data-Out. */
	h_init(h, NULL, NULL, NULL);
	CHECK("linux: login",
	      h_login_plain(
		      h,
		      "InitialR2T=No|ImmediateData=Yes|"
		      "FirstBurstLength=65536|MaxRecvDataSegmentLength=262144") ==
		      0);
	memset(buf, 0x3c, sizeof(buf));
	cdb10(cdb, 0x2a, 100, 16);
	h_cmd(h, 0, cdb, 'w', 8192, buf, 4096, 0);
	itt = h->itt;
	CHECK("unsolicited: waits", h_recv(h) == -1 && h->c.n_tasks == 1);
	h_data_out(h, itt, ISCSI_RSVD_TAG, 0, 4096, buf, 4096, 1);
	CHECK("unsolicited: good",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0);
	CHECK("unsolicited: on medium",
	      h->mem[0].data[100 * 512] == 0x3c &&
		      h->mem[0].data[116 * 512 - 1] == 0x3c);
	/* Immediate data then R2T for the rest. */
	cdb10(cdb, 0x2a, 200, 16);
	h_cmd(h, 0, cdb, 'w', 8192, buf, 4096, 1);
	itt = h->itt;
	CHECK("immediate then R2T", h_recv(h) == ISCSI_OP_R2T &&
					    get_be32(h->bhs + 40) == 4096 &&
					    get_be32(h->bhs + 44) == 4096);
	ttt = get_be32(h->bhs + 20);
	h_data_out(h, itt, ttt, 1, 4096, buf, 4096, 1);
	CHECK("bad DataSN ends the connection", h->c.n_tasks == 1);
	h_free(h);

	/* Many commands in flight: 64 reads back to back. */
	h_init(h, NULL, NULL, NULL);
	h_login_plain(h, "MaxRecvDataSegmentLength=65536");
	cdb10(cdb, 0x28, 0, 8);
	ok = 1;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < ISCSI_MAX_READS; i++)
			h_cmd(h, 0, cdb, 'r', 4096, NULL, 0, 1);
		/* Queued READs are bounded: input stops until they drain. */
		ok &= !iscsi_conn_wants_input(&h->c);
		for (int i = 0; i < ISCSI_MAX_READS; i++)
			ok &= h_recv(h) == ISCSI_OP_DATA_IN && (h->bhs[1] & 1);
		ok &= iscsi_conn_wants_input(&h->c);
	}
	CHECK("pipelined reads",
	      ok && get_be32(h->bhs + 28) == 2 * ISCSI_MAX_READS);
	/* Residuals: EDTL smaller than the transfer. */
	h_cmd(h, 0, cdb, 'r', 1024, NULL, 0, 1);
	CHECK("residual overflow", h_recv(h) == ISCSI_OP_DATA_IN &&
					   h->len == 1024 &&
					   (h->bhs[1] & ISCSI_FLAG_OVERFLOW) &&
					   get_be32(h->bhs + 44) == 3072);
	h_free(h);

	/* Header and data digests. */
	h_init(h, NULL, NULL, NULL);
	h_login_plain(h, "HeaderDigest=CRC32C|DataDigest=CRC32C");
	CHECK("digest: negotiated",
	      h->c.params.header_digest && h->c.params.data_digest);
	iscsi_pdu_init(bhs, ISCSI_OP_NOP_OUT | 0x40, 0x80, 0);
	put_be32(bhs + 16, 1);
	put_be32(bhs + 20, ISCSI_RSVD_TAG);
	h_send(h, bhs, "abcde", 5);
	n = h_recv(h);
	CHECK("digest: round trip", n == ISCSI_OP_NOP_IN && h->len == 5);
	{
		uint8_t raw[ISCSI_BHS_LEN + 4];

		put_be24(bhs + 5, 0);
		memcpy(raw, bhs, ISCSI_BHS_LEN);
		put_le32(raw + ISCSI_BHS_LEN, 0xdeadbeef);
		CHECK("digest: bad header digest",
		      iscsi_conn_rx(&h->c, raw, sizeof(raw)) == -EPROTO);
	}
	h_free(h);

	/* Discovery: SendTargets, split across Text PDUs when long. */
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 3,
		"InitiatorName=" H_INI
		"|SessionType=Discovery|AuthMethod=None|MaxRecvDataSegmentLength=512");
	h_recv(h);
	iscsi_pdu_init(bhs, ISCSI_OP_TEXT_REQ | 0x40, 0x80, 0);
	put_be32(bhs + 16, 0x55);
	put_be32(bhs + 20, ISCSI_RSVD_TAG);
	h_send(h, bhs, "SendTargets=All", 16);
	CHECK("sendtargets",
	      h_recv(h) == ISCSI_OP_TEXT_RSP && (h->bhs[1] & 0x80) &&
		      !strcmp(h_key(h, "TargetName"), H_IQN) &&
		      !strcmp(h_key(h, "TargetAddress"), "127.0.0.1:3260,1"));
	cdb10(cdb, 0x00, 0, 0);
	h_cmd(h, 0, cdb, 0, 0, NULL, 0, 1);
	CHECK("discovery: no SCSI", h_recv(h) == ISCSI_OP_REJECT);
	put_be32(bhs + 16, 0x56);
	h_send(h, bhs,
	       "HeaderDigest=CRC32C\0MaxRecvDataSegmentLength=4096\0X-y=1", 55);
	CHECK("text: leading-only key refused in FFP",
	      h_recv(h) == ISCSI_OP_TEXT_RSP &&
		      !strcmp(h_key(h, "HeaderDigest"), "Reject") &&
		      h->c.params.header_digest == 0);
	CHECK("text: segment size renegotiated", h->c.params.max_xmit == 4096);
	CHECK("text: unknown key", !strcmp(h_key(h, "X-y"), "NotUnderstood"));
	h_free(h);
	h_init(h, NULL, NULL, "iqn.2025-01.org.wupan:other");
	h_login(h, 1, 0, 3,
		"InitiatorName=" H_INI
		"|SessionType=Discovery|AuthMethod=None");
	h_recv(h);
	h_send(h, bhs, "SendTargets=All", 16);
	CHECK("sendtargets hides refused targets",
	      h_recv(h) == ISCSI_OP_TEXT_RSP && h->len == 0);
	h_free(h);
	free(h);
	return unit_done();
}
