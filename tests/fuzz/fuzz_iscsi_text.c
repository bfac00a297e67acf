/* libFuzzer target: text key parsing and operational negotiation. */
#include "../unit/test_iscsi_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	struct iscsi_kv kv[ISCSI_TEXT_MAX_PAIRS];
	uint8_t outbuf[8192];
	struct iscsi_text_out out = { outbuf, 0, sizeof(outbuf), 0 };
	size_t n;

	h_init(&h, NULL, NULL, NULL);
	if (iscsi_text_parse(data, size, kv, ISCSI_TEXT_MAX_PAIRS, &n) == 0)
		for (size_t i = 0; i < n; i++)
			iscsi_negotiate_key(&h.c, &kv[i], &out);
	if (h.c.params.max_xmit < 512 || out.len > out.cap)
		__builtin_trap();
	h_free(&h);
	return 0;
}
