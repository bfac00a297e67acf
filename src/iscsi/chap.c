/* CHAP helpers: see chap.h. */
#include "iscsi/chap.h"

#include <errno.h>
#include <string.h>

#include "iscsi/hash.h"

size_t chap_digest_len(int alg)
{
	switch (alg) {
	case CHAP_ALG_MD5:
		return MD5_LEN;
	case CHAP_ALG_SHA256:
		return SHA256_LEN;
	default:
		return 0;
	}
}

int chap_pick_alg(const char *list, size_t len)
{
	int md5 = 0, sha256 = 0;
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && list[j] != ',')
			j++;
		if (j - i == 1 && list[i] == '5')
			md5 = 1;
		if (j - i == 1 && list[i] == '7')
			sha256 = 1;
		i = j + 1;
	}
	if (sha256)
		return CHAP_ALG_SHA256;
	return md5 ? CHAP_ALG_MD5 : -1;
}

void chap_response(int alg, uint8_t id, const char *secret, size_t secret_len,
		   const uint8_t *chal, size_t chal_len, uint8_t *out)
{
	struct hash_part parts[3] = { { &id, 1 },
				      { secret, secret_len },
				      { chal, chal_len } };

	if (alg == CHAP_ALG_SHA256)
		sha256_parts(parts, 3, out);
	else
		md5_parts(parts, 3, out);
}

/* Value of a hex digit, or -1. */
static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Value of a base64 digit (RFC 4648), or -1. */
static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 7143 §6.1: a hex constant may have an odd digit count; the first
 * digit then stands alone. */
static int decode_hex(const char *s, size_t len, uint8_t *out, size_t max)
{
	size_t n = (len + 1) / 2, o = 0, i = 0;

	if (len == 0)
		return -EINVAL;
	if (n > max)
		return -ERANGE;
	if (len % 2) {
		int v = hex_val(s[0]);

		if (v < 0)
			return -EINVAL;
		out[o++] = (uint8_t)v;
		i = 1;
	}
	for (; i < len; i += 2) {
		int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)o;
}

/* Decodes base64 without line breaks; padding is optional. */
static int decode_b64(const char *s, size_t len, uint8_t *out, size_t max)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, i = 0;

	while (len && s[len - 1] == '=')
		len--;
	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int v = b64_val(s[i]);

		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == max)
				return -ERANGE;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

int chap_decode(const char *s, size_t len, uint8_t *out, size_t max)
{
	if (len < 2 || s[0] != '0')
		return -EINVAL;
	if (s[1] == 'x' || s[1] == 'X')
		return decode_hex(s + 2, len - 2, out, max);
	if (s[1] == 'b' || s[1] == 'B')
		return decode_b64(s + 2, len - 2, out, max);
	return -EINVAL;
}

int chap_encode_hex(const uint8_t *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";

	if (cap < 2 * len + 3)
		return -ERANGE;
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		out[2 + 2 * i] = digits[in[i] >> 4];
		out[3 + 2 * i] = digits[in[i] & 15];
	}
	out[2 + 2 * len] = 0;
	return (int)(2 + 2 * len);
}
