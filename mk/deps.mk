# Debian packages, installed before any other recipe runs, whatever the goal
# and however many jobs (`make -j8`, a single file target, `O=DIR`).
#
# How: $(DEPS_STAMP) is an included makefile, and GNU make brings included
# makefiles up to date before it starts on the goals.  Its recipe checks the
# packages every time (one dpkg-query call) and installs what is missing; the
# stamp's text only changes with the package lists, so make restarts only
# then.
#
# Which packages: a boot server that only builds and serves gets
# DEB_PACKAGES; the goals that test or measure (`check`, `test`, `fuzz`,
# `bench-*`, the test trees in $(O), anything not known to be a build goal)
# get TEST_DEB_PACKAGES as well.  `clean` and `uninstall` get none.
DEPS_NONE_GOALS := clean uninstall
DEPS_BUILD_GOALS := all images script roms efi-stub ipxe install deps secureboot-keys \
	$(PROGS) $(filter-out $(O)/asan/% $(O)/fuzz/% $(O)/test/% $(O)/linux/% \
		$(O)/qemu/% $(O)/buildtest/% $(O)/logs/%,$(filter $(O)/%,$(MAKECMDGOALS)))
DEPS_GOALS := $(or $(MAKECMDGOALS),all)

ifeq ($(filter-out $(DEPS_NONE_GOALS),$(DEPS_GOALS)),)
DEPS_KIND := none
else ifeq ($(filter-out $(DEPS_NONE_GOALS) $(DEPS_BUILD_GOALS),$(DEPS_GOALS)),)
DEPS_KIND := build
DEPS_ARGS = $(sort $(DEB_PACKAGES))
else
DEPS_KIND := test
# Packages after "--" are test-only: scripts/deps.sh keeps their services
# (tgt.service, ...) from being enabled or started.
DEPS_ARGS = $(sort $(DEB_PACKAGES)) -- \
	$(sort $(filter-out $(DEB_PACKAGES),$(TEST_DEB_PACKAGES)))
endif

DEPS_STAMP := $(O)/.deps/$(DEPS_KIND).mk

.PHONY: deps test-deps
deps test-deps:
	@:

ifneq ($(DEPS_KIND),none)
ifneq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
# make -n: say what would run first instead of installing.
$(info sh scripts/deps.sh $(DEPS_ARGS))
else
include $(DEPS_STAMP)
endif
endif

$(DEPS_STAMP): FORCE
	@mkdir -p $(@D)
	$(Q)sh scripts/deps.sh $(DEPS_ARGS)
	@echo '# packages checked: $(DEPS_ARGS)' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# A fresh machine's first make: packages before the first compile.
TEST_SCRIPTS += tests/build/deps-order.sh
