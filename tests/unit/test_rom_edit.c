/* Unit tests for src/rom/rom.c editing: set-id, extract, combine, and the
 * VENDOR:DEVICE and flash size parsers, on hand-built images. */
#include "rom/rom.h"
#include "test_rom_build.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

static uint8_t a[8192], b[8192], out[16384], ref[16384];
static struct rom rom;

static const struct rb_opts lopt = {
	.vendor = 0x8086,
	.device = 0x100e,
	.blocks = 2,
	.last = true,
	.ipxe_header = true,
	.shrunk = 1,
};
static const struct rb_opts eopt = {
	.vendor = 0x8086,
	.device = 0x100e,
	.blocks = 3,
	.last = true,
	.compression = 1,
};

static void test_set_id(void)
{
	struct rb_opts o = lopt;
	size_t n = rb_legacy(a, &lopt), m;

	CHECK("set-id: legacy", rom_set_id(a, n, 0x8086, 0x10d3) == 0);
	CHECK("set-id: result valid", rom_parse(a, n, &rom) == 0);
	CHECK("set-id: ids",
	      rom.img[0].vendor == 0x8086 && rom.img[0].device == 0x10d3);
	CHECK("set-id: device list follows",
	      rom.img[0].devlist_count == 1 && rom.img[0].devlist[0] == 0x10d3);
	CHECK("set-id: back to the original bytes",
	      rom_set_id(a, n, 0x8086, 0x100e) == 0 &&
		      rb_legacy(ref, &lopt) == n && memcmp(a, ref, n) == 0);

	o.ndev = 2;
	o.devlist[0] = 0x100e;
	o.devlist[1] = 0x100f;
	n = rb_legacy(a, &o);
	CHECK("set-id: to an id already listed",
	      rom_set_id(a, n, 0x8086, 0x100f) == 0 &&
		      rom_parse(a, n, &rom) == 0 &&
		      rom.img[0].devlist[0] == 0x100e &&
		      rom.img[0].devlist[1] == 0x100f);

	o = lopt;
	o.last = false;
	n = rb_legacy(a, &o);
	m = rb_efi(a + n, &eopt);
	memset(a + n + m, 0xff, 512);
	CHECK("set-id: combined with padding",
	      rom_set_id(a, n + m + 512, 0x1af4, 0x1000) == 0 &&
		      rom_parse(a, n + m + 512, &rom) == 0 &&
		      rom.img[1].vendor == 0x1af4 &&
		      rom.img[1].device == 0x1000 && rom.padding == 512);

	o = lopt;
	o.ipxe_header = false;
	o.product = "Other Agent";
	n = rb_legacy(a, &o);
	CHECK("set-id: non-iPXE checksum in the last byte",
	      rom_set_id(a, n, 0x10ec, 0x8139) == 0 &&
		      rom_parse(a, n, &rom) == 0 && a[n - 1] != 0);

	/* A non-iPXE image whose last byte (where its checksum is fixed)
	 * ends the PnP product string: fixing it would break the string. */
	o = lopt;
	o.ipxe_header = false;
	o.product = "Other Agent";
	o.blocks = 1;
	n = rb_legacy(a, &o);
	memcpy(a + n - 3, "AB", 3);
	rb_le16(a + 0x40 + 0x10, (unsigned)(n - 3));
	a[0x49] = 0;
	a[0x49] = (uint8_t)(0x100 - rb_sum(a + 0x40, 32));
	a[6] = 0;
	a[6] = (uint8_t)(0x100 - rb_sum(a, n));
	memcpy(ref, a, n);
	CHECK("set-id: layout check",
	      rom_parse(a, n, &rom) == 0 &&
		      strcmp(rom.img[0].pnp.product, "AB") == 0);
	CHECK("set-id: refuses an edit that would break the ROM",
	      rom_set_id(a, n, 0x8086, 0x100f) == -ENOTSUP &&
		      memcmp(a, ref, n) == 0);

	n = rb_legacy(a, &lopt);
	a[100] ^= 1;
	memcpy(ref, a, n);
	CHECK("set-id: refuses an invalid ROM",
	      rom_set_id(a, n, 1, 2) == -EINVAL && memcmp(a, ref, n) == 0);
}

