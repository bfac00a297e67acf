/* A tiny unit-test harness: one CHECK line per named case, and a closing
 * "N passed, N failed" line that tests/run-suites.sh sums. */
#ifndef WUPAN_TESTS_UNIT_H
#define WUPAN_TESTS_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(name, cond)                                                  \
	do {                                                               \
		if (cond) {                                                \
			unit_passed++;                                     \
		} else {                                                   \
			unit_failed++;                                     \
			printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, \
			       (name), #cond);                             \
		}                                                          \
	} while (0)

/* Prints the closing line; returns the process exit status. */
static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
