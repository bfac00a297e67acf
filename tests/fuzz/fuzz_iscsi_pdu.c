/* libFuzzer target: arbitrary bytes on a logged-in connection (full feature
 * phase), fed in two pieces to exercise reassembly.  The first byte picks
 * where to split and, with its top bit, Linux's parameters (immediate and
 * unsolicited data) instead of iPXE's. */
#include "../unit/test_iscsi_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	size_t split = size ? (data[0] & 0x7f) % (size + 1) : 0;
	int linux_style = size && (data[0] & 0x80);
	ssize_t used;

	h_init(&h, NULL, NULL, NULL);
	/* A harness that cannot log in would make every input a no-op. */
	if (h_login_plain(
		    &h,
		    linux_style
			    ? "InitialR2T=No|ImmediateData=Yes|"
			      "FirstBurstLength=65536|MaxBurstLength=262144|"
			      "MaxRecvDataSegmentLength=262144"
			    : H_IPXE_OPS) != 0)
		__builtin_trap();
	{
		/* The driver offers unconsumed bytes again with more. */
		used = iscsi_conn_rx(&h.c, data, split);
		if (used >= 0)
			iscsi_conn_rx(&h.c, data + used, size - (size_t)used);
		while (h_recv(&h) >= 0)
			;
	}
	h_free(&h);
	return 0;
}
