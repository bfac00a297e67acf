/* One iSCSI connection (and its single-connection session): stream framing,
 * login, and the full feature phase.  Pure: bytes in through iscsi_conn_rx,
 * PDUs out in c->out; the driver owns sockets, clocks and logging. */
#ifndef WUPAN_ISCSI_CONN_H
#define WUPAN_ISCSI_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "iscsi/chap.h"
#include "iscsi/config.h"
#include "iscsi/pdu.h"
#include "iscsi/scsi.h"

#define ISCSI_OUR_MRDSL 262144u /* MaxRecvDataSegmentLength we declare */
#define ISCSI_MAX_PDU (ISCSI_BHS_LEN + 1020 + 4 + ISCSI_OUR_MRDSL + 8)
/* RFC 7143 §13.12: until login ends, PDUs carry at most the default
 * MaxRecvDataSegmentLength; the driver's pre-login buffer fits one. */
#define ISCSI_LOGIN_MRDSL 8192u
#define ISCSI_LOGIN_MAX_PDU (ISCSI_BHS_LEN + 1020 + ISCSI_LOGIN_MRDSL)
#define ISCSI_QUEUE_DEPTH 128 /* CmdSN window */
#define ISCSI_MAX_TASKS 256
#define ISCSI_OUT_HIGH (1u << 20) /* stop taking PDUs above this backlog */
#define ISCSI_OUT_LOW (256u << 10) /* produce Data-In below this backlog */
#define ISCSI_READ_CHUNK (256u << 10) /* Data-In read from disk at once */
#define ISCSI_READ_AHEAD (64u << 10) /* first chunk of a queued READ */
/* Chunks at least this long go straight from the page cache to the socket
 * (sendfile) when the unit allows it; shorter ones are copied, batched with
 * other PDUs into one send: below it a header send plus a sendfile cost
 * more than the copy they save. */
#define ISCSI_ZEROCOPY_MIN (32u << 10)
#define ISCSI_MAX_READS 32 /* READs queued before input stops */
#define ISCSI_MAX_WRITE_BYTES (8u << 20) /* Data-Out held for the disk */
#define ISCSI_LOGIN_TEXT_MAX 16384 /* bounded before authentication */
#define ISCSI_TEXT_RSP_MAX 65536 /* first try of a Text response */
#define ISCSI_TEXT_RSP_LIMIT (8u << 20) /* SendTargets of 4096 targets */

/* A target as the core sees it: its definition and its opened units. */
struct iscsi_target {
	const struct tcfg_target *cfg;
	struct scsi_lun_map map;
};

struct iscsi_io;
struct iscsi_conn;

/* What the driver provides: the targets, randomness and session ids. */
struct iscsi_env {
	struct iscsi_target **targets;
	size_t n_targets;
	/* Fills buf with unpredictable bytes (getrandom(2) in the driver). */
	void (*random)(void *buf, size_t len);
	/* Runs io off the caller's thread and completes it later through
	 * iscsi_conn_io_done; NULL runs it inline. */
	void (*submit)(struct iscsi_env *env, struct iscsi_io *io);
	void *driver; /* the driver's, for submit */
	uint16_t next_tsih;
	/* Called as a normal session's login completes: may point c->map at
	 * units of this initiator's own (overlays, fleet.c); non-zero fails
	 * the login.  NULL: every session sees the target's units.  With a
	 * submit it runs as an ISCSI_IO_OPEN io, off the caller's thread:
	 * making an overlay can take a network store many round trips, and
	 * a room's logins come all at once. */
	int (*session_open)(struct iscsi_env *env, struct iscsi_conn *c);
	/* Undoes session_open when the connection is released. */
	void (*session_close)(struct iscsi_env *env, struct iscsi_conn *c);
	/* Data-In of cached file data may go out as file ranges
	 * (iscsi_obuf_peek) instead of copies: the driver can sendfile. */
	int zerocopy;
	/* Sees each SCSI Command PDU taken and each PDU queued (trace.h);
	 * NULL: no trace. */
	void (*trace)(const struct iscsi_conn *c, const uint8_t *bhs);
};

