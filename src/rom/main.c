/*
 * wupan-rom: inspect, check and adapt PCI option ROM images.  The thin
 * driver around rom.c: it reads and writes files and prints; every decision
 * about the bytes is made in rom.c.
 */
#include "rom/rom.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/version.h"

static const char usage_text[] =
	"usage: wupan-rom info [--json] ROM...\n"
	"       wupan-rom verify ROM...\n"
	"       wupan-rom set-id VENDOR:DEVICE ROM -o OUT\n"
	"       wupan-rom combine LEGACY EFI -o OUT\n"
	"       wupan-rom extract legacy|efi ROM -o OUT\n"
	"       wupan-rom fit --size SIZE ROM [-o OUT]\n"
	"       wupan-rom table [--name NAME] ROM...\n"
	"       wupan-rom --help | --version\n"
	"SIZE is bytes or a number with K or M (64K, 128K, 1M).\n";

/* Standard flash chip sizes shown by `table`. */
static const size_t flash_sizes[] = { 64 << 10, 128 << 10, 256 << 10, 512 << 10,
				      1 << 20 };
#define N_FLASH_SIZES (sizeof(flash_sizes) / sizeof(flash_sizes[0]))

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* Reads a whole ROM file (at most ROM_MAX_SIZE bytes); prints why not. */
static int read_rom(const char *path, uint8_t **out, size_t *out_len)
{
	size_t cap = 64 * 1024, len = 0;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "wupan-rom: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (len == cap || !buf) {
			uint8_t *nbuf;

			if (buf)
				cap *= 2;
			if (cap > ROM_MAX_SIZE + 1)
				cap = ROM_MAX_SIZE + 1;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				fprintf(stderr,
					"wupan-rom: %s: out of memory\n", path);
				goto err;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "wupan-rom: %s: %s\n", path,
				strerror(errno));
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > ROM_MAX_SIZE) {
			fprintf(stderr,
				"wupan-rom: %s: larger than the 16 MiB a PCI ROM can map\n",
				path);
			goto err;
		}
	}
	close(fd);
	*out = buf;
	*out_len = len;
	return 0;
err:
	free(buf);
	close(fd);
	return -1;
}

