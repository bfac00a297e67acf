/* Unit tests for MD5, SHA-256 and the CHAP helpers. */
#include <errno.h>
#include <string.h>

#include "iscsi/chap.h"
#include "iscsi/hash.h"
#include "unit.h"

/* Hashes one string with md5 or sha256 and compares the hex digest. */
static int digest_is(int sha, const char *msg, const char *hex)
{
	struct hash_part part = { msg, strlen(msg) };
	uint8_t d[32];
	char got[70];

	if (sha)
		sha256_parts(&part, 1, d);
	else
		md5_parts(&part, 1, d);
	chap_encode_hex(d, sha ? 32 : 16, got, sizeof(got));
	return strcmp(got + 2, hex) == 0;
}

int main(void)
{
	uint8_t out[64], d[16], long_msg[1000];
	char hex[40];
	struct hash_part parts[2] = { { "ab", 2 }, { "c", 1 } };

	CHECK("md5 empty",
	      digest_is(0, "", "d41d8cd98f00b204e9800998ecf8427e"));
	CHECK("md5 abc",
	      digest_is(0, "abc", "900150983cd24fb0d6963f7d28e17f72"));
	CHECK("md5 56 bytes",
	      digest_is(
		      0,
		      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		      "8215ef0796a20bcaaae116d3876c664a"));
	CHECK("sha256 abc",
	      digest_is(
		      1, "abc",
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK("sha256 empty",
	      digest_is(
		      1, "",
		      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK("sha256 two blocks",
	      digest_is(
		      1,
		      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	md5_parts(parts, 2, d);
	chap_encode_hex(d, 16, hex, sizeof(hex));
	CHECK("md5 in parts",
	      strcmp(hex, "0x900150983cd24fb0d6963f7d28e17f72") == 0);
	memset(long_msg, 'a', sizeof(long_msg));
	{
		struct hash_part one = { long_msg, sizeof(long_msg) };
		struct hash_part split[3] = { { long_msg, 63 },
					      { long_msg, 1 },
					      { long_msg, 936 } };
		uint8_t a[32], b[32];

		sha256_parts(&one, 1, a);
		sha256_parts(split, 3, b);
		CHECK("sha256 split equals whole", memcmp(a, b, 32) == 0);
	}
	CHECK("equal",
	      hash_equal((const uint8_t *)"abcd", (const uint8_t *)"abcd", 4));
	CHECK("not equal",
	      !hash_equal((const uint8_t *)"abcd", (const uint8_t *)"abce", 4));

	CHECK("pick md5", chap_pick_alg("5", 1) == CHAP_ALG_MD5);
	CHECK("pick sha256 first", chap_pick_alg("7,5", 3) == CHAP_ALG_SHA256);
	CHECK("pick sha256 later", chap_pick_alg("5,7", 3) == CHAP_ALG_SHA256);
	CHECK("pick none", chap_pick_alg("6,8", 3) == -1);
	CHECK("pick not a prefix", chap_pick_alg("55", 2) == -1);
	CHECK("digest len", chap_digest_len(5) == 16 &&
				    chap_digest_len(7) == 32 &&
				    chap_digest_len(6) == 0);

	CHECK("hex", chap_decode("0x0aFf", 6, out, sizeof(out)) == 2 &&
			     out[0] == 0x0a && out[1] == 0xff);
	CHECK("hex odd", chap_decode("0xabc", 5, out, sizeof(out)) == 2 &&
				 out[0] == 0x0a && out[1] == 0xbc);
	CHECK("hex upper X", chap_decode("0X01", 4, out, sizeof(out)) == 1);
	CHECK("hex bad digit",
	      chap_decode("0x0g", 4, out, sizeof(out)) == -EINVAL);
	CHECK("hex empty", chap_decode("0x", 2, out, sizeof(out)) == -EINVAL);
	CHECK("hex too long", chap_decode("0x010203", 8, out, 2) == -ERANGE);
	CHECK("no prefix", chap_decode("1234", 4, out, sizeof(out)) == -EINVAL);
	CHECK("base64", chap_decode("0bAQID", 6, out, sizeof(out)) == 3 &&
				out[0] == 1 && out[2] == 3);
	CHECK("base64 padded", chap_decode("0bAQI=", 6, out, sizeof(out)) == 2);
	CHECK("base64 bad",
	      chap_decode("0bA*ID", 6, out, sizeof(out)) == -EINVAL);
	CHECK("encode too small", chap_encode_hex(out, 16, hex, 34) == -ERANGE);
	/* RFC 1994 CHAP: MD5(id || secret || challenge). */
	{
		uint8_t chal[3] = { 1, 2, 3 }, r[16], want[16];
		uint8_t msg[1 + 6 + 3] = { 9,   's', 'e', 'c', 'r',
					   'e', 't', 1,   2,   3 };
		struct hash_part whole = { msg, sizeof(msg) };

		chap_response(CHAP_ALG_MD5, 9, "secret", 6, chal, 3, r);
		md5_parts(&whole, 1, want);
		CHECK("chap response md5", memcmp(r, want, 16) == 0);
	}
	return unit_done();
}