/* Negotiated session and connection parameters (RFC 7143 §13). */
struct iscsi_params {
	int header_digest;
	int data_digest;
	uint32_t max_xmit; /* initiator's MaxRecvDataSegmentLength */
	uint32_t max_burst;
	uint32_t first_burst;
	int initial_r2t;
	int immediate_data;
	uint32_t time2wait;
	uint32_t time2retain;
};

/* What a pending command waits for. */
enum iscsi_task_state {
	ISCSI_TASK_DATA_OUT, /* Data-Out (and its writes) */
	ISCSI_TASK_READ, /* its Data-In, produced as the socket drains */
	ISCSI_TASK_FINISH, /* the medium work that ends it */
};

/* A command the core has not answered yet. */
struct iscsi_task {
	struct iscsi_task *next;
	struct iscsi_task *next_read; /* the Data-In queue */
	enum iscsi_task_state state;
	uint32_t itt;
	uint32_t ttt;
	unsigned lun;
	uint8_t lun_field[8]; /* as the initiator sent it */
	struct scsi_lu *lu;
	struct scsi_cmd cmd;
	uint32_t edtl; /* bytes the initiator will send or take */
	uint32_t received;
	uint32_t next_off; /* data below this is received or solicited */
	uint32_t r2tsn;
	uint32_t data_sn; /* next DataSN expected, or sent (Data-In) */
	uint32_t r2t_count; /* ExpDataSN of the response */
	uint32_t seq_off; /* offset the next Data-Out must carry */
	uint32_t seq_end; /* end of the current sequence */
	int unsol_open; /* unsolicited Data-Out may still come */
	int r2t_open; /* an R2T is outstanding */
	int aborted; /* answered or dropped: free when I/O is done */
	/* Disk I/O: one at a time per task, more Data-Out queued behind. */
	struct iscsi_io *io; /* in flight */
	struct iscsi_io *io_wait; /* Data-Out writes not started yet */
	/* Data-In: the transfer, what is framed, the chunk read ahead. */
	uint32_t total;
	uint32_t framed;
	uint8_t *chunk;
	uint32_t chunk_len;
	int chunk_fd; /* >= 0: the chunk is this file's, not in chunk */
	uint64_t chunk_foff; /* where in chunk_fd */
};

/*
 * The asynchronous completion API: a SCSI command may finish later.
 *
 * When a command needs the medium (a READ chunk, a Data-Out write, or the
 * work that ends it: a flush, FUA, WRITE SAME, UNMAP, COMPARE AND WRITE),
 * the core allocates a struct iscsi_io, sets op/off/len/buf and calls
 * env->submit(env, io).  The core then goes on with other PDUs; it never
 * waits.  The driver:
 *  1. runs iscsi_io_run(io) on any thread (a worker; or it hands the same
 *     work to io_uring, a network store, ...: iscsi_io_run only calls
 *     scsi_cmd_read/scsi_cmd_write/scsi_cmd_finish on io->task's command,
 *     which touch nothing but that command and its backend);
 *  2. calls iscsi_conn_io_done(io->conn, io) on the thread that owns the
 *     connection, which answers the command (or queues its Data-In to be
 *     framed as the socket drains, iscsi_conn_tx_fill) and frees io.
 * Rules: one io per task at a time (more Data-Out waits in task->io_wait);
 * c->n_io counts io in flight, and the driver frees a connection only at 0
 * (iscsi_conn_release before that is the driver's bug).  A task aborted or
 * dropped meanwhile is only marked: its io still completes, then it is
 * freed without an answer.  A login's session_open is an io too
 * (ISCSI_IO_OPEN): the connection takes no input until it completes.
 * Cached READ data is read inline through the
 * backend's read_nowait (scsi_cmd_read_nowait) with no io at all.  Without
 * env->submit the core runs every io inline (tests, fuzzers).
 */
