# The boot images: every deliverable in $(O), built from the site settings,
# embed/, the pinned (or the user's) iPXE and the EFI stub.
IMAGE_SCRIPT := $(O)/boot.ipxe
IMAGES := $(O)/boot.ipxe $(O)/ipxe.lkrn $(O)/undionly.kpxe $(O)/snponly.efi \
	$(O)/ipxe.efi $(O)/ipxe.iso $(O)/ipxe.usb $(O)/tftp/.stamp \
	$(O)/dnsmasq.conf $(O)/dnsmasq-proxy.conf
DEB_PACKAGES += syslinux syslinux-common isolinux pxelinux syslinux-utils \
	mtools dosfstools fdisk xorriso
MAKE_START := $(shell date +%s)

ifeq ($(IPXE_BIN_DIR),)
IPXE_EFI_SRC := $(IPXE_BIN)/ipxe-amd64.efi
IPXE_AA64_SRC := $(IPXE_BIN)/ipxe-arm64.efi
$(IPXE_BIN)/ipxe.lkrn $(IPXE_BIN)/undionly.kpxe $(IPXE_BIN)/snponly.efi $(IPXE_EFI_SRC) $(IPXE_AA64_SRC): $(IPXE_STAMP) ;
else
IPXE_EFI_SRC := $(firstword $(wildcard $(IPXE_BIN_DIR)/ipxe-amd64.efi) $(IPXE_BIN_DIR)/ipxe.efi)
# The user's own iPXE may be built for x86_64 only: then no arm64 images.
IPXE_AA64_SRC := $(wildcard $(IPXE_BIN_DIR)/ipxe-arm64.efi)
endif

# arm64 UEFI (DHCP client-arch 11): the stub of mk/arm64.mk carrying
# ipxe-arm64.efi, and \EFI\BOOT\BOOTAA64.EFI on the ISO and the USB stick.
# Debian builds no arm64 snponly.efi: arm64/snponly.efi, the image to
# chainload with the script over TFTP, is Debian's stock ipxe-arm64.efi
# (every driver, SNP among them), without our stub.
AA64_IPXE_EFI := $(if $(IPXE_AA64_SRC),$(O)/arm64/ipxe.efi)
AA64_IMAGES := $(if $(IPXE_AA64_SRC),$(O)/arm64/ipxe.efi $(O)/arm64/snponly.efi)
IMAGES += $(AA64_IMAGES)

.PHONY: images script
images: $(O)/report.txt
script: $(O)/boot.ipxe

# The site file is named on the command line or found at parse time; record
# which one was used so that switching SITE rebuilds.
$(O)/.site: FORCE
	@mkdir -p $(@D)
	@echo '$(SITE)' | cmp -s - $@ || echo '$(SITE)' >$@
FORCE:

