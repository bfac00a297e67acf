/* iSCSI text key parsing and building: see text.h. */
#include "iscsi/text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* RFC 7143 §6.1: key names use letters, digits, '.', '-', '+', '@', '_'. */
static int key_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
	       ch == '+' || ch == '@' || ch == '_';
}

int iscsi_text_parse(const uint8_t *buf, size_t len, struct iscsi_kv *kv,
		     size_t max, size_t *n)
{
	size_t pos = 0, count = 0;

	while (pos < len) {
		const char *s = (const char *)buf + pos;
		const char *nul = memchr(s, 0, len - pos);
		size_t slen = nul ? (size_t)(nul - s) : len - pos;
		const char *eq;

		pos += slen + 1;
		if (slen == 0)
			continue;
		eq = memchr(s, '=', slen);
		if (!eq || eq == s)
			return -EINVAL;
		if ((size_t)(eq - s) > ISCSI_KEY_MAX)
			return -ERANGE;
		for (const char *k = s; k < eq; k++)
			if (!key_char_ok(*k))
				return -EINVAL;
		if (slen - (size_t)(eq - s) - 1 > ISCSI_VALUE_MAX)
			return -ERANGE;
		if (count == max)
			return -E2BIG;
		kv[count].key = s;
		kv[count].key_len = (size_t)(eq - s);
		kv[count].val = eq + 1;
		kv[count].val_len = slen - (size_t)(eq - s) - 1;
		count++;
	}
	*n = count;
	return 0;
}

int iscsi_kv_is(const struct iscsi_kv *kv, const char *name)
{
	return strlen(name) == kv->key_len &&
	       memcmp(kv->key, name, kv->key_len) == 0;
}

int iscsi_kv_val_is(const struct iscsi_kv *kv, const char *s)
{
	return strlen(s) == kv->val_len && memcmp(kv->val, s, kv->val_len) == 0;
}

int iscsi_kv_val_copy(const struct iscsi_kv *kv, char *dst, size_t size)
{
	if (kv->val_len >= size || memchr(kv->val, 0, kv->val_len))
		return -ERANGE;
	memcpy(dst, kv->val, kv->val_len);
	dst[kv->val_len] = 0;
	return 0;
}

const struct iscsi_kv *iscsi_text_find(const struct iscsi_kv *kv, size_t n,
				       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (iscsi_kv_is(&kv[i], name))
			return &kv[i];
	return NULL;
}

void iscsi_text_add_n(struct iscsi_text_out *out, const char *key,
		      const char *val, size_t val_len)
{
	size_t klen = strlen(key);
	size_t need = klen + 1 + val_len + 1;

	if (out->overflow || need > out->cap - out->len) {
		out->overflow = 1;
		return;
	}
	memcpy(out->buf + out->len, key, klen);
	out->buf[out->len + klen] = '=';
	memcpy(out->buf + out->len + klen + 1, val, val_len);
	out->buf[out->len + need - 1] = 0;
	out->len += need;
}

void iscsi_text_add(struct iscsi_text_out *out, const char *key,
		    const char *val)
{
	iscsi_text_add_n(out, key, val, strlen(val));
}

void iscsi_text_add_u32(struct iscsi_text_out *out, const char *key,
			uint32_t val)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)val);
	iscsi_text_add(out, key, num);
}
