# tests/qemu/payload/: what the QEMU matrix boots from its test disks, so that
# the serial console proves which disk was booted, and by which path.
#   mbr.bin      BIOS MBR, "WUPAN-BIOS-BOOT-OK tag=T drive=80", exit 33
#   count.bin    the same MBR counting its boots in LBA 1, "... boots=NN"
#   install.pxe  BIOS PXE NBP after sanhook, "WUPAN-BIOS-INSTALL-OK tag=T", 35
#   marker.efi   UEFI disk loader, "WUPAN-UEFI-BOOT-OK tag=T", exit 33
#   install.efi  UEFI program after sanhook, "WUPAN-UEFI-INSTALL-OK tag=T", 35
# FAIL markers exit 37.  tests/qemu/mkdisk.sh turns them into test disks.
# The EFI programs use the stub's flags (EFI_CFLAGS, efi_link in mk/efi.mk).
PAYLOAD_DIR := $(O)/test/payload
PAYLOADS := $(PAYLOAD_DIR)/mbr.bin $(PAYLOAD_DIR)/count.bin $(PAYLOAD_DIR)/install.pxe \
	$(PAYLOAD_DIR)/marker.efi $(PAYLOAD_DIR)/install.efi
BIOS_AS := as
BIOS_LD := ld
TEST_DEB_PACKAGES += binutils gnu-efi fdisk mtools dosfstools qemu-system-x86 \
	ovmf tgt

# $(call bios_link,OUT,INSTALL[,COUNT]): assemble bios.S, link it flat at 0:7C00.
define bios_link
	@mkdir -p $(PAYLOAD_DIR)/obj
	@$(if $(Q),echo "  AS16    $(1)")
	$(Q)$(BIOS_AS) --32 --defsym INSTALL=$(2) --defsym COUNT=$(or $(3),0) -o $(PAYLOAD_DIR)/obj/$(notdir $(1)).o $<
	$(Q)$(BIOS_LD) -m elf_i386 -Ttext 0x7c00 -e _start --oformat binary \
		--build-id=none -o $(1) $(PAYLOAD_DIR)/obj/$(notdir $(1)).o
endef

$(PAYLOAD_DIR)/mbr.bin: tests/qemu/payload/bios.S
	$(call bios_link,$@,0)
	$(Q)[ "$$(wc -c <$@)" -eq 512 ] || { echo "$@: not 512 bytes" >&2; exit 1; }

$(PAYLOAD_DIR)/count.bin: tests/qemu/payload/bios.S
	$(call bios_link,$@,0,1)
	$(Q)[ "$$(wc -c <$@)" -eq 512 ] || { echo "$@: not 512 bytes" >&2; exit 1; }

$(PAYLOAD_DIR)/install.pxe: tests/qemu/payload/bios.S
	$(call bios_link,$@,1)

$(PAYLOAD_DIR)/obj/marker.o: tests/qemu/payload/marker.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  EFI-CC  $<")
	$(Q)$(EFI_CC) $(EFI_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(PAYLOAD_DIR)/obj/install.o: tests/qemu/payload/marker.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  EFI-CC  $< (install)")
	$(Q)$(EFI_CC) $(EFI_CFLAGS) -DWUPAN_INSTALL $(DEPFLAGS) -c $< -o $@

$(PAYLOAD_DIR)/marker.efi: $(PAYLOAD_DIR)/obj/marker.o
	$(call efi_link,$@,$^)

$(PAYLOAD_DIR)/install.efi: $(PAYLOAD_DIR)/obj/install.o
	$(call efi_link,$@,$^)

.PHONY: test-payloads
test-payloads: $(PAYLOADS)

-include $(shell find $(PAYLOAD_DIR)/obj -name '*.d' 2>/dev/null)
