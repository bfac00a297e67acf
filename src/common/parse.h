/* Bounded number parsing with strtonum(3) semantics: reject, never clamp. */
#ifndef WUPAN_COMMON_PARSE_H
#define WUPAN_COMMON_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses a whole decimal string into [min, max].  Returns 0 and sets *out, or
 * -EINVAL (empty, sign, junk) or -ERANGE (out of range).  Leading zeros are
 * accepted; whitespace is not.
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Like parse_u64 for a counted, not NUL-terminated string. */
int parse_u64_n(const char *s, size_t len, uint64_t min, uint64_t max,
		uint64_t *out);

#endif
