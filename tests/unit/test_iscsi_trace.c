/* Unit tests for wupan-target's command trace (trace.c): CDB decoding, and
 * one command through the hook into the file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "iscsi/conn.h"
#include "iscsi/pdu.h"
#include "iscsi/trace.h"
#include "unit.h"

/* Decodes cdb (given in hex) and checks name, LBA and blocks. */
static int cdb_is(const char *hex, const char *name, int has_lba, uint64_t lba,
		  uint32_t blocks)
{
	uint8_t cdb[16] = { 0 };
	struct iscsi_trace_cdb d;

	for (size_t i = 0; hex[2 * i] && i < 16; i++)
		sscanf(hex + 2 * i, "%2hhx", &cdb[i]);
	iscsi_trace_cdb_parse(cdb, &d);
	if (!name)
		return d.name == NULL;
	return d.name && strcmp(d.name, name) == 0 && d.has_lba == has_lba &&
	       d.lba == lba && d.blocks == blocks;
}

int main(void)
{
	char path[] = "/tmp/test_iscsi_trace.XXXXXX", err[256], text[1024];
	static struct iscsi_conn c;
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 }, rsp[ISCSI_BHS_LEN] = { 0 };
	FILE *f;
	size_t n;
	int fd;

	CHECK("read 6 of 0 is 256",
	      cdb_is("0801020300", "READ_6", 1, 0x10203, 256));
	CHECK("write 6", cdb_is("0a1f00010400", "WRITE_6", 1, 0x1f0001, 4));
	CHECK("read 10",
	      cdb_is("28000000100000080000", "READ_10", 1, 4096, 2048));
	CHECK("write 12",
	      cdb_is("aa00000001000000000900", "WRITE_12", 1, 256, 9));
	CHECK("read 16", cdb_is("8800000000010000000000000020", "READ_16", 1,
				1ull << 32, 32));
	CHECK("compare and write counts byte 13",
	      cdb_is("89000000000000000005000000020000", "COMPARE_AND_WRITE", 1,
		     5, 2));
	CHECK("sync cache 10",
	      cdb_is("35000000000000000000", "SYNC_CACHE_10", 1, 0, 0));
	CHECK("read capacity 16", cdb_is("9e100000000000000000000000200000",
					 "READ_CAPACITY_16", 0, 0, 0));
	CHECK("inquiry has no range",
	      cdb_is("120000006000", "INQUIRY", 0, 0, 0));
	CHECK("unknown opcode", cdb_is("c0", NULL, 0, 0, 0));

	fd = mkstemp(path);
	CHECK("temp file", fd >= 0);
	close(fd);
	CHECK("open", iscsi_trace_open(path, err, sizeof(err)) == 0);
	strcpy(c.port, "iqn.2026-01.test:a b,i,0x400027230001");
	/* READ(10) of 8 blocks at 100, task tag 7, LUN 1. */
	bhs[0] = ISCSI_OP_SCSI_CMD;
	bhs[1] = ISCSI_FLAG_FINAL | ISCSI_CMD_READ;
	iscsi_lun_build(bhs + 8, 1);
	put_be32(bhs + 16, 7);
	put_be32(bhs + 20, 4096);
	memcpy(bhs + 32, "\x28\x00\x00\x00\x00\x64\x00\x00\x08\x00", 10);
	iscsi_trace_pdu(&c, bhs);
	/* Another tag's status, then this one's, in the last Data-In. */
	rsp[0] = ISCSI_OP_SCSI_RSP;
	put_be32(rsp + 16, 8);
	iscsi_trace_pdu(&c, rsp);
	rsp[0] = ISCSI_OP_DATA_IN;
	rsp[1] = ISCSI_FLAG_FINAL | ISCSI_DATAIN_STATUS;
	put_be32(rsp + 16, 7);
	iscsi_trace_pdu(&c, rsp);
	/* A command left without status is forgotten with its connection. */
	put_be32(bhs + 16, 9);
	iscsi_trace_pdu(&c, bhs);
	iscsi_trace_forget(&c);
	put_be32(rsp + 16, 9);
	iscsi_trace_pdu(&c, rsp);
	iscsi_trace_close();
	f = fopen(path, "r");
	n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[n] = 0;
	if (f)
		fclose(f);
	unlink(path);
	{
		char *line = strchr(text, '\n');
		unsigned long long t, lat;
		char rest[512];

		CHECK("header",
		      strncmp(text, "# wupan-target trace 1: ", 24) == 0);
		CHECK("one line", line && strchr(line + 1, '\n') &&
					  *(strchr(line + 1, '\n') + 1) == 0);
		CHECK("fields",
		      line &&
			      sscanf(line + 1,
				     "%llu iqn.2026-01.test:a\\x20b,i,"
				     "0x400027230001 1 READ_10 100 8 r "
				     "4096 %llu GOOD %511s",
				     &t, &lat, rest) == 3 &&
			      strcmp(rest, "28000000006400000800") == 0);
	}
	return unit_done();
}
