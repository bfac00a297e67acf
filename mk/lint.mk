# wupan-lint: checks the site file, per-host files and iPXE scripts
# (src/lint/).  `make` checks the site file before anything is built from it;
# `make check` checks embed/ and the corpus in tests/lint/.
LINT_CORE := src/lint/lint.c src/common/parse.c

$(O)/bin/wupan-lint: $(patsubst %.c,$(O)/obj/%.o,$(LINT_CORE) src/lint/main.c)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@
PROGS += $(O)/bin/wupan-lint

# A SITE that does not exist gets a sentence, not make's "No rule".
ifeq ($(wildcard $(SITE)),)
$(SITE):
	@echo "make: SITE=$(SITE): no such file.  SITE names your site settings file; start from config/site.ipxe" >&2
	@exit 1
endif

# Errors name the user's file and line and stop the build; warnings print
# whenever the file changes.  Runs right after deps, before the images.
$(O)/.site-lint: $(SITE) $(O)/bin/wupan-lint $(O)/.site
	@echo "  LINT    $(SITE)"
	$(Q)$(O)/bin/wupan-lint --site $(SITE)
	@touch $@
$(O)/boot.ipxe: $(O)/.site-lint
all: deps $(O)/.site-lint

$(O)/asan/bin/test_lint: $(patsubst %.c,$(O)/asan/%.o,tests/unit/test_lint.c $(LINT_CORE))
$(O)/asan/bin/test_lint_files: $(patsubst %.c,$(O)/asan/%.o,tests/unit/test_lint_files.c $(LINT_CORE))
LINT_UNIT := $(O)/asan/bin/test_lint $(O)/asan/bin/test_lint_files
$(LINT_UNIT):
	@mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@
UNIT_TESTS += $(LINT_UNIT)

FUZZ_TARGETS += lint
FUZZ_SRCS_lint := $(LINT_CORE)
