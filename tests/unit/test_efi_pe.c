/* Unit tests for efi/pe.c: hand-built PE images (valid, truncated, lying
 * offsets) and the real stub from the build tree, bare and embedded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../efi/loadopts.h"
#include "../../efi/pe.h"
#include "unit.h"

#define LFANEW 0x40
#define OPT_SIZE 240 /* PE32+ optional header with 16 data directories */
#define SEC_TABLE (LFANEW + 4 + 20 + OPT_SIZE)

/* Writes little-endian fields of the hand-built images. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

struct test_sec {
	const char *name;
	uint32_t vaddr, vsize, raw_off, raw_size;
};

/* Writes a PE32+ image with the given sections into BUF (zeroed first). */
static void build_pe(uint8_t *buf, size_t len, const struct test_sec *s,
		     unsigned int n, uint32_t size_of_image)
{
	uint8_t *coff = buf + LFANEW + 4, *opt = coff + 20;

	memset(buf, 0, len);
	buf[0] = 'M';
	buf[1] = 'Z';
	put32(buf + 0x3c, LFANEW);
	memcpy(buf + LFANEW, "PE\0\0", 4);
	put16(coff, 0x8664);
	put16(coff + 2, (uint16_t)n);
	put16(coff + 16, OPT_SIZE);
	put16(opt, 0x20b);
	put32(opt + 56, size_of_image);
	put32(opt + 60, 0x200);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *h = buf + SEC_TABLE + 40 * i;

		memcpy(h, s[i].name, strnlen(s[i].name, 8));
		put32(h + 8, s[i].vsize);
		put32(h + 12, s[i].vaddr);
		put32(h + 16, s[i].raw_size);
		put32(h + 20, s[i].raw_off);
	}
}

static const struct test_sec two[] = {
	{ ".text", 0x1000, 0x10, 0x200, 0x200 },
	{ ".script", 0x2000, 0x07, 0x400, 0x200 },
};

/* A valid two-section image: lookups, data, refusals. */
static void test_handmade(void)
{
	static uint8_t buf[0x600];
	struct pe_image img;
	struct pe_section sec;
	const uint8_t *d;
	size_t n;

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	memcpy(buf + 0x400, "#!ipxe\n", 7);
	CHECK("valid: parse", pe_parse(&img, buf, sizeof(buf)) == 0);
	CHECK("valid: section count", img.nsec == 2);
	CHECK("valid: SizeOfImage", img.size_of_image == 0x3000);
	CHECK("valid: find .script",
	      pe_find_section(&img, ".script", &sec) == 0 &&
		      sec.vaddr == 0x2000 && sec.raw_off == 0x400);
	CHECK("valid: file data is VirtualSize long",
	      pe_section_data(&img, &sec, PE_FILE, &d, &n) == 0 &&
		      d == buf + 0x400 && n == 7 && !memcmp(d, "#!ipxe\n", 7));
	CHECK("valid: missing section",
	      pe_find_section(&img, ".ipxe", &sec) == PE_ENOENT);
	CHECK("valid: prefix of a name does not match",
	      pe_find_section(&img, ".scrip", &sec) == PE_ENOENT);
	CHECK("valid: longer name does not match",
	      pe_find_section(&img, ".scriptx", &sec) == PE_ENOENT);
	CHECK("valid: name over 8 chars",
	      pe_find_section(&img, ".scriptxy", &sec) == PE_ENOENT);
	CHECK("valid: empty name",
	      pe_find_section(&img, "", &sec) == PE_EINVAL);
	CHECK("valid: index out of range",
	      pe_section_get(&img, 2, &sec) == PE_EINVAL);
	CHECK("valid: mapped layout beyond the buffer",
	      pe_find_data(buf, sizeof(buf), ".script", PE_MAPPED, &d, &n) ==
		      PE_ERANGE);
	CHECK("valid: bad layout",
	      pe_section_data(&img, &sec, (enum pe_layout)7, &d, &n) ==
		      PE_EINVAL);
	CHECK("null buffer", pe_parse(&img, NULL, 0) == PE_EINVAL);
}

