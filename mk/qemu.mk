# tests/qemu: the boot matrix (make test), against tgtd and wupan-target.
TEST_SCRIPTS += tests/qemu/run.sh
DEB_PACKAGES += qemu-system-x86 qemu-utils ovmf tgt
test: test-payloads
