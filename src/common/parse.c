/* Bounded number parsing: see parse.h. */
#include "common/parse.h"

#include <errno.h>
#include <string.h>

int parse_u64_n(const char *s, size_t len, uint64_t min, uint64_t max,
		uint64_t *out)
{
	uint64_t v = 0;
	int overflow = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			v = v * 10 + d;
	}
	if (overflow || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_u64_n(s, strlen(s), min, max, out);
}
