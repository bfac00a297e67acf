/* CHAP for iSCSI (RFC 7143 §12.1.3, RFC 1994): algorithm choice, response
 * computation and the 0x/0b binary encodings of CHAP_C and CHAP_R. */
#ifndef WUPAN_ISCSI_CHAP_H
#define WUPAN_ISCSI_CHAP_H

#include <stddef.h>
#include <stdint.h>

#define CHAP_ALG_MD5 5
#define CHAP_ALG_SHA256 7
#define CHAP_DIGEST_MAX 32
#define CHAP_CHALLENGE_MIN 16 /* shorter challenges are too weak to accept */
#define CHAP_CHALLENGE_MAX 1024 /* RFC 7143 §12.1.3 allows up to 1024 bytes */

/* Digest length of a CHAP algorithm, or 0 if unsupported. */
size_t chap_digest_len(int alg);

/* Chooses from a CHAP_A list: SHA-256 if offered, else MD5, else -1. */
int chap_pick_alg(const char *list, size_t len);

/* out = H(id || secret || challenge) for the algorithm alg. */
void chap_response(int alg, uint8_t id, const char *secret, size_t secret_len,
		   const uint8_t *chal, size_t chal_len, uint8_t *out);

/* Decodes a 0x-hex or 0b-base64 value into out[max]; returns the number of
 * bytes or -EINVAL for bad syntax, -ERANGE if it does not fit. */
int chap_decode(const char *s, size_t len, uint8_t *out, size_t max);

/* Writes "0x" and lowercase hex of in into out[cap] with a NUL; returns the
 * string length, or -ERANGE if cap is too small. */
int chap_encode_hex(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