/* Writes OUT through a temporary file renamed into place. */
static int write_rom(const char *path, const uint8_t *buf, size_t len)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		fprintf(stderr, "wupan-rom: %s: name too long\n", path);
		return -1;
	}
	f = fopen(tmp, "wb");
	if (!f) {
		fprintf(stderr, "wupan-rom: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "wupan-rom: %s: write failed\n", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "wupan-rom: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Formats a byte count as the largest exact binary unit ("128K"). */
static const char *size_name(size_t n, char *out, size_t cap)
{
	if (n >= (1 << 20) && n % (1 << 20) == 0)
		snprintf(out, cap, "%zuM", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, cap, "%zuK", n >> 10);
	else
		snprintf(out, cap, "%zu", n);
	return out;
}

static const char *version_text(const struct rom_image *im)
{
	switch (im->version_status) {
	case ROM_VERSION_FOUND:
		return im->version;
	case ROM_VERSION_COMPRESSED:
		return "unknown (compressed)";
	case ROM_VERSION_UNKNOWN:
		return "unknown (not found)";
	case ROM_VERSION_NOT_IPXE:
		break;
	}
	return "none";
}

/* A legacy image's checksum status: "ok", "wrong" or "unchecked". */
static const char *checksum_text(const struct rom_image *im)
{
	if (!im->checksum_checked)
		return "unchecked";
	return im->checksum_ok ? "ok" : "wrong";
}

/* "yes", "no" or "unknown (compressed)". */
static const char *ipxe_text(const struct rom_image *im)
{
	if (im->is_ipxe)
		return "yes";
	if (im->version_status == ROM_VERSION_COMPRESSED)
		return "unknown (compressed)";
	return "no";
}

static void print_problem(const char *path, const struct rom *rom,
			  const struct rom_problem *p)
{
	if (p->image >= 0)
		printf("%s: image %d at 0x%zx: %s\n", path, p->image,
		       rom->img[p->image].offset, p->msg);
	else
		printf("%s: %s\n", path, p->msg);
}

static void print_image_text(const struct rom_image *im, int i)
{
	printf("  image %d at 0x%zx: %s, %zu bytes%s\n", i, im->offset,
	       rom_code_type_name(im->code_type), im->length,
	       im->last ? ", last image" : "");
	if (!im->pcir_ok)
		return;
	printf("    PCI %04x:%04x", im->vendor, im->device);
	if (im->devlist_offset && im->pcir_revision >= 3) {
		printf(", device list");
		if (!im->devlist_count)
			printf(" (empty)");
		for (size_t k = 0; k < im->devlist_count; k++)
			printf(" %04x", im->devlist[k]);
	}
	printf(", class %06x, PCI data rev %u, code revision 0x%04x\n",
	       im->class_code, im->pcir_revision, im->code_revision);
	if (im->code_type == ROM_CODE_X86) {
		printf("    init size %zu", im->init_size);
		if (im->max_runtime)
			printf(", max runtime %u", im->max_runtime * 512u);
		printf(", checksum %s\n", checksum_text(im));
		if (!im->pnp.present)
			printf("    PnP header: none\n");
		else if (!im->pnp.valid)
			printf("    PnP header at 0x%x: invalid\n",
			       im->pnp.offset);
		else
			printf("    PnP header at 0x%x: rev %u, checksum %s, manufacturer \"%s\", product \"%s\"\n",
			       im->pnp.offset, im->pnp.revision,
			       im->pnp.checksum_ok ? "ok" : "wrong",
			       im->pnp.manufacturer, im->pnp.product);
	} else if (im->code_type == ROM_CODE_EFI && im->efi_ok) {
		const char *sub = rom_efi_subsystem_name(im->efi_subsystem);
		const char *mach = rom_efi_machine_name(im->efi_machine);

		printf("    %s (subsystem %u), machine %s (0x%04x), %s, init size %zu, image at 0x%x, checksum not used\n",
		       sub ? sub : "unknown", im->efi_subsystem,
		       mach ? mach : "unknown", im->efi_machine,
		       im->efi_compression ? "compressed" : "not compressed",
		       im->init_size, im->efi_offset);
	}
	printf("    iPXE: %s", ipxe_text(im));
	if (im->is_ipxe)
		printf(", version %s", version_text(im));
	if (im->ipxe_header)
		printf(", build id 0x%08x", im->ipxe_build_id);
	printf("\n");
}

static void print_rom_text(const char *path, const struct rom *rom)
{
	printf("%s: %zu bytes, %zu image%s, %zu bytes of images, %zu bytes of padding\n",
	       path, rom->size, rom->n_images, rom->n_images == 1 ? "" : "s",
	       rom->used, rom->padding);
	for (size_t i = 0; i < rom->n_images; i++)
		print_image_text(&rom->img[i], (int)i);
	if (rom->n_problems == 0) {
		printf("  valid: yes\n");
		return;
	}
	printf("  valid: no\n");
	for (size_t i = 0; i < rom->n_problems; i++)
		printf("  problem: %s%s\n", rom->problem[i].msg,
		       i + 1 == rom->n_problems && rom->problems_truncated
			       ? " (more problems not shown)"
			       : "");
}

/* Prints a JSON string; non-ASCII and control bytes become \u escapes. */
static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void print_image_json(const struct rom_image *im)
{
	printf("{\"offset\":%zu,\"code_type\":%u,\"type\":", im->offset,
	       im->code_type);
	json_str(im->code_type == ROM_CODE_X86 ? "legacy"
		 : im->code_type == ROM_CODE_EFI
			 ? "efi"
			 : rom_code_type_name(im->code_type));
	printf(",\"image_length\":%zu,\"last\":%s,\"pcir_valid\":%s",
	       im->length, im->last ? "true" : "false",
	       im->pcir_ok ? "true" : "false");
	if (im->pcir_ok) {
		printf(",\"vendor\":\"%04x\",\"device\":\"%04x\",\"device_list\":[",
		       im->vendor, im->device);
		for (size_t k = 0; k < im->devlist_count; k++)
			printf("%s\"%04x\"", k ? "," : "", im->devlist[k]);
		printf("],\"class\":\"%06x\",\"pcir_revision\":%u,\"code_revision\":%u,\"init_size\":%zu",
		       im->class_code, im->pcir_revision, im->code_revision,
		       im->init_size);
	}
	if (im->code_type == ROM_CODE_X86 && im->pcir_ok) {
		printf(",\"max_runtime\":%u,\"checksum\":\"%s\",\"pnp\":",
		       im->max_runtime * 512u, checksum_text(im));
		if (!im->pnp.present) {
			printf("null");
		} else {
			printf("{\"offset\":%u,\"valid\":%s", im->pnp.offset,
			       im->pnp.valid ? "true" : "false");
			if (im->pnp.valid) {
				printf(",\"revision\":%u,\"checksum\":\"%s\",\"manufacturer\":",
				       im->pnp.revision,
				       im->pnp.checksum_ok ? "ok" : "wrong");
				json_str(im->pnp.manufacturer);
				printf(",\"product\":");
				json_str(im->pnp.product);
			}
			printf("}");
		}
	} else if (im->code_type == ROM_CODE_EFI && im->efi_ok) {
		const char *sub = rom_efi_subsystem_name(im->efi_subsystem);
		const char *mach = rom_efi_machine_name(im->efi_machine);

		printf(",\"checksum\":\"not used\",\"efi\":{\"subsystem\":%u,\"subsystem_name\":",
		       im->efi_subsystem);
		json_str(sub ? sub : "unknown");
		printf(",\"machine\":%u,\"machine_name\":", im->efi_machine);
		json_str(mach ? mach : "unknown");
		printf(",\"compressed\":%s,\"compression_type\":%u,\"image_offset\":%u}",
		       im->efi_compression ? "true" : "false",
		       im->efi_compression, im->efi_offset);
	}
	printf(",\"ipxe\":%s,\"ipxe_version\":",
	       im->is_ipxe                                    ? "true"
	       : im->version_status == ROM_VERSION_COMPRESSED ? "null"
							      : "false");
	if (im->version_status == ROM_VERSION_FOUND)
		json_str(im->version);
	else if (im->is_ipxe || im->version_status == ROM_VERSION_COMPRESSED)
		json_str(version_text(im));
	else
		printf("null");
	if (im->ipxe_header)
		printf(",\"ipxe_build_id\":\"%08x\"", im->ipxe_build_id);
	printf("}");
}

static void print_rom_json(const char *path, const struct rom *rom)
{
	printf("{\"file\":");
	json_str(path);
	printf(",\"size\":%zu,\"used\":%zu,\"padding\":%zu,\"valid\":%s,\"images\":[",
	       rom->size, rom->used, rom->padding,
	       rom->n_problems ? "false" : "true");
	for (size_t i = 0; i < rom->n_images; i++) {
		if (i)
			putchar(',');
		print_image_json(&rom->img[i]);
	}
	printf("],\"problems\":[");
	for (size_t i = 0; i < rom->n_problems; i++) {
		const struct rom_problem *p = &rom->problem[i];

		printf("%s{\"image\":", i ? "," : "");
		if (p->image >= 0)
			printf("%d", p->image);
		else
			printf("null");
		printf(",\"message\":");
		json_str(p->msg);
		printf("}");
	}
	printf("]}");
}

static int cmd_info(int argc, char **argv)
{
	bool json = false;
	int rc = 0, first = 1, nfiles = 0;
	static struct rom rom;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-')
			return usage();
		else
			nfiles++;
	}
	if (nfiles == 0)
		return usage();
	if (json)
		printf("[");
	for (int i = 0; i < argc; i++) {
		uint8_t *buf;
		size_t len;

		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (read_rom(argv[i], &buf, &len) != 0) {
			rc = 1;
			continue;
		}
		rom_parse(buf, len, &rom);
		if (json) {
			if (!first)
				printf(",");
			print_rom_json(argv[i], &rom);
		} else {
			print_rom_text(argv[i], &rom);
		}
		first = 0;
		free(buf);
	}
	if (json)
		printf("]\n");
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	int rc = 0;
	static struct rom rom;

	if (argc == 0)
		return usage();
	for (int i = 0; i < argc; i++) {
		uint8_t *buf;
		size_t len;

		if (argv[i][0] == '-' && argv[i][1])
			return usage();
		if (read_rom(argv[i], &buf, &len) != 0) {
			rc = 1;
			continue;
		}
		if (rom_parse(buf, len, &rom) == 0) {
			printf("%s: ok (%zu image%s, %zu bytes)\n", argv[i],
			       rom.n_images, rom.n_images == 1 ? "" : "s",
			       rom.used);
		} else {
			rc = 1;
			for (size_t k = 0; k < rom.n_problems; k++)
				print_problem(argv[i], &rom, &rom.problem[k]);
			if (rom.problems_truncated)
				printf("%s: more problems not shown\n",
				       argv[i]);
		}
		free(buf);
	}
	return rc;
}

/* Splits "ARG... -o OUT" into positional arguments and OUT. */
static int take_output(int *argc, char **argv, const char **out)
{
	int n = 0;

	*out = NULL;
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < *argc && !*out) {
			*out = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return -1;
		} else {
			argv[n++] = argv[i];
		}
	}
	*argc = n;
	return 0;
}

