/* Unit tests for efi/loadopts.c: the UCS-2 command line iPXE reads. */
#include <stdint.h>
#include <string.h>

#include "../../efi/loadopts.h"
#include "unit.h"

/* True if OUT[0..UNITS) is the UCS-2 form of the C string WANT plus a NUL. */
static int ucs2_eq(const uint16_t *out, size_t units, const char *want)
{
	size_t n = strlen(want);

	if (units != n + 1 || out[n] != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (out[i] != (uint8_t)want[i])
			return 0;
	return 1;
}

/* loadopts_build over a char string. */
static int build(const char *name, const char *script, size_t len,
		 uint16_t *out, size_t cap, size_t *units)
{
	return loadopts_build(name, (const uint8_t *)script, len, out, cap,
			      units);
}

int main(void)
{
	static uint16_t out[LOADOPTS_SCRIPT_MAX + 64];
	static uint8_t big[LOADOPTS_SCRIPT_MAX + 1];
	static const char s[] = "#!ipxe\r\n\techo hi\n";
	size_t units = 0;

	CHECK("plain script",
	      build("ipxe.efi", s, strlen(s), out, 64, &units) == 0 &&
		      ucs2_eq(out, units, "ipxe.efi #!ipxe\r\n\techo hi\n"));
	CHECK("units matches build",
	      loadopts_units("ipxe.efi", (const uint8_t *)s, strlen(s)) ==
		      (long)units);
	CHECK("trailing NUL padding dropped",
	      build("ipxe.efi", "echo\0\0\0", 7, out, 64, &units) == 0 &&
		      ucs2_eq(out, units, "ipxe.efi echo"));
	CHECK("empty script", build("ipxe.efi", "", 0, out, 64, &units) == 0 &&
				      ucs2_eq(out, units, "ipxe.efi "));
	CHECK("NULL empty script",
	      loadopts_build("a", NULL, 0, out, 64, &units) == 0 &&
		      ucs2_eq(out, units, "a "));
	CHECK("NULL script with length",
	      loadopts_build("a", NULL, 3, out, 64, &units) == LOADOPTS_EINVAL);
	CHECK("NUL inside script", build("ipxe.efi", "ec\0ho", 5, out, 64,
					 &units) == LOADOPTS_EINVAL);
	CHECK("UTF-8 refused (iPXE keeps only the low byte)",
	      build("ipxe.efi", "echo \xc3\xa9", 7, out, 64, &units) ==
		      LOADOPTS_EILSEQ);
	CHECK("UTF-8 BOM refused", build("ipxe.efi", "\xef\xbb\xbf#!ipxe", 9,
					 out, 64, &units) == LOADOPTS_EILSEQ);
	CHECK("control byte refused", build("ipxe.efi", "echo \x1b[0m", 9, out,
					    64, &units) == LOADOPTS_EILSEQ);
	CHECK("DEL refused",
	      build("ipxe.efi", "\x7f", 1, out, 64, &units) == LOADOPTS_EILSEQ);
	CHECK("name with a blank refused",
	      build("ipxe efi", "x", 1, out, 64, &units) == LOADOPTS_EILSEQ);
	CHECK("empty name refused",
	      build("", "x", 1, out, 64, &units) == LOADOPTS_EINVAL);
	CHECK("NULL name refused",
	      build(NULL, "x", 1, out, 64, &units) == LOADOPTS_EINVAL);
	CHECK("output one short",
	      build("ab", "cd", 2, out, 5, &units) == LOADOPTS_ENOSPC);
	CHECK("output exact", build("ab", "cd", 2, out, 6, &units) == 0 &&
				      ucs2_eq(out, units, "ab cd"));
	CHECK("NULL output",
	      build("ab", "cd", 2, NULL, 6, &units) == LOADOPTS_EINVAL);
	memset(big, 'x', sizeof(big));
	CHECK("script at the limit",
	      loadopts_build("i", big, LOADOPTS_SCRIPT_MAX, out,
			     sizeof(out) / sizeof(out[0]), &units) == 0 &&
		      units == LOADOPTS_SCRIPT_MAX + 3);
	CHECK("script over the limit",
	      loadopts_units("i", big, sizeof(big)) == LOADOPTS_E2BIG);
	return unit_done();
}
