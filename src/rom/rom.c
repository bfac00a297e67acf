/* PCI expansion ROM parser and checker: see rom.h. */
#include "rom/rom.h"

#include "common/bytes.h"
#include "common/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Header layouts, one table per structure, offsets from the structure's
 * start; all values are little-endian.  The tables are the single statement
 * of where a field lives: readers and writers go through them and problem
 * messages name fields by their table name.  Sources: PCI Firmware
 * Specification 3.0 §5.1 (ROM header, PCI data structure, device list), the
 * BIOS Boot Specification 1.01 appendix A (PnP expansion header), UEFI 2.x
 * "PCI Option ROMs" (EFI image header), and iPXE's own header.
 */
struct rom_field {
	const char *name;
	uint8_t offset;
	uint8_t size; /* 1, 2, 3 or 4 bytes */
};

/* Every image starts with the signature and the PCIR pointer. */
enum { HDR_SIGNATURE, HDR_PCIR, HDR_NFIELDS };
static const struct rom_field rom_hdr[HDR_NFIELDS] = {
	[HDR_SIGNATURE] = { "ROM signature", 0x00, 2 },
	[HDR_PCIR] = { "PCI data structure pointer", 0x18, 2 },
};

/* Legacy x86 (PC-AT) image header. */
enum { LEG_INIT_SIZE, LEG_ENTRY, LEG_CHECKSUM, LEG_IPXE, LEG_PNP, LEG_NFIELDS };
static const struct rom_field rom_legacy[LEG_NFIELDS] = {
	[LEG_INIT_SIZE] = { "initialisation size", 0x02, 1 },
	[LEG_ENTRY] = { "entry point", 0x03, 3 },
	/* iPXE keeps its checksum byte here; other ROMs choose their own. */
	[LEG_CHECKSUM] = { "iPXE checksum byte", 0x06, 1 },
	[LEG_IPXE] = { "iPXE header pointer", 0x10, 2 },
	[LEG_PNP] = { "PnP header pointer", 0x1a, 2 },
};

/* EFI image header. */
enum {
	EFI_INIT_SIZE,
	EFI_SIGNATURE,
	EFI_SUBSYSTEM,
	EFI_MACHINE,
	EFI_COMPRESSION,
	EFI_OFFSET,
	EFI_NFIELDS
};
static const struct rom_field rom_efi[EFI_NFIELDS] = {
	[EFI_INIT_SIZE] = { "EFI initialisation size", 0x02, 2 },
	[EFI_SIGNATURE] = { "EFI signature", 0x04, 4 },
	[EFI_SUBSYSTEM] = { "EFI subsystem", 0x08, 2 },
	[EFI_MACHINE] = { "EFI machine type", 0x0a, 2 },
	[EFI_COMPRESSION] = { "EFI compression type", 0x0c, 2 },
	[EFI_OFFSET] = { "EFI image offset", 0x16, 2 },
};

/* PCI data structure ("PCIR"). */
enum {
	PCIR_SIGNATURE,
	PCIR_VENDOR,
	PCIR_DEVICE,
	PCIR_DEVLIST,
	PCIR_LENGTH,
	PCIR_REVISION,
	PCIR_CLASS,
	PCIR_IMAGE_LENGTH,
	PCIR_CODE_REVISION,
	PCIR_CODE_TYPE,
	PCIR_INDICATOR,
	PCIR_MAX_RUNTIME,
	PCIR_NFIELDS
};
static const struct rom_field rom_pcir[PCIR_NFIELDS] = {
	[PCIR_SIGNATURE] = { "PCIR signature", 0x00, 4 },
	[PCIR_VENDOR] = { "vendor id", 0x04, 2 },
	[PCIR_DEVICE] = { "device id", 0x06, 2 },
	[PCIR_DEVLIST] = { "device list pointer", 0x08, 2 },
	[PCIR_LENGTH] = { "PCI data structure length", 0x0a, 2 },
	[PCIR_REVISION] = { "PCI data structure revision", 0x0c, 1 },
	[PCIR_CLASS] = { "class code", 0x0d, 3 },
	[PCIR_IMAGE_LENGTH] = { "image length", 0x10, 2 },
	[PCIR_CODE_REVISION] = { "code revision", 0x12, 2 },
	[PCIR_CODE_TYPE] = { "code type", 0x14, 1 },
	[PCIR_INDICATOR] = { "indicator", 0x15, 1 },
	[PCIR_MAX_RUNTIME] = { "maximum run-time image length", 0x16, 2 },
};