/* Tells why a ROM cannot be edited: verify's problem lines. */
static void refuse_invalid(const char *path, const uint8_t *buf, size_t len)
{
	static struct rom rom;

	rom_parse(buf, len, &rom);
	fprintf(stderr,
		"wupan-rom: %s is not a valid ROM, refusing to change it:\n",
		path);
	for (size_t k = 0; k < rom.n_problems; k++)
		fprintf(stderr, "  %s\n", rom.problem[k].msg);
}

static int cmd_set_id(int argc, char **argv)
{
	const char *out;
	uint16_t vendor, device;
	uint8_t *buf;
	size_t len;
	int rc = 1, e;

	if (take_output(&argc, argv, &out) != 0 || argc != 2 || !out)
		return usage();
	if (rom_parse_id(argv[0], &vendor, &device) != 0) {
		fprintf(stderr,
			"wupan-rom: '%s' is not VENDOR:DEVICE (four hex digits each, e.g. 8086:100e)\n",
			argv[0]);
		return 2;
	}
	if (read_rom(argv[1], &buf, &len) != 0)
		return 1;
	e = rom_set_id(buf, len, vendor, device);
	if (e == -EINVAL)
		refuse_invalid(argv[1], buf, len);
	else if (e != 0)
		fprintf(stderr,
			"wupan-rom: %s: rewriting the ids would break this ROM (a checksum byte or string overlaps them)\n",
			argv[1]);
	else if (write_rom(out, buf, len) == 0)
		rc = 0;
	free(buf);
	return rc;
}

