# A room from one golden image (issue 11): overlay LUNs of wupan-target are
# built with it (mk/target.mk); this is their end-to-end suite.
TEST_SCRIPTS += tests/fleet/run.sh
# mkseats.sh with several gateways: the seat assignment (seconds, no QEMU).
TEST_SCRIPTS += tests/fleet/seats.sh
# Diskless Linux guests as a room (needs make diskless-image, mk/linux.mk).
TEST_SCRIPTS += tests/fleet/guests.sh
TEST_DEB_PACKAGES += libiscsi-dev
test: $(O)/bin/wupan-target

# The overlay engine against a memory model (tests/fuzz/fuzz_overlay.c).
FUZZ_TARGETS += overlay
FUZZ_SRCS_overlay = $(TARGET_TEST_SRCS)