/* PnP expansion header ("$PnP"). */
enum {
	PNP_SIGNATURE,
	PNP_REVISION,
	PNP_LENGTH,
	PNP_CHECKSUM,
	PNP_MANUFACTURER,
	PNP_PRODUCT,
	PNP_BCV,
	PNP_BEV,
	PNP_NFIELDS
};
static const struct rom_field rom_pnp_hdr[PNP_NFIELDS] = {
	[PNP_SIGNATURE] = { "PnP signature", 0x00, 4 },
	[PNP_REVISION] = { "PnP revision", 0x04, 1 },
	[PNP_LENGTH] = { "PnP length", 0x05, 1 },
	[PNP_CHECKSUM] = { "PnP checksum", 0x09, 1 },
	[PNP_MANUFACTURER] = { "manufacturer string pointer", 0x0e, 2 },
	[PNP_PRODUCT] = { "product string pointer", 0x10, 2 },
	[PNP_BCV] = { "boot connection vector", 0x16, 2 },
	[PNP_BEV] = { "bootstrap entry vector", 0x1a, 2 },
};

/* iPXE's header ("iPXE"), found through the legacy header. */
enum { IPXE_SIGNATURE, IPXE_LENGTH, IPXE_SHRUNK, IPXE_BUILD_ID, IPXE_NFIELDS };
static const struct rom_field rom_ipxe[IPXE_NFIELDS] = {
	[IPXE_SIGNATURE] = { "iPXE signature", 0x00, 4 },
	[IPXE_LENGTH] = { "iPXE header length", 0x04, 1 },
	[IPXE_SHRUNK] = { "iPXE uncompressed length", 0x06, 1 },
	[IPXE_BUILD_ID] = { "iPXE build id", 0x08, 4 },
};

#define ROM_SIGNATURE 0xaa55
#define EFI_ROM_SIGNATURE 0x0ef1
#define PCIR_LAST_IMAGE 0x80
#define ROM_UNIT 512

/* Reads a field of the structure at base, if it ends within limit. */
static bool fld_get(const uint8_t *buf, size_t limit, size_t base,
		    const struct rom_field *f, uint32_t *v)
{
	const uint8_t *p;

	if (base > limit || f->offset + f->size > limit - base)
		return false;
	p = buf + base + f->offset;
	switch (f->size) {
	case 1:
		*v = p[0];
		break;
	case 2:
		*v = get_le16(p);
		break;
	case 3:
		*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16;
		break;
	default:
		*v = get_le32(p);
		break;
	}
	return true;
}

