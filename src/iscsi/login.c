/* The login phase (RFC 7143 §6, §11.12, §11.13): security negotiation with
 * CHAP, operational negotiation, and the move to the full feature phase. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/parse.h"
#include "iscsi/conn.h"
#include "iscsi/hash.h"
#include "iscsi/text.h"

/* Login status class and detail (RFC 7143 §11.13.5). */
#define LS_SUCCESS 0x0000
#define LS_INITIATOR_ERROR 0x0200
#define LS_AUTH_FAILURE 0x0201
#define LS_NOT_AUTHORIZED 0x0202
#define LS_NOT_FOUND 0x0203
#define LS_UNSUPPORTED_VERSION 0x0205
#define LS_MISSING_PARAM 0x0207
#define LS_NO_SESSION_TYPE 0x0209
#define LS_NO_SESSION 0x020a
#define LS_INVALID_DURING_LOGIN 0x020b
#define LS_TARGET_ERROR 0x0300
#define LS_OUT_OF_RESOURCES 0x0302

#define LOGIN_RSP_MAX 8192 /* the initiator's default receive limit */

/* Looks up a named bool value; returns 1/0, or -1 if not Yes/No. */
static int kv_bool(const struct iscsi_kv *kv)
{
	if (iscsi_kv_val_is(kv, "Yes"))
		return 1;
	if (iscsi_kv_val_is(kv, "No"))
		return 0;
	return -1;
}

