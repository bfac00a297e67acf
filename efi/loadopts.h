/*
 * The LoadOptions the stub hands to iPXE: UCS-2 "NAME SCRIPT" plus a NUL.
 * iPXE (src/interface/efi/efi_cmdline.c) narrows each UCS-2 unit to its low
 * byte, skips leading blanks and the first word (the image name) and the
 * blanks after it, and registers the rest as a script image.  So the script
 * must be ASCII: anything else would reach iPXE mangled.  Pure code, shared by
 * the stub and the host tests.
 */
#ifndef WUPAN_EFI_LOADOPTS_H
#define WUPAN_EFI_LOADOPTS_H

#include <stddef.h>
#include <stdint.h>

#define LOADOPTS_EINVAL (-22) /* bad argument, or a NUL in the script */
#define LOADOPTS_EILSEQ (-84) /* a byte iPXE cannot take (non-ASCII) */
#define LOADOPTS_E2BIG (-7) /* script over LOADOPTS_SCRIPT_MAX */
#define LOADOPTS_ENOSPC (-28) /* output buffer too small */

/* Largest script accepted (bytes).  LoadOptionsSize is a UINT32, and iPXE
 * copies the text into its own heap, so keep well below both limits. */
#define LOADOPTS_SCRIPT_MAX (256 * 1024)

/* Returns the UCS-2 units (including the closing NUL) that "NAME SCRIPT"
 * needs, or a negative code if NAME or SCRIPT is not acceptable.  Trailing NUL
 * bytes of SCRIPT (section padding) are ignored. */
long loadopts_units(const char *name, const uint8_t *script, size_t len);

/* Writes "NAME SCRIPT\0" as UCS-2 into OUT (CAP units); sets *UNITS to the
 * units written, NUL included (LoadOptionsSize is *UNITS * 2). */
int loadopts_build(const char *name, const uint8_t *script, size_t len,
		   uint16_t *out, size_t cap, size_t *units);

#endif
