# tests/linux: diskless Linux end to end (issue 6).  `make diskless-image`
# builds, into $(O)/linux/, a Debian kernel, an initramfs that logs in to its
# root disk with the iBFT the firmware published, and ready-to-serve iSCSI
# disk images for BIOS (bios.img) and UEFI (uefi.img), plus the installer's
# payloads.  Everything that goes into the guest comes from Debian packages
# fetched with apt-get download (nothing is installed on the host); the
# download is redone only when tests/linux/packages or the fetch script
# changes, the image only when its inputs do.
LINUX_DIR := $(O)/linux
LINUX_FETCHED := $(LINUX_DIR)/fetch/versions
LINUX_IMAGE := $(LINUX_DIR)/.stamp
TEST_DEB_PACKAGES += apt dpkg binutils e2fsprogs dosfstools mtools fdisk syslinux \
	syslinux-common cpio tgt dnsmasq-base iproute2 qemu-system-x86 ovmf

$(LINUX_FETCHED): tests/linux/packages tests/linux/fetch.sh
	@echo "  FETCH   $(LINUX_DIR)/fetch (Debian kernel, busybox, open-iscsi, systemd-boot)"
	$(Q)sh tests/linux/fetch.sh tests/linux/packages $(LINUX_DIR)/fetch

$(LINUX_IMAGE): $(LINUX_FETCHED) tests/linux/mkimage.sh tests/linux/modules \
		tests/linux/initramfs-init tests/linux/root-init
	@echo "  IMAGE   $(LINUX_DIR)/ (bios.img uefi.img vmlinuz initrd.img install-*.cpio)"
	$(Q)sh tests/linux/mkimage.sh $(LINUX_DIR)/fetch $(LINUX_DIR)
	@touch $@

.PHONY: diskless-image
diskless-image: $(LINUX_IMAGE)

# Only the tests need the image: a plain `make` does not download a kernel.
test: diskless-image
TEST_SCRIPTS += tests/linux/run.sh
