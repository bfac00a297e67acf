/* iSCSI text keys (RFC 7143 §6): key=value pairs separated by NUL bytes, as
 * carried by Login and Text PDUs. */
#ifndef WUPAN_ISCSI_TEXT_H
#define WUPAN_ISCSI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define ISCSI_KEY_MAX 63 /* RFC 7143 §6.1 */
#define ISCSI_VALUE_MAX 8192 /* longest value we accept (CHAP_C, CHAP_R) */
#define ISCSI_TEXT_MAX_PAIRS 64

/* One key=value pair pointing into the received buffer (not terminated). */
struct iscsi_kv {
	const char *key;
	size_t key_len;
	const char *val;
	size_t val_len;
};

/* A growing key=value output list bounded by cap. */
struct iscsi_text_out {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int overflow;
};

/*
 * Splits buf into pairs.  Empty strings between NULs are skipped; the last
 * pair may lack its NUL.  Returns 0 and *n, or -EINVAL for a pair without '='
 * or a bad key name, -ERANGE for an over-long key or value, -E2BIG for more
 * than max pairs.
 */
int iscsi_text_parse(const uint8_t *buf, size_t len, struct iscsi_kv *kv,
		     size_t max, size_t *n);

/* Returns 1 if pair kv has the key name. */
int iscsi_kv_is(const struct iscsi_kv *kv, const char *name);

/* Returns 1 if the value of kv equals s. */
int iscsi_kv_val_is(const struct iscsi_kv *kv, const char *s);

/* Copies the value into dst[size] with a NUL; -ERANGE if it does not fit. */
int iscsi_kv_val_copy(const struct iscsi_kv *kv, char *dst, size_t size);

/* Finds the pair named name among n pairs, or NULL. */
const struct iscsi_kv *iscsi_text_find(const struct iscsi_kv *kv, size_t n,
				       const char *name);

/* Appends "key=value\0"; sets out->overflow instead of writing past cap. */
void iscsi_text_add(struct iscsi_text_out *out, const char *key,
		    const char *val);

/* Appends "key=value\0" where the value is a decimal number. */
void iscsi_text_add_u32(struct iscsi_text_out *out, const char *key,
			uint32_t val);

/* Appends "key=" and a counted value. */
void iscsi_text_add_n(struct iscsi_text_out *out, const char *key,
		      const char *val, size_t val_len);

#endif