/* A name filling all 8 bytes has no NUL in the table. */
static void test_eight_char_name(void)
{
	static uint8_t buf[0x600];
	static const struct test_sec s[] = {
		{ ".abcdefg", 0x1000, 0x10, 0x200, 0x10 },
	};
	const uint8_t *d;
	size_t n;

	build_pe(buf, sizeof(buf), s, 1, 0x2000);
	CHECK("8-char name without NUL",
	      pe_find_data(buf, sizeof(buf), ".abcdefg", PE_FILE, &d, &n) ==
			      0 &&
		      n == 0x10);
}

/* Images cut short at every length. */
static void test_truncated(void)
{
	static uint8_t buf[0x600];
	struct pe_image img;
	size_t len, bad = 0;
	const size_t table_end = SEC_TABLE + 2 * 40;
	const uint8_t *d;
	size_t n;

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	/* Every cut before the end of the section table is refused, and on
	 * the heap ASan sees any read past the cut. */
	for (len = 0; len < table_end; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, buf, len);
		if (pe_parse(&img, copy, len) != PE_ENOEXEC)
			bad++;
		free(copy);
	}
	CHECK("truncated headers refused", bad == 0);
	CHECK("cut inside section data: ERANGE",
	      pe_find_data(buf, 0x405, ".script", PE_FILE, &d, &n) ==
		      PE_ERANGE);
	CHECK("cut after section data: ok",
	      pe_find_data(buf, 0x407, ".script", PE_FILE, &d, &n) == 0);
}