/* Writes a field; the caller has read it before, so it is in bounds. */
static void fld_put(uint8_t *buf, size_t base, const struct rom_field *f,
		    uint32_t v)
{
	uint8_t *p = buf + base + f->offset;

	for (unsigned i = 0; i < f->size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* True if the 4-byte signature field holds sig. */
static bool fld_sig(const uint8_t *buf, size_t limit, size_t base,
		    const struct rom_field *f, const char *sig)
{
	if (base > limit || f->offset + 4u > limit - base)
		return false;
	return memcmp(buf + base + f->offset, sig, 4) == 0;
}

__attribute__((format(printf, 3, 4))) static void
problem(struct rom *rom, int image, const char *fmt, ...)
{
	struct rom_problem *p;
	va_list ap;

	if (rom->n_problems == ROM_MAX_PROBLEMS) {
		rom->problems_truncated = true;
		return;
	}
	p = &rom->problem[rom->n_problems++];
	p->image = image;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

const char *rom_code_type_name(uint8_t code_type)
{
	switch (code_type) {
	case ROM_CODE_X86:
		return "legacy x86";
	case ROM_CODE_OPENFIRMWARE:
		return "Open Firmware";
	case ROM_CODE_PARISC:
		return "HP PA-RISC";
	case ROM_CODE_EFI:
		return "EFI";
	default:
		return "unknown";
	}
}

const char *rom_efi_subsystem_name(uint16_t subsystem)
{
	switch (subsystem) {
	case 10:
		return "EFI application";
	case 11:
		return "EFI boot service driver";
	case 12:
		return "EFI runtime driver";
	default:
		return NULL;
	}
}

const char *rom_efi_machine_name(uint16_t machine)
{
	switch (machine) {
	case 0x014c:
		return "ia32";
	case 0x0200:
		return "ia64";
	case 0x01c2:
		return "arm";
	case 0x0ebc:
		return "ebc";
	case 0x8664:
		return "x64";
	case 0xaa64:
		return "aarch64";
	case 0x5032:
		return "riscv32";
	case 0x5064:
		return "riscv64";
	case 0x6264:
		return "loongarch64";
	default:
		return NULL;
	}
}

/* Copies a NUL-terminated printable string at off (image-relative) into out;
 * returns false if it does not end inside the image or holds bytes that are
 * not printable ASCII. */
static bool get_string(const uint8_t *img, size_t avail, size_t off, char *out)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; off + i < avail && i < ROM_STR_MAX - 1; i++) {
		uint8_t c = img[off + i];

		if (c == '\0') {
			out[i] = '\0';
			return true;
		}
		if (c < 0x20 || c > 0x7e) {
			out[0] = '\0';
			return false;
		}
		out[i] = (char)c;
	}
	out[0] = '\0';
	return false;
}

/* Copies a version string starting at p (at most n bytes): printable, up to
 * a NUL, space, comma or newline, starting with a digit and holding a dot. */
static bool take_version(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	if (n == 0 || p[0] < '0' || p[0] > '9')
		return false;
	for (i = 0; i < n && i < ROM_STR_MAX - 1; i++) {
		if (p[i] <= 0x20 || p[i] > 0x7e || p[i] == ',')
			break;
		out[i] = (char)p[i];
	}
	out[i] = '\0';
	if (i == ROM_STR_MAX - 1 || !memchr(out, '.', i))
		return false;
	return true;
}

/*
 * Looks for iPXE's version string in uncompressed code: the SBAT line
 * "ipxe,N,iPXE,FILE,VERSION,URL", then the banner "iPXE VERSION", then the
 * product name and version strings that iPXE keeps next to each other
 * ("iPXE", NUL padding, "VERSION").
 */
static bool find_version(const uint8_t *p, size_t n, char *out)
{
	const uint8_t *q;
	size_t left;

	for (q = p; (q = memmem(q, n - (size_t)(q - p), ",iPXE,", 6)); q += 6) {
		const uint8_t *f = q + 6;
		const uint8_t *end = p + n;
		const uint8_t *c = memchr(f, ',', (size_t)(end - f));

		if (c && take_version(c + 1, (size_t)(end - c - 1), out))
			return true;
	}
	for (q = p; (q = memmem(q, n - (size_t)(q - p), "iPXE ", 5)); q += 5) {
		left = n - (size_t)(q - p) - 5;
		if (take_version(q + 5, left, out))
			return true;
	}
	for (q = p; (q = memmem(q, n - (size_t)(q - p), "iPXE\0", 5)); q += 5) {
		size_t k = 5;

		left = n - (size_t)(q - p);
		while (k < left && k < 32 && q[k] == '\0')
			k++;
		if (take_version(q + k, left - k, out))
			return true;
	}
	return false;
}

/* Reads the PnP expansion header of a legacy image. */
static void parse_pnp(const uint8_t *img, struct rom_image *im, struct rom *rom,
		      int idx, uint32_t off)
{
	struct rom_pnp *pnp = &im->pnp;
	uint32_t v;

	pnp->present = true;
	pnp->offset = off;
	if (!fld_sig(img, im->avail, off, &rom_pnp_hdr[PNP_SIGNATURE],
		     "$PnP")) {
		problem(rom, idx,
			"PnP header pointer 0x%x: no \"$PnP\" signature inside the image",
			off);
		return;
	}
	if (!fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_BEV], &v)) {
		problem(rom, idx, "PnP header at 0x%x runs past the image",
			off);
		return;
	}
	fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_REVISION], &v);
	pnp->revision = (uint8_t)v;
	fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_LENGTH], &v);
	pnp->length = v * 16;
	if (pnp->length < 0x20 || off + pnp->length > im->avail) {
		problem(rom, idx, "PnP header at 0x%x: length %u bytes is %s",
			off, pnp->length,
			pnp->length < 0x20 ? "shorter than the header"
					   : "past the end of the image");
		return;
	}
	pnp->valid = true;
	pnp->checksum_sum = sum8(img + off, pnp->length);
	pnp->checksum_ok = pnp->checksum_sum == 0;
	if (!pnp->checksum_ok)
		problem(rom, idx,
			"PnP header checksum is wrong (bytes sum to 0x%02x, not 0)",
			pnp->checksum_sum);
	fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_MANUFACTURER], &v);
	if (v && !get_string(img, im->avail, v, pnp->manufacturer))
		problem(rom, idx,
			"PnP manufacturer string at 0x%x is not a printable string inside the image",
			v);
	fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_PRODUCT], &v);
	if (v && !get_string(img, im->avail, v, pnp->product))
		problem(rom, idx,
			"PnP product string at 0x%x is not a printable string inside the image",
			v);
	fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_BCV], &v);
	pnp->bcv = (uint16_t)v;
	fld_get(img, im->avail, off, &rom_pnp_hdr[PNP_BEV], &v);
	pnp->bev = (uint16_t)v;
}

