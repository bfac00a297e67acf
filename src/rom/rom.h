/*
 * PCI expansion ROMs: a pure parser, checker and editor over a byte buffer.
 *
 * A ROM is a chain of images laid end to end: each starts with the 0xAA55
 * signature and points at a "PCIR" data structure that gives the image's
 * length, code type (x86 or EFI) and a last-image flag.  Legacy x86 images
 * may carry a PnP expansion header and must sum to zero over their
 * initialisation size; EFI images carry a small EFI header instead.  The
 * header layouts are declared once, as field tables, in rom.c.
 *
 * Nothing here prints, allocates or touches files: callers pass buffers and
 * get results and problem descriptions back.
 */
#ifndef WUPAN_ROM_ROM_H
#define WUPAN_ROM_ROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: a PCI ROM BAR maps at most 16 MiB, and no real ROM holds more than
 * a handful of images; a longer chain is reported, not followed. */
#define ROM_MAX_SIZE (16u * 1024 * 1024)
#define ROM_MAX_IMAGES 16
#define ROM_MAX_DEVLIST 32
#define ROM_MAX_PROBLEMS 32
#define ROM_STR_MAX 64

/* PCI data structure code types (PCI Firmware Specification 3.0 §5.1.3). */
enum rom_code_type {
	ROM_CODE_X86 = 0x00,
	ROM_CODE_OPENFIRMWARE = 0x01,
	ROM_CODE_PARISC = 0x02,
	ROM_CODE_EFI = 0x03,
};

/* What is known about the iPXE version inside an image. */
enum rom_version_status {
	ROM_VERSION_NOT_IPXE = 0, /* no sign of iPXE */
	ROM_VERSION_FOUND, /* version[] holds the string */
	ROM_VERSION_COMPRESSED, /* the code is compressed: not searchable */
	ROM_VERSION_UNKNOWN, /* iPXE, but no version string found */
};

struct rom_pnp {
	bool present; /* the ROM header points at a PnP header */
	bool valid; /* "$PnP" signature and length inside the image */
	uint32_t offset; /* from the image start */
	uint8_t revision;
	uint32_t length; /* bytes */
	bool checksum_ok;
	uint8_t checksum_sum; /* byte sum over the header; 0 when right */
	char manufacturer[ROM_STR_MAX];
	char product[ROM_STR_MAX];
	uint16_t bev, bcv;
};

struct rom_image {
	size_t offset; /* of the image in the ROM */
	size_t length; /* PCIR image length in bytes */
	size_t avail; /* bytes of it present in the buffer */
	bool pcir_ok; /* the PCIR structure was found and read */
	uint32_t pcir_offset; /* from the image start */
	uint16_t pcir_length;
	uint8_t pcir_revision;
	uint16_t vendor, device;
	uint16_t devlist_offset; /* PCI 3.0 device list pointer, 0 if none */
	uint16_t devlist[ROM_MAX_DEVLIST];
	size_t devlist_count;
	uint32_t class_code; /* base << 16 | sub << 8 | prog-if */
	uint16_t code_revision;
	uint8_t code_type;
	uint8_t indicator;
	bool last;
	uint16_t max_runtime; /* PCI 3.0, 512-byte units */
	size_t init_size; /* bytes: legacy header byte or EFI field */

	/* Legacy x86 images. */
	bool checksum_checked; /* false if the image is cut short */
	bool checksum_ok;
	uint8_t checksum_sum;
	uint32_t checksum_fix; /* byte adjusted by rom_fix_checksum */
	struct rom_pnp pnp;
	bool ipxe_header; /* iPXE's own header ("iPXE" at ROM+0x10) */
	uint32_t ipxe_build_id;
	size_t ipxe_shrunk; /* bytes of the image that are not compressed */

	/* EFI images. */
	bool efi_ok; /* EFI signature 0x0EF1 present */
	uint16_t efi_subsystem;
	uint16_t efi_machine;
	uint16_t efi_compression;
	uint16_t efi_offset;

	bool is_ipxe;
	enum rom_version_status version_status;
	char version[ROM_STR_MAX];
};

struct rom_problem {
	int image; /* index, or -1 for the ROM as a whole */
	char msg[160];
};

struct rom {
	size_t size; /* of the buffer */
	size_t used; /* end of the last image read */
	size_t padding; /* 0xFF or 0x00 bytes after the last image */
	size_t n_images;
	struct rom_image img[ROM_MAX_IMAGES];
	size_t n_problems;
	bool problems_truncated;
	struct rom_problem problem[ROM_MAX_PROBLEMS];
};

/* Parses and checks a ROM.  Returns 0 if it is entirely valid, or -EINVAL
 * with rom->problem[] saying why (every input gets a description). */
int rom_parse(const uint8_t *buf, size_t len, struct rom *rom);

/* Name of a code type ("legacy x86", "EFI", ...). */
const char *rom_code_type_name(uint8_t code_type);
/* Name of an EFI subsystem or machine type, or NULL if unknown. */
const char *rom_efi_subsystem_name(uint16_t subsystem);
const char *rom_efi_machine_name(uint16_t machine);

/* Parses "VVVV:DDDD" (exactly four hex digits each).  Returns 0 or -EINVAL. */
int rom_parse_id(const char *s, uint16_t *vendor, uint16_t *device);
/* Parses a flash size: bytes, or a number with a K or M suffix (binary
 * units); a positive multiple of 512 up to ROM_MAX_SIZE.  0 or -EINVAL /
 * -ERANGE. */
int rom_parse_size(const char *s, size_t *out);

/* Rewrites vendor and device ids in every image of a valid ROM (and the old
 * device id in each PCI 3.0 device list), then fixes the legacy checksums.
 * Returns 0, -EINVAL if the ROM is not valid to begin with, or -ENOTSUP
 * (buffer unchanged) if its layout would make the result invalid. */
int rom_set_id(uint8_t *buf, size_t len, uint16_t vendor, uint16_t device);

/* Copies the images of one code type out of a valid ROM into out (at least
 * len bytes), marks the final one last and fixes checksums.  Returns 0 and
 * sets *out_len, -EINVAL (ROM not valid), -ENOENT (no such image) or
 * -ENOTSUP (the result would not be valid). */
int rom_extract(const uint8_t *buf, size_t len, uint8_t code_type, uint8_t *out,
		size_t *out_len);

/* Why rom_combine refused, for the caller's message. */
enum rom_combine_error {
	ROM_COMBINE_OK = 0,
	ROM_COMBINE_LEGACY_INVALID,
	ROM_COMBINE_EFI_INVALID,
	ROM_COMBINE_LEGACY_NOT_X86,
	ROM_COMBINE_EFI_NOT_EFI,
	ROM_COMBINE_ID_MISMATCH,
	ROM_COMBINE_TOO_BIG,
	ROM_COMBINE_TOO_MANY,
	ROM_COMBINE_BREAKS,
};

/* Chains the images of a legacy ROM and an EFI ROM into out (at least
 * legacy_len + efi_len bytes): every image but the final one loses its
 * last-image flag, and legacy checksums are fixed.  Returns
 * ROM_COMBINE_OK and sets *out_len, or the reason it refused. */
enum rom_combine_error rom_combine(const uint8_t *legacy, size_t legacy_len,
				   const uint8_t *efi, size_t efi_len,
				   uint8_t *out, size_t *out_len);
/* Text for a rom_combine refusal. */
const char *rom_combine_strerror(enum rom_combine_error e);

/* Recomputes the checksum byte of one legacy image in place. */
void rom_fix_checksum(uint8_t *buf, const struct rom_image *img);

#endif