enum iscsi_io_op {
	ISCSI_IO_READ, /* scsi_cmd_read of [off, off + len) into buf */
	ISCSI_IO_WRITE, /* scsi_cmd_write of buf at off */
	ISCSI_IO_FINISH, /* scsi_cmd_finish: flush, WRITE SAME, UNMAP... */
	/* env->session_open for io->conn, whose last login response waits
	 * for it (task is NULL; rc is what the hook returned).  The hook
	 * touches only that connection and its own locks. */
	ISCSI_IO_OPEN,
};

struct iscsi_io {
	struct iscsi_io *next; /* the driver's, while it holds the io */
	struct iscsi_conn *conn;
	struct iscsi_task *task;
	enum iscsi_io_op op;
	uint32_t off;
	uint32_t len;
	uint8_t *buf;
	int rc; /* what scsi_cmd_read returned */
};

/* Runs the work of io (a worker thread may call it). */
void iscsi_io_run(struct iscsi_io *io);

/* Data-In bytes the driver sends straight from a file (sendfile(2)),
 * placed in the output between two buffered bytes. */
struct iscsi_ext {
	uint64_t at; /* buffered bytes queued before it (iscsi_obuf.pos) */
	int fd;
	uint64_t off;
	size_t len;
};

/* Output waiting for the socket: buffered bytes, with file ranges between
 * them in order. */
struct iscsi_obuf {
	uint8_t *buf;
	size_t off;
	size_t len;
	size_t cap;
	uint64_t sent; /* buffered bytes consumed since the start */
	struct iscsi_ext *ext; /* a ring of file ranges */
	size_t ext_head;
	size_t ext_n;
	size_t ext_cap;
	size_t ext_bytes; /* file bytes queued */
};

/* The next piece of output: len bytes at buf, or, when fd >= 0, len
 * bytes of file fd at off.  more says output follows it at once (the
 * driver may cork: a PDU header before its file data). */
struct iscsi_out {
	const uint8_t *buf;
	int fd;
	uint64_t off;
	size_t len;
	int more;
};

enum iscsi_phase {
	ISCSI_PHASE_LOGIN,
	ISCSI_PHASE_FULL,
	ISCSI_PHASE_CLOSING, /* send what is queued, then close */
};

enum iscsi_auth {
	ISCSI_AUTH_START, /* no AuthMethod chosen yet */
	ISCSI_AUTH_WAIT_A, /* CHAP chosen, waiting for CHAP_A */
	ISCSI_AUTH_WAIT_R, /* challenge sent, waiting for CHAP_N/CHAP_R */
	ISCSI_AUTH_DONE,
};

/* What happened, for the driver's log; cleared by the driver. */
enum iscsi_event {
	ISCSI_EV_NONE,
	ISCSI_EV_LOGIN_OK,
	ISCSI_EV_LOGIN_FAIL,
	ISCSI_EV_LOGOUT,
};

/* Login progress. */
struct iscsi_login {
	int started;
	int stage;
	enum iscsi_auth auth;
	int auth_needed;
	int chap_alg;
	uint8_t chap_id;
	uint8_t challenge[CHAP_DIGEST_MAX];
	size_t challenge_len;
	int sent_tpgt;
	int sent_mrdsl;
	uint8_t *text; /* accumulated text of a C-bit sequence */
	size_t text_len;
	/* The last response, held while session_open runs (ISCSI_IO_OPEN). */
	int opening;
	uint8_t open_req[ISCSI_BHS_LEN]; /* the request it answers */
	uint8_t open_flags;
	uint8_t *open_text;
	size_t open_text_len;
};

