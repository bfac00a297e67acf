# src/iscsi: wupan-target, the iSCSI target (issue 3).  A pure core (PDU
# codec, text keys, login/CHAP, SCSI command set) and a thin socket driver.
TARGET_CORE_SRCS := src/iscsi/pdu.c src/iscsi/crc32c.c src/iscsi/text.c \
	src/iscsi/scsi_info.c src/iscsi/scsi_media.c \
	src/iscsi/hash.c src/iscsi/chap.c src/iscsi/login.c \
	src/iscsi/conn.c src/iscsi/scsi.c src/iscsi/scsi_pr.c \
	src/iscsi/config.c src/iscsi/overlay.c src/iscsi/fleet_rules.c \
	src/iscsi/gcache.c src/common/parse.c src/common/fullio.c
TARGET_SRCS := $(TARGET_CORE_SRCS) $(EVLOOP_SRCS) src/iscsi/backend_file.c \
	src/iscsi/backend_rbd.c src/iscsi/rbd_gcache.c src/iscsi/trace.c \
	src/iscsi/fleet.c src/iscsi/fleet_file.c src/iscsi/fleet_rbd.c \
	src/iscsi/fleet_ctl.c \
	src/iscsi/main.c src/common/log.c src/common/privdrop.c
TARGET_TEST_SRCS := $(TARGET_CORE_SRCS) src/iscsi/backend_mem.c \
	src/iscsi/backend_file.c

$(O)/bin/wupan-target: $(patsubst %.c,$(O)/obj/%.o,$(TARGET_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ -pthread -ldl
PROGS += $(O)/bin/wupan-target
# librbd's headers: rbd: LUNs load the library itself at run time
# (backend_rbd.c), so only the build needs Ceph's packages.
DEB_PACKAGES += librbd-dev

# The daemon under ASan+UBSan, for tests/target/datapath.sh (not installed).
$(O)/asan/bin/wupan-target: $(patsubst %.c,$(O)/asan/%.o,$(TARGET_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ -pthread -ldl
test: $(O)/asan/bin/wupan-target

# Unit tests: one binary per module, all linked with the whole core.
TARGET_UNITS := iscsi_pdu iscsi_text iscsi_chap iscsi_login iscsi_conn iscsi_async iscsi_edge \
	iscsi_zerocopy \
	scsi_cdb target_config overlay fleet_rules fleet_session gcache
define target_unit_template
$(O)/asan/bin/test_$(1): $(O)/asan/tests/unit/test_$(1).o $(patsubst %.c,$(O)/asan/%.o,$(TARGET_TEST_SRCS))
	@mkdir -p $$(@D)
	$(Q)$(CC) $(SAN_FLAGS) $$^ -o $$@
endef
$(foreach u,$(TARGET_UNITS),$(eval $(call target_unit_template,$(u))))
UNIT_TESTS += $(addprefix $(O)/asan/bin/test_,$(TARGET_UNITS))
# The command trace is the daemon's (a writer thread), not the core's.
$(O)/asan/bin/test_iscsi_trace: $(O)/asan/tests/unit/test_iscsi_trace.o \
		$(patsubst %.c,$(O)/asan/%.o,$(TARGET_TEST_SRCS) src/iscsi/trace.c)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ -pthread
UNIT_TESTS += $(O)/asan/bin/test_iscsi_trace

FUZZ_TARGETS += iscsi_pdu iscsi_login iscsi_text iscsi_cdb
FUZZ_SRCS_iscsi_pdu := $(TARGET_TEST_SRCS)
FUZZ_SRCS_iscsi_login := $(TARGET_TEST_SRCS)
FUZZ_SRCS_iscsi_text := $(TARGET_TEST_SRCS)
FUZZ_SRCS_iscsi_cdb := $(TARGET_TEST_SRCS)

TEST_SCRIPTS += tests/target/tools.sh tests/target/conformance.sh \
	tests/target/durability.sh tests/target/ipxe-boot.sh \
	tests/target/datapath.sh tests/target/storm.sh
TEST_DEB_PACKAGES += libiscsi-bin libiscsi-dev tgt qemu-system-x86

.PHONY: bench-target bench-storm record-boot-trace
bench-target: $(O)/bin/wupan-target
	$(Q)O=$(O) bash bench/target/bench.sh

# The boot storm (issues 10 and 11): bench/target/traces/*.trace replayed
# from 64 clients against wupan-target and tgtd.  record-boot-trace boots
# tests/linux's guest under SeaBIOS and OVMF to record those traces again.
bench-storm: $(O)/bin/wupan-target
	$(Q)O=$(O) bash bench/target/storm.sh
record-boot-trace: all diskless-image
	$(Q)O=$(O) bash bench/target/record-boot.sh
