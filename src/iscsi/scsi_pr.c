/* Persistent reservations (SPC-4 §5.12, §6.15, §6.16): registration,
 * reservation types and the conflicts they cause.  See scsi.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "iscsi/scsi.h"
#include "iscsi/scsi_sense.h"

/* Reservation types (SPC-4 Table 169). */
#define PR_WE 1
#define PR_EA 3
#define PR_WE_RO 5
#define PR_EA_RO 6
#define PR_WE_AR 7
#define PR_EA_AR 8

/* PERSISTENT RESERVE OUT service actions. */
#define PR_REGISTER 0
#define PR_RESERVE 1
#define PR_RELEASE 2
#define PR_CLEAR 3
#define PR_PREEMPT 4
#define PR_PREEMPT_ABORT 5
#define PR_REGISTER_IGNORE 6

static int type_valid(uint8_t t)
{
	return t == PR_WE || t == PR_EA || t == PR_WE_RO || t == PR_EA_RO ||
	       t == PR_WE_AR || t == PR_EA_AR;
}

/* All registrants hold an all-registrants reservation (SPC-4 §5.12.10). */
static int type_all_reg(uint8_t t)
{
	return t == PR_WE_AR || t == PR_EA_AR;
}

/* Finds the registration of port, or NULL. */
static struct scsi_pr_reg *reg_find(const struct scsi_pr *pr, const char *port)
{
	for (size_t i = 0; i < pr->n; i++)
		if (strcmp(pr->regs[i].port, port) == 0)
			return (struct scsi_pr_reg *)&pr->regs[i];
	return NULL;
}

/* Tells whether port holds the reservation. */
static int is_holder(const struct scsi_pr *pr, const char *port)
{
	if (!pr->held)
		return 0;
	if (type_all_reg(pr->type))
		return reg_find(pr, port) != NULL;
	return strcmp(pr->holder, port) == 0;
}

/* Removes registration i, releasing what it held. */
static void reg_remove(struct scsi_pr *pr, size_t i)
{
	if (pr->held && !type_all_reg(pr->type) &&
	    strcmp(pr->holder, pr->regs[i].port) == 0)
		pr->held = 0;
	pr->regs[i] = pr->regs[--pr->n];
	/* The last registrant of an all-registrants reservation takes it
	 * along (SPC-4 §5.12.11.2). */
	if (pr->held && type_all_reg(pr->type) && pr->n == 0)
		pr->held = 0;
}

/* Key shown for the reservation in READ RESERVATION. */
static uint64_t holder_key(const struct scsi_pr *pr)
{
	const struct scsi_pr_reg *r;

	if (type_all_reg(pr->type))
		return 0;
	r = reg_find(pr, pr->holder);
	return r ? r->key : 0;
}

int scsi_pr_in(const struct scsi_lu *lu, struct scsi_cmd *cmd,
	       const uint8_t *cdb)
{
	const struct scsi_pr *pr = &lu->pr;
	uint32_t alloc = get_be16(cdb + 7), len;
	uint8_t *d;

	free(cmd->data);
	cmd->data = calloc(1, 8 + (24 + 4 + SCSI_PORT_NAME_MAX + 4) *
					      SCSI_PR_MAX_REGS);
	if (!cmd->data)
		return -ENOMEM;
	d = cmd->data;
	switch (cdb[1] & 0x1f) {
	case 0: /* READ KEYS */
		put_be32(d, pr->generation);
		put_be32(d + 4, (uint32_t)(8 * pr->n));
		for (size_t i = 0; i < pr->n; i++)
			put_be64(d + 8 + 8 * i, pr->regs[i].key);
		len = (uint32_t)(8 + 8 * pr->n);
		break;
	case 1: /* READ RESERVATION */
		put_be32(d, pr->generation);
		len = 8;
		if (pr->held) {
			put_be32(d + 4, 16);
			put_be64(d + 8, holder_key(pr));
			d[21] = pr->type;
			len = 24;
		}
		break;
	case 2: /* REPORT CAPABILITIES: every type, no persistence */
		put_be16(d, 8);
		d[3] = 0x80; /* TMV */
		d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		d[5] = 0x01;
		len = 8;
		break;
	case 3: /* READ FULL STATUS (SPC-4 §6.15.5) */
		put_be32(d, pr->generation);
		len = 8;
		for (size_t i = 0; i < pr->n; i++) {
			const struct scsi_pr_reg *r = &pr->regs[i];
			size_t nl = strlen(r->port) + 1;
			uint32_t tl = (uint32_t)(4 + ((nl + 3) & ~(size_t)3));

			put_be64(d + len, r->key);
			if (is_holder(pr, r->port)) {
				d[len + 12] = 0x01;
				d[len + 13] = pr->type;
			}
			put_be16(d + len + 18, 1);
			put_be32(d + len + 20, tl);
			/* iSCSI TransportID with the ISID (SPC-4 §7.6.4.6). */
			d[len + 24] = 0x45;
			put_be16(d + len + 26, (uint16_t)(tl - 4));
			memcpy(d + len + 28, r->port, nl);
			len += 24 + tl;
		}
		put_be32(d + 4, len - 8);
		break;
	default:
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return 0;
	}
	cmd->kind = SCSI_K_GEN;
	cmd->dir = SCSI_DIR_IN;
	cmd->data_len = len;
	cmd->xfer_len = len < alloc ? len : alloc;
	return 0;
}

void scsi_pr_out_start(struct scsi_lu *lu, struct scsi_cmd *cmd,
		       const uint8_t *cdb)
{
	uint8_t sa = cdb[1] & 0x1f;
	uint32_t plen = get_be32(cdb + 5);

	(void)lu;
	if (sa > PR_REGISTER_IGNORE) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	/* SPC-4 §6.16.3: the basic parameter list is 24 bytes. */
	if (plen != 24) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return;
	}
	cmd->kind = SCSI_K_PARAM;
	cmd->dir = SCSI_DIR_OUT;
	cmd->xfer_len = plen;
}

