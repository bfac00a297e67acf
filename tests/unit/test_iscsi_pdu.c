/* Unit tests for the iSCSI PDU framing helpers and CRC32C digests. */
#include <errno.h>

#include "common/bytes.h"
#include "iscsi/crc32c.h"
#include "iscsi/pdu.h"
#include "unit.h"

int main(void)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 }, lun[8], zero[32] = { 0 };
	struct iscsi_pdu_lens l;

	iscsi_pdu_init(bhs, ISCSI_OP_SCSI_CMD, 0x80, 5);
	CHECK("init opcode", iscsi_pdu_opcode(bhs) == ISCSI_OP_SCSI_CMD);
	CHECK("init length", get_be24(bhs + 5) == 5);
	CHECK("lens padded",
	      iscsi_pdu_lens_parse(bhs, 0, 8192, 0, 0, &l) == 0 &&
		      l.data_len == 5 && l.total == 48 + 8);
	CHECK("lens digests",
	      iscsi_pdu_lens_parse(bhs, 0, 8192, 1, 1, &l) == 0 &&
		      l.total == 48 + 4 + 8 + 4);
	bhs[4] = 2;
	CHECK("lens ahs",
	      iscsi_pdu_lens_parse(bhs, 1020, 8192, 0, 0, &l) == 0 &&
		      l.ahs_len == 8 && l.total == 48 + 8 + 8);
	CHECK("ahs too long",
	      iscsi_pdu_lens_parse(bhs, 4, 8192, 0, 0, &l) == -EMSGSIZE);
	bhs[4] = 0;
	put_be24(bhs + 5, 8193);
	CHECK("data too long",
	      iscsi_pdu_lens_parse(bhs, 0, 8192, 0, 0, &l) == -EMSGSIZE);
	put_be24(bhs + 5, 0);
	CHECK("no data no digest",
	      iscsi_pdu_lens_parse(bhs, 0, 8192, 0, 1, &l) == 0 &&
		      l.total == 48);

	iscsi_lun_build(lun, 0);
	CHECK("lun 0", iscsi_lun_parse(lun) == 0);
	iscsi_lun_build(lun, 5);
	CHECK("lun 5 peripheral",
	      lun[0] == 0 && lun[1] == 5 && iscsi_lun_parse(lun) == 5);
	iscsi_lun_build(lun, 300);
	CHECK("lun 300 flat",
	      (lun[0] >> 6) == 1 && iscsi_lun_parse(lun) == 300);
	lun[3] = 1;
	CHECK("lun second level", iscsi_lun_parse(lun) == -1);
	iscsi_lun_build(lun, 0);
	lun[0] = 0x80;
	CHECK("lun logical unit addressing", iscsi_lun_parse(lun) == -1);
	lun[0] = 0x01;
	CHECK("lun bus nonzero", iscsi_lun_parse(lun) == -1);

	CHECK("sn lt", iscsi_sn_lt(1, 2));
	CHECK("sn lt wrap", iscsi_sn_lt(0xfffffff0u, 3));
	CHECK("sn not lt equal", !iscsi_sn_lt(5, 5));
	CHECK("sn not lt", !iscsi_sn_lt(3, 0xfffffff0u));

	/* RFC 3720 Appendix B.4 and the usual check value. */
	CHECK("crc32c check value", crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK("crc32c 32 zeros", crc32c(0, zero, 32) == 0x8a9136aau);
	CHECK("crc32c chained",
	      crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u);
	return unit_done();
}
