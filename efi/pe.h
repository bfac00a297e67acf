/*
 * PE/COFF section lookup, shared by the EFI stub (over its own loaded image)
 * and the host tests (over the .efi file).  Pure: no allocation, no printing,
 * no libc beyond <stdint.h>/<stddef.h>, so it links into the freestanding stub.
 */
#ifndef WUPAN_EFI_PE_H
#define WUPAN_EFI_PE_H

#include <stddef.h>
#include <stdint.h>

/* Negative return codes (values of the Linux errno they stand for, so the
 * house rule "0 or a negative errno" holds without <errno.h> in the stub). */
#define PE_ENOENT (-2) /* no section of that name */
#define PE_EINVAL (-22) /* bad argument (index out of range, name) */
#define PE_ENOEXEC (-8) /* not a PE image, or a header lies */
#define PE_ERANGE (-34) /* a section's data lies outside the buffer */

/* Longest section name held in the section table itself (longer names go
 * through the COFF string table, which images never carry). */
#define PE_NAME_MAX 8

/* How the buffer holds the image: as the file, or as the loader mapped it. */
enum pe_layout {
	PE_FILE, /* sections at PointerToRawData */
	PE_MAPPED, /* at VirtualAddress (as at LoadedImage->ImageBase) */
};

/* A parsed image: where its section table is and how long it is. */
struct pe_image {
	const uint8_t *buf;
	size_t len;
	size_t sec_off; /* offset of the first section header */
	unsigned int nsec; /* number of section headers */
	uint32_t size_of_image;
	uint32_t size_of_headers;
};

/* One section header, decoded. */
struct pe_section {
	char name[PE_NAME_MAX + 1]; /* NUL-terminated */
	uint32_t vaddr; /* VirtualAddress (RVA) */
	uint32_t vsize; /* VirtualSize */
	uint32_t raw_off; /* PointerToRawData */
	uint32_t raw_size; /* SizeOfRawData */
	uint32_t flags; /* Characteristics */
};

/* Checks the DOS, PE and optional headers and locates the section table. */
int pe_parse(struct pe_image *img, const uint8_t *buf, size_t len);

/* Decodes section header IDX (0-based) into SEC. */
int pe_section_get(const struct pe_image *img, unsigned int idx,
		   struct pe_section *sec);

/* Finds the first section called NAME (at most PE_NAME_MAX characters). */
int pe_find_section(const struct pe_image *img, const char *name,
		    struct pe_section *sec);

/* Points DATA/LEN at the bytes of SEC inside the image buffer, laid out as
 * LAYOUT says; the length is VirtualSize (the unpadded size) where the
 * layout holds that many bytes. */
int pe_section_data(const struct pe_image *img, const struct pe_section *sec,
		    enum pe_layout layout, const uint8_t **data, size_t *len);

/* Convenience: pe_parse + pe_find_section + pe_section_data. */
int pe_find_data(const uint8_t *buf, size_t len, const char *name,
		 enum pe_layout layout, const uint8_t **data, size_t *dlen);

#endif
