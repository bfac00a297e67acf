/* Builds small PCI option ROM images by hand for the rom tests: a legacy
 * x86 image in the layout iPXE uses, and an EFI image.  Offsets written here
 * are independent of src/rom's tables on purpose, so the tests check them. */
#ifndef WUPAN_TESTS_UNIT_TEST_ROM_BUILD_H
#define WUPAN_TESTS_UNIT_TEST_ROM_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct rb_opts {
	uint16_t vendor, device;
	unsigned blocks; /* image length in 512-byte units */
	bool last;
	bool no_pnp;
	bool ipxe_header; /* iPXE header, with shrunk < length if set */
	unsigned shrunk; /* uncompressed blocks for the iPXE header */
	const char *product; /* PnP product string, "iPXE" if NULL */
	const char *text; /* extra text placed in the image (version) */
	uint16_t devlist[4];
	unsigned ndev; /* 0: a device list holding just the device */
	bool no_devlist; /* PCIR device list pointer 0 */
	uint16_t compression; /* EFI */
};

static inline void rb_le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline uint8_t rb_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The PCI data structure at p + 0x1c. */
static inline void rb_pcir(uint8_t *p, const struct rb_opts *o, int rev,
			   uint8_t code_type)
{
	uint8_t *r = p + 0x1c;

	rb_le16(p + 0x18, 0x1c);
	memcpy(r, "PCIR", 4);
	rb_le16(r + 4, o->vendor);
	rb_le16(r + 6, o->device);
	rb_le16(r + 0x0a, rev >= 3 ? 0x1c : 0x18);
	r[0x0c] = (uint8_t)rev;
	r[0x0d] = 0x00; /* prog-if */
	r[0x0e] = 0x00; /* ethernet */
	r[0x0f] = 0x02; /* network */
	rb_le16(r + 0x10, o->blocks);
	rb_le16(r + 0x12, 1);
	r[0x14] = code_type;
	r[0x15] = o->last ? 0x80 : 0x00;
	if (rev >= 3)
		rb_le16(r + 0x16, o->blocks);
}

/* A legacy image of o->blocks * 512 bytes; returns its length. */
static inline size_t rb_legacy(uint8_t *p, const struct rb_opts *o)
{
	size_t len = (size_t)o->blocks * 512;
	const char *product = o->product ? o->product : "iPXE";

	memset(p, 0, len);
	p[0] = 0x55;
	p[1] = 0xaa;
	p[2] = (uint8_t)o->blocks;
	p[3] = 0xe9; /* jmp near */
	rb_pcir(p, o, 3, 0x00);
	if (!o->no_devlist) {
		uint8_t *d = p + 0x100;

		rb_le16(p + 0x1c + 8, 0x100 - 0x1c);
		if (o->ndev == 0) {
			rb_le16(d, o->device);
		} else {
			for (unsigned i = 0; i < o->ndev; i++)
				rb_le16(d + 2 * i, o->devlist[i]);
		}
	}
	if (!o->no_pnp) {
		uint8_t *n = p + 0x40;

		rb_le16(p + 0x1a, 0x40);
		memcpy(n, "$PnP", 4);
		n[4] = 1;
		n[5] = 2; /* 32 bytes */
		rb_le16(n + 0x0e, 0x60);
		rb_le16(n + 0x10, 0x70);
		n[0x12] = 0x02;
		rb_le16(n + 0x1a, 0x90);
		memcpy(p + 0x60, "wupan tests", 12);
		memcpy(p + 0x70, product, strlen(product) + 1);
		n[9] = (uint8_t)(0x100 - rb_sum(n, 32));
	}
	if (o->ipxe_header) {
		rb_le16(p + 0x10, 0x80);
		memcpy(p + 0x80, "iPXE", 4);
		p[0x84] = 12;
		p[0x86] = (uint8_t)o->shrunk;
		p[0x88] = 0x78;
		p[0x89] = 0x56;
		p[0x8a] = 0x34;
		p[0x8b] = 0x12;
	}
	if (o->text)
		memcpy(p + 0x120, o->text, strlen(o->text));
	p[6] = (uint8_t)(0x100 - rb_sum(p, len));
	return len;
}

/* An EFI image of o->blocks * 512 bytes; returns its length. */
static inline size_t rb_efi(uint8_t *p, const struct rb_opts *o)
{
	size_t len = (size_t)o->blocks * 512;

	memset(p, 0, len);
	p[0] = 0x55;
	p[1] = 0xaa;
	rb_le16(p + 2, o->blocks);
	rb_le16(p + 4, 0x0ef1);
	rb_le16(p + 8, 11); /* boot service driver */
	rb_le16(p + 0x0a, 0x8664); /* x64 */
	rb_le16(p + 0x0c, o->compression);
	rb_le16(p + 0x16, 0x38);
	rb_pcir(p, o, 0, 0x03);
	if (o->compression == 0)
		memcpy(p + 0x38, "MZ", 2);
	if (o->text)
		memcpy(p + 0x100, o->text, strlen(o->text) + 1);
	return len;
}

#endif