/* Parses a numeric value in [min, max]; -1 if malformed. */
static int kv_num(const struct iscsi_kv *kv, uint64_t min, uint64_t max,
		  uint32_t *out)
{
	uint64_t v;

	if (parse_u64_n(kv->val, kv->val_len, min, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Picks CRC32C or None from a digest list, in the initiator's order. */
static int pick_digest(const struct iscsi_kv *kv)
{
	size_t i = 0;

	while (i < kv->val_len) {
		size_t j = i;

		while (j < kv->val_len && kv->val[j] != ',')
			j++;
		if (j - i == 6 && memcmp(kv->val + i, "CRC32C", 6) == 0)
			return 1;
		if (j - i == 4 && memcmp(kv->val + i, "None", 4) == 0)
			return 0;
		i = j + 1;
	}
	return -1;
}

/* Tells whether a comma list holds item. */
static int list_has(const struct iscsi_kv *kv, const char *item)
{
	size_t n = strlen(item), i = 0;

	while (i < kv->val_len) {
		size_t j = i;

		while (j < kv->val_len && kv->val[j] != ',')
			j++;
		if (j - i == n && memcmp(kv->val + i, item, n) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

int iscsi_negotiate_key(struct iscsi_conn *c, const struct iscsi_kv *kv,
			struct iscsi_text_out *out)
{
	struct iscsi_params *p = &c->params;
	uint32_t v;
	int b;

	if (iscsi_kv_is(kv, "HeaderDigest") || iscsi_kv_is(kv, "DataDigest")) {
		int d = pick_digest(kv);
		char key[16];

		snprintf(key, sizeof(key), "%.*s", (int)kv->key_len, kv->key);
		if (d < 0) {
			iscsi_text_add(out, key, "Reject");
			return 1;
		}
		if (kv->key[0] == 'H')
			p->header_digest = d;
		else
			p->data_digest = d;
		iscsi_text_add(out, key, d ? "CRC32C" : "None");
		return 1;
	}
	if (iscsi_kv_is(kv, "MaxRecvDataSegmentLength")) {
		/* Declarative: the initiator's limit for what we send. */
		if (kv_num(kv, 512, 16777215, &v))
			return iscsi_text_add(out, "MaxRecvDataSegmentLength",
					      "Reject"),
			       1;
		p->max_xmit = v;
		if (!c->login.sent_mrdsl) {
			iscsi_text_add_u32(out, "MaxRecvDataSegmentLength",
					   ISCSI_OUR_MRDSL);
			c->login.sent_mrdsl = 1;
		}
		return 1;
	}
	if (iscsi_kv_is(kv, "MaxBurstLength") ||
	    iscsi_kv_is(kv, "FirstBurstLength")) {
		int first = kv->key[0] == 'F';
		const char *key = first ? "FirstBurstLength" : "MaxBurstLength";

		/* Minimum function; we take whatever the initiator offers. */
		if (kv_num(kv, 512, 16777215, &v))
			return iscsi_text_add(out, key, "Reject"), 1;
		if (first)
			p->first_burst = v;
		else
			p->max_burst = v;
		iscsi_text_add_u32(out, key, v);
		return 1;
	}
	if (iscsi_kv_is(kv, "InitialR2T")) {
		/* OR function: we are content with No, so the offer wins. */
		if ((b = kv_bool(kv)) < 0)
			return iscsi_text_add(out, "InitialR2T", "Reject"), 1;
		p->initial_r2t = b;
		iscsi_text_add(out, "InitialR2T", b ? "Yes" : "No");
		return 1;
	}
	if (iscsi_kv_is(kv, "ImmediateData")) {
		/* AND function: we accept Yes, so the offer wins. */
		if ((b = kv_bool(kv)) < 0)
			return iscsi_text_add(out, "ImmediateData", "Reject"),
			       1;
		p->immediate_data = b;
		iscsi_text_add(out, "ImmediateData", b ? "Yes" : "No");
		return 1;
	}
	if (iscsi_kv_is(kv, "MaxOutstandingR2T")) {
		if (kv_num(kv, 1, 65535, &v))
			return iscsi_text_add(out, "MaxOutstandingR2T",
					      "Reject"),
			       1;
		iscsi_text_add(out, "MaxOutstandingR2T", "1");
		return 1;
	}
	if (iscsi_kv_is(kv, "DataPDUInOrder") ||
	    iscsi_kv_is(kv, "DataSequenceInOrder")) {
		char key[24];

		snprintf(key, sizeof(key), "%.*s", (int)kv->key_len, kv->key);
		/* OR function: our Yes makes the result Yes. */
		iscsi_text_add(out, key, kv_bool(kv) < 0 ? "Reject" : "Yes");
		return 1;
	}
	if (iscsi_kv_is(kv, "ErrorRecoveryLevel")) {
		if (kv_num(kv, 0, 2, &v))
			return iscsi_text_add(out, "ErrorRecoveryLevel",
					      "Reject"),
			       1;
		iscsi_text_add(out, "ErrorRecoveryLevel", "0");
		return 1;
	}
	if (iscsi_kv_is(kv, "DefaultTime2Wait")) {
		if (kv_num(kv, 0, 3600, &v))
			return iscsi_text_add(out, "DefaultTime2Wait",
					      "Reject"),
			       1;
		p->time2wait = v > 2 ? v : 2; /* maximum function */
		iscsi_text_add_u32(out, "DefaultTime2Wait", p->time2wait);
		return 1;
	}
	if (iscsi_kv_is(kv, "DefaultTime2Retain")) {
		if (kv_num(kv, 0, 3600, &v))
			return iscsi_text_add(out, "DefaultTime2Retain",
					      "Reject"),
			       1;
		p->time2retain = 0; /* minimum with ours: ERL 0 keeps nothing */
		iscsi_text_add(out, "DefaultTime2Retain", "0");
		return 1;
	}
	if (iscsi_kv_is(kv, "MaxConnections")) {
		if (kv_num(kv, 1, 65535, &v))
			return iscsi_text_add(out, "MaxConnections", "Reject"),
			       1;
		iscsi_text_add(out, "MaxConnections", "1");
		return 1;
	}
	if (iscsi_kv_is(kv, "IFMarker") || iscsi_kv_is(kv, "OFMarker")) {
		char key[16];

		snprintf(key, sizeof(key), "%.*s", (int)kv->key_len, kv->key);
		iscsi_text_add(out, key, "No");
		return 1;
	}
	if (iscsi_kv_is(kv, "InitiatorAlias") || iscsi_kv_is(kv, "IFMarkInt") ||
	    iscsi_kv_is(kv, "OFMarkInt")) {
		if (kv->key[0] != 'I' || kv->key[1] != 'n') {
			char key[16];

			snprintf(key, sizeof(key), "%.*s", (int)kv->key_len,
				 kv->key);
			iscsi_text_add(out, key, "Irrelevant");
		}
		return 1;
	}
	return 0;
}

/* Builds and queues a login response with the given status and text. */
static int login_respond(struct iscsi_conn *c, const uint8_t *req,
			 uint8_t flags, uint16_t status,
			 const struct iscsi_text_out *text)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	iscsi_pdu_init(bhs, ISCSI_OP_LOGIN_RSP, flags, text ? text->len : 0);
	bhs[2] = 0; /* version-max */
	bhs[3] = 0; /* version-active */
	memcpy(bhs + 8, req + 8, 6);
	put_be16(bhs + 14, status == LS_SUCCESS ? c->tsih : 0);
	memcpy(bhs + 16, req + 16, 4);
	put_be32(bhs + 24, c->stat_sn++);
	put_be32(bhs + 28, c->exp_cmd_sn);
	put_be32(bhs + 32, c->exp_cmd_sn + ISCSI_QUEUE_DEPTH - 1);
	bhs[36] = (uint8_t)(status >> 8);
	bhs[37] = (uint8_t)status;
	return iscsi_send(c, bhs, text ? text->buf : NULL,
			  text ? text->len : 0);
}

/* Ends the login with a failure status; the connection then closes
 * (RFC 7143 §11.13.5: the target drops it after a failed login). */
static int login_fail(struct iscsi_conn *c, const uint8_t *req, uint16_t status,
		      const char *reason)
{
	int rc = login_respond(c, req, 0, status, NULL);

	c->phase = ISCSI_PHASE_CLOSING;
	c->event = ISCSI_EV_LOGIN_FAIL;
	c->event_status = status;
	c->event_reason = reason;
	return rc;
}

/* Handles the keys that name the session, in the leading login request. */
static int login_identify(struct iscsi_conn *c, const uint8_t *req,
			  const struct iscsi_kv *kv, size_t n, const char **why,
			  uint16_t *status)
{
	const struct iscsi_kv *in = iscsi_text_find(kv, n, "InitiatorName");
	const struct iscsi_kv *st = iscsi_text_find(kv, n, "SessionType");
	const struct iscsi_kv *tn = iscsi_text_find(kv, n, "TargetName");
	(void)req;

	*status = LS_MISSING_PARAM;
	/* RFC 7143 §13.6: InitiatorName is required in the first request. */
	if (!in || in->val_len == 0) {
		*why = "no InitiatorName";
		return -1;
	}
	if (iscsi_kv_val_copy(in, c->initiator, sizeof(c->initiator))) {
		*status = LS_INITIATOR_ERROR;
		*why = "InitiatorName too long";
		return -1;
	}
	if (st && iscsi_kv_val_is(st, "Discovery")) {
		c->discovery = 1;
	} else if (st && !iscsi_kv_val_is(st, "Normal")) {
		*status = LS_NO_SESSION_TYPE;
		*why = "unknown SessionType";
		return -1;
	}
	if (c->discovery)
		return 0;
	if (!tn || tn->val_len == 0) {
		*why = "no TargetName";
		return -1;
	}
	if (iscsi_kv_val_copy(tn, c->target_name, sizeof(c->target_name))) {
		*status = LS_NOT_FOUND;
		*why = "target not found";
		return -1;
	}
	c->target = iscsi_env_find(c->env, c->target_name);
	if (!c->target) {
		*status = LS_NOT_FOUND;
		*why = "target not found";
		return -1;
	}
	if (!tcfg_allows(c->target->cfg, c->initiator)) {
		*status = LS_NOT_AUTHORIZED;
		*why = "initiator not allowed";
		c->target = NULL;
		return -1;
	}
	c->login.auth_needed = c->target->cfg->chap.user != NULL;
	return 0;
}

/* Sends our CHAP challenge (RFC 7143 §12.1.3). */
static int chap_challenge(struct iscsi_conn *c, const struct iscsi_kv *a,
			  struct iscsi_text_out *out)
{
	char hex[2 * CHAP_DIGEST_MAX + 3];
	uint8_t id;
	int alg = chap_pick_alg(a->val, a->val_len);

	if (alg < 0) {
		iscsi_text_add(out, "CHAP_A", "Reject");
		return -1;
	}
	c->login.chap_alg = alg;
	c->login.challenge_len = chap_digest_len(alg);
	c->env->random(&id, 1);
	c->env->random(c->login.challenge, c->login.challenge_len);
	c->login.chap_id = id;
	iscsi_text_add(out, "CHAP_A", alg == CHAP_ALG_SHA256 ? "7" : "5");
	iscsi_text_add_u32(out, "CHAP_I", id);
	chap_encode_hex(c->login.challenge, c->login.challenge_len, hex,
			sizeof(hex));
	iscsi_text_add(out, "CHAP_C", hex);
	c->login.auth = ISCSI_AUTH_WAIT_R;
	return 0;
}

/* Checks the initiator's CHAP response and answers a mutual challenge. */
static int chap_verify(struct iscsi_conn *c, const struct iscsi_kv *kv,
		       size_t n, struct iscsi_text_out *out, const char **why)
{
	const struct tcfg_target *t = c->target->cfg;
	const struct iscsi_kv *name = iscsi_text_find(kv, n, "CHAP_N");
	const struct iscsi_kv *resp = iscsi_text_find(kv, n, "CHAP_R");
	const struct iscsi_kv *mi = iscsi_text_find(kv, n, "CHAP_I");
	const struct iscsi_kv *mc = iscsi_text_find(kv, n, "CHAP_C");
	uint8_t got[CHAP_DIGEST_MAX], want[CHAP_DIGEST_MAX];
	size_t dlen = chap_digest_len(c->login.chap_alg);
	int glen;

	if (!name || !resp) {
		*why = "CHAP_N or CHAP_R missing";
		return -1;
	}
	glen = chap_decode(resp->val, resp->val_len, got, sizeof(got));
	if (glen != (int)dlen) {
		*why = "malformed CHAP_R";
		return -1;
	}
	chap_response(c->login.chap_alg, c->login.chap_id, t->chap.secret,
		      strlen(t->chap.secret), c->login.challenge,
		      c->login.challenge_len, want);
	/* Check the digest before the name so timing tells nothing of
	 * either; both must match. */
	if (!hash_equal(got, want, dlen) ||
	    !iscsi_kv_val_is(name, t->chap.user)) {
		*why = "CHAP response or user wrong";
		return -1;
	}
	if (!mi && !mc)
		return 0;
	if (!mi || !mc) {
		*why = "mutual CHAP needs both CHAP_I and CHAP_C";
		return -1;
	}
	if (!t->mutual.user) {
		*why = "mutual CHAP asked but not configured";
		return -1;
	}
	{
		uint8_t chal[CHAP_CHALLENGE_MAX];
		char hex[2 * CHAP_DIGEST_MAX + 3];
		uint32_t id;
		int clen =
			chap_decode(mc->val, mc->val_len, chal, sizeof(chal));

		if (kv_num(mi, 0, 255, &id) || clen < CHAP_CHALLENGE_MIN) {
			*why = "malformed mutual CHAP_I or CHAP_C";
			return -1;
		}
		/* RFC 7143 §12.1.3: a challenge equal to ours is a reflection
		 * attempt. */
		if ((size_t)clen == c->login.challenge_len &&
		    memcmp(chal, c->login.challenge, (size_t)clen) == 0) {
			*why = "mutual CHAP challenge reflects ours";
			return -1;
		}
		chap_response(c->login.chap_alg, (uint8_t)id, t->mutual.secret,
			      strlen(t->mutual.secret), chal, (size_t)clen,
			      want);
		chap_encode_hex(want, dlen, hex, sizeof(hex));
		iscsi_text_add(out, "CHAP_N", t->mutual.user);
		iscsi_text_add(out, "CHAP_R", hex);
	}
	return 0;
}

/* Handles the security stage keys; returns 0 or -1 with *why. */
static int login_security(struct iscsi_conn *c, const struct iscsi_kv *kv,
			  size_t n, struct iscsi_text_out *out,
			  const char **why)
{
	const struct iscsi_kv *am = iscsi_text_find(kv, n, "AuthMethod");
	const struct iscsi_kv *a = iscsi_text_find(kv, n, "CHAP_A");

	if (am) {
		if (c->login.auth != ISCSI_AUTH_START) {
			*why = "AuthMethod renegotiated";
			return -1;
		}
		if (c->login.auth_needed && list_has(am, "CHAP")) {
			iscsi_text_add(out, "AuthMethod", "CHAP");
			c->login.auth = ISCSI_AUTH_WAIT_A;
		} else if (c->login.auth_needed) {
			*why = "CHAP required but not offered";
			return -1;
		} else if (list_has(am, "None")) {
			iscsi_text_add(out, "AuthMethod", "None");
			c->login.auth = ISCSI_AUTH_DONE;
		} else {
			iscsi_text_add(out, "AuthMethod", "Reject");
			*why = "no acceptable AuthMethod";
			return -1;
		}
	}
	switch (c->login.auth) {
	case ISCSI_AUTH_WAIT_A:
		if (a && chap_challenge(c, a, out)) {
			*why = "no acceptable CHAP_A";
			return -1;
		}
		break;
	case ISCSI_AUTH_WAIT_R:
		if (a) {
			*why = "CHAP_A repeated";
			return -1;
		}
		if (iscsi_text_find(kv, n, "CHAP_R") ||
		    iscsi_text_find(kv, n, "CHAP_N")) {
			if (chap_verify(c, kv, n, out, why))
				return -1;
			c->login.auth = ISCSI_AUTH_DONE;
		}
		break;
	default:
		if (a || iscsi_text_find(kv, n, "CHAP_R")) {
			*why = "CHAP keys outside a CHAP exchange";
			return -1;
		}
		break;
	}
	return 0;
}

/* Answers the keys of one complete login request. */
static int login_keys(struct iscsi_conn *c, int csg, const struct iscsi_kv *kv,
		      size_t n, struct iscsi_text_out *out, const char **why)
{
	if (csg == ISCSI_STAGE_SECURITY && login_security(c, kv, n, out, why))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct iscsi_kv *k = &kv[i];
		char key[ISCSI_KEY_MAX + 1];

		/* RFC 7143 §6.2: a key may appear only once per request. */
		for (size_t j = 0; j < i; j++) {
			if (kv[j].key_len == k->key_len &&
			    !memcmp(kv[j].key, k->key, k->key_len)) {
				*why = "key repeated";
				return -1;
			}
		}
		if (iscsi_kv_is(k, "InitiatorName") ||
		    iscsi_kv_is(k, "TargetName") ||
		    iscsi_kv_is(k, "SessionType") ||
		    iscsi_kv_is(k, "AuthMethod") ||
		    (k->key_len > 5 && !memcmp(k->key, "CHAP_", 5)))
			continue;
		if (iscsi_negotiate_key(c, k, out))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)k->key_len, k->key);
		iscsi_text_add(out, key, "NotUnderstood");
	}
	return 0;
}

/* Collects a request split with the C bit (RFC 7143 §11.12.2). */
static int login_collect(struct iscsi_conn *c, const uint8_t *data, size_t len)
{
	uint8_t *nt;

	if (len > ISCSI_LOGIN_TEXT_MAX - c->login.text_len)
		return -E2BIG;
	nt = realloc(c->login.text, c->login.text_len + len + 1);
	if (!nt)
		return -ENOMEM;
	memcpy(nt + c->login.text_len, data, len);
	c->login.text = nt;
	c->login.text_len += len;
	return 0;
}

/* The login has ended well: the full feature phase starts.  Digests
 * start with the first PDU after the last login response (RFC 7143
 * §13.1). */
static void login_full(struct iscsi_conn *c)
{
	c->phase = ISCSI_PHASE_FULL;
	c->event = ISCSI_EV_LOGIN_OK;
	c->event_status = LS_SUCCESS;
	c->event_reason = c->discovery ? "discovery" : "normal";
}

/* Holds the last login response (flags, text) and hands session_open to
 * the driver as an ISCSI_IO_OPEN io; iscsi_login_opened sends it. */
static int login_open_async(struct iscsi_conn *c, const uint8_t *bhs,
			    uint8_t flags, const struct iscsi_text_out *out)
{
	struct iscsi_io *io = calloc(1, sizeof(*io));
	uint8_t *text = malloc(out->len ? out->len : 1);

	if (!io || !text) {
		free(io);
		free(text);
		return login_fail(c, bhs, LS_OUT_OF_RESOURCES, "out of memory");
	}
	memcpy(text, out->buf, out->len);
	memcpy(c->login.open_req, bhs, ISCSI_BHS_LEN);
	c->login.open_flags = flags;
	c->login.open_text = text;
	c->login.open_text_len = out->len;
	c->login.opening = 1;
	io->conn = c;
	io->op = ISCSI_IO_OPEN;
	c->n_io++;
	c->env->submit(c->env, io);
	return 0;
}

/* Handles the keys and stage change of one complete login request. */
static int login_request(struct iscsi_conn *c, const uint8_t *bhs,
			 const struct iscsi_kv *kv, size_t n)
{
	int transit = bhs[1] & ISCSI_LOGIN_TRANSIT;
	int csg = (bhs[1] >> 2) & 3, nsg = bhs[1] & 3;
	uint8_t outbuf[LOGIN_RSP_MAX];
	struct iscsi_text_out out = { outbuf, 0, sizeof(outbuf), 0 };
	const char *why = NULL;
	uint16_t status = LS_INITIATOR_ERROR;
	int rc;

	if (!c->initiator[0] && login_identify(c, bhs, kv, n, &why, &status))
		return login_fail(c, bhs, status, why);
	if (csg == ISCSI_STAGE_OPERATIONAL && c->login.auth_needed &&
	    c->login.auth != ISCSI_AUTH_DONE)
		return login_fail(c, bhs, LS_AUTH_FAILURE,
				  "authentication skipped");
	if (csg == ISCSI_STAGE_OPERATIONAL && !c->login.auth_needed)
		c->login.auth = ISCSI_AUTH_DONE;
	if (login_keys(c, csg, kv, n, &out, &why))
		return login_fail(c, bhs,
				  csg == ISCSI_STAGE_SECURITY
					  ? LS_AUTH_FAILURE
					  : LS_INITIATOR_ERROR,
				  why);
	/* RFC 7143 §13.9: the first response of a normal session carries the
	 * portal group tag. */
	if (!c->discovery && !c->login.sent_tpgt) {
		iscsi_text_add(&out, "TargetPortalGroupTag", "1");
		c->login.sent_tpgt = 1;
	}
	/* The initiator may not leave the security stage before CHAP ends;
	 * asking to while a challenge is pending just gets T=0. */
	if (transit && csg == ISCSI_STAGE_SECURITY &&
	    c->login.auth != ISCSI_AUTH_DONE) {
		if (c->login.auth_needed && c->login.auth == ISCSI_AUTH_START)
			return login_fail(c, bhs, LS_AUTH_FAILURE,
					  "CHAP required but not offered");
		if (c->login.auth == ISCSI_AUTH_START)
			c->login.auth = ISCSI_AUTH_DONE;
		else
			transit = 0;
	}
	if (transit && nsg == ISCSI_STAGE_FULL && !c->login.sent_mrdsl) {
		iscsi_text_add_u32(&out, "MaxRecvDataSegmentLength",
				   ISCSI_OUR_MRDSL);
		c->login.sent_mrdsl = 1;
	}
	if (out.overflow)
		return login_fail(c, bhs, LS_OUT_OF_RESOURCES,
				  "login response too long");
	if (!transit)
		return login_respond(c, bhs, (uint8_t)(csg << 2), LS_SUCCESS,
				     &out);
	c->login.stage = nsg;
	if (nsg == ISCSI_STAGE_FULL) {
		/* SAM-5 / RFC 7143 §10.1: the initiator port of this I_T
		 * nexus, which persistent reservations are tied to. */
		snprintf(c->port, sizeof(c->port),
			 "%.223s,i,0x%02x%02x%02x%02x%02x%02x", c->initiator,
			 c->isid[0], c->isid[1], c->isid[2], c->isid[3],
			 c->isid[4], c->isid[5]);
		c->tsih = c->env->next_tsih++;
		if (c->env->next_tsih == 0)
			c->env->next_tsih = 1;
		if (!c->discovery && c->env->session_open) {
			if (c->env->submit)
				return login_open_async(
					c, bhs,
					(uint8_t)(ISCSI_LOGIN_TRANSIT |
						  csg << 2 | nsg),
					&out);
			if (c->env->session_open(c->env, c))
				return login_fail(c, bhs, LS_OUT_OF_RESOURCES,
						  "units unavailable");
		}
	}
	rc = login_respond(c, bhs,
			   (uint8_t)(ISCSI_LOGIN_TRANSIT | csg << 2 | nsg),
			   LS_SUCCESS, &out);
	if (nsg == ISCSI_STAGE_FULL)
		login_full(c);
	return rc;
}

void iscsi_login_opened(struct iscsi_conn *c, int rc)
{
	struct iscsi_text_out out = { c->login.open_text,
				      c->login.open_text_len,
				      c->login.open_text_len, 0 };

	c->login.opening = 0;
	if (rc)
		login_fail(c, c->login.open_req, LS_OUT_OF_RESOURCES,
			   "units unavailable");
	else if (login_respond(c, c->login.open_req, c->login.open_flags,
			       LS_SUCCESS, &out))
		c->phase = ISCSI_PHASE_CLOSING; /* out of memory */
	else
		login_full(c);
	free(c->login.open_text);
	c->login.open_text = NULL;
	c->login.open_text_len = 0;
}

int iscsi_login_rx(struct iscsi_conn *c, const uint8_t *bhs,
		   const uint8_t *data, size_t len)
{
	uint8_t flags = bhs[1];
	int transit = flags & ISCSI_LOGIN_TRANSIT;
	int cont = flags & ISCSI_LOGIN_CONT;
	int csg = (flags >> 2) & 3, nsg = flags & 3;
	struct iscsi_kv kv[ISCSI_TEXT_MAX_PAIRS];
	size_t n;
	int rc;

	if (!c->login.started) {
		c->login.started = 1;
		memcpy(c->isid, bhs + 8, 6);
		c->cid = get_be16(bhs + 20);
		c->exp_cmd_sn = get_be32(bhs + 24);
		c->stat_sn = get_be32(bhs + 28);
		c->login.stage = csg;
		/* RFC 7143 §11.12.4: versions are 0 only. */
		if (bhs[3] > 0)
			return login_fail(c, bhs, LS_UNSUPPORTED_VERSION,
					  "unsupported version");
		/* One connection per session: a non-zero TSIH asks to add a
		 * connection to a session we do not have. */
		if (get_be16(bhs + 14))
			return login_fail(c, bhs, LS_NO_SESSION,
					  "connection to unknown session");
	} else if (memcmp(c->isid, bhs + 8, 6) || get_be16(bhs + 14) != 0) {
		return login_fail(c, bhs, LS_INITIATOR_ERROR,
				  "ISID or TSIH changed during login");
	}
	if (csg != c->login.stage || csg == 2 || csg == 3)
		return login_fail(c, bhs, LS_INITIATOR_ERROR,
				  "bad current stage");
	if (transit && (nsg <= csg || nsg == 2))
		return login_fail(c, bhs, LS_INITIATOR_ERROR, "bad next stage");
	if (transit && cont)
		return login_fail(c, bhs, LS_INITIATOR_ERROR,
				  "both T and C set");
	rc = login_collect(c, data, len);
	if (rc)
		return login_fail(c, bhs,
				  rc == -E2BIG ? LS_INITIATOR_ERROR
					       : LS_OUT_OF_RESOURCES,
				  "login text too long");
	if (cont) /* answer with an empty response until the last piece */
		return login_respond(c, bhs, (uint8_t)(csg << 2), LS_SUCCESS,
				     NULL);
	rc = iscsi_text_parse(c->login.text, c->login.text_len, kv,
			      ISCSI_TEXT_MAX_PAIRS, &n);
	if (rc == 0)
		rc = login_request(c, bhs, kv, n);
	else
		rc = login_fail(c, bhs, LS_INITIATOR_ERROR,
				"malformed login text");
	/* The pairs point into the text: free it only now. */
	free(c->login.text);
	c->login.text = NULL;
	c->login.text_len = 0;
	return rc;
}