/* Legacy x86 image: initialisation size, checksum, PnP and iPXE headers. */
static void parse_legacy(const uint8_t *img, struct rom_image *im,
			 struct rom *rom, int idx)
{
	uint32_t v;

	fld_get(img, im->avail, 0, &rom_legacy[LEG_INIT_SIZE], &v);
	im->init_size = (size_t)v * ROM_UNIT;
	if (im->init_size == 0)
		problem(rom, idx, "initialisation size is 0");
	else if (im->init_size > im->length)
		problem(rom, idx,
			"initialisation size %zu is larger than the image length %zu",
			im->init_size, im->length);

	if (fld_get(img, im->avail, 0, &rom_legacy[LEG_IPXE], &v) && v &&
	    fld_sig(img, im->avail, v, &rom_ipxe[IPXE_SIGNATURE], "iPXE")) {
		uint32_t len, shrunk, id;

		fld_get(img, im->avail, v, &rom_ipxe[IPXE_LENGTH], &len);
		if (fld_get(img, im->avail, v, &rom_ipxe[IPXE_BUILD_ID], &id) &&
		    len >= 12) {
			fld_get(img, im->avail, v, &rom_ipxe[IPXE_SHRUNK],
				&shrunk);
			im->ipxe_header = true;
			im->ipxe_build_id = id;
			im->ipxe_shrunk = (size_t)shrunk * ROM_UNIT;
		}
	}

	if (fld_get(img, im->avail, 0, &rom_legacy[LEG_PNP], &v) && v)
		parse_pnp(img, im, rom, idx, v);

	im->is_ipxe =
		im->ipxe_header ||
		(im->pnp.valid && strncmp(im->pnp.product, "iPXE", 4) == 0);
	/* iPXE fixes its checksum at a known byte; for other ROMs the last
	 * byte of the initialisation area is the usual choice. */
	im->checksum_fix =
		im->is_ipxe ? rom_legacy[LEG_CHECKSUM].offset
			    : (uint32_t)(im->init_size ? im->init_size - 1 : 0);

	if (im->init_size && im->init_size <= im->avail) {
		im->checksum_checked = true;
		im->checksum_sum = sum8(img, im->init_size);
		im->checksum_ok = im->checksum_sum == 0;
		if (!im->checksum_ok)
			problem(rom, idx,
				"checksum is wrong (the first %zu bytes sum to 0x%02x, not 0)",
				im->init_size, im->checksum_sum);
	}

	if (find_version(img, im->avail, im->version)) {
		im->version_status = ROM_VERSION_FOUND;
		im->is_ipxe = true;
	} else if (!im->is_ipxe) {
		im->version_status = ROM_VERSION_NOT_IPXE;
	} else if (im->ipxe_header && im->ipxe_shrunk < im->length) {
		im->version_status = ROM_VERSION_COMPRESSED;
	} else {
		im->version_status = ROM_VERSION_UNKNOWN;
	}
}

