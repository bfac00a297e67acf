/*
 * Builds the stub's LoadOptions for iPXE.  See loadopts.h for what iPXE does
 * with them; everything here follows from that.
 */
#include "loadopts.h"

/* A byte iPXE's script parser receives intact: printable ASCII or the
 * whitespace a script file holds.  Other control characters are refused too,
 * so a stray binary file is caught at build time. */
static int script_byte_ok(uint8_t c)
{
	return (c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\n' || c == '\r';
}

/* The image name is iPXE's "first word": it must hold no blank or it would
 * end early and the rest would run as a script. */
static int name_byte_ok(uint8_t c)
{
	return c > 0x20 && c <= 0x7e;
}

/* Length of SCRIPT without trailing NULs. */
static size_t script_trim(const uint8_t *script, size_t len)
{
	while (len > 0 && script[len - 1] == '\0')
		len--;
	return len;
}

long loadopts_units(const char *name, const uint8_t *script, size_t len)
{
	size_t nlen = 0, i;

	if (!name || (!script && len))
		return LOADOPTS_EINVAL;
	for (; name[nlen]; nlen++) {
		if (!name_byte_ok((uint8_t)name[nlen]))
			return LOADOPTS_EILSEQ;
		if (nlen >= 255)
			return LOADOPTS_EINVAL;
	}
	if (nlen == 0)
		return LOADOPTS_EINVAL;
	len = script_trim(script, len);
	if (len > LOADOPTS_SCRIPT_MAX)
		return LOADOPTS_E2BIG;
	for (i = 0; i < len; i++) {
		/* A NUL would end iPXE's copy of the command line early. */
		if (script[i] == '\0')
			return LOADOPTS_EINVAL;
		if (!script_byte_ok(script[i]))
			return LOADOPTS_EILSEQ;
	}
	return (long)(nlen + 1 + len + 1);
}

int loadopts_build(const char *name, const uint8_t *script, size_t len,
		   uint16_t *out, size_t cap, size_t *units)
{
	long need = loadopts_units(name, script, len);
	size_t n = 0, i;

	if (need < 0)
		return (int)need;
	if (!out || !units)
		return LOADOPTS_EINVAL;
	if ((size_t)need > cap)
		return LOADOPTS_ENOSPC;
	for (i = 0; name[i]; i++)
		out[n++] = (uint8_t)name[i];
	out[n++] = ' ';
	len = script_trim(script, len);
	for (i = 0; i < len; i++)
		out[n++] = script[i];
	/* iPXE prints the options with "%ls", which reads to a NUL whatever
	 * LoadOptionsSize says, so the NUL is part of the options. */
	out[n++] = 0;
	*units = n;
	return 0;
}
