/* Unit tests for iSCSI text key parsing and building. */
#include <errno.h>
#include <string.h>

#include "iscsi/text.h"
#include "unit.h"

#define T(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

int main(void)
{
	struct iscsi_kv kv[4];
	uint8_t big[ISCSI_VALUE_MAX + 32], out_buf[24];
	struct iscsi_text_out out = { out_buf, 0, sizeof(out_buf), 0 };
	char val[8];
	size_t n = 99;

	CHECK("two pairs", iscsi_text_parse(T("A=1\0B=xy\0"), kv, 4, &n) == 0 &&
				   n == 2 && iscsi_kv_is(&kv[1], "B") &&
				   iscsi_kv_val_is(&kv[1], "xy"));
	CHECK("empty input", iscsi_text_parse(T(""), kv, 4, &n) == 0 && n == 0);
	CHECK("last without NUL",
	      iscsi_text_parse(T("A=1\0B=2"), kv, 4, &n) == 0 && n == 2 &&
		      iscsi_kv_val_is(&kv[1], "2"));
	CHECK("padding NULs skipped",
	      iscsi_text_parse(T("A=1\0\0\0"), kv, 4, &n) == 0 && n == 1);
	CHECK("empty value",
	      iscsi_text_parse(T("SendTargets=\0"), kv, 4, &n) == 0 && n == 1 &&
		      kv[0].val_len == 0);
	CHECK("no equals", iscsi_text_parse(T("A\0"), kv, 4, &n) == -EINVAL);
	CHECK("empty key", iscsi_text_parse(T("=1\0"), kv, 4, &n) == -EINVAL);
	CHECK("bad key char",
	      iscsi_text_parse(T("A B=1\0"), kv, 4, &n) == -EINVAL);
	CHECK("too many", iscsi_text_parse(T("A=1\0B=1\0C=1\0D=1\0E=1\0"), kv,
					   4, &n) == -E2BIG);
	memset(big, 'k', 64);
	big[64] = '=';
	CHECK("key too long", iscsi_text_parse(big, 66, kv, 4, &n) == -ERANGE);
	memset(big, 'v', sizeof(big));
	big[0] = 'K';
	big[1] = '=';
	CHECK("value at limit",
	      iscsi_text_parse(big, 2 + ISCSI_VALUE_MAX, kv, 4, &n) == 0);
	CHECK("value too long",
	      iscsi_text_parse(big, 3 + ISCSI_VALUE_MAX, kv, 4, &n) == -ERANGE);
	iscsi_text_parse(T("Name=abc\0"), kv, 4, &n);
	CHECK("find", iscsi_text_find(kv, n, "Name") == &kv[0] &&
			      !iscsi_text_find(kv, n, "Nam"));
	CHECK("copy", iscsi_kv_val_copy(&kv[0], val, sizeof(val)) == 0 &&
			      strcmp(val, "abc") == 0);
	CHECK("copy too small", iscsi_kv_val_copy(&kv[0], val, 3) == -ERANGE);
	iscsi_text_add(&out, "A", "1");
	iscsi_text_add_u32(&out, "B", 42);
	CHECK("build", out.len == 9 && memcmp(out_buf, "A=1\0B=42\0", 9) == 0);
	iscsi_text_add(&out, "Long", "0123456789abcdef");
	CHECK("build overflow flagged", out.overflow && out.len == 9);
	return unit_done();
}
