# UEFI Secure Boot signing of every EFI program the build ships, with the
# site's key: `make SIGN_KEY=FILE SIGN_CERT=FILE`.  Unsigned is the default.
# Included before the other fragments, so any of them can sign:
#
#   $(O)/x.efi: x-unsigned.efi $(EFI_SIGN_DEPS)
#   	$(call efi_sign,$<,$@)
#
# signs IN into OUT with the site's key, or copies it when the build is
# unsigned; EFI_SIGN_DEPS rebuilds OUT when the key or certificate changes,
# or signing is switched on or off.  scripts/efi-sign.sh stops the build on
# a bad pair (mismatched, expired, encrypted or unreadable key) before
# anything is signed.  The key is read where it lies: only its path and the
# certificate's fingerprint are recorded in $(O)/.sign.
SIGN_KEY ?=
SIGN_CERT ?=
ifneq ($(SIGN_KEY)$(SIGN_CERT),)
ifeq ($(SIGN_KEY),)
$(error SIGN_CERT is set but SIGN_KEY is not: give both, or neither for unsigned images)
endif
ifeq ($(SIGN_CERT),)
$(error SIGN_KEY is set but SIGN_CERT is not: give both, or neither for unsigned images)
endif
# Only a signing build needs the signing tools (faketime pins sbsign's
# signing time, so signed images are reproducible too).
DEB_PACKAGES += sbsigntool openssl faketime
endif
EFI_SIGN_DEPS := $(O)/.sign scripts/efi-sign.sh

$(O)/.sign: FORCE
	@mkdir -p $(@D)
	$(Q){ $(if $(SIGN_KEY),echo 'key $(SIGN_KEY)' && sh scripts/efi-sign.sh check '$(SIGN_KEY)' '$(SIGN_CERT)',echo unsigned); } >$@.new
	$(Q)if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

# $(call efi_sign,IN,OUT): OUT = IN signed with SIGN_KEY/SIGN_CERT, or a copy.
define efi_sign
	@mkdir -p $(dir $(2))
	@$(if $(Q),echo "  $(if $(SIGN_KEY),SIGN   ,COPY   ) $(2)")
	$(Q)$(if $(SIGN_KEY),sh scripts/efi-sign.sh sign '$(SIGN_KEY)' '$(SIGN_CERT)' $(1) $(2),cp $(1) $(2))
endef
