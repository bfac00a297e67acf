/* Unit tests for src/rom/rom.c on the pinned ipxe-qemu ROMs (read at run
 * time from ROM_PINNED_DIR, never copied here): every ROM parses clean with
 * the expected ids and layout, extracting the legacy image of efi-X.rom
 * gives pxe-X.rom byte for byte, and combining pxe-X.rom with the EFI image
 * rebuilds efi-X.rom's images byte for byte. */
#include "rom/rom.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ROM_PINNED_DIR
#error "ROM_PINNED_DIR: the pinned ipxe-qemu ROM directory (mk/rom.mk)"
#endif

static const struct {
	const char *name;
	uint16_t vendor, device;
} pinned[] = {
	{ "e1000", 0x8086, 0x100e },    { "e1000e", 0x8086, 0x10d3 },
	{ "eepro100", 0x8086, 0x1229 }, { "ne2k_pci", 0x0000, 0x0000 },
	{ "pcnet", 0x1022, 0x2000 },    { "rtl8139", 0x10ec, 0x8139 },
	{ "virtio", 0x1af4, 0x1041 },   { "vmxnet3", 0x15ad, 0x07b0 },
};

static struct rom rom;

/* Reads ROM_PINNED_DIR/PREFIX-NAME.rom; NULL if it cannot. */
static uint8_t *load(const char *prefix, const char *name, size_t *len)
{
	char path[512];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s-%s.rom", ROM_PINNED_DIR, prefix,
		 name);
	f = fopen(path, "rb");
	if (!f) {
		printf("cannot open %s (run `make ipxe`)\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || n <= 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_one(const char *name, uint16_t vendor, uint16_t device)
{
	size_t plen = 0, elen = 0, n, efin, cn;
	uint8_t *pxe = load("pxe", name, &plen);
	uint8_t *efi = load("efi", name, &elen);
	uint8_t *out, *efiimg, *copy;
	char what[96];
	const struct rom_image *im = &rom.img[0];

	snprintf(what, sizeof(what), "%s: pinned ROMs readable", name);
	CHECK(what, pxe && efi);
	if (!pxe || !efi) {
		free(pxe);
		free(efi);
		return;
	}
	out = malloc(elen + plen);
	efiimg = malloc(elen);
	copy = malloc(plen);

	snprintf(what, sizeof(what), "%s: pxe ROM valid, one legacy iPXE image",
		 name);
	CHECK(what, rom_parse(pxe, plen, &rom) == 0 && rom.n_images == 1 &&
			    im->code_type == ROM_CODE_X86 && im->last &&
			    im->vendor == vendor && im->device == device &&
			    im->class_code == 0x020000 && im->checksum_ok &&
			    im->pnp.valid && im->pnp.checksum_ok &&
			    strcmp(im->pnp.product, "iPXE") == 0 &&
			    im->is_ipxe && im->ipxe_header &&
			    im->version_status == ROM_VERSION_COMPRESSED);
	snprintf(what, sizeof(what), "%s: legacy image under 128K", name);
	CHECK(what, rom.used > 64 * 1024 && rom.used <= 128 * 1024);

	snprintf(what, sizeof(what),
		 "%s: efi ROM valid, legacy + compressed x64 EFI, 0xFF padding",
		 name);
	CHECK(what,
	      rom_parse(efi, elen, &rom) == 0 && rom.n_images == 2 &&
		      !rom.img[0].last && rom.img[1].last &&
		      rom.img[1].code_type == ROM_CODE_EFI &&
		      rom.img[1].efi_machine == 0x8664 &&
		      rom.img[1].efi_subsystem == 11 &&
		      rom.img[1].efi_compression == 1 &&
		      rom.img[1].version_status == ROM_VERSION_COMPRESSED &&
		      rom.img[1].vendor == vendor &&
		      rom.img[1].device == device &&
		      rom.padding == elen - rom.used && elen == 256 * 1024);

	snprintf(what, sizeof(what), "%s: legacy image of efi ROM == pxe ROM",
		 name);
	CHECK(what, rom_extract(efi, elen, ROM_CODE_X86, out, &n) == 0 &&
			    n == plen && memcmp(out, pxe, plen) == 0);

	snprintf(what, sizeof(what),
		 "%s: combine(pxe, efi image) == efi ROM images", name);
	CHECK(what, rom_extract(efi, elen, ROM_CODE_EFI, efiimg, &efin) == 0 &&
			    rom_combine(pxe, plen, efiimg, efin, out, &cn) ==
				    ROM_COMBINE_OK &&
			    cn == plen + efin && memcmp(out, efi, cn) == 0);

	memcpy(copy, pxe, plen);
	snprintf(what, sizeof(what),
		 "%s: set-id 8086:100f and back is lossless", name);
	CHECK(what, rom_set_id(copy, plen, 0x8086, 0x100f) == 0 &&
			    rom_parse(copy, plen, &rom) == 0 &&
			    im->vendor == 0x8086 && im->device == 0x100f &&
			    rom_set_id(copy, plen, vendor, device) == 0 &&
			    memcmp(copy, pxe, plen) == 0);

	free(copy);
	free(efiimg);
	free(out);
	free(efi);
	free(pxe);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++)
		test_one(pinned[i].name, pinned[i].vendor, pinned[i].device);
	return unit_done();
}
