# arm64 (aarch64) UEFI clients: the EFI stub and the test payload built with
# Debian's cross compiler against Debian's arm64 gnu-efi, which is fetched
# into $(O) like iPXE (pinned in gnu-efi.lock) so that the machine's apt
# architectures stay as they are.  The images that carry the stub are made
# in mk/images.mk beside their x86_64 twins.
GNUEFI_VERSION ?= 3.0.15-1
GNUEFI_AA64_DIR := $(O)/gnu-efi/$(GNUEFI_VERSION)-arm64
GNUEFI_AA64_STAMP := $(GNUEFI_AA64_DIR)/root/VERSION
GNUEFI_AA64 := $(GNUEFI_AA64_DIR)/root/usr
DEB_PACKAGES += gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
TEST_DEB_PACKAGES += qemu-system-arm qemu-efi-aarch64

$(GNUEFI_AA64_STAMP): gnu-efi.lock scripts/fetch-ipxe.sh
	$(Q)WHAT=gnu-efi HINT='install gnu-efi for arm64 by hand and point GNUEFI_AA64 at its usr/.' \
		sh scripts/fetch-ipxe.sh gnu-efi.lock '$(GNUEFI_VERSION)' $(GNUEFI_AA64_DIR)

# The AA64_ twins of mk/efi.mk's variables (efi_link takes the prefix).
# gnu-efi's aarch64 calling convention is the C one: no wrapper, no red-zone
# flags.  bookworm's cross objcopy could write an aarch64 PE itself
# (efi-app-aarch64), but gnu-efi 3.0.15's crt0-efi-aarch64.o carries its own
# hand-made PE header in .text.head, so the image is the linked file's bytes
# (`-O binary`), with the subsystem given to that header at link time.  The
# cross objcopy reads the result as pei-aarch64-little, which is all that
# scripts/efi-embed.sh needs to add the payload sections.
AA64_CROSS := aarch64-linux-gnu-
AA64_EFI_CC := $(AA64_CROSS)gcc
AA64_EFI_LD := $(AA64_CROSS)ld
AA64_EFI_OBJCOPY := $(AA64_CROSS)objcopy
AA64_EFI_OBJDUMP := $(AA64_CROSS)objdump
AA64_EFI_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wshadow -O2 \
	-I$(GNUEFI_AA64)/include/efi -I$(GNUEFI_AA64)/include/efi/aarch64 \
	-fpic -ffreestanding -fno-stack-protector -fno-stack-check \
	-fshort-wchar -fno-ident -ffile-prefix-map=$(CURDIR)=.
AA64_EFI_LDFLAGS = -nostdlib -shared -Bsymbolic --build-id=none \
	--no-warn-rwx-segments --defsym=EFI_SUBSYSTEM=0xa -L$(GNUEFI_AA64)/lib -T$(GNUEFI_AA64)/lib/elf_aarch64_efi.lds \
	$(GNUEFI_AA64)/lib/crt0-efi-aarch64.o
AA64_EFI_LIBS := -lefi -lgnuefi
AA64_EFI_SECTIONS = $(EFI_SECTIONS)
AA64_EFI_FORMAT := -O binary

$(O)/arm64/efi/obj/%.o: %.c $(GNUEFI_AA64_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AA64-CC $<")
	$(Q)$(AA64_EFI_CC) $(AA64_EFI_CFLAGS) $(DEPFLAGS) -c $< -o $@

AA64_EFI_STUB := $(O)/arm64/efi/stub.efi
AA64_EFI_STUB_OBJS := $(O)/arm64/efi/obj/efi/stub.o \
	$(O)/arm64/efi/obj/efi/pe.o $(O)/arm64/efi/obj/efi/loadopts.o

$(AA64_EFI_STUB): $(AA64_EFI_STUB_OBJS)
	$(call efi_link,$@,$^,AA64_)

# The arm64 test payload (mk/payload.mk has the x86 ones): marker.efi for
# the disks of tests/qemu/arm64.sh, "WUPAN-AA64-BOOT-OK tag=T", then off.
AA64_PAYLOAD_DIR := $(O)/test/payload/aa64
AA64_PAYLOADS := $(AA64_PAYLOAD_DIR)/marker.efi

$(AA64_PAYLOAD_DIR)/obj/marker.o: tests/qemu/payload/marker.c $(GNUEFI_AA64_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AA64-CC $<")
	$(Q)$(AA64_EFI_CC) $(AA64_EFI_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(AA64_PAYLOAD_DIR)/marker.efi: $(AA64_PAYLOAD_DIR)/obj/marker.o
	$(call efi_link,$@,$^,AA64_)

.PHONY: arm64-stub
arm64-stub: $(AA64_EFI_STUB)
all: arm64-stub
test-payloads: $(AA64_PAYLOADS)
TEST_SCRIPTS += tests/qemu/arm64.sh

-include $(shell find $(O)/arm64/efi/obj $(AA64_PAYLOAD_DIR)/obj -name '*.d' 2>/dev/null)
