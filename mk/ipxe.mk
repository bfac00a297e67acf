# The pinned iPXE (ipxe.lock) fetched into $(O)/ipxe/VERSION, or the user's own
# binaries from IPXE_BIN_DIR.  IPXE_BIN is the directory holding ipxe.lkrn,
# ipxe-amd64.efi (or ipxe.efi), undionly.kpxe and snponly.efi; IPXE_ROMS holds
# the pinned ipxe-qemu NIC ROMs (pxe-*.rom, efi-*.rom).
IPXE_DIR := $(O)/ipxe/$(IPXE_VERSION)
IPXE_STAMP := $(IPXE_DIR)/root/VERSION
IPXE_ROMS := $(IPXE_DIR)/root/usr/share/qemu
IPXE_BIN := $(if $(IPXE_BIN_DIR),$(IPXE_BIN_DIR),$(IPXE_DIR)/root/usr/lib/ipxe)
DEB_PACKAGES += apt dpkg ca-certificates debian-archive-keyring

$(IPXE_STAMP): ipxe.lock scripts/fetch-ipxe.sh
	$(Q)sh scripts/fetch-ipxe.sh ipxe.lock '$(IPXE_VERSION)' $(IPXE_DIR)

.PHONY: ipxe ipxe-info
ipxe: $(IPXE_STAMP)

ipxe-info: $(IPXE_STAMP)
	$(Q)sh scripts/ipxe-info.sh '$(IPXE_BIN)' '$(if $(IPXE_BIN_DIR),IPXE_BIN_DIR,pinned Debian package $(IPXE_VERSION))'
