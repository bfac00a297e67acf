/* libFuzzer target: arbitrary bytes as the first PDUs of a connection to a
 * target with mutual CHAP configured. */
#include "../unit/test_iscsi_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;

	h_init(&h, size && data[0] & 1 ? "Initiator-Sec1" : NULL,
	       size && data[0] & 1 ? "Target-Secret2" : NULL,
	       size && data[0] & 2 ? "iqn.2025-01.*" : NULL);
	if (size)
		iscsi_conn_rx(&h.c, data + 1, size - 1);
	while (h_recv(&h) >= 0)
		;
	h_free(&h);
	return 0;
}
