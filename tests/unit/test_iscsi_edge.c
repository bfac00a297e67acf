/* Edge cases of issue 10 item 7: SendTargets over a thousand targets,
 * overlapping Data-Out, ABORT TASK SET with an unparseable LUN, and
 * reservations on read-only units. */
#include <errno.h>
#include <stdio.h>

#include "test_iscsi_harness.h"
#include "unit.h"

#define N_TARGETS 1000

static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, n);
}

/* Sends Text "SendTargets=All" (or a continuation) and counts the
 * TargetName keys of every response PDU until F. */
static int send_targets_all(struct harness *h)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	static uint8_t all[1 << 20];
	uint32_t ttt = ISCSI_RSVD_TAG;
	size_t len = 0;
	int names = 0;

	for (int pdus = 0; pdus < 10000; pdus++) {
		iscsi_pdu_init(bhs, ISCSI_OP_TEXT_REQ | 0x40, 0x80, 0);
		put_be32(bhs + 16, 0x55);
		put_be32(bhs + 20, ttt);
		if (ttt == ISCSI_RSVD_TAG)
			h_send(h, bhs, "SendTargets=All", 16);
		else
			h_send(h, bhs, NULL, 0);
		if (h_recv(h) != ISCSI_OP_TEXT_RSP)
			return -1;
		/* A pair may span PDUs: count over the whole text. */
		if (len + h->len > sizeof(all))
			return -1;
		memcpy(all + len, h->data, h->len);
		len += h->len;
		if (h->bhs[1] & 0x80) {
			for (size_t p = 0; p < len;) {
				const char *s = (const char *)all + p;

				names += !strncmp(s, "TargetName=", 11);
				p += strnlen(s, len - p) + 1;
			}
			return names;
		}
		ttt = get_be32(h->bhs + 20);
	}
	return -1;
}

static void test_send_targets(void)
{
	static struct harness hh;
	struct harness *h = &hh;
	static struct tcfg_target cfgs[N_TARGETS];
	static struct iscsi_target tgts[N_TARGETS];
	static struct iscsi_target *list[N_TARGETS];
	static char names[N_TARGETS][96];

	h_init(h, NULL, NULL, NULL);
	for (int i = 0; i < N_TARGETS; i++) {
		snprintf(names[i], sizeof(names[i]),
			 "iqn.2025-01.org.wupan.a-fairly-long-room-name:pc%04d"
			 "-with-a-long-suffix",
			 i);
		cfgs[i].name = names[i];
		tgts[i].cfg = &cfgs[i];
		list[i] = &tgts[i];
	}
	h->env.targets = list;
	h->env.n_targets = N_TARGETS;
	h_login(h, 1, 0, 3,
		"InitiatorName=" H_INI
		"|SessionType=Discovery|AuthMethod=None");
	h_recv(h);
	CHECK("sendtargets: all 1000 targets (more than 64 KiB)",
	      send_targets_all(h) == N_TARGETS);
	h_free(h);
}

static void test_overlap(void)
{
	static struct harness hh;
	struct harness *h = &hh;
	uint8_t cdb[16], blk[512];
	ssize_t rc1, rc2;
	uint32_t ttt;

	h_init(h, NULL, NULL, NULL);
	h_login_plain(h, H_IPXE_OPS);
	memset(blk, 0x11, sizeof(blk));
	cdb10(cdb, 0x2a, 10, 2);
	h_cmd(h, 0, cdb, 'w', 1024, NULL, 0, 1);
	CHECK("overlap: R2T for both blocks",
	      h_recv(h) == ISCSI_OP_R2T && get_be32(h->bhs + 44) == 1024);
	ttt = get_be32(h->bhs + 20);
	/* Offset 0 twice: the byte count reaches 1024, block 11 is never
	 * written. */
	rc1 = h_data_out(h, h->itt, ttt, 0, 0, blk, 512, 0);
	rc2 = h_data_out(h, h->itt, ttt, 1, 0, blk, 512, 1);
	CHECK("overlap: the stream ends instead of a GOOD",
	      rc1 > 0 && rc2 == -EPROTO && h_recv(h) != ISCSI_OP_SCSI_RSP);
	h_free(h);

	/* In-order Data-Out still completes. */
	h_init(h, NULL, NULL, NULL);
	h_login_plain(h, H_IPXE_OPS);
	h_cmd(h, 0, cdb, 'w', 1024, NULL, 0, 1);
	h_recv(h);
	ttt = get_be32(h->bhs + 20);
	h_data_out(h, h->itt, ttt, 0, 0, blk, 512, 0);
	h_data_out(h, h->itt, ttt, 1, 512, blk, 512, 1);
	CHECK("in order: GOOD", h_recv(h) == ISCSI_OP_SCSI_RSP &&
					h->bhs[3] == 0 &&
					h->mem[0].data[11 * 512] == 0x11);
	h_free(h);
}

