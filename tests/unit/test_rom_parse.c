/* Unit tests for src/rom/rom.c parsing and checking, on hand-built images:
 * valid ones read field by field, broken ones each named by the problem
 * rom_parse must report. */
#include "rom/rom.h"
#include "test_rom_build.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[64 * 1024];
static struct rom rom;

static const struct rb_opts base = {
	.vendor = 0x8086,
	.device = 0x100e,
	.blocks = 2,
	.last = true,
};

/* True if rom_parse failed and one problem message contains want. */
static bool fails_with(const uint8_t *p, size_t len, const char *want)
{
	if (rom_parse(p, len, &rom) != -EINVAL)
		return false;
	for (size_t i = 0; i < rom.n_problems; i++)
		if (strstr(rom.problem[i].msg, want))
			return true;
	for (size_t i = 0; i < rom.n_problems; i++)
		printf("  got: %s\n", rom.problem[i].msg);
	return false;
}

/* A valid one-image legacy ROM, then one mutation. */
static size_t legacy(void)
{
	return rb_legacy(buf, &base);
}

/* Recomputes iPXE's checksum byte after a mutation. */
static void refix(size_t len)
{
	buf[6] = 0;
	buf[6] = (uint8_t)(0x100 - rb_sum(buf, len));
}

static void test_valid_legacy(void)
{
	struct rb_opts o = base;
	size_t len;
	const struct rom_image *im = &rom.img[0];

	o.ipxe_header = true;
	o.shrunk = 2;
	o.text = "iPXE 1.21.1+ (g4bd064de) -- Open Source Network Boot";
	o.ndev = 2;
	o.devlist[0] = 0x100e;
	o.devlist[1] = 0x100f;
	len = rb_legacy(buf, &o);
	CHECK("legacy: valid", rom_parse(buf, len, &rom) == 0);
	CHECK("legacy: one image",
	      rom.n_images == 1 && rom.used == 1024 && rom.padding == 0);
	CHECK("legacy: ids", im->vendor == 0x8086 && im->device == 0x100e);
	CHECK("legacy: code type",
	      im->code_type == ROM_CODE_X86 &&
		      strcmp(rom_code_type_name(im->code_type), "legacy x86") ==
			      0);
	CHECK("legacy: PCI 3.0 device list", im->pcir_revision == 3 &&
						     im->devlist_count == 2 &&
						     im->devlist[1] == 0x100f);
	CHECK("legacy: class code", im->class_code == 0x020000);
	CHECK("legacy: lengths", im->length == 1024 && im->init_size == 1024 &&
					 im->max_runtime == 2);
	CHECK("legacy: code revision", im->code_revision == 1);
	CHECK("legacy: last", im->last);
	CHECK("legacy: checksum",
	      im->checksum_checked && im->checksum_ok && im->checksum_sum == 0);
	CHECK("legacy: PnP",
	      im->pnp.valid && im->pnp.checksum_ok && im->pnp.offset == 0x40 &&
		      strcmp(im->pnp.manufacturer, "wupan tests") == 0 &&
		      strcmp(im->pnp.product, "iPXE") == 0 &&
		      im->pnp.bev == 0x90);
	CHECK("legacy: iPXE header",
	      im->ipxe_header && im->ipxe_build_id == 0x12345678);
	CHECK("legacy: iPXE version from banner",
	      im->is_ipxe && im->version_status == ROM_VERSION_FOUND &&
		      strcmp(im->version, "1.21.1+") == 0);

	o = base;
	o.ipxe_header = true;
	o.shrunk = 1;
	len = rb_legacy(buf, &o);
	CHECK("legacy: compressed iPXE",
	      rom_parse(buf, len, &rom) == 0 && im->is_ipxe &&
		      im->version_status == ROM_VERSION_COMPRESSED);

	o = base;
	o.product = "Vendor Boot Agent";
	o.no_devlist = true;
	len = rb_legacy(buf, &o);
	CHECK("legacy: not iPXE",
	      rom_parse(buf, len, &rom) == 0 && !im->is_ipxe &&
		      im->version_status == ROM_VERSION_NOT_IPXE &&
		      im->devlist_count == 0 && im->devlist_offset == 0);

	o = base;
	o.no_pnp = true;
	len = rb_legacy(buf, &o);
	CHECK("legacy: no PnP header is allowed",
	      rom_parse(buf, len, &rom) == 0 && !im->pnp.present);

	o = base;
	o.text =
		"ipxe,1,iPXE,ipxe.efi,1.21.1+git20250501.dad20602+dfsg-1,https://ipxe.org\n";
	len = rb_legacy(buf, &o);
	CHECK("legacy: iPXE version from SBAT line",
	      rom_parse(buf, len, &rom) == 0 &&
		      strcmp(im->version,
			     "1.21.1+git20250501.dad20602+dfsg-1") == 0);
}

