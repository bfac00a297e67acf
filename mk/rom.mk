# src/rom: wupan-rom, the option ROM inspector and editor, and the NIC option
# ROMs listed in rom/roms.list, written to $(O)/rom/ by the `roms` target.
ROM_SRCS := src/rom/rom.c src/common/parse.c
ROM_TOOL := $(O)/bin/wupan-rom
ROM_LIST := rom/roms.list

$(ROM_TOOL): $(patsubst %.c,$(O)/obj/%.o,src/rom/main.c $(ROM_SRCS))
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@
PROGS += $(ROM_TOOL)

# Unit tests: hand-built images, and the pinned ipxe-qemu ROMs (so this one
# needs the pinned package; it finds the ROMs through the compiled-in path).
$(O)/asan/bin/test_rom_parse: $(O)/asan/tests/unit/test_rom_parse.o $(patsubst %.c,$(O)/asan/%.o,$(ROM_SRCS))
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
$(O)/asan/bin/test_rom_edit: $(O)/asan/tests/unit/test_rom_edit.o $(patsubst %.c,$(O)/asan/%.o,$(ROM_SRCS))
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
$(O)/asan/tests/unit/test_rom_pinned.o: WFLAGS += -DROM_PINNED_DIR='"$(IPXE_ROMS)"'
$(O)/asan/tests/unit/test_rom_pinned.o: mk/rom.mk
$(O)/asan/bin/test_rom_pinned: $(O)/asan/tests/unit/test_rom_pinned.o $(patsubst %.c,$(O)/asan/%.o,$(ROM_SRCS)) | $(IPXE_STAMP)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(O)/asan/bin/test_rom_parse $(O)/asan/bin/test_rom_edit \
	$(O)/asan/bin/test_rom_pinned

FUZZ_TARGETS += rom_parse
FUZZ_SRCS_rom_parse := $(ROM_SRCS)

TEST_SCRIPTS += tests/rom/cli.sh
TEST_DEB_PACKAGES += jq

# rom/roms.list, one word per NIC: name|vendordevice|vendor:device|source|
# legacy size|efi size|combined size.  A malformed line stops the build.
ROM_ROWS := $(shell awk ' \
	{ sub(/\#.*/, "") } NF == 0 { next } \
	NF != 6 || $$2 !~ /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f][0-9a-f][0-9a-f]$$/ || \
	$$3 !~ /^[A-Za-z0-9_.-]+$$/ || $$4 !~ /^([0-9]+[KM]?|-)$$/ || \
	$$5 !~ /^([0-9]+[KM]?|-)$$/ || $$6 !~ /^([0-9]+[KM]?|-)$$/ { \
		print "ERROR:" FILENAME ":" NR; exit } \
	{ id = $$2; sub(/:/, "", id); \
	  if (seen[id]++) { print "ERROR:" FILENAME ":" NR ":duplicate-id"; exit } \
	  print $$1 "|" id "|" $$2 "|" $$3 "|" $$4 "|" $$5 "|" $$6 }' $(ROM_LIST))
ifneq ($(filter ERROR:%,$(ROM_ROWS)),)
$(error $(filter ERROR:%,$(ROM_ROWS)): expected "name vvvv:dddd source legacy efi combined" (see the file's header))
endif

ROM_DEPS := $(ROM_TOOL) $(IPXE_STAMP) $(ROM_LIST)
# Checks that a ROM fits its flash size; prints wupan-rom's reason if not.
rom_fit = r=$$($(ROM_TOOL) fit --size $(1) $@) || { echo "$$r" >&2; exit 1; }

# $(1) name, $(2) vendordevice, $(3) vendor:device, $(4) source,
# $(5) legacy size, $(6) efi size, $(7) combined size
define rom_template
ifneq ($(5),-)
ROM_OUTPUTS += $(O)/rom/$(2).rom
ROM_TABLE_ARGS += --name $(1) $(O)/rom/$(2).rom
$(O)/rom/$(2).rom: $(ROM_DEPS)
	@mkdir -p $$(@D)
	@$(if $(Q),echo "  ROM     $$@")
	$(Q)$(ROM_TOOL) set-id $(3) $(IPXE_ROMS)/pxe-$(4).rom -o $$@
	$(Q)$(call rom_fit,$(5))
endif
ifneq ($(6),-)
ROM_OUTPUTS += $(O)/rom/$(2).efirom
ROM_TABLE_ARGS += --name $(1) $(O)/rom/$(2).efirom
$(O)/rom/$(2).efirom: $(ROM_DEPS)
	@mkdir -p $$(@D)
	@$(if $(Q),echo "  ROM     $$@")
	$(Q)$(ROM_TOOL) extract efi $(IPXE_ROMS)/efi-$(4).rom -o $$@.efi
	$(Q)$(ROM_TOOL) set-id $(3) $$@.efi -o $$@ && rm -f $$@.efi
	$(Q)$(call rom_fit,$(6))
endif
ifneq ($(7),-)
ROM_OUTPUTS += $(O)/rom/$(2).combined.rom
ROM_TABLE_ARGS += --name $(1) $(O)/rom/$(2).combined.rom
$(O)/rom/$(2).combined.rom: $(ROM_DEPS)
	@mkdir -p $$(@D)
	@$(if $(Q),echo "  ROM     $$@")
	$(Q)$(ROM_TOOL) extract efi $(IPXE_ROMS)/efi-$(4).rom -o $$@.efi
	$(Q)$(ROM_TOOL) combine $(IPXE_ROMS)/pxe-$(4).rom $$@.efi -o $$@.both
	$(Q)$(ROM_TOOL) set-id $(3) $$@.both -o $$@ && rm -f $$@.efi $$@.both
	$(Q)$(call rom_fit,$(7))
endif
endef

ROM_OUTPUTS :=
ROM_TABLE_ARGS :=
rom_row = $(call rom_template,$(word 1,$(1)),$(word 2,$(1)),$(word 3,$(1)),$(word 4,$(1)),$(word 5,$(1)),$(word 6,$(1)),$(word 7,$(1)))
$(foreach r,$(ROM_ROWS),$(eval $(call rom_row,$(subst |, ,$(r)))))

# The table is a file, so a second `make` finds everything up to date and
# prints nothing; it is printed whenever a ROM was rebuilt.
$(O)/rom/roms.txt: $(ROM_OUTPUTS) $(ROM_TOOL)
	$(Q)$(ROM_TOOL) table $(ROM_TABLE_ARGS) >$@.tmp && mv $@.tmp $@
	@cat $@

.PHONY: roms
roms: $(O)/rom/roms.txt
ALL_EXTRA += roms
