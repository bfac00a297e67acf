# The README's screenshot of the boot menu, taken from QEMU so that it shows
# today's menu: `make doc-menu` (a QEMU boot: run it under the suite lock).
# The matrix reads hints back from the VGA screen with tesseract; python3
# talks to the QEMU monitor.
.PHONY: doc-menu
doc-menu: $(O)/ipxe.lkrn $(O)/bin/wupan-lint
	$(Q)O=$(O) bash tests/qemu/menu-shot.sh doc/menu.png
TEST_DEB_PACKAGES += tesseract-ocr python3