/* Sets the RESERVATION CONFLICT status. */
static void conflict(struct scsi_cmd *cmd)
{
	cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 §5.12.7). */
static void pr_register(struct scsi_pr *pr, struct scsi_cmd *cmd, uint64_t key,
			uint64_t sakey, int ignore)
{
	struct scsi_pr_reg *r = reg_find(pr, cmd->port);

	if (!r) {
		if (key && !ignore)
			return conflict(cmd);
		if (!sakey)
			return;
		if (pr->n == SCSI_PR_MAX_REGS) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_PR_NO_ROOM);
			return;
		}
		snprintf(pr->regs[pr->n].port, sizeof(pr->regs[0].port), "%s",
			 cmd->port);
		pr->regs[pr->n++].key = sakey;
		pr->generation++;
		return;
	}
	if (key != r->key && !ignore)
		return conflict(cmd);
	if (sakey)
		r->key = sakey;
	else
		reg_remove(pr, (size_t)(r - pr->regs));
	pr->generation++;
}

/* PREEMPT and PREEMPT AND ABORT (SPC-4 §5.12.11.4). */
static void pr_preempt(struct scsi_pr *pr, struct scsi_cmd *cmd, uint64_t sakey,
		       uint8_t type)
{
	int removed = 0;
	int take =
		pr->held &&
		(type_all_reg(pr->type) ? sakey == 0 : holder_key(pr) == sakey);

	if (take && !type_valid(type)) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
	if (!sakey && !take) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
			       ASC_INVALID_FIELD_PARAM);
		return;
	}
	for (size_t i = 0; i < pr->n;) {
		int victim = strcmp(pr->regs[i].port, cmd->port) != 0 &&
			     (sakey == 0 || pr->regs[i].key == sakey);

		if (victim) {
			pr->regs[i] = pr->regs[--pr->n];
			removed++;
		} else {
			i++;
		}
	}
	if (take) {
		pr->held = 1;
		pr->type = type;
		snprintf(pr->holder, sizeof(pr->holder), "%s", cmd->port);
	} else if (!removed) {
		return conflict(cmd);
	}
	pr->generation++;
}

void scsi_pr_out_run(struct scsi_lu *lu, struct scsi_cmd *cmd)
{
	struct scsi_pr *pr = &lu->pr;
	uint8_t sa = cmd->cdb[1] & 0x1f, type = cmd->cdb[2] & 0x0f;
	uint64_t key, sakey;
	struct scsi_pr_reg *r;

	if (cmd->data_len < 24) {
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH);
		return;
	}
	key = get_be64(cmd->data);
	sakey = get_be64(cmd->data + 8);
	if (sa == PR_REGISTER || sa == PR_REGISTER_IGNORE)
		return pr_register(pr, cmd, key, sakey,
				   sa == PR_REGISTER_IGNORE);
	/* Everything else needs a registration with the right key. */
	r = reg_find(pr, cmd->port);
	if (!r || r->key != key)
		return conflict(cmd);
	switch (sa) {
	case PR_RESERVE:
		if (!type_valid(type)) {
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_FIELD_CDB);
			return;
		}
		if (pr->held) {
			if (!is_holder(pr, cmd->port) || pr->type != type)
				conflict(cmd);
			return;
		}
		pr->held = 1;
		pr->type = type;
		snprintf(pr->holder, sizeof(pr->holder), "%s", cmd->port);
		return;
	case PR_RELEASE:
		if (!pr->held || !is_holder(pr, cmd->port))
			return;
		if (pr->type != type) {
			/* INVALID RELEASE OF PERSISTENT RESERVATION */
			scsi_sense_set(cmd, SK_ILLEGAL_REQUEST,
				       ASC_INVALID_RELEASE_PR);
			return;
		}
		pr->held = 0;
		return;
	case PR_CLEAR:
		pr->n = 0;
		pr->held = 0;
		pr->generation++;
		return;
	case PR_PREEMPT:
	case PR_PREEMPT_ABORT:
		pr_preempt(pr, cmd, sakey, type);
		return;
	default:
		scsi_sense_set(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_CDB);
		return;
	}
}

/* Commands no reservation blocks (SPC-4 Table 66). */
static int pr_always_allowed(uint8_t op)
{
	switch (op) {
	case 0x00:
	case 0x03:
	case 0x12:
	case 0x25:
	case 0x9e:
	case 0xa0:
	case 0xa3:
	case 0x5e:
	case 0x5f:
	case 0x1e:
		return 1;
	default:
		return 0;
	}
}

/* Commands that only read the medium. */
static int pr_read_class(uint8_t op)
{
	switch (op) {
	case 0x08:
	case 0x28:
	case 0xa8:
	case 0x88:
	case 0x2f:
	case 0xaf:
	case 0x8f:
	case 0x34:
	case 0x90:
	case 0x1a:
	case 0x5a:
		return 1;
	default:
		return 0;
	}
}

int scsi_pr_conflict(const struct scsi_lu *lu, uint8_t op, const char *port)
{
	const struct scsi_pr *pr = &lu->pr;
	int registered, holder, ex;

	if (!pr->held || pr_always_allowed(op))
		return 0;
	registered = reg_find(pr, port) != NULL;
	holder = is_holder(pr, port);
	ex = pr->type == PR_EA || pr->type == PR_EA_RO || pr->type == PR_EA_AR;
	if (pr_read_class(op) && !ex)
		return 0;
	switch (pr->type) {
	case PR_WE:
	case PR_EA:
		return !holder;
	default:
		return !registered;
	}
}
