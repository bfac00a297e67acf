/* Unit tests for the login state machine: stages, negotiation, ACLs and
 * every CHAP failure path (RFC 7143 §6, §12.1.3). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_iscsi_harness.h"
#include "unit.h"

#define SEC "Initiator-Sec1"
#define MSEC "Target-Secret2"
#define FIRST "InitiatorName=" H_INI "|TargetName=" H_IQN "|SessionType=Normal"

/* Computes CHAP_R=0x... for id and challenge from the last response. */
static void chap_answer(struct harness *h, const char *secret, int alg,
			char *out, size_t cap)
{
	uint8_t chal[64], r[32];
	int clen = chap_decode(h_key(h, "CHAP_C"), strlen(h_key(h, "CHAP_C")),
			       chal, sizeof(chal));
	unsigned id = (unsigned)atoi(h_key(h, "CHAP_I"));

	chap_response(alg, (uint8_t)id, secret, strlen(secret), chal,
		      (size_t)clen, r);
	chap_encode_hex(r, chap_digest_len(alg), out, cap);
}

/* Runs the CHAP exchange up to the challenge; returns 0 on success. */
static int chap_start(struct harness *h, const char *algs)
{
	char keys[256];

	h_login(h, 0, 0, 0, FIRST "|AuthMethod=CHAP,None");
	if (h_recv(h) != ISCSI_OP_LOGIN_RSP || h_status(h) ||
	    !h_key(h, "AuthMethod") || strcmp(h_key(h, "AuthMethod"), "CHAP"))
		return -1;
	snprintf(keys, sizeof(keys), "CHAP_A=%s", algs);
	h_login(h, 0, 0, 0, keys);
	return h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0 ? 0 : -1;
}

/* Sends CHAP_N/CHAP_R (plus extra keys) with T set; returns the status. */
static unsigned chap_finish(struct harness *h, const char *user,
			    const char *resp, const char *extra)
{
	char keys[512];

	snprintf(keys, sizeof(keys), "CHAP_N=%s|CHAP_R=%s%s%s", user, resp,
		 extra ? "|" : "", extra ? extra : "");
	h_login(h, 1, 0, 1, keys);
	if (h_recv(h) != ISCSI_OP_LOGIN_RSP)
		return 0xffff;
	return h_status(h);
}