static int cmd_extract(int argc, char **argv)
{
	const char *out;
	uint8_t *buf, *obuf;
	size_t len, olen;
	uint8_t type;
	int rc = 1, e;

	if (take_output(&argc, argv, &out) != 0 || argc != 2 || !out)
		return usage();
	if (strcmp(argv[0], "legacy") == 0)
		type = ROM_CODE_X86;
	else if (strcmp(argv[0], "efi") == 0)
		type = ROM_CODE_EFI;
	else
		return usage();
	if (read_rom(argv[1], &buf, &len) != 0)
		return 1;
	obuf = malloc(len ? len : 1);
	if (!obuf) {
		free(buf);
		return 1;
	}
	e = rom_extract(buf, len, type, obuf, &olen);
	if (e == -EINVAL)
		refuse_invalid(argv[1], buf, len);
	else if (e == -ENOENT)
		fprintf(stderr, "wupan-rom: %s holds no %s image\n", argv[1],
			argv[0]);
	else if (e != 0)
		fprintf(stderr,
			"wupan-rom: %s: the extracted images would not be valid (a checksum byte overlaps a header)\n",
			argv[1]);
	else if (write_rom(out, obuf, olen) == 0)
		rc = 0;
	free(obuf);
	free(buf);
	return rc;
}

static int cmd_combine(int argc, char **argv)
{
	const char *out;
	uint8_t *a = NULL, *b = NULL, *obuf = NULL;
	size_t alen, blen, olen;
	enum rom_combine_error e;
	int rc = 1;

	if (take_output(&argc, argv, &out) != 0 || argc != 2 || !out)
		return usage();
	if (read_rom(argv[0], &a, &alen) != 0)
		return 1;
	if (read_rom(argv[1], &b, &blen) != 0)
		goto done;
	obuf = malloc(alen + blen);
	if (!obuf)
		goto done;
	e = rom_combine(a, alen, b, blen, obuf, &olen);
	if (e == ROM_COMBINE_LEGACY_INVALID)
		refuse_invalid(argv[0], a, alen);
	else if (e == ROM_COMBINE_EFI_INVALID)
		refuse_invalid(argv[1], b, blen);
	else if (e != ROM_COMBINE_OK)
		fprintf(stderr, "wupan-rom: cannot combine %s and %s: %s\n",
			argv[0], argv[1], rom_combine_strerror(e));
	else if (write_rom(out, obuf, olen) == 0)
		rc = 0;
done:
	free(obuf);
	free(b);
	free(a);
	return rc;
}

