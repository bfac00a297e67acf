/* Unit tests for the core's per-session units (iscsi_env.session_open and
 * session_close, which overlay LUNs use): a session sees the units its hook
 * gave it, a failing hook fails the login with OUT OF RESOURCES, a
 * discovery session never calls it, and release calls session_close once.
 * With a driver (env.submit) the hook runs as an ISCSI_IO_OPEN io: the
 * last login response waits for it, and no input is taken meanwhile. */
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

/* The test's driver: holds the one io submitted until told to run it. */
static struct iscsi_io *held;
static int submitted;

static void hold_submit(struct iscsi_env *env, struct iscsi_io *io)
{
	(void)env;
	held = io;
	submitted++;
}

static void run_held(void)
{
	struct iscsi_io *io = held;

	held = NULL;
	iscsi_io_run(io);
	iscsi_conn_io_done(io->conn, io);
}

/* The async login up to its held last response: 0 if all is as it must
 * be, else which check failed. */
static int async_login(struct harness *h)
{
	uint8_t cdb[16] = { 0x00 }; /* TEST UNIT READY */

	h_init(h, NULL, NULL, NULL);
	h->env.session_open = hook_open;
	h->env.session_close = hook_close;
	h->env.submit = hold_submit;
	submitted = opened = 0;
	if (h_login(h, 1, 0, 1,
		    "InitiatorName=" H_INI "|TargetName=" H_IQN
		    "|SessionType=Normal|AuthMethod=None") < 0 ||
	    h_recv(h) != ISCSI_OP_LOGIN_RSP || h_status(h) || submitted)
		return 1;
	if (h_login(h, 1, 1, 3, H_IPXE_OPS) < 0)
		return 2;
	/* Not answered yet, nor opened: the driver holds the io. */
	if (submitted != 1 || !held || held->op != ISCSI_IO_OPEN ||
	    held->task || opened || h_recv(h) >= 0 ||
	    h->c.phase != ISCSI_PHASE_LOGIN || h->c.n_io != 1)
		return 3;
	/* A command sent too early is not taken until the login ends. */
	if (iscsi_conn_wants_input(&h->c) || h_cmd(h, 0, cdb, 0, 0, NULL, 0, 1))
		return 4;
	h->cmdsn--; /* a real stream offers it again later */
	return 0;
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

	/* With a driver: the hook runs when the driver runs the io. */
	refuse = 0;
	closed = 0;
	CHECK("async: held until the open ends", async_login(h) == 0);
	run_held();
	CHECK("async: opened, then answered",
	      opened == 1 && h->c.n_io == 0 &&
		      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0 &&
		      (h->bhs[1] & 0x83) == 0x83 &&
		      h_key(h, "MaxRecvDataSegmentLength") &&
		      h->c.phase == ISCSI_PHASE_FULL &&
		      h->c.event == ISCSI_EV_LOGIN_OK &&
		      iscsi_conn_wants_input(&h->c));
	h_cmd(h, 0, cdb, 'r', 512, NULL, 0, 1);
	if (held && held->op == ISCSI_IO_READ)
		run_held();
	CHECK("async: reads its own unit",
	      h_recv(h) == ISCSI_OP_DATA_IN && h->data[0] == 0x77);
	iscsi_conn_release(&h->c);
	CHECK("async: release closes once", closed == 1);
	h_free(h);

	/* A refusal comes when the io completes: 0x0302, and closing. */
	refuse = 1;
	CHECK("async refused: held", async_login(h) == 0);
	run_held();
	CHECK("async refused: out of resources",
	      h_recv(h) == ISCSI_OP_LOGIN_RSP && h_status(h) == 0x0302 &&
		      h->c.phase == ISCSI_PHASE_CLOSING &&
		      h->c.event == ISCSI_EV_LOGIN_FAIL && h->c.map == NULL);
	iscsi_conn_release(&h->c);
	CHECK("async refused: nothing to close", closed == 1);
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
