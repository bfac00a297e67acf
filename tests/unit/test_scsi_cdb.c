/* Unit tests for the SCSI command set: every refusal with its sense data
 * (SPC-4 Annex D), the VPD pages initiators rely on, and media access. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "iscsi/backend.h"
#include "iscsi/scsi.h"
#include "unit.h"

static struct scsi_lu lu[2];
static struct scsi_lu *lus[2] = { &lu[0], &lu[1] };
static struct scsi_lun_map map = { lus, 2 };
static struct backend_mem mem[2];
static struct scsi_cmd cmd;
static const char *port = "iqn.a,i,0x000000000001";

/* Runs a CDB given as bytes on a LUN; returns the status. */
static int run(unsigned lun, const uint8_t *cdb)
{
	uint8_t full[16] = { 0 };

	memcpy(full, cdb, 16);
	scsi_cmd_release(&cmd);
	scsi_cmd_start(&map, lun, full, &map, port, &cmd);
	/* As the connection does: a command without Data-Out ends now. */
	if (cmd.status == SCSI_STATUS_GOOD && cmd.dir == SCSI_DIR_NONE)
		scsi_cmd_finish(lun < 2 ? &lu[lun] : NULL, &cmd);
	return cmd.status;
}

/* Tells whether the last command failed with key/asc/ascq. */
static int sense_is(uint8_t key, uint8_t asc, uint8_t ascq)
{
	return cmd.status == SCSI_STATUS_CHECK && cmd.sense_len == 18 &&
	       (cmd.sense[0] & 0x7f) == 0x70 && cmd.sense[2] == key &&
	       cmd.sense[12] == asc && cmd.sense[13] == ascq;
}

/* Finds a designator of the given type in VPD page 0x83. */
static const uint8_t *find_desig(const uint8_t *d, int type)
{
	size_t len = get_be16(d + 2) + 4u;

	for (size_t p = 4; p + 4 <= len; p += 4u + d[p + 3])
		if ((d[p + 1] & 0x0f) == type)
			return d + p;
	return NULL;
}

/* Feeds Data-Out in one piece and finishes. */
static void data_out(const uint8_t *buf, uint32_t len)
{
	scsi_cmd_write(&lu[0], &cmd, 0, buf, len);
	scsi_cmd_finish(&lu[0], &cmd);
}

