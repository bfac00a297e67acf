/* Fuzz target for src/rom/rom.c: any bytes are parsed into a description
 * without crashing, and the editors run on whatever parses clean, with their
 * output parsing clean again. */
#include "rom/rom.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct rom rom, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy, *out;
	size_t n;

	if (size > 1024 * 1024)
		return 0;
	if (rom_parse(data, size, &rom) != 0) {
		if (rom.n_problems == 0)
			abort(); /* an invalid ROM must say why */
		return 0;
	}
	copy = malloc(size ? size : 1);
	out = malloc(2 * size + 1);
	if (!copy || !out)
		goto done;
	memcpy(copy, data, size);
	switch (rom_set_id(copy, size, 0x8086, 0x100f)) {
	case 0: /* set-id on a valid ROM keeps it valid */
		if (rom_parse(copy, size, &again) != 0)
			abort();
		break;
	case -ENOTSUP: /* refused: the buffer is left as it was */
		if (memcmp(copy, data, size) != 0)
			abort();
		break;
	default:
		abort();
	}
	if (rom_extract(data, size, ROM_CODE_X86, out, &n) == 0 &&
	    rom_parse(out, n, &again) != 0)
		abort();
	if (rom_extract(data, size, ROM_CODE_EFI, out, &n) == 0 &&
	    rom_parse(out, n, &again) != 0)
		abort();
	if (rom_combine(data, size, data, size, out, &n) == ROM_COMBINE_OK &&
	    rom_parse(out, n, &again) != 0)
		abort();
done:
	free(out);
	free(copy);
	return 0;
}
