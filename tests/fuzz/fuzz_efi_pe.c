/* Fuzzes the stub's PE section walk and LoadOptions builder with arbitrary
 * images, in both the file and the loader's layout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../efi/loadopts.h"
#include "../../efi/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte of a section so ASan sees any out-of-bounds pointer. */
static unsigned int touch(const uint8_t *d, size_t n)
{
	unsigned int sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += d[i];
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { ".ipxe", ".script", ".text",
					     ".abcdefgh" };
	struct pe_image img;
	struct pe_section sec;
	const uint8_t *d;
	size_t n, units;
	volatile unsigned int sink = 0;

	if (pe_parse(&img, data, size) != 0)
		return 0;
	for (unsigned int i = 0; i < img.nsec; i++) {
		if (pe_section_get(&img, i, &sec) != 0)
			abort();
		if (pe_section_data(&img, &sec, PE_FILE, &d, &n) == 0)
			sink += touch(d, n);
		if (pe_section_data(&img, &sec, PE_MAPPED, &d, &n) == 0)
			sink += touch(d, n);
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (pe_find_data(data, size, names[k], PE_FILE, &d, &n) != 0)
			continue;
		long need = loadopts_units("ipxe.efi", d, n);

		if (need > 0) {
			uint16_t *out = malloc((size_t)need * sizeof(*out));

			if (!out)
				return 0;
			if (loadopts_build("ipxe.efi", d, n, out, (size_t)need,
					   &units) != 0 ||
			    units != (size_t)need || out[units - 1] != 0)
				abort();
			free(out);
		}
	}
	(void)sink;
	return 0;
}