static void test_valid_efi(void)
{
	struct rb_opts o = base;
	size_t len;
	const struct rom_image *im = &rom.img[0];

	o.compression = 1;
	len = rb_efi(buf, &o);
	CHECK("efi: valid", rom_parse(buf, len, &rom) == 0);
	CHECK("efi: header",
	      im->code_type == ROM_CODE_EFI && im->efi_ok &&
		      im->efi_subsystem == 11 && im->efi_machine == 0x8664 &&
		      im->efi_compression == 1 && im->efi_offset == 0x38 &&
		      im->init_size == 1024);
	CHECK("efi: names",
	      strcmp(rom_efi_subsystem_name(11), "EFI boot service driver") ==
			      0 &&
		      strcmp(rom_efi_machine_name(0x8664), "x64") == 0 &&
		      rom_efi_machine_name(0x1234) == NULL);
	CHECK("efi: PCI 2.x structure",
	      im->pcir_revision == 0 && im->devlist_count == 0);
	CHECK("efi: compressed hides iPXE",
	      !im->is_ipxe && im->version_status == ROM_VERSION_COMPRESSED);

	o.compression = 0;
	o.text = "iPXE\0";
	len = rb_efi(buf, &o);
	memcpy(buf + 0x108, "1.0.0+ (g123456)", 17);
	CHECK("efi: uncompressed iPXE version next to product name",
	      rom_parse(buf, len, &rom) == 0 && im->is_ipxe &&
		      strcmp(im->version, "1.0.0+") == 0);
}

static void test_valid_chains(void)
{
	struct rb_opts a = base, b = base;
	size_t n;

	a.last = false;
	b.compression = 1;
	n = rb_legacy(buf, &a);
	n += rb_efi(buf + n, &b);
	CHECK("combined: valid", rom_parse(buf, n, &rom) == 0);
	CHECK("combined: two images",
	      rom.n_images == 2 && rom.img[1].offset == 1024 &&
		      !rom.img[0].last && rom.img[1].last);
	memset(buf + n, 0xff, 4096);
	CHECK("combined: 0xFF padding", rom_parse(buf, n + 4096, &rom) == 0 &&
						rom.padding == 4096 &&
						rom.used == n);
	memset(buf + n, 0x00, 512);
	CHECK("combined: 0x00 padding",
	      rom_parse(buf, n + 512, &rom) == 0 && rom.padding == 512);
}

/*
 * One-field corruptions of a valid image: write a byte or a 16-bit value at
 * an offset, optionally fix the legacy checksum again so that only the named
 * problem remains, and expect a problem naming it.
 */
struct mutation {
	const char *name;
	bool efi; /* mutate the EFI image, not the legacy one */
	unsigned offset;
	unsigned size; /* 1 or 2 bytes */
	unsigned value;
	bool refix; /* recompute the legacy checksum afterwards */
	const char *want;
};

