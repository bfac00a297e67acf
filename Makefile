# wupan: one site description in, every iPXE boot image out, plus the servers
# and tests that prove they boot.  See README.md for the user-facing targets.
#
# Components add themselves through the fragments included below: each one
# appends to PROGS (binaries for `make`), UNIT_TESTS (ASan+UBSan unit test
# binaries for `make check`), FUZZ_TARGETS (libFuzzer targets whose corpus
# `make check` replays), TEST_SCRIPTS (slow suites for `make test`) and
# DEB_PACKAGES (Debian packages the build and the daemons need) and
# TEST_DEB_PACKAGES (those only `make check`, `make test` and the benchmarks
# need).

O ?= build
SITE ?= $(firstword $(wildcard config/local/site.ipxe) config/site.ipxe)
IPXE_VERSION ?= 1.21.1+git20250501.dad20602+dfsg-1
IPXE_BIN_DIR ?=
# Computed once here (`:=`), not by every recipe that sees the exported value.
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 1764115200)
endif
export SOURCE_DATE_EPOCH

CC ?= cc
CLANG ?= clang-14
CFLAGS ?= -O2 -g
WFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -D_GNU_SOURCE
DEPFLAGS = -MMD -MP
ALL_CFLAGS = $(WFLAGS) -Isrc $(CFLAGS)
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined

ifeq ($(V),1)
Q :=
else
Q := @
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

PROGS :=
UNIT_TESTS :=
FUZZ_TARGETS :=
TEST_SCRIPTS :=
DEB_PACKAGES := build-essential binutils
TEST_DEB_PACKAGES := clang-14 libclang-rt-14-dev clang-format

# Object rules: a normal tree, a sanitizer tree and a fuzzer tree.
$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/asan/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC-SAN  $<")
	$(Q)$(CC) $(WFLAGS) -Isrc $(SAN_FLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/fuzz/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC-FUZZ $<")
	$(Q)$(CLANG) $(WFLAGS) -Isrc $(FUZZ_FLAGS) $(DEPFLAGS) -c $< -o $@

# Fragments: the iPXE input and EFI signing (mk/sign.mk, which any fragment
# may call) first, the images (which use every other fragment's variables)
# after the components; install.mk and deps.mk read every other fragment's
# variables, so they come last.
include mk/common.mk mk/ipxe.mk mk/sign.mk
include $(filter-out mk/common.mk mk/ipxe.mk mk/sign.mk mk/images.mk mk/install.mk mk/deps.mk,$(sort $(wildcard mk/*.mk)))
include mk/images.mk mk/install.mk mk/deps.mk

# Fuzz targets: tests/fuzz/fuzz_NAME.c links with FUZZ_SRCS_NAME.  `make check`
# replays tests/fuzz/corpus/NAME/ through a plain ASan build with a tiny main;
# `make fuzz` builds real libFuzzer binaries.
define fuzz_template
$(O)/asan/fuzz-replay/$(1): $(O)/asan/tests/fuzz/fuzz_$(1).o $(O)/asan/tests/fuzz/replay_main.o $(patsubst %.c,$(O)/asan/%.o,$(FUZZ_SRCS_$(1)))
	@mkdir -p $$(@D)
	$(Q)$(CC) $(SAN_FLAGS) $$^ -o $$@
$(O)/fuzz/bin/fuzz_$(1): $(O)/fuzz/tests/fuzz/fuzz_$(1).o $(patsubst %.c,$(O)/fuzz/%.o,$(FUZZ_SRCS_$(1)))
	@mkdir -p $$(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $$^ -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_template,$(t))))

FUZZ_REPLAYS := $(addprefix $(O)/asan/fuzz-replay/,$(FUZZ_TARGETS))

.PHONY: all check test fuzz clean format
ALL_EXTRA ?=
all: $(PROGS) images $(ALL_EXTRA)

check: $(UNIT_TESTS) $(FUZZ_REPLAYS)
	$(Q)O=$(O) bash tests/run-suites.sh check \
		"scripts/check-format.sh" \
		$(foreach t,$(UNIT_TESTS),"$(t)") \
		$(foreach t,$(FUZZ_TARGETS),"$(O)/asan/fuzz-replay/$(t) tests/fuzz/corpus/$(t)")

test: all check
	$(Q)O=$(O) bash tests/run-suites.sh test $(foreach s,$(TEST_SCRIPTS),"$(s)")

# Rewrites every C file of the tree in the style `make check` checks.
format:
	$(Q)sh scripts/check-format.sh --fix

fuzz: $(addprefix $(O)/fuzz/bin/fuzz_,$(FUZZ_TARGETS))
	@echo "fuzzers in $(O)/fuzz/bin; run e.g. $(O)/fuzz/bin/fuzz_X tests/fuzz/corpus/X"

clean:
	rm -rf $(O)

-include $(shell find $(O)/obj $(O)/asan $(O)/fuzz -name '*.d' 2>/dev/null)
