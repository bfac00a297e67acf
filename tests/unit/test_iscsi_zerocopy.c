/* Zero-copy Data-In: READs of cached file data leave the core as file
 * ranges between their PDU headers (iscsi_obuf_peek), which the driver
 * sends with sendfile(2).  Checked through the same peek/consume calls a
 * socket makes: DataSN, offsets, F and S bits and status, content,
 * padding, consumption in odd pieces, and the copy path where zero-copy
 * must not be used (DataDigest, memory units, short READs). */
#include <fcntl.h>
#include <stdio.h>

#include "iscsi/backend.h"
#include "test_iscsi_harness.h"
#include "unit.h"

#define FILE_LEN (H_BLOCKS * 512)

static uint8_t pattern[FILE_LEN];

static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, n);
}

/* A harness whose LUN 0 is a file backend on a cached temporary file. */
static int setup(struct harness *h, struct backend_file *bf, int zerocopy,
		 const char *opkeys)
{
	char path[] = "/tmp/test_iscsi_zerocopy.XXXXXX", err[256];
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, pattern, FILE_LEN) != FILE_LEN)
		return -1;
	close(fd);
	h_init(h, NULL, NULL, NULL);
	if (backend_file_open(bf, &h->lu[0], path, 0, err, sizeof(err))) {
		unlink(path);
		return -1;
	}
	unlink(path);
	h->env.zerocopy = zerocopy;
	return h_login_plain(h, opkeys);
}

static void teardown(struct harness *h, struct backend_file *bf)
{
	h_free(h);
	backend_file_close(bf);
}

/* What one READ's Data-In looked like. */
struct seen {
	uint8_t data[FILE_LEN];
	uint32_t bytes;
	int pdus;
	int bad_sn; /* DataSN not 0, 1, 2, ... */
	int bad_off; /* BufferOffset not where the last one ended */
	int bad_final; /* F where it must not be, or missing on the last */
	int status_pdus; /* PDUs with the S bit */
	int status; /* SCSI status from the S-bit PDU or a response */
	int bad_digest;
	uint32_t residual;
	int flags; /* of the last PDU */
};

/* Reads every answer of one READ through h_recv. */
static void collect(struct harness *h, struct seen *s, uint32_t total)
{
	int op;

	memset(s, 0, sizeof(*s));
	s->status = -1;
	while ((op = h_recv(h)) >= 0) {
		uint32_t off = get_be32(h->bhs + 40);
		int last;

		if (op == ISCSI_OP_SCSI_RSP) {
			s->status = h->bhs[3];
			break;
		}
		if (op != ISCSI_OP_DATA_IN)
			break;
		s->bad_sn += get_be32(h->bhs + 36) != (uint32_t)s->pdus;
		s->bad_off += off != s->bytes;
		if (off + h->len <= FILE_LEN)
			memcpy(s->data + off, h->data, h->len);
		if (h->c.params.data_digest &&
		    get_le32(h->digest) !=
			    crc32c(0, h->data, iscsi_pad4(h->len)))
			s->bad_digest++;
		s->bytes += (uint32_t)h->len;
		s->pdus++;
		last = s->bytes == total;
		s->bad_final += !!(h->bhs[1] & ISCSI_FLAG_FINAL) != last;
		s->flags = h->bhs[1];
		if (h->bhs[1] & ISCSI_DATAIN_STATUS) {
			s->status_pdus++;
			s->status = h->bhs[3];
			s->residual = get_be32(h->bhs + 44);
		}
		if (last)
			break;
	}
}

/* Sends READ(10) of blocks at lba on lun with edtl and collects its
 * answers into s; h->file_bytes then counts its bytes sent from files. */
static void read10(struct harness *h, int lun, uint32_t lba, uint16_t blocks,
		   uint32_t edtl, struct seen *s)
{
	uint8_t cdb[16];

	h->file_bytes = 0;
	cdb10(cdb, 0x28, lba, blocks);
	h_cmd(h, lun, cdb, 'r', edtl, NULL, 0, 1);
	collect(h, s, edtl < blocks * 512u ? edtl : blocks * 512u);
}