static void test_abort_task_set(void)
{
	static struct harness hh;
	struct harness *h = &hh;
	uint8_t cdb[16], bhs[ISCSI_BHS_LEN];

	h_init(h, NULL, NULL, NULL);
	h_login_plain(h, H_IPXE_OPS);
	cdb10(cdb, 0x2a, 0, 1);
	h_cmd(h, 0, cdb, 'w', 512, NULL, 0, 1);
	h_recv(h);
	h_cmd(h, 0, cdb, 'w', 512, NULL, 0, 1);
	h_recv(h);
	iscsi_pdu_init(bhs, ISCSI_OP_TMF_REQ | 0x40,
		       0x80 | ISCSI_TMF_ABORT_TASK_SET, 0);
	memset(bhs + 8, 0xff, 8); /* no addressing method we know */
	put_be32(bhs + 16, 0x777);
	put_be32(bhs + 24, h->cmdsn);
	h_send(h, bhs, NULL, 0);
	CHECK("abort task set, bad LUN: no such LUN",
	      h_recv(h) == ISCSI_OP_TMF_RSP &&
		      h->bhs[2] == ISCSI_TMF_RSP_NO_LUN);
	CHECK("abort task set, bad LUN: other tasks kept", h->c.n_tasks == 2);
	h_free(h);
}

static void test_reservations(void)
{
	static struct harness hh;
	struct harness *h = &hh;
	uint8_t cdb[16];
	uint8_t param[24] = { 0 };

	h_init(h, NULL, NULL, NULL);
	h_login_plain(h, H_IPXE_OPS);
	/* LUN 1 is read-only: one PC must not lock it for a room. */
	memset(cdb, 0, 16);
	cdb[0] = 0x16;
	h_cmd(h, 1, cdb, 0, 0, NULL, 0, 1);
	CHECK("reserve(6) on a read-only unit refused",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 2 &&
		      h->lu[1].reserved_by == NULL);
	memset(cdb, 0, 16);
	cdb[0] = 0x5f;
	cdb[1] = 0x00; /* REGISTER */
	cdb[8] = 24;
	put_be64(param + 8, 0x1234);
	h_cmd(h, 1, cdb, 'w', 24, NULL, 0, 1);
	CHECK("PR OUT on a read-only unit refused",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 2 &&
		      h->lu[1].pr.n == 0);
	/* The writable unit still takes them, unless turned off. */
	memset(cdb, 0, 16);
	cdb[0] = 0x16;
	h_cmd(h, 0, cdb, 0, 0, NULL, 0, 1);
	CHECK("reserve(6) on a writable unit",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0 &&
		      h->lu[0].reserved_by != NULL);
	h->lu[0].reserved_by = NULL;
	h->lu[0].no_reservations = 1;
	h_cmd(h, 0, cdb, 0, 0, NULL, 0, 1);
	CHECK("reserve(6) refused when reservations are off",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 2 &&
		      h->lu[0].reserved_by == NULL);
	h_free(h);
}

int main(void)
{
	test_send_targets();
	test_overlap();
	test_abort_task_set();
	test_reservations();
	return unit_done();
}