#define PCIR 0x1c
#define PNP 0x40
static const struct mutation mutations[] = {
	{ "bad signature", false, 0x00, 1, 0x4d, false,
	  "bad ROM signature 0xaa4d" },
	{ "PCIR pointer 0", false, 0x18, 2, 0, false, "no \"PCIR\" signature" },
	{ "PCIR pointer past file", false, 0x18, 2, 0xfff0, false,
	  "no \"PCIR\" signature" },
	{ "PCIR bad signature", false, PCIR, 1, 'X', false,
	  "no \"PCIR\" signature" },
	{ "image length 0 (a chain that cannot advance)", false, PCIR + 0x10, 2,
	  0, false, "image length is 0" },
	{ "lying image length", false, PCIR + 0x10, 2, 200, true,
	  "runs past the end of the file" },
	{ "init size beyond image", false, 0x02, 1, 3, true,
	  "larger than the image length" },
	{ "init size 0", false, 0x02, 1, 0, false, "initialisation size is 0" },
	{ "PCIR length short", false, PCIR + 0x0a, 2, 0x10, true,
	  "shorter than 0x18" },
	{ "PCI 3.0 structure too short", false, PCIR + 0x0a, 2, 0x18, true,
	  "needs length 0x1c" },
	{ "PCIR length past image", false, PCIR + 0x0a, 2, 0x1000, true,
	  "runs past the image length" },
	{ "checksum", false, 0x200, 1, 1, false, "checksum is wrong" },
	{ "PnP checksum", false, PNP + 0x12, 1, 0x03, true,
	  "PnP header checksum is wrong" },
	{ "PnP signature", false, PNP + 1, 1, 'X', true,
	  "no \"$PnP\" signature" },
	{ "PnP pointer at the end", false, 0x1a, 2, 0x3fe, true,
	  "no \"$PnP\" signature" },
	{ "PnP length past image", false, PNP + 5, 1, 0x40, true,
	  "past the end of the image" },
	{ "unknown code type", false, PCIR + 0x14, 1, 0x42, true,
	  "unknown code type 0x42" },
	{ "no last flag", false, PCIR + 0x15, 1, 0, true,
	  "no image is marked last" },
	{ "efi: bad signature", true, 0x04, 1, 0xf2, false,
	  "EFI signature is 0x00000ef2" },
	{ "efi: compression", true, 0x0c, 2, 7, false, "compression type 7" },
	{ "efi: subsystem", true, 0x08, 2, 3, false, "subsystem 3" },
	{ "efi: image offset", true, 0x16, 2, 0x2000, false,
	  "image offset 0x2000" },
	{ "efi: init size", true, 0x02, 2, 9, false,
	  "EFI initialisation size 4608" },
	{ "efi: init size 0", true, 0x02, 2, 0, false,
	  "EFI initialisation size is 0" },
};

static void test_mutations(void)
{
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *m = &mutations[i];
		struct rb_opts o = base;
		size_t len;

		o.compression = 1;
		len = m->efi ? rb_efi(buf, &o) : legacy();
		if (m->size == 1)
			buf[m->offset] = (uint8_t)m->value;
		else
			rb_le16(buf + m->offset, m->value);
		if (m->refix)
			refix(len);
		CHECK(m->name, fails_with(buf, len, m->want));
	}
}

