/*
 * Fuzz target for the overlay engine: the input is a program of writes
 * (any offset and length, so partial blocks too), UNMAPs, reads, syncs and
 * reopens against a small golden image, checked byte for byte against a
 * plain memory model.  A read that differs, or a reopened overlay that
 * lost a synced write, aborts.  Files live in a temporary directory.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iscsi/overlay.h"

#define BLOCKS 96u /* three bitmap bytes' worth, spread over a page */
#define SIZE (BLOCKS * 512u)

static int dirfd_ = -1, golden = -1;
static uint8_t gold[SIZE];

/* Creates the directory and the golden image once. */
static void setup(void)
{
	char dir[] = "/tmp/wupan-fuzz-ovl-XXXXXX", path[64];

	if (dirfd_ >= 0)
		return;
	if (!mkdtemp(dir))
		abort();
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/golden", dir);
	golden = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (unsigned i = 0; i < SIZE; i++)
		gold[i] = (uint8_t)(i / 512 * 13 + i % 251 + 1);
	if (golden < 0 || pwrite(golden, gold, SIZE, 0) != SIZE)
		abort();
}

/* Aborts unless o reads as model over [off, off + len). */
static void expect(struct ovl *o, const uint8_t *model, uint32_t off,
		   uint32_t len)
{
	static uint8_t buf[SIZE];

	if (ovl_read(o, buf, len, off) || memcmp(buf, model + off, len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t model[SIZE], synced[SIZE], buf[SIZE];
	struct ovl o, o2;
	char err[256];
	size_t i = 0;

	setup();
	if (ovl_open(&o, dirfd_, "f", golden, BLOCKS, 1, "0", err, sizeof(err)))
		abort();
	memcpy(model, gold, SIZE);
	memcpy(synced, gold, SIZE);
	while (i + 5 <= size) {
		uint8_t op = data[i] % 5;
		uint32_t off =
			(uint32_t)(data[i + 1] | data[i + 2] << 8) % SIZE;
		uint32_t len =
			(uint32_t)(data[i + 3] | (data[i + 4] & 7) << 8) + 1;

		i += 5;
		if (len > SIZE - off)
			len = SIZE - off;
		switch (op) {
		case 0: /* write, any alignment */
			for (uint32_t k = 0; k < len; k++)
				buf[k] = (uint8_t)(off + k + i);
			if (ovl_write(&o, buf, len, off))
				abort();
			memcpy(model + off, buf, len);
			break;
		case 1: /* UNMAP whole blocks: zeros, never golden */
			off -= off % 512;
			len = (len + 511) / 512 * 512;
			if (len > SIZE - off)
				len = SIZE - off;
			if (ovl_punch(&o, off, len))
				abort();
			memset(model + off, 0, len);
			break;
		case 2:
			expect(&o, model, off, len);
			break;
		case 3:
			if (ovl_sync(&o))
				abort();
			memcpy(synced, model, SIZE);
			break;
		case 4: /* as after a crash: what was synced is there */
			if (ovl_open(&o2, dirfd_, "f", golden, BLOCKS, 0, NULL,
				     err, sizeof(err)))
				abort();
			for (uint32_t b = 0; b < BLOCKS; b++) {
				/* A block synced since its last change reads
				 * back; others may read old or new. */
				if (!memcmp(model + b * 512, synced + b * 512,
					    512) &&
				    memcmp(synced + b * 512, gold + b * 512,
					   512))
					expect(&o2, synced, b * 512, 512);
			}
			ovl_close(&o2);
			break;
		}
	}
	expect(&o, model, 0, SIZE);
	ovl_close(&o);
	return 0;
}
