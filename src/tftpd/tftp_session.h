/*
 * One TFTP transfer as a pure state machine: packets and time in, packets
 * out.  The driver owns the socket, the file and the clock; the session
 * reaches the file only through struct tftp_io.
 */
#ifndef WUPAN_TFTPD_TFTP_SESSION_H
#define WUPAN_TFTPD_TFTP_SESSION_H

#include "tftpd/tftp_opt.h"
#include "tftpd/tftp_pkt.h"

#include <stddef.h>
#include <stdint.h>

/* File access for a session.  read returns the bytes read, short only at the
 * end of the file, or a negative errno; write returns 0 or a negative errno. */
struct tftp_io {
	long (*read)(void *ctx, uint64_t off, uint8_t *buf, size_t len);
	int (*write)(void *ctx, uint64_t off, const uint8_t *buf, size_t len);
	void *ctx;
};

struct tftp_session_cfg {
	uint32_t timeout_ms; /* longest retransmit interval (--timeout) */
	uint32_t rto_min_ms; /* shortest adaptive retransmit interval */
	unsigned retries; /* retransmissions at the longest interval */
	uint64_t max_upload; /* bytes one WRQ may write (--max-upload); 0: any */
};

/* Packets a call asks the driver to send, in order.  The driver provides max
 * slots of slot_len bytes each (at least TFTP_HDR_LEN + the largest blksize
 * it grants, and max at least the largest windowsize), and a scratch buffer
 * of slot_len bytes for netascii conversion. */
struct tftp_tx {
	uint8_t *buf;
	size_t slot_len;
	unsigned max;
	unsigned n;
	size_t *len;
	uint8_t *scratch;
};

enum tftp_result {
	TFTP_RUNNING = 0,
	TFTP_OK,
	TFTP_TIMEOUT, /* retry limit reached */
	TFTP_PEER_ERROR, /* the client sent an ERROR */
	TFTP_LOCAL_ERROR, /* file I/O failed; an ERROR was sent */
	TFTP_PEER_GONE, /* the driver saw the client vanish (ICMP) */
	TFTP_SUPERSEDED, /* the client sent a new request from its port */
	TFTP_STOPPED, /* the server is shutting down */
};

enum tftp_state {
	TFTP_ST_OACK, /* RRQ: OACK sent, waiting for ACK 0 */
	TFTP_ST_XFER,
	TFTP_ST_DALLY, /* WRQ: final ACK sent, answering repeats of it */
	TFTP_ST_DONE,
};

/* Netascii blocks are rebuilt from checkpoints when a window is resent, so a
 * netascii transfer's window is capped at the checkpoint ring size. */
#define TFTP_NETASCII_WINDOW_MAX 63

struct tftp_session {
	int writing;
	int netascii;
	enum tftp_state state;
	enum tftp_result result;
	uint16_t peer_errcode; /* TFTP_PEER_ERROR */
	int local_errno; /* TFTP_LOCAL_ERROR, positive */
	struct tftp_opts opt;
	struct tftp_io io;
	struct tftp_session_cfg cfg;
	uint64_t bytes; /* payload bytes sent (once) or written */

	/* Sender: blocks [base, next) are in flight, last is the final block
	 * once known (0 before), hi the highest block produced so far. */
	uint64_t base, next, last, hi;
	struct {
		uint64_t off;
		int pending; /* second byte of a CR pair, or -1 */
	} ck[TFTP_NETASCII_WINDOW_MAX + 1];

	/* Receiver: blocks [1, received] are written; woff is the file size
	 * so far; cr is a netascii CR waiting for its partner. */
	uint64_t received, woff, gap_acked;
	int cr;

	/* Retransmission: adaptive RTO after RFC 6298, in milliseconds. */
	uint64_t deadline_ms;
	uint32_t timeout_ms, rto_ms, srtt_ms, rttvar_ms, interval_ms;
	unsigned tries, full_tries;
	int have_rtt;
	uint64_t sample_block, sample_at_ms;
	int sample_valid;

	/* The last control packet (OACK or ACK), for retransmission. */
	uint8_t ctl[256];
	size_t ctl_len;
};

/*
 * Sets up a session for req (already parsed) with options negotiated against
 * lim.  file_size is the RRQ file's size (UINT64_MAX if unknown).  Returns 0
 * or -ENOBUFS if the OACK would not fit.
 */
int tftp_session_init(struct tftp_session *s, const struct tftp_req *req,
		      const struct tftp_opt_limits *lim, uint64_t file_size,
		      const struct tftp_session_cfg *cfg,
		      const struct tftp_io *io);

/* Emits the first packets: OACK, DATA 1 or ACK 0. */
void tftp_session_start(struct tftp_session *s, uint64_t now_ms,
			struct tftp_tx *tx);

/* Feeds one packet from the client's transfer ID. */
void tftp_session_input(struct tftp_session *s, const uint8_t *buf, size_t len,
			uint64_t now_ms, struct tftp_tx *tx);

/* Handles the retransmission timer; call when now_ms >= deadline_ms. */
void tftp_session_timer(struct tftp_session *s, uint64_t now_ms,
			struct tftp_tx *tx);

/* Ends the session from outside, e.g. when the client's port is gone. */
void tftp_session_abort(struct tftp_session *s, enum tftp_result result);

/* Short name of a result for the transfer log. */
const char *tftp_result_str(const struct tftp_session *s);

#endif
