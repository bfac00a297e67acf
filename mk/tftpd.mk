# wupan-tftpd: the reference TFTP server (src/tftpd/), its unit tests, fuzz
# targets, interop suite (tests/tftpd/) and benchmark (bench/tftpd/).
TFTPD_CORE := src/tftpd/tftp_pkt.c src/tftpd/tftp_opt.c \
	src/tftpd/tftp_session.c src/common/parse.c
TFTPD_SRCS := $(TFTPD_CORE) src/tftpd/tftp_path.c src/tftpd/tftp_map.c \
	src/tftpd/tftp_log.c src/tftpd/tftpd_main.c src/common/log.c \
	src/common/privdrop.c src/common/evloop.c \
	src/common/netaddr.c

$(O)/bin/wupan-tftpd: $(patsubst %.c,$(O)/obj/%.o,$(TFTPD_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@
PROGS += $(O)/bin/wupan-tftpd

# Test tools: a TFTP client that can play each boot firmware's part, and a
# UDP relay that delays, drops, duplicates and reorders.
TFTPD_TOOLS := $(O)/bin/wupan-tftp-client $(O)/bin/wupan-udp-relay
$(O)/bin/wupan-tftp-client: $(O)/obj/tests/tftpd/tftp_client.o \
		$(patsubst %.c,$(O)/obj/%.o,src/tftpd/tftp_pkt.c src/common/parse.c)
$(O)/bin/wupan-udp-relay: $(O)/obj/tests/tftpd/udp_relay.o \
		$(O)/obj/src/common/parse.o
$(TFTPD_TOOLS):
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@
# Not installed: `make test` and `make bench-tftpd` build them.
test: $(TFTPD_TOOLS)

# Unit tests (ASan+UBSan).
$(O)/asan/bin/test_tftp_pkt: $(patsubst %.c,$(O)/asan/%.o,tests/unit/test_tftp_pkt.c \
		$(TFTPD_CORE) src/tftpd/tftp_log.c)
$(O)/asan/bin/test_tftp_session: $(patsubst %.c,$(O)/asan/%.o,tests/unit/test_tftp_session.c \
		$(TFTPD_CORE))
$(O)/asan/bin/test_tftp_path: $(patsubst %.c,$(O)/asan/%.o,tests/unit/test_tftp_path.c \
		src/tftpd/tftp_path.c src/tftpd/tftp_map.c src/tftpd/tftp_pkt.c)
TFTPD_UNIT := $(addprefix $(O)/asan/bin/,test_tftp_pkt test_tftp_session test_tftp_path)
$(TFTPD_UNIT):
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(TFTPD_UNIT)

FUZZ_TARGETS += tftp_req tftp_session
FUZZ_SRCS_tftp_req := $(TFTPD_CORE) src/tftpd/tftp_map.c src/tftpd/tftp_log.c
FUZZ_SRCS_tftp_session := $(TFTPD_CORE)

TEST_SCRIPTS += tests/tftpd/interop.sh
TEST_DEB_PACKAGES += tftp-hpa curl busybox dnsmasq-base

.PHONY: bench-tftpd
bench-tftpd: $(O)/bin/wupan-tftpd $(TFTPD_TOOLS)
	$(Q)O=$(O) bash bench/tftpd/bench.sh