/* Headers whose offsets, counts or sizes lie. */
static void test_lies(void)
{
	static uint8_t buf[0x600];
	struct pe_image img;
	const uint8_t *d;
	size_t n;

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	buf[0] = 'X';
	CHECK("no MZ", pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put32(buf + 0x3c, 0xfffffff0);
	CHECK("e_lfanew past the end",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);
	put32(buf + 0x3c, sizeof(buf) - 10);
	CHECK("e_lfanew leaves no room for COFF",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	buf[LFANEW + 2] = 'X';
	CHECK("bad PE signature",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put16(buf + LFANEW + 4 + 2, 0xffff);
	CHECK("section count past the end",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put16(buf + LFANEW + 4 + 16, 0xfff0);
	CHECK("optional header size past the end",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);
	put16(buf + LFANEW + 4 + 16, 8);
	CHECK("optional header too small",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put16(buf + LFANEW + 24, 0x107);
	CHECK("bad optional magic",
	      pe_parse(&img, buf, sizeof(buf)) == PE_ENOEXEC);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put32(buf + SEC_TABLE + 40 + 20, 0xffffff00); /* raw_off */
	CHECK("raw offset past the end",
	      pe_find_data(buf, sizeof(buf), ".script", PE_FILE, &d, &n) ==
		      PE_ERANGE);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put32(buf + SEC_TABLE + 40 + 8, 0); /* vsize */
	put32(buf + SEC_TABLE + 40 + 16, 0xffffffff); /* raw_size */
	CHECK("raw size wraps", pe_find_data(buf, sizeof(buf), ".script",
					     PE_FILE, &d, &n) == PE_ERANGE);

	build_pe(buf, sizeof(buf), two, 2, 0x3000);
	put32(buf + SEC_TABLE + 40 + 12, 0xfffffffe); /* vaddr */
	CHECK("mapped address wraps",
	      pe_find_data(buf, sizeof(buf), ".script", PE_MAPPED, &d, &n) ==
		      PE_ERANGE);
}

/* Reads a whole file; NULL if it cannot. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)n))) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

/* Lays a PE file out as a loader would: headers, then each section at its
 * VirtualAddress, zero-filled up to SizeOfImage. */
static uint8_t *map_image(const uint8_t *file, size_t len, size_t *out_len)
{
	struct pe_image img;
	struct pe_section sec;
	uint8_t *m;

	if (pe_parse(&img, file, len) || !img.size_of_image ||
	    img.size_of_headers > len ||
	    img.size_of_headers > img.size_of_image)
		return NULL;
	m = calloc(1, img.size_of_image);
	if (!m)
		return NULL;
	memcpy(m, file, img.size_of_headers);
	for (unsigned int i = 0; i < img.nsec; i++) {
		const uint8_t *d;
		size_t n;

		if (pe_section_get(&img, i, &sec) ||
		    pe_section_data(&img, &sec, PE_FILE, &d, &n) ||
		    sec.vaddr > img.size_of_image ||
		    n > img.size_of_image - sec.vaddr) {
			free(m);
			return NULL;
		}
		memcpy(m + sec.vaddr, d, n);
	}
	*out_len = img.size_of_image;
	return m;
}

/* The stub from the build tree, bare and with a stand-in payload. */
static void test_real_stub(void)
{
	const char *o = getenv("O") ? getenv("O") : "build";
	static const char script[] = "#!ipxe\necho wupan-test-script\n";
	char path[4096];
	uint8_t *stub, *emb, *mapped;
	size_t stub_len = 0, emb_len = 0, map_len = 0, n, units;
	struct pe_image img;
	struct pe_section text, ipxe, scr;
	const uint8_t *d;
	uint16_t opts[64];

	snprintf(path, sizeof(path), "%s/efi/stub.efi", o);
	stub = slurp(path, &stub_len);
	CHECK("bare stub: readable (make efi-stub)", stub != NULL);
	snprintf(path, sizeof(path), "%s/efi/test-embedded.efi", o);
	emb = slurp(path, &emb_len);
	CHECK("embedded stub: readable", emb != NULL);
	if (!stub || !emb)
		goto out;

	CHECK("bare stub: parses", pe_parse(&img, stub, stub_len) == 0);
	CHECK("bare stub: has .text",
	      pe_find_section(&img, ".text", &text) == 0);
	CHECK("bare stub: no .ipxe",
	      pe_find_section(&img, ".ipxe", &ipxe) == PE_ENOENT);

	CHECK("embedded: parses", pe_parse(&img, emb, emb_len) == 0);
	CHECK("embedded: .ipxe and .script",
	      pe_find_section(&img, ".ipxe", &ipxe) == 0 &&
		      pe_find_section(&img, ".script", &scr) == 0);
	CHECK("embedded: 4 KiB aligned, past the stub, in order",
	      ipxe.vaddr % 4096 == 0 && scr.vaddr % 4096 == 0 &&
		      ipxe.vaddr >= text.vaddr + text.vsize &&
		      scr.vaddr >= ipxe.vaddr + ipxe.vsize);
	CHECK("embedded: SizeOfImage covers .script",
	      img.size_of_image >= scr.vaddr + scr.vsize);
	CHECK("embedded: .ipxe holds the payload file",
	      pe_section_data(&img, &ipxe, PE_FILE, &d, &n) == 0 &&
		      n == stub_len && !memcmp(d, stub, n));
	CHECK("embedded: .script holds the script",
	      pe_section_data(&img, &scr, PE_FILE, &d, &n) == 0 &&
		      n == strlen(script) && !memcmp(d, script, n));

	/* What the stub does at run time, over a loader-style mapping. */
	mapped = map_image(emb, emb_len, &map_len);
	CHECK("mapped: image lays out", mapped != NULL);
	if (!mapped)
		goto out;
	CHECK("mapped: .ipxe",
	      pe_find_data(mapped, map_len, ".ipxe", PE_MAPPED, &d, &n) == 0 &&
		      n == stub_len && !memcmp(d, stub, n));
	CHECK("mapped: .script to LoadOptions",
	      pe_find_data(mapped, map_len, ".script", PE_MAPPED, &d, &n) ==
			      0 &&
		      loadopts_build("ipxe.efi", d, n, opts, 64, &units) == 0 &&
		      units == 9 + strlen(script) + 1 && opts[8] == ' ' &&
		      opts[9] == '#' && opts[units - 1] == 0);
	free(mapped);
out:
	free(stub);
	free(emb);
}

int main(void)
{
	test_handmade();
	test_eight_char_name();
	test_truncated();
	test_lies();
	test_real_stub();
	return unit_done();
}