$(O)/boot.ipxe: $(SITE) $(wildcard embed/*.ipxe) scripts/mkscript.sh $(O)/.site
	@echo "  SCRIPT  $@ (site: $(SITE))"
	$(Q)sh scripts/mkscript.sh $(SITE) embed $@

$(O)/ipxe.lkrn $(O)/undionly.kpxe: $(O)/%: $(IPXE_BIN)/%
	@mkdir -p $(@D)
	$(Q)cp $< $@

# EFI programs are signed when SIGN_KEY is given (mk/sign.mk).  The iPXE
# inside ipxe.efi is signed before it is embedded, since the firmware checks
# it too when the stub starts it with LoadImage; the result is signed after.
$(O)/snponly.efi: $(IPXE_BIN)/snponly.efi $(EFI_SIGN_DEPS)
	$(call efi_sign,$<,$@)

$(O)/efi/ipxe-amd64.efi: $(IPXE_EFI_SRC) $(EFI_SIGN_DEPS)
	$(call efi_sign,$<,$@)

$(O)/efi/ipxe-embedded.efi: $(EFI_STUB) $(O)/efi/ipxe-amd64.efi $(O)/boot.ipxe scripts/efi-embed.sh
	@echo "  EMBED   $@"
	$(Q)sh scripts/efi-embed.sh $(EFI_STUB) $(O)/efi/ipxe-amd64.efi $(O)/boot.ipxe $@

$(O)/ipxe.efi: $(O)/efi/ipxe-embedded.efi $(EFI_SIGN_DEPS)
	$(call efi_sign,$<,$@)

# The arm64 images are signed the same way.
$(O)/arm64/efi/ipxe-arm64.efi: $(IPXE_AA64_SRC) $(EFI_SIGN_DEPS)
	$(call efi_sign,$<,$@)

$(O)/arm64/efi/ipxe-embedded.efi: $(AA64_EFI_STUB) $(O)/arm64/efi/ipxe-arm64.efi $(O)/boot.ipxe \
		scripts/efi-embed.sh
	@echo "  EMBED   $@"
	$(Q)OBJCOPY=$(AA64_EFI_OBJCOPY) OBJDUMP=$(AA64_EFI_OBJDUMP) \
		sh scripts/efi-embed.sh $(AA64_EFI_STUB) $(O)/arm64/efi/ipxe-arm64.efi $(O)/boot.ipxe $@

$(O)/arm64/ipxe.efi: $(O)/arm64/efi/ipxe-embedded.efi $(EFI_SIGN_DEPS)
	$(call efi_sign,$<,$@)

$(O)/arm64/snponly.efi: $(IPXE_AA64_SRC) $(EFI_SIGN_DEPS)
	$(call efi_sign,$<,$@)

$(O)/img/esp.img: $(O)/ipxe.efi $(AA64_IPXE_EFI) scripts/mkimage.sh
	@mkdir -p $(@D)
	$(Q)sh scripts/mkimage.sh esp $< $@ $(AA64_IPXE_EFI)

$(O)/ipxe.iso: $(O)/ipxe.lkrn $(O)/boot.ipxe $(O)/img/esp.img scripts/mkimage.sh
	@echo "  ISO     $@"
	$(Q)sh scripts/mkimage.sh iso $(O)/ipxe.lkrn $(O)/boot.ipxe $(O)/img/esp.img $@

$(O)/ipxe.usb: $(O)/ipxe.lkrn $(O)/boot.ipxe $(O)/ipxe.efi $(AA64_IPXE_EFI) scripts/mkimage.sh
	@echo "  USB     $@"
	$(Q)sh scripts/mkimage.sh usb $(O)/ipxe.lkrn $(O)/boot.ipxe $(O)/ipxe.efi $@ $(AA64_IPXE_EFI)

$(O)/tftp/.stamp: $(O)/ipxe.lkrn $(O)/boot.ipxe $(O)/ipxe.efi $(O)/undionly.kpxe \
		$(O)/snponly.efi $(AA64_IMAGES) scripts/mkimage.sh
	@echo "  TFTP    $(O)/tftp/"
	$(Q)sh scripts/mkimage.sh tftp $(O)/tftp $(O)/ipxe.lkrn $(O)/boot.ipxe \
		$(O)/ipxe.efi $(O)/undionly.kpxe $(O)/snponly.efi $(AA64_IMAGES)
	@touch $@

$(O)/dnsmasq.conf: scripts/mkdnsmasq.sh
	$(Q)sh scripts/mkdnsmasq.sh full $@
$(O)/dnsmasq-proxy.conf: scripts/mkdnsmasq.sh
	$(Q)sh scripts/mkdnsmasq.sh proxy $@

# A short report, printed whenever an image was rebuilt.
$(O)/report.txt: $(IMAGES)
	$(Q)sh scripts/report.sh $(MAKE_START) '$(if $(IPXE_BIN_DIR),$(IPXE_BIN_DIR),iPXE $(IPXE_VERSION))' \
		$(filter-out $(O)/tftp/.stamp,$(IMAGES)) $(O)/tftp >$@
	@cat $@

TEST_SCRIPTS += tests/build/run.sh
TEST_DEB_PACKAGES += dnsmasq-base
