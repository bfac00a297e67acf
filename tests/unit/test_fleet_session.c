/* Unit tests for the core's per-session units (iscsi_env.session_open and
 * session_close, which overlay LUNs use): a session sees the units its hook
 * gave it, a failing hook fails the login with OUT OF RESOURCES, a
 * discovery session never calls it, and release calls session_close once. */
#include <stdio.h>
#include <string.h>

#include "test_iscsi_harness.h"
#include "unit.h"

static struct backend_mem own_mem;
static struct scsi_lu own_lu;
static struct scsi_lu *own_lus[2];
static struct scsi_lun_map own_map = { own_lus, 2 };
static int opened, closed, refuse;

/* session_open: LUN 0 becomes a unit of this session's own. */
static int hook_open(struct iscsi_env *env, struct iscsi_conn *c)
{
	(void)env;
	opened++;
	if (refuse)
		return -1;
	own_lus[1] = c->target->map.luns[1];
	c->map = &own_map;
	return 0;
}

static void hook_close(struct iscsi_env *env, struct iscsi_conn *c)
{
	(void)env;
	closed += c->map == &own_map;
}

int main(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	uint8_t cdb[16] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0 };

	own_mem.size = H_BLOCKS * 512;
	own_mem.data = calloc(1, own_mem.size);
	memset(own_mem.data + 5 * 512, 0x77, 512);
	backend_mem_attach(&own_mem, &own_lu, 1);
	own_lus[0] = &own_lu;

	h_init(h, NULL, NULL, NULL);
	h->env.session_open = hook_open;
	h->env.session_close = hook_close;
	memset(h->mem[0].data + 5 * 512, 0x11, 512);
	CHECK("login", h_login_plain(h, H_IPXE_OPS) == 0 && opened == 1);
	h_cmd(h, 0, cdb, 'r', 512, NULL, 0, 1);
	CHECK("reads its own unit",
	      h_recv(h) == ISCSI_OP_DATA_IN && h->len == 512 &&
		      h->data[0] == 0x77 && h->data[511] == 0x77);
	h_cmd(h, 1, cdb, 'r', 512, NULL, 0, 1);
	CHECK("other units are the target's", h_recv(h) == ISCSI_OP_DATA_IN &&
						      h->len == 512 &&
						      h->data[0] == 0);
	iscsi_conn_release(&h->c);
	CHECK("release closes once", closed == 1 && h->c.map == NULL);
	iscsi_conn_release(&h->c);
	CHECK("second release does not close again", closed == 1);
	h_free(h);

	/* A hook that fails refuses the login: status 0x0302. */
	refuse = 1;
	h_init(h, NULL, NULL, NULL);
	h->env.session_open = hook_open;
	h->env.session_close = hook_close;
	h_login(h, 1, 0, 1,
		"InitiatorName=" H_INI "|TargetName=" H_IQN
		"|SessionType=Normal|AuthMethod=None");
	CHECK("first stage",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0);
	h_login(h, 1, 1, 3, H_IPXE_OPS);
	CHECK("refused: out of resources",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0302 &&
		      h->c.phase == ISCSI_PHASE_CLOSING);
	iscsi_conn_release(&h->c);
	CHECK("nothing to close", closed == 1);
	h_free(h);

	/* Discovery sessions see no units and never call the hook. */
	refuse = 0;
	opened = 0;
	h_init(h, NULL, NULL, NULL);
	h->env.session_open = hook_open;
	h_login(h, 1, 0, 3,
		"InitiatorName=" H_INI
		"|SessionType=Discovery|AuthMethod=None");
	CHECK("discovery skips the hook", h_recv(h) == ISCSI_OP_LOGIN_RSP &&
						  h_status(h) == 0 &&
						  opened == 0);
	iscsi_conn_release(&h->c);
	h_free(h);
	free(h);
	free(own_mem.data);
	return unit_done();
}