/* EFI image: signature, sizes, subsystem, machine and compression. */
static void parse_efi(const uint8_t *img, struct rom_image *im, struct rom *rom,
		      int idx)
{
	uint32_t v;

	if (!fld_get(img, im->avail, 0, &rom_efi[EFI_OFFSET], &v)) {
		problem(rom, idx, "EFI header runs past the end of the file");
		return;
	}
	fld_get(img, im->avail, 0, &rom_efi[EFI_SIGNATURE], &v);
	if (v != EFI_ROM_SIGNATURE) {
		problem(rom, idx,
			"code type is EFI but the EFI signature is 0x%08x, not 0x00000EF1",
			v);
		return;
	}
	im->efi_ok = true;
	fld_get(img, im->avail, 0, &rom_efi[EFI_INIT_SIZE], &v);
	im->init_size = (size_t)v * ROM_UNIT;
	fld_get(img, im->avail, 0, &rom_efi[EFI_SUBSYSTEM], &v);
	im->efi_subsystem = (uint16_t)v;
	fld_get(img, im->avail, 0, &rom_efi[EFI_MACHINE], &v);
	im->efi_machine = (uint16_t)v;
	fld_get(img, im->avail, 0, &rom_efi[EFI_COMPRESSION], &v);
	im->efi_compression = (uint16_t)v;
	fld_get(img, im->avail, 0, &rom_efi[EFI_OFFSET], &v);
	im->efi_offset = (uint16_t)v;

	if (im->init_size == 0)
		problem(rom, idx, "EFI initialisation size is 0");
	else if (im->init_size > im->length)
		problem(rom, idx,
			"EFI initialisation size %zu is larger than the image length %zu",
			im->init_size, im->length);
	if (!rom_efi_subsystem_name(im->efi_subsystem))
		problem(rom, idx,
			"EFI subsystem %u is not an application or driver",
			im->efi_subsystem);
	if (im->efi_compression > 1)
		problem(rom, idx,
			"EFI compression type %u is unknown (0 none, 1 EFI compression)",
			im->efi_compression);
	if (im->efi_offset < 0x1c ||
	    (im->init_size && im->efi_offset >= im->init_size)) {
		problem(rom, idx,
			"EFI image offset 0x%x lies outside the initialisation area",
			im->efi_offset);
		return;
	}
	if (im->efi_compression == 0 && im->efi_offset + 2u <= im->avail &&
	    memcmp(img + im->efi_offset, "MZ", 2) != 0)
		problem(rom, idx,
			"uncompressed EFI image at 0x%x does not start with \"MZ\"",
			im->efi_offset);

	if (im->efi_compression != 0) {
		im->version_status = ROM_VERSION_COMPRESSED;
	} else if (find_version(img, im->avail, im->version)) {
		im->is_ipxe = true;
		im->version_status = ROM_VERSION_FOUND;
	} else if (memmem(img, im->avail, "iPXE", 4)) {
		im->is_ipxe = true;
		im->version_status = ROM_VERSION_UNKNOWN;
	}
}

/* Reads the PCI 3.0 device list of an image. */
static void parse_devlist(const uint8_t *img, struct rom_image *im,
			  struct rom *rom, int idx)
{
	size_t off = im->pcir_offset + (size_t)im->devlist_offset;

	for (;;) {
		uint16_t id;

		if (off + 2 > im->avail) {
			problem(rom, idx,
				"device list at 0x%zx has no terminating zero inside the image",
				im->pcir_offset + (size_t)im->devlist_offset);
			return;
		}
		id = get_le16(img + off);
		if (id == 0)
			return;
		if (im->devlist_count == ROM_MAX_DEVLIST) {
			problem(rom, idx, "device list holds more than %d ids",
				ROM_MAX_DEVLIST);
			return;
		}
		im->devlist[im->devlist_count++] = id;
		off += 2;
	}
}

/* Reads the PCI data structure; false if the image cannot be followed. */
static bool parse_pcir(const uint8_t *img, size_t avail, struct rom_image *im,
		       struct rom *rom, int idx)
{
	uint32_t v, p;

