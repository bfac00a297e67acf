/* MD5 (RFC 1321) and SHA-256 (FIPS 180-4) for CHAP, one-shot over a list of
 * buffers, plus the constant-time compare CHAP responses need. */
#ifndef WUPAN_ISCSI_HASH_H
#define WUPAN_ISCSI_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MD5_LEN 16
#define SHA256_LEN 32

/* One piece of a message to hash. */
struct hash_part {
	const void *buf;
	size_t len;
};

/* Writes the MD5 of the concatenated parts into out[16]. */
void md5_parts(const struct hash_part *parts, size_t n, uint8_t *out);

/* Writes the SHA-256 of the concatenated parts into out[32]. */
void sha256_parts(const struct hash_part *parts, size_t n, uint8_t *out);

/* Returns 1 if a and b are equal, in time that depends only on len. */
int hash_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
