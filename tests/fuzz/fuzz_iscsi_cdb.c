/* libFuzzer target: a CDB (16 bytes), a LUN byte, then Data-Out, through
 * the SCSI command set on a memory LUN. */
#include "../unit/test_iscsi_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	static uint8_t buf[SCSI_MAX_XFER];
	uint8_t cdb[16] = { 0 };
	struct scsi_cmd cmd;
	struct scsi_lu *lu;
	unsigned lun;

	if (size < 17)
		return 0;
	memcpy(cdb, data, 16);
	lun = data[16] % 3;
	h_init(&h, NULL, NULL, NULL);
	lu = lun < 2 ? &h.lu[lun] : NULL;
	if (scsi_cmd_start(&h.tgt.map, lun, cdb, &h, "iqn.x,i,0x1", &cmd) ==
		    0 &&
	    cmd.status == SCSI_STATUS_GOOD) {
		if (cmd.xfer_len > SCSI_MAX_XFER)
			__builtin_trap();
		if (cmd.dir == SCSI_DIR_IN)
			scsi_cmd_read(lu, &cmd, 0, buf, cmd.xfer_len);
		if (cmd.dir == SCSI_DIR_OUT) {
			scsi_cmd_write(lu, &cmd, 0, data + 17,
				       (uint32_t)(size - 17));
			scsi_cmd_finish(lu, &cmd);
		} else if (cmd.dir == SCSI_DIR_NONE) {
			scsi_cmd_finish(lu, &cmd);
		}
	}
	scsi_cmd_release(&cmd);
	h_free(&h);
	return 0;
}
