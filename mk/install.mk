# make install / make uninstall: the programs, their man pages, systemd units
# for both daemons with the user they drop to, an example target.conf (kept
# if one is there) and the TFTP root built from the site settings.
#
#   make install [DESTDIR=STAGE] [PREFIX=/usr/local]
#
# Under DESTDIR nothing is done to the running system; without it, as root,
# the user wupan is created with systemd-sysusers and systemd is reloaded.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
# systemd reads units and sysusers.d below /usr/local/lib too.
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR ?= /etc
SRVDIR ?= /srv/wupan
TFTPDIR ?= $(SRVDIR)/tftp
IMAGEDIR ?= $(SRVDIR)/images

INSTALL_UNITS := $(O)/dist/wupan-target.service $(O)/dist/wupan-tftpd.service
INSTALL_MAN := $(wildcard doc/*.1 doc/*.8)

# The units carry the install paths: regenerated when PREFIX & co. change.
INSTALL_PATHS := $(BINDIR) $(SYSCONFDIR) $(TFTPDIR) $(IMAGEDIR)
$(O)/dist/paths: FORCE
	@mkdir -p $(@D)
	@echo '$(INSTALL_PATHS)' | cmp -s - $@ || echo '$(INSTALL_PATHS)' >$@

$(O)/dist/%.service: dist/%.service.in mk/install.mk $(O)/dist/paths
	@mkdir -p $(@D)
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		-e 's|@TFTPDIR@|$(TFTPDIR)|g' -e 's|@IMAGEDIR@|$(IMAGEDIR)|g' $< >$@

.PHONY: install uninstall
install: $(PROGS) $(INSTALL_UNITS) $(O)/tftp/.stamp
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/wupan \
		$(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(TFTPDIR) \
		$(DESTDIR)$(IMAGEDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	install -m 644 $(filter %.1,$(INSTALL_MAN)) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(filter %.8,$(INSTALL_MAN)) $(DESTDIR)$(MANDIR)/man8
	install -m 644 $(INSTALL_UNITS) $(DESTDIR)$(UNITDIR)
	install -m 644 dist/wupan.sysusers $(DESTDIR)$(SYSUSERSDIR)/wupan.conf
	@# The admin's configuration is never overwritten.
	[ -e $(DESTDIR)$(SYSCONFDIR)/wupan/target.conf ] || \
		install -m 640 dist/target.conf $(DESTDIR)$(SYSCONFDIR)/wupan/target.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/wupan-tftpd ] || \
		install -m 644 dist/wupan-tftpd.default $(DESTDIR)$(SYSCONFDIR)/default/wupan-tftpd
	@# The TFTP root: the built files are replaced, the site's own files
	@# (hosts/*.ipxe, anything else) are left alone; the list of what was
	@# installed there is kept for uninstall.
	cd $(O)/tftp && find . -type d -exec install -d -m 755 '$(DESTDIR)$(TFTPDIR)/{}' \; && \
		find . -type f ! -name .stamp -exec install -m 644 '{}' '$(DESTDIR)$(TFTPDIR)/{}' \;
	install -d $(DESTDIR)$(PREFIX)/share/wupan
	cd $(O)/tftp && find . -type f ! -name .stamp | LC_ALL=C sort \
		>$(DESTDIR)$(PREFIX)/share/wupan/tftp-files
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		if command -v systemd-sysusers >/dev/null; then \
			systemd-sysusers $(SYSUSERSDIR)/wupan.conf; \
		elif ! getent passwd wupan >/dev/null; then \
			useradd --system --home-dir $(SRVDIR) --no-create-home \
				--shell /usr/sbin/nologin wupan; \
		fi; \
		chown wupan: $(IMAGEDIR); \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "installed; enable with: systemctl enable --now wupan-target wupan-tftpd"; \
	fi

# Removes what install laid down except the admin's files: target.conf,
# /etc/default/wupan-tftpd, images, the site's files in the TFTP root and
# the user wupan.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(INSTALL_MAN))))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(filter %.8,$(INSTALL_MAN))))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(INSTALL_UNITS)))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/wupan.conf
	@list=$(DESTDIR)$(PREFIX)/share/wupan/tftp-files; \
	if [ -f $$list ]; then \
		sed 's|^\./||' $$list | while read -r f; do rm -f "$(DESTDIR)$(TFTPDIR)/$$f"; done; \
		rm -f $$list; rmdir $(DESTDIR)$(PREFIX)/share/wupan 2>/dev/null || true; \
		rmdir $(DESTDIR)$(TFTPDIR)/pxelinux.cfg 2>/dev/null || true; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# The staging install, the units under systemd-analyze, the daemons' --user
# and --chroot (tests/install/run.sh).
TEST_SCRIPTS += tests/install/run.sh
TEST_DEB_PACKAGES += systemd tftp-hpa libiscsi-bin