/* Corruptions that need more than one field changed. */
static void test_broken(void)
{
	size_t len;
	struct rb_opts o;

	CHECK("empty", fails_with(buf, 0, "empty"));
	len = legacy();
	CHECK("truncated header",
	      fails_with(buf, 20, "too short for a ROM header"));
	CHECK("truncated image",
	      fails_with(buf, 600, "runs past the end of the file"));
	CHECK("truncated image: checksum not checked",
	      !rom.img[0].checksum_checked && rom.img[0].vendor == 0x8086);

	len = legacy();
	rb_le16(buf + 0x18, len - 8);
	memcpy(buf + len - 8, "PCIR", 4);
	CHECK("PCIR cut by end of file",
	      fails_with(buf, len, "runs past the end of the file"));
	len = legacy();
	memmove(buf + 0x1e, buf + PCIR, 0x1c);
	rb_le16(buf + 0x18, 0x1e);
	refix(len);
	CHECK("PCIR misaligned", fails_with(buf, len, "not 4-byte aligned"));

	len = legacy();
	rb_le16(buf + PNP + 0x10, len - 4);
	memset(buf + len - 4, 'A', 4);
	buf[PNP + 9] = 0;
	buf[PNP + 9] = (uint8_t)(0x100 - rb_sum(buf + PNP, 32));
	refix(len);
	CHECK("PnP string without end", fails_with(buf, len, "product string"));

	o = base;
	o.ndev = 1;
	o.devlist[0] = 0x100e;
	len = rb_legacy(buf, &o);
	rb_le16(buf + PCIR + 8, len - 2 - PCIR);
	rb_le16(buf + len - 2, 0x1234);
	refix(len);
	CHECK("device list without end",
	      fails_with(buf, len, "no terminating zero"));
	len = legacy();
	memset(buf + 0x100, 0x11, len - 0x100);
	refix(len);
	CHECK("device list too long", fails_with(buf, len, "more than 32 ids"));

	len = legacy();
	memcpy(buf + len, buf, len);
	CHECK("image after the last",
	      fails_with(buf, 2 * len, "follows the image marked last"));
	len = legacy();
	memset(buf + len, 0xff, 512);
	buf[len + 100] = 1;
	CHECK("junk after the last",
	      fails_with(buf, len + 512, "not 0xFF or 0x00 padding"));
	memset(buf + len, 0x42, 512);
	CHECK("uniform junk is not padding",
	      fails_with(buf, len + 512, "not 0xFF or 0x00 padding"));

	o = base;
	len = rb_efi(buf, &o);
	buf[0x38] = 'X';
	CHECK("efi: uncompressed without MZ",
	      fails_with(buf, len, "does not start with \"MZ\""));
}

/* A chain longer than the image limit is reported, not followed forever. */
static void test_long_chain(void)
{
	struct rb_opts o = base;
	size_t n = 0;

	o.blocks = 1;
	o.last = false;
	for (int i = 0; i < ROM_MAX_IMAGES + 4; i++)
		n += rb_legacy(buf + n, &o);
	CHECK("long chain", fails_with(buf, n, "more than 16 images"));
	CHECK("long chain: stops at the limit", rom.n_images == ROM_MAX_IMAGES);
}

/* Every image length and every truncation of a valid combined ROM gets a
 * description, never a crash (the fuzz target covers the rest). */
static void test_every_truncation(void)
{
	struct rb_opts a = base, b = base;
	size_t n, bad = 0;

	a.last = false;
	n = rb_legacy(buf, &a);
	n += rb_efi(buf + n, &b);
	for (size_t k = 0; k < n; k++)
		if (rom_parse(buf, k, &rom) != -EINVAL || rom.n_problems == 0)
			bad++;
	CHECK("every truncation is a described problem", bad == 0);
}

/* A ROM with more problems than rom.problem[] holds says so. */
static void test_problem_limit(void)
{
	struct rb_opts o = base;
	size_t n = 0;

	o.blocks = 1;
	o.last = false;
	for (int i = 0; i < ROM_MAX_IMAGES; i++) {
		size_t len = rb_legacy(buf + n, &o);

		buf[n + 0x40 + 0x12] ^= 1; /* PnP and image checksums */
		n += len;
	}
	CHECK("problems stay bounded",
	      rom_parse(buf, n, &rom) == -EINVAL &&
		      rom.n_problems == ROM_MAX_PROBLEMS &&
		      rom.problems_truncated);
}

int main(void)
{
	test_valid_legacy();
	test_valid_efi();
	test_valid_chains();
	test_mutations();
	test_broken();
	test_long_chain();
	test_every_truncation();
	test_problem_limit();
	return unit_done();
}
