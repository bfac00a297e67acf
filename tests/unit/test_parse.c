/* Unit tests for src/common/parse.c. */
#include "common/parse.h"
#include "unit.h"

#include <errno.h>

int main(void)
{
	uint64_t v = 0;

	CHECK("plain", parse_u64("1432", 8, 65464, &v) == 0 && v == 1432);
	CHECK("leading zeros", parse_u64("007", 0, 10, &v) == 0 && v == 7);
	CHECK("empty", parse_u64("", 0, 10, &v) == -EINVAL);
	CHECK("sign", parse_u64("-1", 0, 10, &v) == -EINVAL);
	CHECK("plus", parse_u64("+1", 0, 10, &v) == -EINVAL);
	CHECK("space", parse_u64(" 1", 0, 10, &v) == -EINVAL);
	CHECK("junk", parse_u64("12a", 0, 100, &v) == -EINVAL);
	CHECK("below", parse_u64("7", 8, 65464, &v) == -ERANGE);
	CHECK("above", parse_u64("65465", 8, 65464, &v) == -ERANGE);
	CHECK("u64 max",
	      parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0 &&
		      v == UINT64_MAX);
	CHECK("u64 overflow",
	      parse_u64("18446744073709551616", 0, UINT64_MAX, &v) == -ERANGE);
	CHECK("counted",
	      parse_u64_n("123456", 3, 0, 1000, &v) == 0 && v == 123);
	return unit_done();
}