int main(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	char r[80], keys[512];

	/* Plain login as iPXE does it. */
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=None");
	CHECK("none: response",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0);
	CHECK("none: method", h_key(h, "AuthMethod") &&
				      !strcmp(h_key(h, "AuthMethod"), "None"));
	CHECK("none: portal group tag",
	      h_key(h, "TargetPortalGroupTag") != NULL);
	CHECK("none: transit to operational",
	      (h->bhs[1] & 0x80) && (h->bhs[1] & 3) == 1);
	CHECK("none: no TSIH yet", get_be16(h->bhs + 14) == 0);
	h_login(h, 1, 1, 3, H_IPXE_OPS "|X-com.example.Foo=1");
	CHECK("ops: response",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0);
	CHECK("ops: full feature",
	      h->c.phase == ISCSI_PHASE_FULL && (h->bhs[1] & 3) == 3);
	CHECK("ops: TSIH set", get_be16(h->bhs + 14) == 7);
	CHECK("ops: unknown key",
	      h_key(h, "X-com.example.Foo") &&
		      !strcmp(h_key(h, "X-com.example.Foo"), "NotUnderstood"));
	CHECK("ops: our MRDSL",
	      h_key(h, "MaxRecvDataSegmentLength") &&
		      atoi(h_key(h, "MaxRecvDataSegmentLength")) ==
			      ISCSI_OUR_MRDSL);
	CHECK("ops: iPXE segment limit", h->c.params.max_xmit == 8192);
	CHECK("ops: InitialR2T kept",
	      h->c.params.initial_r2t == 1 &&
		      !strcmp(h_key(h, "InitialR2T"), "Yes"));
	CHECK("ops: ImmediateData No", h->c.params.immediate_data == 0);
	CHECK("ops: ERL 0", !strcmp(h_key(h, "ErrorRecoveryLevel"), "0"));
	CHECK("ops: Time2Wait max", !strcmp(h_key(h, "DefaultTime2Wait"), "2"));
	CHECK("ops: event", h->c.event == ISCSI_EV_LOGIN_OK);
	h_free(h);

	/* Straight into the operational stage, as libiscsi does. */
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 1, 3,
		FIRST
		"|HeaderDigest=CRC32C,None|DataDigest=None|MaxBurstLength=1048576|FirstBurstLength=abc");
	CHECK("skip security: ok", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
					   h_status(h) == 0 &&
					   h->c.phase == ISCSI_PHASE_FULL);
	CHECK("skip security: digest",
	      h->c.params.header_digest == 1 &&
		      !strcmp(h_key(h, "HeaderDigest"), "CRC32C"));
	CHECK("skip security: burst", h->c.params.max_burst == 1048576);
	CHECK("skip security: bad value rejected",
	      !strcmp(h_key(h, "FirstBurstLength"), "Reject"));
	h_free(h);

	/* Discovery needs no target name. */
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 3,
		"InitiatorName=" H_INI
		"|SessionType=Discovery|AuthMethod=None");
	CHECK("discovery: ok", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
				       h_status(h) == 0 && h->c.discovery &&
				       h->c.phase == ISCSI_PHASE_FULL);
	CHECK("discovery: no TPGT", h_key(h, "TargetPortalGroupTag") == NULL);
	h_free(h);

	/* Refusals before authentication. */
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1, "TargetName=" H_IQN "|AuthMethod=None");
	CHECK("no initiator name", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
					   h_status(h) == 0x0207 &&
					   h->c.phase == ISCSI_PHASE_CLOSING);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1, "InitiatorName=" H_INI "|AuthMethod=None");
	CHECK("no target name",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0207);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1,
		"InitiatorName=" H_INI
		"|TargetName=iqn.2025-01.org.wupan:nope|AuthMethod=None");
	CHECK("unknown target",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0203);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1,
		"InitiatorName=" H_INI "|SessionType=Bogus|AuthMethod=None");
	CHECK("bad session type",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0209);
	h_free(h);
	h_init(h, NULL, NULL, "iqn.2025-01.org.wupan:other*");
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=None");
	CHECK("acl refuses",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0202);
	h_free(h);
	h_init(h, NULL, NULL, "iqn.2025-01.org.wupan:host*");
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=None");
	CHECK("acl glob admits",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=None|AuthMethod=None");
	CHECK("repeated key",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=Kerberos");
	CHECK("no acceptable method",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 1, 0, 2, FIRST);
	CHECK("next stage 2",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0200);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	{
		uint8_t bhs[ISCSI_BHS_LEN];

		iscsi_pdu_init(bhs, ISCSI_OP_LOGIN_REQ | 0x40, 0x81, 0);
		bhs[3] = 1;
		h_send(h, bhs, NULL, 0);
		CHECK("version",
		      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0205);
	}
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	{
		uint8_t bhs[ISCSI_BHS_LEN];

		iscsi_pdu_init(bhs, ISCSI_OP_LOGIN_REQ | 0x40, 0x81, 0);
		put_be16(bhs + 14, 99);
		h_send(h, bhs, NULL, 0);
		CHECK("unknown TSIH",
		      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x020a);
	}
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	{
		uint8_t bhs[ISCSI_BHS_LEN];

		iscsi_pdu_init(bhs, ISCSI_OP_SCSI_CMD, 0x80, 0);
		CHECK("command before login",
		      h_send(h, bhs, NULL, 0) == -EPROTO);
	}
	h_free(h);
	/* A request in two pieces with the C bit (RFC 7143 §11.12.2). */
	h_init(h, NULL, NULL, NULL);
	{
		uint8_t bhs[ISCSI_BHS_LEN];
		const char *a = "InitiatorName=" H_INI "\0TargetN";
		const char *b = "ame=" H_IQN "\0AuthMethod=None";

		iscsi_pdu_init(bhs, ISCSI_OP_LOGIN_REQ | 0x40, 0x40, 0);
		h_send(h, bhs, a, strlen(H_INI) + 15 + 7);
		CHECK("continue: empty answer",
		      h_recv(h) == ISCSI_OP_LOGIN_RSP && h->len == 0 &&
			      h_status(h) == 0);
		iscsi_pdu_init(bhs, ISCSI_OP_LOGIN_REQ | 0x40, 0x81, 0);
		h_send(h, bhs, b, strlen(b) + 1);
		CHECK("continue: joined", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
						  h_status(h) == 0 &&
						  h->c.target);
	}
	h_free(h);

	/* CHAP MD5, as iPXE. */
	h_init(h, SEC, NULL, NULL);
	CHECK("chap: challenge", chap_start(h, "5") == 0 &&
					 !strcmp(h_key(h, "CHAP_A"), "5") &&
					 strlen(h_key(h, "CHAP_C")) == 2 + 32);
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("chap: accepted",
	      chap_finish(h, "user1", r, NULL) == 0 && (h->bhs[1] & 0x80));
	h_login(h, 1, 1, 3, H_IPXE_OPS);
	CHECK("chap: full feature", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
					    h->c.phase == ISCSI_PHASE_FULL);
	h_free(h);

	/* CHAP SHA-256 when offered. */
	h_init(h, SEC, NULL, NULL);
	CHECK("sha256: challenge",
	      chap_start(h, "7,5") == 0 && !strcmp(h_key(h, "CHAP_A"), "7") &&
		      strlen(h_key(h, "CHAP_C")) == 2 + 64);
	chap_answer(h, SEC, CHAP_ALG_SHA256, r, sizeof(r));
	CHECK("sha256: accepted", chap_finish(h, "user1", r, NULL) == 0);
	h_free(h);

	/* A transit request while the challenge is open gets T=0. */
	h_init(h, SEC, NULL, NULL);
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=CHAP,None");
	CHECK("chap: no early transit", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
						h_status(h) == 0 &&
						!(h->bhs[1] & 0x80));
	h_free(h);

	/* Every CHAP failure path ends with 0x0201. */
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	chap_answer(h, "wrong-secret", CHAP_ALG_MD5, r, sizeof(r));
	CHECK("chap: wrong secret",
	      chap_finish(h, "user1", r, NULL) == 0x0201 &&
		      h->c.phase == ISCSI_PHASE_CLOSING &&
		      h->c.event == ISCSI_EV_LOGIN_FAIL);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("chap: wrong user", chap_finish(h, "user2", r, NULL) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	CHECK("chap: short response",
	      chap_finish(h, "user1", "0x0102", NULL) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	CHECK("chap: garbage response",
	      chap_finish(h, "user1", "zz", NULL) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	h_login(h, 1, 0, 1, "CHAP_N=user1");
	CHECK("chap: response missing",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	h_login(h, 0, 0, 0, FIRST "|AuthMethod=CHAP");
	h_recv(h);
	h_login(h, 0, 0, 0, "CHAP_A=6");
	CHECK("chap: no usable algorithm",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	h_login(h, 1, 0, 1, FIRST "|AuthMethod=None");
	CHECK("chap: required, None offered",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201 &&
		      h->c.phase == ISCSI_PHASE_CLOSING);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	h_login(h, 1, 0, 1, FIRST);
	CHECK("chap: required, nothing offered",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	h_login(h, 1, 1, 3, FIRST);
	CHECK("chap: security stage skipped",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	h_login(h, 0, 0, 0, "CHAP_A=5");
	CHECK("chap: CHAP_A twice",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, NULL, NULL, NULL);
	h_login(h, 0, 0, 0, FIRST "|AuthMethod=None|CHAP_A=5");
	CHECK("chap: keys without CHAP",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	h_login(h, 0, 0, 0, "AuthMethod=None");
	CHECK("chap: method renegotiated",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0201);
	h_free(h);

	/* Mutual CHAP. */
	h_init(h, SEC, MSEC, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("mutual: accepted",
	      chap_finish(
		      h, "user1", r,
		      "CHAP_I=77|CHAP_C=0x00112233445566778899aabbccddeeff") ==
		      0);
	{
		uint8_t chal[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
				     0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
				     0xcc, 0xdd, 0xee, 0xff };
		uint8_t want[16];
		char hex[40];

		chap_response(CHAP_ALG_MD5, 77, MSEC, strlen(MSEC), chal, 16,
			      want);
		chap_encode_hex(want, 16, hex, sizeof(hex));
		CHECK("mutual: target name",
		      h_key(h, "CHAP_N") &&
			      !strcmp(h_key(h, "CHAP_N"), "target1"));
		CHECK("mutual: target response",
		      h_key(h, "CHAP_R") && !strcmp(h_key(h, "CHAP_R"), hex));
	}
	h_free(h);
	h_init(h, SEC, NULL, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("mutual: not configured",
	      chap_finish(
		      h, "user1", r,
		      "CHAP_I=1|CHAP_C=0x00112233445566778899aabbccddeeff") ==
		      0x0201);
	h_free(h);
	h_init(h, SEC, MSEC, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	snprintf(keys, sizeof(keys), "CHAP_I=1|CHAP_C=%s", h_key(h, "CHAP_C"));
	CHECK("mutual: reflected challenge",
	      chap_finish(h, "user1", r, keys) == 0x0201);
	h_free(h);
	h_init(h, SEC, MSEC, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("mutual: short challenge",
	      chap_finish(h, "user1", r, "CHAP_I=1|CHAP_C=0x0011") == 0x0201);
	h_free(h);
	h_init(h, SEC, MSEC, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("mutual: identifier out of range",
	      chap_finish(
		      h, "user1", r,
		      "CHAP_I=256|CHAP_C=0x00112233445566778899aabbccddeeff") ==
		      0x0201);
	h_free(h);
	h_init(h, SEC, MSEC, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("mutual: identifier without challenge",
	      chap_finish(h, "user1", r, "CHAP_I=3") == 0x0201);
	h_free(h);
	/* Mutual configured but not asked for: one-way CHAP still works. */
	h_init(h, SEC, MSEC, NULL);
	chap_start(h, "5");
	chap_answer(h, SEC, CHAP_ALG_MD5, r, sizeof(r));
	CHECK("mutual: optional for the initiator",
	      chap_finish(h, "user1", r, NULL) == 0);
	h_free(h);
	free(h);
	return unit_done();
}
