# efi/: the EFI stub that carries Debian's iPXE and the boot script as extra PE
# sections ($(O)/efi/stub.efi is the bare stub; scripts/efi-embed.sh adds the
# payload), plus the gnu-efi flags every EFI program of the project uses.
#
# EFI code is never sanitized and never sees the host CFLAGS: these variables
# are the one place its flags live (mk/payload.mk reuses them).
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CC := gcc
EFI_LD := ld
EFI_OBJCOPY := objcopy
EFI_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wshadow -O2 \
	-I$(EFI_INC) -I$(EFI_INC)/x86_64 -fpic -ffreestanding \
	-fno-stack-protector -fno-stack-check -fshort-wchar -mno-red-zone \
	-maccumulate-outgoing-args -DEFI_FUNCTION_WRAPPER \
	-fno-ident -ffile-prefix-map=$(CURDIR)=.
EFI_LDFLAGS := -nostdlib -shared -Bsymbolic --build-id=none -L$(EFI_LIB) \
	-T$(EFI_LIB)/elf_x86_64_efi.lds $(EFI_LIB)/crt0-efi-x86_64.o
EFI_LIBS := -lefi -lgnuefi
EFI_SECTIONS := -j .text -j .sdata -j .data -j .rodata -j .dynamic \
	-j .dynsym -j .rel -j .rela -j .rel.* -j .rela.* -j .reloc
EFI_FORMAT := --target efi-app-x86_64 --subsystem=10
DEB_PACKAGES += gnu-efi binutils

# $(call efi_link,OUT.efi,OBJS[,PREFIX]): link gnu-efi objects into a PE
# application (the intermediate ELF goes to obj/ beside OUT).  PREFIX picks
# another architecture's set of these variables (AA64_ in mk/arm64.mk).
define efi_link
	@mkdir -p $(dir $(1))obj
	@$(if $(Q),echo "  EFI-LD  $(1)")
	$(Q)$($(3)EFI_LD) $($(3)EFI_LDFLAGS) $(2) \
		-o $(dir $(1))obj/$(notdir $(1:.efi=.so)) $($(3)EFI_LIBS)
	$(Q)$($(3)EFI_OBJCOPY) $($(3)EFI_SECTIONS) $($(3)EFI_FORMAT) \
		$(dir $(1))obj/$(notdir $(1:.efi=.so)) $(1)
endef

$(O)/efi/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  EFI-CC  $<")
	$(Q)$(EFI_CC) $(EFI_CFLAGS) $(DEPFLAGS) -c $< -o $@

EFI_STUB := $(O)/efi/stub.efi
EFI_STUB_OBJS := $(O)/efi/obj/efi/stub.o $(O)/efi/obj/efi/pe.o \
	$(O)/efi/obj/efi/loadopts.o

$(EFI_STUB): $(EFI_STUB_OBJS)
	$(call efi_link,$@,$^)

# A stub with a stand-in payload (the bare stub as ".ipxe", a two-line
# script) for the unit tests: proves the embed script without iPXE.
EFI_TEST_EMBED := $(O)/efi/test-embedded.efi
$(EFI_TEST_EMBED): $(EFI_STUB) scripts/efi-embed.sh mk/efi.mk
	@$(if $(Q),echo "  EMBED   $@")
	$(Q)printf '#!ipxe\necho wupan-test-script\n' >$(O)/efi/test-script.ipxe
	$(Q)sh scripts/efi-embed.sh $(EFI_STUB) $(EFI_STUB) \
		$(O)/efi/test-script.ipxe $@

# Not in PROGS: `make install` puts PROGS in bin/.
.PHONY: efi-stub
efi-stub: $(EFI_STUB)
all: efi-stub

$(O)/asan/bin/test_efi_pe: $(O)/asan/tests/unit/test_efi_pe.o \
		$(O)/asan/efi/pe.o $(O)/asan/efi/loadopts.o | $(EFI_TEST_EMBED)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
$(O)/asan/bin/test_efi_loadopts: $(O)/asan/tests/unit/test_efi_loadopts.o \
		$(O)/asan/efi/loadopts.o
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(O)/asan/bin/test_efi_pe $(O)/asan/bin/test_efi_loadopts

FUZZ_TARGETS += efi_pe
FUZZ_SRCS_efi_pe := efi/pe.c efi/loadopts.c

-include $(shell find $(O)/efi/obj -name "*.d" 2>/dev/null)
