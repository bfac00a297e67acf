# Secure Boot: the site's keys (`make secureboot-keys`) and the proof under
# OVMF with Secure Boot enforced (tests/qemu/secureboot.sh).  Signing itself
# lives in mk/sign.mk.
#
# The keys go to a directory outside $(O) (`make clean` must never take
# them), which is never overwritten.
SECUREBOOT_DIR ?= config/local/secureboot
SECUREBOOT_NAME ?= wupan site
SECUREBOOT_DAYS ?= 3650

.PHONY: secureboot-keys
secureboot-keys:
	$(Q)sh scripts/deps.sh openssl efitools
	$(Q)sh scripts/secureboot-keys.sh '$(SECUREBOOT_DIR)' '$(SECUREBOOT_NAME)' '$(SECUREBOOT_DAYS)'

TEST_DEB_PACKAGES += sbsigntool efitools openssl ovmf
TEST_SCRIPTS += tests/qemu/secureboot.sh