int main(void)
{
	static struct harness hh;
	struct harness *h = &hh;
	struct backend_file bf;
	static struct seen s;
	static uint8_t stream[FILE_LEN * 2];
	uint8_t cdb[16];
	size_t got, k;
	int rc;

	for (size_t i = 0; i < FILE_LEN; i++)
		pattern[i] = (uint8_t)(i * 13 + i / 512);

	/* 256 KiB in 8 KiB segments, all from the file. */
	rc = setup(h, &bf, 1, "MaxRecvDataSegmentLength=8192");
	CHECK("setup", rc == 0);
	read10(h, 0, 64, 512, 512 * 512, &s);
	CHECK("zero-copy read: 32 PDUs of 8 KiB, every byte from the file",
	      s.pdus == 32 && s.bytes == 512 * 512 &&
		      h->file_bytes == 512 * 512);
	CHECK("zero-copy read: content",
	      !memcmp(s.data, pattern + 64 * 512, 512 * 512));
	CHECK("zero-copy read: DataSN 0.. and offsets in order",
	      !s.bad_sn && !s.bad_off);
	CHECK("zero-copy read: F on the last PDU only", !s.bad_final);
	CHECK("zero-copy read: status GOOD in the last PDU only",
	      s.status_pdus == 1 && s.status == 0 &&
		      (s.flags & ISCSI_DATAIN_STATUS));
	CHECK("zero-copy read: nothing else queued",
	      iscsi_obuf_backlog(&h->c.out) == 0 && h->c.n_tasks == 0);

	/* An EDTL that is not a multiple of 4: the last segment is padded
	 * after its file range, and the next PDU starts where it should. */
	read10(h, 0, 0, 128, 40001, &s);
	CHECK("odd EDTL: 40001 bytes from the file, overflow 25535",
	      s.bytes == 40001 && h->file_bytes == 40001 &&
		      !memcmp(s.data, pattern, 40001) && s.status == 0 &&
		      (s.flags & ISCSI_FLAG_OVERFLOW) && s.residual == 25535);
	cdb10(cdb, 0x00, 0, 0); /* TEST UNIT READY after it */
	h_cmd(h, 0, cdb, 'n', 0, NULL, 0, 1);
	CHECK("odd EDTL: the next PDU is intact",
	      h_recv(h) == ISCSI_OP_SCSI_RSP && h->bhs[3] == 0 &&
		      get_be32(h->bhs + 16) == h->itt);

	/* The output taken in 777-byte pieces, as partial socket writes
	 * would: the same byte stream. */
	h->file_bytes = 0;
	cdb10(cdb, 0x28, 100, 256);
	h_cmd(h, 0, cdb, 'r', 256 * 512, NULL, 0, 1);
	iscsi_conn_tx_fill(&h->c);
	for (got = 0;; got += k) {
		struct iscsi_out piece;

		iscsi_conn_tx_fill(&h->c);
		k = iscsi_obuf_peek(&h->c.out, &piece);
		if (!k || got + k > sizeof(stream))
			break;
		if (k > 777)
			k = 777;
		if (piece.fd >= 0 ? pread(piece.fd, stream + got, k,
					  (off_t)piece.off) != (ssize_t)k
				  : !memcpy(stream + got, piece.buf, k))
			break;
		iscsi_obuf_consume(&h->c.out, k);
	}
	{
		size_t p = 0, bytes = 0;
		int ok = 1, pdus = 0;

		while (p + ISCSI_BHS_LEN <= got) {
			uint32_t len = get_be24(stream + p + 5);
			uint32_t off = get_be32(stream + p + 40);

			ok &= (stream[p] & 0x3f) == ISCSI_OP_DATA_IN &&
			      off == bytes &&
			      get_be32(stream + p + 36) == (uint32_t)pdus &&
			      !memcmp(stream + p + ISCSI_BHS_LEN,
				      pattern + 100 * 512 + off, len);
			bytes += len;
			pdus++;
			p += ISCSI_BHS_LEN + iscsi_pad4(len);
		}
		CHECK("odd pieces: 16 PDUs, in order, every byte right",
		      ok && p == got && bytes == 256 * 512 && pdus == 16);
	}

	/* Below ISCSI_ZEROCOPY_MIN the copy path is cheaper. */
	read10(h, 0, 8, 8, 4096, &s);
	CHECK("4 KiB read: copied",
	      s.bytes == 4096 && h->file_bytes == 0 &&
		      !memcmp(s.data, pattern + 4096, 4096));

	/* A memory unit (LUN 1) has no file: copied. */
	for (size_t i = 0; i < h->mem[1].size; i++)
		h->mem[1].data[i] = (uint8_t)(i * 5);
	read10(h, 1, 0, 256, 256 * 512, &s);
	CHECK("memory unit: copied, content",
	      s.bytes == 256 * 512 && h->file_bytes == 0 &&
		      !memcmp(s.data, h->mem[1].data, 256 * 512));
	teardown(h, &bf);

	/* DataDigest=CRC32C: the digest needs the bytes, so they are
	 * copied, and every digest matches. */
	rc = setup(h, &bf, 1,
		   "MaxRecvDataSegmentLength=65536|DataDigest=CRC32C");
	CHECK("digest: setup", rc == 0 && h->c.params.data_digest);
	read10(h, 0, 0, 1024, 1024 * 512, &s);
	CHECK("digest: copied, content and every digest right",
	      s.bytes == 1024 * 512 && h->file_bytes == 0 && !s.bad_digest &&
		      s.pdus == 8 && !memcmp(s.data, pattern, 1024 * 512) &&
		      s.status == 0);
	teardown(h, &bf);

	/* The driver can turn it off. */
	rc = setup(h, &bf, 0, "MaxRecvDataSegmentLength=262144");
	read10(h, 0, 0, 512, 512 * 512, &s);
	CHECK("zerocopy off: copied",
	      rc == 0 && s.bytes == 512 * 512 && h->file_bytes == 0 &&
		      !memcmp(s.data, pattern, 512 * 512));
	teardown(h, &bf);
	return unit_done();
}