static int cmd_fit(int argc, char **argv)
{
	const char *out, *size_arg = NULL;
	static struct rom rom;
	char sname[32];
	uint8_t *buf, *obuf;
	size_t len, size;
	int n = 0, rc = 1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size_arg = argv[++i];
		else if (strncmp(argv[i], "--size=", 7) == 0)
			size_arg = argv[i] + 7;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if (!size_arg || take_output(&argc, argv, &out) != 0 || argc != 1)
		return usage();
	if (rom_parse_size(size_arg, &size) != 0) {
		fprintf(stderr,
			"wupan-rom: size '%s' is not a multiple of 512 bytes between 512 and 16M (e.g. 64K, 128K, 1M)\n",
			size_arg);
		return 2;
	}
	size_name(size, sname, sizeof(sname));
	if (read_rom(argv[0], &buf, &len) != 0)
		return 1;
	if (rom_parse(buf, len, &rom) != 0) {
		refuse_invalid(argv[0], buf, len);
		free(buf);
		return 1;
	}
	if (rom.used > size) {
		printf("%s: does not fit %s: %zu bytes of images are %zu bytes over\n",
		       argv[0], sname, rom.used, rom.used - size);
		free(buf);
		return 1;
	}
	printf("%s: fits %s: %zu bytes of images, %zu bytes free\n", argv[0],
	       sname, rom.used, size - rom.used);
	rc = 0;
	if (out) {
		/* Erased flash reads as 0xFF: pad with what the chip holds. */
		obuf = malloc(size);
		if (!obuf) {
			free(buf);
			return 1;
		}
		memcpy(obuf, buf, rom.used);
		memset(obuf + rom.used, 0xff, size - rom.used);
		rc = write_rom(out, obuf, size) == 0 ? 0 : 1;
		free(obuf);
	}
	free(buf);
	return rc;
}

/* One row per ROM: name, file, size, images, ids and the flash sizes it
 * fits. */
static int cmd_table(int argc, char **argv)
{
	static struct rom rom;
	const char *name = NULL;
	char sname[32];
	int rc = 0, rows = 0;

	printf("%-16s %-26s %7s  %-10s %-9s", "NAME", "FILE", "BYTES", "IMAGES",
	       "ID");
	for (size_t k = 0; k < N_FLASH_SIZES; k++)
		printf(" %5s", size_name(flash_sizes[k], sname, sizeof(sname)));
	printf("\n");
	for (int i = 0; i < argc; i++) {
		const char *base;
		uint8_t *buf;
		size_t len;
		bool x86 = false, efi = false;

		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			name = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return usage();
		rows++;
		if (read_rom(argv[i], &buf, &len) != 0) {
			rc = 1;
			name = NULL;
			continue;
		}
		base = strrchr(argv[i], '/');
		base = base ? base + 1 : argv[i];
		if (rom_parse(buf, len, &rom) != 0) {
			printf("%-16s %-26s %7zu  INVALID (see wupan-rom verify)\n",
			       name ? name : "-", base, len);
			rc = 1;
		} else {
			for (size_t k = 0; k < rom.n_images; k++) {
				x86 |= rom.img[k].code_type == ROM_CODE_X86;
				efi |= rom.img[k].code_type == ROM_CODE_EFI;
			}
			printf("%-16s %-26s %7zu  %-10s %04x:%04x",
			       name ? name : "-", base, rom.used,
			       x86 && efi ? "legacy+efi"
			       : x86      ? "legacy"
			       : efi      ? "efi"
					  : "other",
			       rom.img[0].vendor, rom.img[0].device);
			for (size_t k = 0; k < N_FLASH_SIZES; k++)
				printf(" %5s", rom.used <= flash_sizes[k]
						       ? "yes"
						       : "-");
			printf("\n");
		}
		name = NULL;
		free(buf);
	}
	if (rows == 0)
		return usage();
	return rc;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "info", cmd_info },       { "verify", cmd_verify },
	{ "set-id", cmd_set_id },   { "combine", cmd_combine },
	{ "extract", cmd_extract }, { "fit", cmd_fit },
	{ "table", cmd_table },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 2, argv + 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		fputs(WUPAN_VERSION_LINE("wupan-rom"), stdout);
		return 0;
	}
	fprintf(stderr, "wupan-rom: unknown command '%s'\n", argv[1]);
	return usage();
}