/* The connection. */
struct iscsi_conn {
	struct iscsi_env *env;
	enum iscsi_phase phase;
	struct iscsi_login login;
	struct iscsi_params params;
	int discovery;
	struct iscsi_target *target;
	struct scsi_lun_map *map; /* set by session_open, else NULL */
	char initiator[TCFG_NAME_MAX + 1];
	char target_name[TCFG_NAME_MAX + 1];
	uint8_t isid[6];
	char port[SCSI_PORT_NAME_MAX]; /* initiator port: name,i,0xISID */
	uint16_t tsih;
	uint16_t cid;
	uint32_t stat_sn;
	uint32_t exp_cmd_sn;
	struct iscsi_task *tasks;
	size_t n_tasks;
	struct iscsi_task *reads; /* READs in order, Data-In not all framed */
	struct iscsi_task **reads_tail;
	size_t n_reads;
	size_t write_bytes; /* Data-Out copied and waiting for the disk */
	size_t n_io; /* io submitted and not done */
	uint32_t next_ttt;
	struct iscsi_obuf out;
	/* A Text response too long for one PDU (RFC 7143 §11.10.2). */
	uint8_t *text_rsp;
	size_t text_rsp_len;
	size_t text_rsp_off;
	uint32_t text_ttt;
	/* Where SendTargets points when a target has no portal of its own. */
	char local_addr[80];
	enum iscsi_event event;
	uint16_t event_status; /* login status class << 8 | detail */
	const char *event_reason;
};

/* Prepares a connection; local_addr is "HOST:PORT" (IPv6 in brackets). */
void iscsi_conn_init(struct iscsi_conn *c, struct iscsi_env *env,
		     const char *local_addr);

/* Frees everything the connection holds, dropping its pending tasks.  The
 * driver calls it only when n_io is 0 (no io in flight). */
void iscsi_conn_release(struct iscsi_conn *c);

/*
 * Takes received bytes and handles every complete PDU in them.  Returns the
 * number of bytes consumed (the rest must be offered again with more data
 * appended), or -EPROTO when the stream cannot continue: the driver then
 * sends what is queued and closes.
 */
ssize_t iscsi_conn_rx(struct iscsi_conn *c, const uint8_t *buf, size_t len);

/* Returns 1 if the connection wants more input now (not closing, output
 * backlog below ISCSI_OUT_HIGH, queued READs and Data-Out bounded). */
int iscsi_conn_wants_input(const struct iscsi_conn *c);

/* Produces Data-In of queued READs while the output backlog is below
 * ISCSI_OUT_LOW, starting their disk reads; the driver calls it before it
 * sends, so a large READ is never in memory whole. */
void iscsi_conn_tx_fill(struct iscsi_conn *c);

/* Completes io (on the connection's thread): answers its command or moves
 * it on, and frees io.  After iscsi_conn_release it only frees. */
void iscsi_conn_io_done(struct iscsi_conn *c, struct iscsi_io *io);

/* Queues a NOP-In ping that asks the initiator for a NOP-Out (RFC 7143
 * §11.19); only in the full feature phase.  Returns 0 or -ENOMEM. */
int iscsi_conn_ping(struct iscsi_conn *c);

/* Fills *piece with the next output and returns its length (0: none). */
size_t iscsi_obuf_peek(const struct iscsi_obuf *o, struct iscsi_out *piece);

/* Marks n bytes of the piece iscsi_obuf_peek gave as sent; frees a large
 * idle buffer. */
void iscsi_obuf_consume(struct iscsi_obuf *o, size_t n);

/* Output bytes queued, buffered and in file ranges. */
size_t iscsi_obuf_backlog(const struct iscsi_obuf *o);

/* Handles one login request PDU (login.c). */
int iscsi_login_rx(struct iscsi_conn *c, const uint8_t *bhs,
		   const uint8_t *data, size_t len);

/* Ends a login whose session_open (ISCSI_IO_OPEN) returned rc: sends the
 * held response, or fails the login (login.c). */
void iscsi_login_opened(struct iscsi_conn *c, int rc);

/* Negotiates one operational key into c->params and answers it in out;
 * returns 1 if the key was known, 0 if not (login.c). */
struct iscsi_kv;
struct iscsi_text_out;
int iscsi_negotiate_key(struct iscsi_conn *c, const struct iscsi_kv *kv,
			struct iscsi_text_out *out);

/* Queues a PDU: bhs plus data (padded, digests added when negotiated).
 * Returns 0 or -ENOMEM. */
int iscsi_send(struct iscsi_conn *c, uint8_t *bhs, const void *data,
	       size_t len);

/* Finds the target named name in env, or NULL. */
struct iscsi_target *iscsi_env_find(struct iscsi_env *env, const char *name);

#endif
