/*
 * PE/COFF section lookup over an untrusted buffer: every offset read from the
 * image is checked against the buffer length before it is used (PE/COFF
 * specification, "Section Table"; field offsets as in that document).
 */
#include "pe.h"

#define DOS_MAGIC 0x5a4d /* "MZ" */
#define DOS_LFANEW 0x3c /* where the PE header offset is */
#define PE_SIG 0x00004550 /* "PE\0\0" */
#define COFF_LEN 20 /* COFF header, after "PE\0\0" */
#define COFF_NSEC 2
#define COFF_OPT_SIZE 16
#define OPT_MAGIC_PE32 0x10b
#define OPT_MAGIC_PE32PLUS 0x20b
#define OPT_SIZE_OF_IMAGE 56 /* same offset in PE32 and PE32+ */
#define OPT_SIZE_OF_HEADERS 60
#define OPT_MIN_LEN 64 /* enough for the two fields above */
#define SEC_LEN 40
#define SEC_VSIZE 8
#define SEC_VADDR 12
#define SEC_RAW_SIZE 16
#define SEC_RAW_OFF 20
#define SEC_FLAGS 36

/* Reads a little-endian 16-bit field. */
static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

/* Reads a little-endian 32-bit field. */
static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* True if [off, off + n) lies inside LEN bytes (no overflow: 64-bit math). */
static int in_bounds(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

int pe_parse(struct pe_image *img, const uint8_t *buf, size_t len)
{
	uint64_t pe_off, coff, opt, sec_off;
	uint16_t magic, opt_size;
	unsigned int nsec;

	if (!img || !buf)
		return PE_EINVAL;
	if (!in_bounds(len, 0, DOS_LFANEW + 4) || get_le16(buf) != DOS_MAGIC)
		return PE_ENOEXEC;
	pe_off = get_le32(buf + DOS_LFANEW);
	if (!in_bounds(len, pe_off, 4 + COFF_LEN) ||
	    get_le32(buf + pe_off) != PE_SIG)
		return PE_ENOEXEC;
	coff = pe_off + 4;
	nsec = get_le16(buf + coff + COFF_NSEC);
	opt_size = get_le16(buf + coff + COFF_OPT_SIZE);
	opt = coff + COFF_LEN;
	if (opt_size < OPT_MIN_LEN || !in_bounds(len, opt, opt_size))
		return PE_ENOEXEC;
	magic = get_le16(buf + opt);
	if (magic != OPT_MAGIC_PE32 && magic != OPT_MAGIC_PE32PLUS)
		return PE_ENOEXEC;
	sec_off = opt + opt_size;
	if (!in_bounds(len, sec_off, (uint64_t)nsec * SEC_LEN))
		return PE_ENOEXEC;
	img->buf = buf;
	img->len = len;
	img->sec_off = (size_t)sec_off;
	img->nsec = nsec;
	img->size_of_image = get_le32(buf + opt + OPT_SIZE_OF_IMAGE);
	img->size_of_headers = get_le32(buf + opt + OPT_SIZE_OF_HEADERS);
	return 0;
}

int pe_section_get(const struct pe_image *img, unsigned int idx,
		   struct pe_section *sec)
{
	const uint8_t *p;
	unsigned int i;

	if (!img || !sec || idx >= img->nsec)
		return PE_EINVAL;
	/* pe_parse checked that the whole table lies inside the buffer. */
	p = img->buf + img->sec_off + (size_t)idx * SEC_LEN;
	for (i = 0; i < PE_NAME_MAX; i++)
		sec->name[i] = (char)p[i];
	sec->name[PE_NAME_MAX] = '\0';
	sec->vsize = get_le32(p + SEC_VSIZE);
	sec->vaddr = get_le32(p + SEC_VADDR);
	sec->raw_size = get_le32(p + SEC_RAW_SIZE);
	sec->raw_off = get_le32(p + SEC_RAW_OFF);
	sec->flags = get_le32(p + SEC_FLAGS);
	return 0;
}

/* Compares a NUL-padded 8-byte section name with a C string. */
static int name_eq(const char *sec_name, const char *name)
{
	unsigned int i;

	for (i = 0; i < PE_NAME_MAX; i++) {
		if (sec_name[i] != name[i])
			return 0;
		if (name[i] == '\0')
			return 1;
	}
	return name[PE_NAME_MAX] == '\0';
}

int pe_find_section(const struct pe_image *img, const char *name,
		    struct pe_section *sec)
{
	unsigned int i;
	int rc;

	if (!img || !name || !sec || name[0] == '\0')
		return PE_EINVAL;
	for (i = 0; i < img->nsec; i++) {
		rc = pe_section_get(img, i, sec);
		if (rc)
			return rc;
		if (name_eq(sec->name, name))
			return 0;
	}
	return PE_ENOENT;
}

int pe_section_data(const struct pe_image *img, const struct pe_section *sec,
		    enum pe_layout layout, const uint8_t **data, size_t *len)
{
	uint64_t off, n;

	if (!img || !sec || !data || !len)
		return PE_EINVAL;
	if (layout == PE_MAPPED) {
		/* The loader zero-fills VirtualSize past the raw data. */
		off = sec->vaddr;
		n = sec->vsize ? sec->vsize : sec->raw_size;
		if (img->size_of_image &&
		    !in_bounds(img->size_of_image, off, n))
			return PE_ERANGE;
	} else if (layout == PE_FILE) {
		/* SizeOfRawData is rounded up to FileAlignment; VirtualSize,
		 * when smaller, is the true length. */
		off = sec->raw_off;
		n = sec->raw_size;
		if (sec->vsize && sec->vsize < n)
			n = sec->vsize;
	} else {
		return PE_EINVAL;
	}
	if (!in_bounds(img->len, off, n))
		return PE_ERANGE;
	*data = img->buf + off;
	*len = (size_t)n;
	return 0;
}

int pe_find_data(const uint8_t *buf, size_t len, const char *name,
		 enum pe_layout layout, const uint8_t **data, size_t *dlen)
{
	struct pe_image img;
	struct pe_section sec;
	int rc;

	rc = pe_parse(&img, buf, len);
	if (rc)
		return rc;
	rc = pe_find_section(&img, name, &sec);
	if (rc)
		return rc;
	return pe_section_data(&img, &sec, layout, data, dlen);
}
