# tests/qemu: the boot matrix (make test), against tgtd and wupan-target.
TEST_SCRIPTS += tests/qemu/run.sh
TEST_DEB_PACKAGES += qemu-system-x86 qemu-utils ovmf tgt
test: test-payloads
# The stub's own cases that the matrix doesn't cover (its esp and pxe cases
# are matrix rows): iPXE's exit falls through to the next boot option, a bare
# stub says why it can't start, and embedding is reproducible.
TEST_SCRIPTS += tests/qemu/stub-smoke.sh
test: export STUB_SMOKE_CASES = reproducible fallthrough bare-stub
# Several gateways for one disk: multipath boots and a room spread over two
# gateways from a seats file (README "Several gateways").
TEST_SCRIPTS += tests/qemu/multipath.sh