	fld_get(img, avail, 0, &rom_hdr[HDR_PCIR], &p);
	if (p < 0x1a ||
	    !fld_sig(img, avail, p, &rom_pcir[PCIR_SIGNATURE], "PCIR")) {
		problem(rom, idx, "%s 0x%x: no \"PCIR\" signature there",
			rom_hdr[HDR_PCIR].name, p);
		return false;
	}
	if (!fld_get(img, avail, p, &rom_pcir[PCIR_INDICATOR], &v)) {
		problem(rom, idx,
			"PCI data structure at 0x%x runs past the end of the file",
			p);
		return false;
	}
	im->pcir_offset = p;
	if (p % 4)
		problem(rom, idx,
			"PCI data structure at 0x%x is not 4-byte aligned", p);
	fld_get(img, avail, p, &rom_pcir[PCIR_LENGTH], &v);
	im->pcir_length = (uint16_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_REVISION], &v);
	im->pcir_revision = (uint8_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_VENDOR], &v);
	im->vendor = (uint16_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_DEVICE], &v);
	im->device = (uint16_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_DEVLIST], &v);
	im->devlist_offset = (uint16_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_CLASS], &v);
	im->class_code = v; /* base class in the high byte */
	fld_get(img, avail, p, &rom_pcir[PCIR_IMAGE_LENGTH], &v);
	im->length = (size_t)v * ROM_UNIT;
	fld_get(img, avail, p, &rom_pcir[PCIR_CODE_REVISION], &v);
	im->code_revision = (uint16_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_CODE_TYPE], &v);
	im->code_type = (uint8_t)v;
	fld_get(img, avail, p, &rom_pcir[PCIR_INDICATOR], &v);
	im->indicator = (uint8_t)v;
	im->last = (v & PCIR_LAST_IMAGE) != 0;
	im->pcir_ok = true;

	if (im->length == 0) {
		problem(rom, idx,
			"image length is 0: the image chain cannot advance");
		return false;
	}
	if (im->pcir_length < 0x18)
		problem(rom, idx,
			"PCI data structure length %u is shorter than 0x18",
			im->pcir_length);
	else if (p + im->pcir_length > im->length)
		problem(rom, idx,
			"PCI data structure (0x%x + %u bytes) runs past the image length %zu",
			p, im->pcir_length, im->length);
	if (im->pcir_revision >= 3 && im->pcir_length < 0x1c)
		problem(rom, idx,
			"PCI data structure revision %u needs length 0x1c, not %u",
			im->pcir_revision, im->pcir_length);
	if (im->pcir_revision >= 3 && im->pcir_length >= 0x1c &&
	    fld_get(img, avail, p, &rom_pcir[PCIR_MAX_RUNTIME], &v))
		im->max_runtime = (uint16_t)v;
	return true;
}

/* Classifies the bytes after the last image as padding or a problem. */
static void check_trailer(const uint8_t *buf, size_t len, struct rom *rom)
{
	size_t n = len - rom->used;
	const uint8_t *t = buf + rom->used;
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n && t[i] == t[0]; i++)
		;
	if (i == n && (t[0] == 0xff || t[0] == 0x00)) {
		rom->padding = n;
		return;
	}
	if (n >= 2 && get_le16(t) == ROM_SIGNATURE)
		problem(rom, -1,
			"an image at 0x%zx follows the image marked last",
			rom->used);
	else
		problem(rom, -1,
			"%zu bytes after the last image (from 0x%zx) are not 0xFF or 0x00 padding",
			n, rom->used);
}

int rom_parse(const uint8_t *buf, size_t len, struct rom *rom)
{
	size_t off = 0;

	memset(rom, 0, sizeof(*rom));
	rom->size = len;
	if (len == 0) {
		problem(rom, -1, "the file is empty");
		return -EINVAL;
	}
	if (len > ROM_MAX_SIZE)
		problem(rom, -1,
			"%zu bytes is larger than the 16 MiB a PCI ROM can map",
			len);
	for (;;) {
		struct rom_image *im;
		const uint8_t *img = buf + off;
		size_t avail = len - off;
		int idx = (int)rom->n_images;
		uint32_t v;

		if (rom->n_images == ROM_MAX_IMAGES) {
			problem(rom, -1,
				"more than %d images: the chain is not followed further",
				ROM_MAX_IMAGES);
			break;
		}
		im = &rom->img[rom->n_images++];
		im->offset = off;
		im->avail = avail;
		if (avail < 0x1c) {
			problem(rom, idx,
				"truncated: %zu bytes, too short for a ROM header",
				avail);
			break;
		}
		fld_get(img, avail, 0, &rom_hdr[HDR_SIGNATURE], &v);
		if (v != ROM_SIGNATURE) {
			problem(rom, idx,
				"bad ROM signature 0x%04x (want 0xAA55)", v);
			break;
		}
		if (!parse_pcir(img, avail, im, rom, idx))
			break;
		if (im->length > avail) {
			problem(rom, idx,
				"truncated: image length %zu runs past the end of the file (%zu bytes left)",
				im->length, avail);
		} else {
			im->avail = im->length;
		}
		if (im->pcir_revision >= 3 && im->devlist_offset)
			parse_devlist(img, im, rom, idx);
		if (im->code_type == ROM_CODE_X86)
			parse_legacy(img, im, rom, idx);
		else if (im->code_type == ROM_CODE_EFI)
			parse_efi(img, im, rom, idx);
		else if (im->code_type != ROM_CODE_OPENFIRMWARE &&
			 im->code_type != ROM_CODE_PARISC)
			problem(rom, idx, "unknown code type 0x%02x",
				im->code_type);
		if (im->length > avail) {
			rom->used = len;
			break;
		}
		off += im->length;
		rom->used = off;
		if (im->last) {
			check_trailer(buf, len, rom);
			break;
		}
		if (off == len) {
			problem(rom, idx,
				"no image is marked last: the chain runs to the end of the file");
			break;
		}
	}
	if (rom->n_problems)
		return -EINVAL;
	return 0;
}