int main(void)
{
	uint8_t buf[65536];
	const uint8_t *d;

	for (int i = 0; i < 2; i++) {
		mem[i].size = 4096 * 512;
		mem[i].data = calloc(1, mem[i].size);
		backend_mem_attach(&mem[i], &lu[i], i == 0);
		lu[i].id = 0x0123456789abcdefull + (uint64_t)i;
		lu[i].target = "iqn.2025-01.org.wupan:disk";
	}
	lu[1].ro = 1;

	CHECK("test unit ready", run(0, (uint8_t[16]){ 0x00 }) == 0);
	CHECK("invalid opcode",
	      run(0, (uint8_t[16]){ 0xc7 }) == 2 && sense_is(0x05, 0x20, 0x00));
	CHECK("no such LUN",
	      run(5, (uint8_t[16]){ 0x00 }) == 2 && sense_is(0x05, 0x25, 0x00));

	/* INQUIRY */
	run(0, (uint8_t[16]){ 0x12, 0, 0, 0, 255 });
	CHECK("inquiry standard", cmd.status == 0 && cmd.data[0] == 0 &&
					  cmd.data[2] == 6 &&
					  cmd.xfer_len == 74 &&
					  !memcmp(cmd.data + 8, "WUPAN   ", 8));
	run(0, (uint8_t[16]){ 0x12, 0, 0, 0, 36 });
	CHECK("inquiry allocation length", cmd.xfer_len == 36);
	run(7, (uint8_t[16]){ 0x12, 0, 0, 0, 36 });
	CHECK("inquiry absent LUN", cmd.status == 0 && cmd.data[0] == 0x7f);
	CHECK("inquiry page without EVPD",
	      run(0, (uint8_t[16]){ 0x12, 0, 0x80, 0, 255 }) == 2 &&
		      sense_is(0x05, 0x24, 0x00));
	run(0, (uint8_t[16]){ 0x12, 1, 0x00, 0, 255 });
	CHECK("vpd 00 lists pages",
	      cmd.status == 0 && cmd.data[3] == 6 && cmd.data[4] == 0x00 &&
		      cmd.data[6] == 0x83 && cmd.data[9] == 0xb2);
	run(0, (uint8_t[16]){ 0x12, 1, 0x80, 0, 255 });
	CHECK("vpd 80 serial",
	      cmd.status == 0 && cmd.data[3] == 16 &&
		      !memcmp(cmd.data + 4, "0123456789abcdef", 16));
	run(0, (uint8_t[16]){ 0x12, 1, 0x83, 0, 255 });
	d = find_desig(cmd.data, 3);
	CHECK("vpd 83 NAA",
	      d && d[3] == 8 && (d[4] >> 4) == 3 && (d[1] & 0x30) == 0);
	{
		uint8_t naa0[8];

		memcpy(naa0, d + 4, 8);
		run(1, (uint8_t[16]){ 0x12, 1, 0x83, 0, 255 });
		d = find_desig(cmd.data, 3);
		CHECK("vpd 83 NAA unique per LUN", d && memcmp(naa0, d + 4, 8));
	}
	CHECK("vpd 83 target name", find_desig(cmd.data, 8) != NULL);
	run(0, (uint8_t[16]){ 0x12, 1, 0xb0, 0, 255 });
	CHECK("vpd b0 limits", cmd.status == 0 &&
				       get_be32(cmd.data + 8) == 32768 &&
				       get_be32(cmd.data + 20) > 0);
	run(0, (uint8_t[16]){ 0x12, 1, 0xb2, 0, 255 });
	CHECK("vpd b2 thin",
	      cmd.status == 0 && (cmd.data[5] & 0x80) && cmd.data[6] == 2);
	run(1, (uint8_t[16]){ 0x12, 1, 0xb2, 0, 255 });
	CHECK("vpd b2 thick", cmd.status == 0 && cmd.data[5] == 0);
	CHECK("vpd unknown",
	      run(0, (uint8_t[16]){ 0x12, 1, 0xc5, 0, 255 }) == 2 &&
		      sense_is(0x05, 0x24, 0x00));

	/* Capacity and LUNs. */
	run(0, (uint8_t[16]){ 0x25 });
	CHECK("read capacity 10", cmd.xfer_len == 8 &&
					  get_be32(cmd.data) == 4095 &&
					  get_be32(cmd.data + 4) == 512);
	run(0,
	    (uint8_t[16]){ 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 });
	CHECK("read capacity 16", cmd.xfer_len == 32 &&
					  get_be64(cmd.data) == 4095 &&
					  (cmd.data[14] & 0xc0) == 0xc0);
	run(0, (uint8_t[16]){ 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0 });
	CHECK("report luns", cmd.status == 0 && get_be32(cmd.data) == 16 &&
				     cmd.data[8 + 8 + 1] == 1);
	CHECK("report luns short allocation",
	      run(0, (uint8_t[16]){ 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8 }) == 2 &&
		      sense_is(0x05, 0x24, 0x00));
	run(9, (uint8_t[16]){ 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0 });
	CHECK("report luns from absent LUN", cmd.status == 0);

	/* Media. */
	CHECK("read 10",
	      run(0, (uint8_t[16]){ 0x28, 0, 0, 0, 0x0f, 0xff, 0, 0, 1 }) ==
			      0 &&
		      cmd.kind == SCSI_K_READ && cmd.xfer_len == 512);
	CHECK("read past end", run(0, (uint8_t[16]){ 0x28, 0, 0, 0, 0x0f, 0xff,
						     0, 0, 2 }) == 2 &&
				       sense_is(0x05, 0x21, 0x00));
	CHECK("read 16 huge lba",
	      run(0, (uint8_t[16]){ 0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				    0xff, 0xff, 0, 0, 0, 1 }) == 2 &&
		      sense_is(0x05, 0x21, 0x00));
	CHECK("read 6 zero is 256",
	      run(0, (uint8_t[16]){ 0x08, 0, 0, 0, 0 }) == 0 &&
		      cmd.blocks == 256);
	CHECK("read 12 zero blocks",
	      run(0, (uint8_t[16]){ 0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 0 }) == 0 &&
		      cmd.xfer_len == 0);
	CHECK("read protect refused",
	      run(0, (uint8_t[16]){ 0x28, 0x20, 0, 0, 0, 0, 0, 0, 1 }) == 2 &&
		      sense_is(0x05, 0x24, 0x00));
	CHECK("read too long",
	      run(0, (uint8_t[16]){ 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0,
				    0 }) == 2);
	mem[0].data[512 * 3] = 0x5a;
	run(0, (uint8_t[16]){ 0x28, 0, 0, 0, 0, 3, 0, 0, 1 });
	CHECK("read data",
	      scsi_cmd_read(&lu[0], &cmd, 0, buf, 512) == 0 && buf[0] == 0x5a);
	CHECK("read beyond transfer",
	      scsi_cmd_read(&lu[0], &cmd, 256, buf, 512) == -EINVAL);
	mem[0].fail = 1;
	CHECK("read medium error",
	      scsi_cmd_read(&lu[0], &cmd, 0, buf, 512) == -EIO &&
		      sense_is(0x03, 0x11, 0x00));
	mem[0].fail = 0;
	CHECK("write read-only",
	      run(1, (uint8_t[16]){ 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 }) == 2 &&
		      sense_is(0x07, 0x27, 0x00));
	CHECK("write same read-only",
	      run(1, (uint8_t[16]){ 0x41, 0, 0, 0, 0, 0, 0, 0, 1 }) == 2 &&
		      sense_is(0x07, 0x27, 0x00));
	mem[0].syncs = 0;
	run(0, (uint8_t[16]){ 0x2a, 0x08, 0, 0, 0, 8, 0, 0, 2 });
	memset(buf, 0x11, 1024);
	data_out(buf, 1024);
	CHECK("write FUA", cmd.status == 0 && mem[0].syncs == 1 &&
				   mem[0].data[8 * 512] == 0x11 &&
				   mem[0].data[10 * 512] == 0);
	run(0, (uint8_t[16]){ 0x2a, 0, 0, 0, 0, 8, 0, 0, 1 });
	mem[0].fail = 1;
	data_out(buf, 512);
	CHECK("write medium error", sense_is(0x03, 0x0c, 0x00));
	mem[0].fail = 0;
	CHECK("sync cache",
	      run(0, (uint8_t[16]){ 0x35 }) == 0 && mem[0].syncs == 2);
	CHECK("sync cache range",
	      run(0, (uint8_t[16]){ 0x91, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0,
				    1 }) == 2 &&
		      sense_is(0x05, 0x21, 0x00));
	/* VERIFY with BYTCHK compares. */
	run(0, (uint8_t[16]){ 0x2f, 0x02, 0, 0, 0, 8, 0, 0, 1 });
	data_out(buf, 512);
	CHECK("verify match", cmd.status == 0);
	run(0, (uint8_t[16]){ 0x2f, 0x02, 0, 0, 0, 8, 0, 0, 1 });
	buf[100] = 0;
	data_out(buf, 512);
	CHECK("verify miscompare",
	      sense_is(0x0e, 0x1d, 0x00) && get_be32(cmd.sense + 3) == 100);
	CHECK("verify no bytchk",
	      run(0, (uint8_t[16]){ 0x2f, 0, 0, 0, 0, 8, 0, 0, 1 }) == 0 &&
		      cmd.dir == SCSI_DIR_NONE);
	/* WRITE SAME and UNMAP. */
	run(0, (uint8_t[16]){ 0x41, 0, 0, 0, 0, 20, 0, 0, 3 });
	memset(buf, 0x77, 512);
	data_out(buf, 512);
	CHECK("write same", cmd.status == 0 && mem[0].data[20 * 512] == 0x77 &&
				    mem[0].data[23 * 512 - 1] == 0x77 &&
				    mem[0].data[23 * 512] == 0);
	run(0, (uint8_t[16]){ 0x41, 0x08, 0, 0, 0, 20, 0, 0, 1 });
	data_out(buf, 512);
	CHECK("write same unmap", cmd.status == 0 &&
					  mem[0].data[20 * 512] == 0 &&
					  mem[0].data[21 * 512] == 0x77);
	CHECK("unmap read-only",
	      run(1, (uint8_t[16]){ 0x42, 0, 0, 0, 0, 0, 0, 0, 24 }) == 2);
	{
		uint8_t pl[24] = { 0, 22, 0, 16 };

		put_be64(pl + 8, 21);
		put_be32(pl + 16, 2);
		run(0, (uint8_t[16]){ 0x42, 0, 0, 0, 0, 0, 0, 0, 24 });
		data_out(pl, 24);
		CHECK("unmap", cmd.status == 0 && mem[0].data[21 * 512] == 0 &&
				       mem[0].data[22 * 512] == 0);
		put_be64(pl + 8, 4095);
		run(0, (uint8_t[16]){ 0x42, 0, 0, 0, 0, 0, 0, 0, 24 });
		data_out(pl, 24);
		CHECK("unmap out of range", sense_is(0x05, 0x21, 0x00));
		run(0, (uint8_t[16]){ 0x42, 0, 0, 0, 0, 0, 0, 0, 24 });
		pl[3] = 15;
		data_out(pl, 24);
		CHECK("unmap bad descriptor length",
		      sense_is(0x05, 0x1a, 0x00));
	}
	/* COMPARE AND WRITE */
	{
		uint8_t caw[16] = {
			0x89, 0, 0, 0, 0, 0, 0, 0, 0, 30, 0, 0, 0, 1
		};
		uint8_t two[1024];

		memset(mem[0].data + 30 * 512, 0x61, 512);
		memset(two, 0x61, 512);
		memset(two + 512, 0x62, 512);
		run(0, caw);
		CHECK("caw setup", cmd.status == 0 && cmd.xfer_len == 1024);
		data_out(two, 1024);
		CHECK("caw match writes",
		      cmd.status == 0 && mem[0].data[30 * 512] == 0x62);
		run(0, caw);
		data_out(two, 1024);
		CHECK("caw miscompare", sense_is(0x0e, 0x1d, 0x00) &&
						get_be32(cmd.sense + 3) == 0 &&
						mem[0].data[30 * 512] == 0x62);
		caw[13] = SCSI_MAX_CAW + 1;
		CHECK("caw too long",
		      run(0, caw) == 2 && sense_is(0x05, 0x24, 0x00));
		caw[13] = 1;
		CHECK("caw read-only",
		      run(1, caw) == 2 && sense_is(0x07, 0x27, 0x00));
	}
	/* MODE SENSE */
	run(0, (uint8_t[16]){ 0x1a, 0, 0x08, 0, 255 });
	CHECK("mode sense caching WCE", cmd.status == 0 && cmd.data[3] == 8 &&
						cmd.data[12] == 0x08 &&
						(cmd.data[14] & 0x04));
	run(1, (uint8_t[16]){ 0x1a, 0x08, 0x3f, 0, 255 });
	CHECK("mode sense all pages, WP",
	      cmd.status == 0 && (cmd.data[2] & 0x80) && cmd.data[3] == 0 &&
		      cmd.data[0] + 1 == 4 + 20 + 12 + 12);
	run(0, (uint8_t[16]){ 0x5a, 0, 0x0a, 0, 0, 0, 0, 0, 255 });
	CHECK("mode sense 10 control", cmd.status == 0 &&
					       get_be16(cmd.data + 6) == 8 &&
					       cmd.data[16] == 0x0a);
	CHECK("mode sense saved",
	      run(0, (uint8_t[16]){ 0x1a, 0, 0xc8, 0, 255 }) == 2 &&
		      sense_is(0x05, 0x39, 0x00));
	CHECK("mode sense bad page",
	      run(0, (uint8_t[16]){ 0x1a, 0, 0x19, 0, 255 }) == 2 &&
		      sense_is(0x05, 0x24, 0x00));
	CHECK("mode sense bad subpage",
	      run(0, (uint8_t[16]){ 0x1a, 0, 0x08, 1, 255 }) == 2);
	/* The rest. */
	run(0, (uint8_t[16]){ 0x03, 0, 0, 0, 18 });
	CHECK("request sense",
	      cmd.status == 0 && cmd.data[0] == 0x70 && cmd.data[2] == 0);
	CHECK("start stop", run(0, (uint8_t[16]){ 0x1b, 0, 0, 0, 1 }) == 0);
	CHECK("prevent",
	      run(0, (uint8_t[16]){ 0x1e, 0, 0, 0, 1 }) == 0 && lu[0].prevent);
	CHECK("eject prevented",
	      run(0, (uint8_t[16]){ 0x1b, 0, 0, 0, 2 }) == 2 &&
		      sense_is(0x05, 0x53, 0x02));
	scsi_lu_reset(&lu[0]);
	CHECK("reset clears prevent", !lu[0].prevent);
	run(0, (uint8_t[16]){ 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0 });
	CHECK("report opcodes", cmd.status == 0 &&
					get_be32(cmd.data) % 8 == 0 &&
					get_be32(cmd.data) >= 8 * 30);
	run(0, (uint8_t[16]){ 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 0x10, 0 });
	CHECK("report one opcode", cmd.status == 0 && (cmd.data[1] & 7) == 3 &&
					   get_be16(cmd.data + 2) == 10 &&
					   cmd.data[4] == 0x28);
	CHECK("prefetch",
	      run(0, (uint8_t[16]){ 0x34, 0, 0, 0, 0, 0, 0, 0, 8 }) == 0);
	/* Reservations. */
	{
		struct scsi_lun_map *other = &map + 1;

		run(0, (uint8_t[16]){ 0x16 });
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0, (uint8_t[16]){ 0x00 }, other,
			       "iqn.other,i,0x1", &cmd);
		CHECK("reservation conflict", cmd.status == 0x18);
		scsi_lu_nexus_gone(&lu[0], &map);
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0, (uint8_t[16]){ 0x00 }, other,
			       "iqn.other,i,0x1", &cmd);
		CHECK("reservation gone with nexus", cmd.status == 0);
	}
	/* Persistent reservations: register, reserve, conflicts, preempt. */
	{
		const char *a = port, *b = "iqn.b,i,0x000000000002";
		uint8_t pl[24] = { 0 };
		uint8_t out10[16] = { 0x5f, 0, 0, 0, 0, 0, 0, 0, 24 };
		uint8_t in10[16] = { 0x5e, 0, 0, 0, 0, 0, 0, 0x10, 0 };

#define PR_OUT(who, sa, type, key, sakey)                        \
	do {                                                     \
		out10[1] = (sa);                                 \
		out10[2] = (type);                               \
		put_be64(pl, key);                               \
		put_be64(pl + 8, sakey);                         \
		scsi_cmd_release(&cmd);                          \
		scsi_cmd_start(&map, 0, out10, &map, who, &cmd); \
		if (cmd.status == 0)                             \
			data_out(pl, 24);                        \
	} while (0)

		PR_OUT(a, 0, 0, 0, 0xaa);
		CHECK("pr register", cmd.status == 0 && lu[0].pr.n == 1);
		PR_OUT(b, 0, 0, 5, 0xbb);
		CHECK("pr register with a key is a conflict",
		      cmd.status == 0x18);
		PR_OUT(b, 0, 0, 0, 0xbb);
		in10[1] = 0;
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0, in10, &map, a, &cmd);
		CHECK("pr read keys", cmd.status == 0 &&
					      get_be32(cmd.data + 4) == 16 &&
					      get_be64(cmd.data + 8) == 0xaa);
		PR_OUT(a, 1, 1, 0xaa, 0);
		CHECK("pr reserve write exclusive",
		      cmd.status == 0 && lu[0].pr.held);
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0,
			       (uint8_t[16]){ 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 },
			       &map, b, &cmd);
		CHECK("pr write by other conflicts", cmd.status == 0x18);
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0,
			       (uint8_t[16]){ 0x28, 0, 0, 0, 0, 0, 0, 0, 1 },
			       &map, b, &cmd);
		CHECK("pr read by other allowed", cmd.status == 0);
		PR_OUT(b, 1, 1, 0xbb, 0);
		CHECK("pr second reserve conflicts", cmd.status == 0x18);
		PR_OUT(a, 2, 3, 0xaa, 0);
		CHECK("pr release with wrong type", sense_is(0x05, 0x26, 0x04));
		PR_OUT(b, 4, 3, 0xbb, 0xaa);
		CHECK("pr preempt", cmd.status == 0 && lu[0].pr.n == 1 &&
					    !strcmp(lu[0].pr.holder, b) &&
					    lu[0].pr.type == 3);
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0,
			       (uint8_t[16]){ 0x28, 0, 0, 0, 0, 0, 0, 0, 1 },
			       &map, a, &cmd);
		CHECK("pr exclusive access blocks reads", cmd.status == 0x18);
		in10[1] = 1;
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0, in10, &map, a, &cmd);
		CHECK("pr read reservation",
		      cmd.status == 0 && get_be64(cmd.data + 8) == 0xbb &&
			      cmd.data[21] == 3);
		PR_OUT(b, 3, 0, 0xbb, 0);
		CHECK("pr clear",
		      cmd.status == 0 && lu[0].pr.n == 0 && !lu[0].pr.held);
		out10[8] = 23;
		scsi_cmd_release(&cmd);
		scsi_cmd_start(&map, 0, out10, &map, a, &cmd);
		CHECK("pr parameter list length", sense_is(0x05, 0x1a, 0x00));
	}
	scsi_cmd_release(&cmd);
	free(mem[0].data);
	free(mem[1].data);
	return unit_done();
}
