/*
 * The boot-storm trace (wupan-target --trace, format in src/iscsi/trace.h)
 * as the replay tools read it, and the data they write and expect: shared by
 * bench/target/storm.c (over iSCSI) and bench/target/storm_rbd.c (straight
 * through librbd, the ceiling).
 */
#ifndef STORM_TRACE_H
#define STORM_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define STORM_BLOCK 512

enum storm_dir { STORM_NONE, STORM_READ, STORM_WRITE };

/* One command of the trace. */
struct storm_cmd {
	uint32_t sess; /* index into the trace's sessions */
	int lun;
	enum storm_dir dir;
	uint32_t edtl;
	uint8_t cdb[16];
	int cdb_len;
	int status; /* recorded, -1 if unknown */
	int block_io; /* a READ/WRITE of whole blocks at lba */
	int flush; /* SYNCHRONIZE CACHE */
	uint64_t lba;
	uint32_t blocks;
	uint64_t t_us;
};

struct storm_trace {
	struct storm_cmd *cmds;
	size_t n, cap;
	char **sess; /* recorded session keys */
	uint64_t *isid; /* and their ISIDs */
	size_t *last; /* the index of each session's last command */
	size_t n_sess;
	uint64_t max_lba; /* past the last block any WRITE touches */
};

/* Reads a trace file into tr, commands in arrival order; 0 or -1 (said on
 * stderr). */
int storm_trace_load(struct storm_trace *tr, const char *path);

/* The SCSI status of a trace's status word; -1 when it is not one. */
int storm_status_parse(const char *s);

/* The seed of client idx's data (shared: one seed for all clients). */
uint64_t storm_seed(int idx, int shared);

/* Fills blocks from lba with the data of seed. */
void storm_fill(uint8_t *buf, uint64_t seed, uint64_t lba, uint32_t blocks);

/* Whether the block at buf is the golden pattern of block lba: byte i is
 * (lba * 7 + i + 1) % 256 (tests/fleet/fleet_client.c's golden image). */
int storm_golden(const uint8_t *buf, uint64_t lba);

/* What a replay checks of the blocks READs return. */
struct storm_check {
	int golden; /* also the blocks the client did not write */
	uint64_t max_lba; /* the trace's */
	uint64_t verified, bad;
};

/* Marks the blocks of WRITE c in a client's bitmap of written blocks. */
void storm_mark(uint8_t *written, const struct storm_cmd *c);

/* Whether block lba is marked in written (bounded by max_lba). */
int storm_marked(const uint8_t *written, uint64_t max_lba, uint64_t lba);

/* Checks the len bytes READ c returned to client idx (its seed and
 * bitmap): blocks it wrote must hold its data, with k->golden the others
 * the golden pattern; counts into k and names the first bad ones on
 * stderr. */
void storm_check_read(struct storm_check *k, const struct storm_cmd *c,
		      const uint8_t *data, size_t len, int idx, uint64_t seed,
		      const uint8_t *written);

/* The latencies of a run (microseconds), as both tools report them. */
struct storm_lat {
	uint32_t p50, p99, max;
};

/* Sorts n latencies and takes their percentiles (all 0 when n is 0). */
struct storm_lat storm_latencies(uint32_t *lat, size_t n);

/* The CPU seconds (user and system) this process has used so far. */
double storm_cpu_s(void);

#endif