void rom_fix_checksum(uint8_t *buf, const struct rom_image *img)
{
	uint8_t *p = buf + img->offset;

	if (img->code_type != ROM_CODE_X86 || img->init_size == 0)
		return;
	p[img->checksum_fix] = 0;
	p[img->checksum_fix] = (uint8_t)(0x100 - sum8(p, img->init_size));
}

/* Sets or clears the last-image flag of an image. */
static void set_last(uint8_t *buf, const struct rom_image *im, bool last)
{
	uint8_t ind = im->indicator;

	ind = last ? (uint8_t)(ind | PCIR_LAST_IMAGE)
		   : (uint8_t)(ind & ~PCIR_LAST_IMAGE);
	fld_put(buf, im->offset + im->pcir_offset, &rom_pcir[PCIR_INDICATOR],
		ind);
}

/* The bytes an edit changed, so that an edit which would break the ROM can
 * be taken back. */
struct rom_undo {
	size_t n;
	size_t off[ROM_MAX_IMAGES * 8];
	uint8_t old[ROM_MAX_IMAGES * 8];
};

static void undo_save(struct rom_undo *u, const uint8_t *buf, size_t off,
		      size_t len)
{
	for (size_t i = 0; i < len && u->n < ROM_MAX_IMAGES * 8; i++) {
		u->off[u->n] = off + i;
		u->old[u->n++] = buf[off + i];
	}
}

/* True if an edited buffer is a valid ROM. */
static bool edit_ok(const uint8_t *buf, size_t len)
{
	struct rom check;

	return rom_parse(buf, len, &check) == 0;
}

int rom_set_id(uint8_t *buf, size_t len, uint16_t vendor, uint16_t device)
{
	struct rom rom;
	struct rom_undo undo = { 0 };

	if (rom_parse(buf, len, &rom) != 0)
		return -EINVAL;
	for (size_t i = 0; i < rom.n_images; i++) {
		const struct rom_image *im = &rom.img[i];
		size_t pcir = im->offset + im->pcir_offset;
		bool listed = false;

		undo_save(&undo, buf, pcir + rom_pcir[PCIR_VENDOR].offset, 4);
		fld_put(buf, pcir, &rom_pcir[PCIR_VENDOR], vendor);
		fld_put(buf, pcir, &rom_pcir[PCIR_DEVICE], device);
		for (size_t k = 0; k < im->devlist_count; k++)
			listed |= im->devlist[k] == device;
		/* The device list names the ids this image drives; the old
		 * device id becomes the new one, unless it is listed already. */
		for (size_t k = 0; k < im->devlist_count && !listed; k++) {
			size_t at = pcir + im->devlist_offset + 2 * k;

			if (im->devlist[k] == im->device) {
				undo_save(&undo, buf, at, 2);
				put_le16(buf + at, device);
				break;
			}
		}
		if (im->code_type == ROM_CODE_X86)
			undo_save(&undo, buf, im->offset + im->checksum_fix, 1);
		rom_fix_checksum(buf, im);
	}
	/* A checksum byte or string that overlaps the ids would make the
	 * result invalid: refuse rather than write a broken ROM. */
	if (!edit_ok(buf, len)) {
		while (undo.n--)
			buf[undo.off[undo.n]] = undo.old[undo.n];
		return -ENOTSUP;
	}
	return 0;
}

int rom_extract(const uint8_t *buf, size_t len, uint8_t code_type, uint8_t *out,
		size_t *out_len)
{
	struct rom rom;
	size_t n = 0, kept = 0, final = 0;

	if (rom_parse(buf, len, &rom) != 0)
		return -EINVAL;
	for (size_t i = 0; i < rom.n_images; i++)
		if (rom.img[i].code_type == code_type)
			final = i, kept++;
	if (kept == 0)
		return -ENOENT;
	for (size_t i = 0; i < rom.n_images; i++) {
		struct rom_image im = rom.img[i];

		if (im.code_type != code_type)
			continue;
		memcpy(out + n, buf + im.offset, im.length);
		im.offset = n;
		set_last(out, &im, i == final);
		rom_fix_checksum(out, &im);
		n += im.length;
	}
	if (!edit_ok(out, n))
		return -ENOTSUP;
	*out_len = n;
	return 0;
}