static void test_extract_combine(void)
{
	struct rb_opts o = lopt;
	size_t ln, en, n, cn;

	/* The reference: the same images chained by hand. */
	o.last = false;
	ln = rb_legacy(ref, &o);
	en = rb_efi(ref + ln, &eopt);

	CHECK("extract: efi",
	      rom_extract(ref, ln + en, ROM_CODE_EFI, out, &n) == 0 &&
		      n == en && memcmp(out, ref + ln, en) == 0);
	CHECK("extract: legacy",
	      rom_extract(ref, ln + en, ROM_CODE_X86, out, &n) == 0 &&
		      n == ln && rom_parse(out, n, &rom) == 0 &&
		      rom.img[0].last);
	CHECK("extract: legacy equals a one-image build",
	      rb_legacy(a, &lopt) == n && memcmp(a, out, n) == 0);
	CHECK("extract: none of that type",
	      rom_extract(a, ln, ROM_CODE_EFI, out, &n) == -ENOENT);

	ln = rb_legacy(a, &lopt);
	en = rb_efi(b, &eopt);
	CHECK("combine: ok",
	      rom_combine(a, ln, b, en, out, &cn) == ROM_COMBINE_OK &&
		      cn == ln + en);
	CHECK("combine: equals the hand-chained ROM",
	      memcmp(out, ref, cn) == 0);
	CHECK("combine: valid with the right flags",
	      rom_parse(out, cn, &rom) == 0 && rom.n_images == 2 &&
		      !rom.img[0].last && rom.img[1].last);
	memset(b + en, 0xff, 1024);
	CHECK("combine: drops padding",
	      rom_combine(a, ln, b, en + 1024, out, &cn) == ROM_COMBINE_OK &&
		      cn == ln + en);
	CHECK("combine: swapped", rom_combine(b, en, a, ln, out, &cn) ==
					  ROM_COMBINE_LEGACY_NOT_X86);
	CHECK("combine: legacy twice",
	      rom_combine(a, ln, a, ln, out, &cn) == ROM_COMBINE_EFI_NOT_EFI);
	o = eopt;
	o.device = 0x10d3;
	en = rb_efi(b, &o);
	CHECK("combine: different ids",
	      rom_combine(a, ln, b, en, out, &cn) == ROM_COMBINE_ID_MISMATCH);
	a[300] ^= 1;
	CHECK("combine: invalid legacy", rom_combine(a, ln, b, en, out, &cn) ==
						 ROM_COMBINE_LEGACY_INVALID);
	ln = rb_legacy(a, &lopt);
	CHECK("combine: invalid efi",
	      rom_combine(a, ln, b, 10, out, &cn) == ROM_COMBINE_EFI_INVALID);
	CHECK("combine: messages",
	      strstr(rom_combine_strerror(ROM_COMBINE_ID_MISMATCH), "set-id") !=
		      NULL);
}

static void test_parsers(void)
{
	uint16_t v = 0, d = 0;
	size_t s = 0;

	CHECK("id: plain", rom_parse_id("8086:100e", &v, &d) == 0 &&
				   v == 0x8086 && d == 0x100e);
	CHECK("id: upper case", rom_parse_id("10EC:8139", &v, &d) == 0 &&
					v == 0x10ec && d == 0x8139);
	CHECK("id: short", rom_parse_id("8086:10e", &v, &d) == -EINVAL);
	CHECK("id: long", rom_parse_id("8086:100e0", &v, &d) == -EINVAL);
	CHECK("id: no colon", rom_parse_id("8086-100e", &v, &d) == -EINVAL);
	CHECK("id: junk", rom_parse_id("80x6:100e", &v, &d) == -EINVAL);
	CHECK("id: sign", rom_parse_id("+086:100e", &v, &d) == -EINVAL);
	CHECK("size: K", rom_parse_size("64K", &s) == 0 && s == 65536);
	CHECK("size: k", rom_parse_size("128k", &s) == 0 && s == 131072);
	CHECK("size: M", rom_parse_size("1M", &s) == 0 && s == 1048576);
	CHECK("size: bytes", rom_parse_size("512", &s) == 0 && s == 512);
	CHECK("size: not 512-aligned", rom_parse_size("1000", &s) == -EINVAL);
	CHECK("size: zero", rom_parse_size("0K", &s) == -ERANGE);
	CHECK("size: too big", rom_parse_size("17M", &s) == -ERANGE);
	CHECK("size: huge",
	      rom_parse_size("99999999999999999999K", &s) == -ERANGE);
	CHECK("size: suffix only", rom_parse_size("K", &s) == -EINVAL);
	CHECK("size: other suffix", rom_parse_size("64G", &s) == -EINVAL);
	CHECK("size: empty", rom_parse_size("", &s) == -EINVAL);
}

int main(void)
{
	test_set_id();
	test_extract_combine();
	test_parsers();
	return unit_done();
}