const char *rom_combine_strerror(enum rom_combine_error e)
{
	switch (e) {
	case ROM_COMBINE_OK:
		return "combined";
	case ROM_COMBINE_LEGACY_INVALID:
		return "the legacy ROM is not valid (see `wupan-rom verify`)";
	case ROM_COMBINE_EFI_INVALID:
		return "the EFI ROM is not valid (see `wupan-rom verify`)";
	case ROM_COMBINE_LEGACY_NOT_X86:
		return "the legacy ROM holds an image that is not legacy x86";
	case ROM_COMBINE_EFI_NOT_EFI:
		return "the EFI ROM holds an image that is not EFI";
	case ROM_COMBINE_ID_MISMATCH:
		return "the two ROMs are for different PCI ids (use set-id first)";
	case ROM_COMBINE_TOO_BIG:
		return "the combined ROM would exceed 16 MiB";
	case ROM_COMBINE_TOO_MANY:
		return "the combined ROM would hold too many images";
	case ROM_COMBINE_BREAKS:
		return "setting the last-image flags would break a checksum or header these ROMs overlap";
	}
	return "unknown error";
}

enum rom_combine_error rom_combine(const uint8_t *legacy, size_t legacy_len,
				   const uint8_t *efi, size_t efi_len,
				   uint8_t *out, size_t *out_len)
{
	struct rom a, b;
	size_t n = 0, total;

	if (rom_parse(legacy, legacy_len, &a) != 0)
		return ROM_COMBINE_LEGACY_INVALID;
	if (rom_parse(efi, efi_len, &b) != 0)
		return ROM_COMBINE_EFI_INVALID;
	for (size_t i = 0; i < a.n_images; i++)
		if (a.img[i].code_type != ROM_CODE_X86)
			return ROM_COMBINE_LEGACY_NOT_X86;
	for (size_t i = 0; i < b.n_images; i++) {
		if (b.img[i].code_type != ROM_CODE_EFI)
			return ROM_COMBINE_EFI_NOT_EFI;
		if (b.img[i].vendor != a.img[0].vendor ||
		    b.img[i].device != a.img[0].device)
			return ROM_COMBINE_ID_MISMATCH;
	}
	total = a.used + b.used;
	if (total > ROM_MAX_SIZE)
		return ROM_COMBINE_TOO_BIG;
	if (a.n_images + b.n_images > ROM_MAX_IMAGES)
		return ROM_COMBINE_TOO_MANY;
	memcpy(out, legacy, a.used);
	memcpy(out + a.used, efi, b.used);
	for (size_t i = 0; i < a.n_images + b.n_images; i++) {
		struct rom_image im = i < a.n_images ? a.img[i]
						     : b.img[i - a.n_images];

		if (i >= a.n_images)
			im.offset += a.used;
		set_last(out, &im, i + 1 == a.n_images + b.n_images);
		rom_fix_checksum(out, &im);
		n += im.length;
	}
	if (!edit_ok(out, n))
		return ROM_COMBINE_BREAKS;
	*out_len = n;
	return ROM_COMBINE_OK;
}

/* Parses exactly four hex digits (no sign, no space, no "0x"). */
static int parse_hex16(const char *s, uint16_t *out)
{
	char digits[5];

	if (strspn(s, "0123456789abcdefABCDEF") < 4)
		return -EINVAL;
	memcpy(digits, s, 4);
	digits[4] = '\0';
	*out = (uint16_t)strtoul(digits, NULL, 16);
	return 0;
}

int rom_parse_id(const char *s, uint16_t *vendor, uint16_t *device)
{
	uint16_t v, d;

	if (strlen(s) != 9 || s[4] != ':' || parse_hex16(s, &v) != 0 ||
	    parse_hex16(s + 5, &d) != 0)
		return -EINVAL;
	*vendor = v;
	*device = d;
	return 0;
}

int rom_parse_size(const char *s, size_t *out)
{
	size_t n = strlen(s);
	uint64_t unit = 1, v;
	int rc;

	if (n > 0 && (s[n - 1] == 'K' || s[n - 1] == 'k')) {
		unit = 1024;
		n--;
	} else if (n > 0 && (s[n - 1] == 'M' || s[n - 1] == 'm')) {
		unit = 1024 * 1024;
		n--;
	}
	rc = parse_u64_n(s, n, 1, ROM_MAX_SIZE / unit, &v);
	if (rc)
		return rc;
	v *= unit;
	if (v % ROM_UNIT)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}
