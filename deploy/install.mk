# deploy/install.mk — `make install`, `make uninstall`, `make man`, `make deb`.
# Included by the Makefile; uses its BUILD and BINS.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMDDIR=…]
#       binaries to PREFIX/bin, man pages (scdoc) to PREFIX/share/man,
#       systemd units (ExecStart pointing at PREFIX/bin) to SYSTEMDDIR,
#       docs and the example handler to PREFIX/share/doc/hookd, and
#       SYSCONFDIR/hookd/hookd.conf from receiver.conf.example unless one
#       exists (an installed config is never overwritten)
#   make uninstall   removes all of that but SYSCONFDIR/hookd (your config)
#   make deb         build/deb/hookd_VERSION_ARCH.deb (dpkg-deb), PREFIX=/usr

PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
DOCDIR := $(PREFIX)/share/doc/hookd

MAN_SRC := $(wildcard docs/man/*.scd)
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
UNITS := hookd-receiver.service hookd-worker@.service
INSTALLED_BINS := hookd-receiver hookd-worker hookctl
INSTALLED_DOCS := README.md SECURITY.md $(wildcard docs/*.md)

.PHONY: man install uninstall deb
man: $(MAN_PAGES)

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@

install: $(BINS) $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(addprefix $(BUILD)/,$(INSTALLED_BINS)) $(DESTDIR)$(BINDIR)/
	for p in $(notdir $(MAN_PAGES)); do \
	    s=$${p##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
	    install -m 0644 $(BUILD)/man/$$p $(DESTDIR)$(MANDIR)/man$$s/$$p || exit 1; done
	for u in $(UNITS); do \
	    sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/share/doc/hookd|$(DOCDIR)|g' \
	        -e 's|/etc/hookd/|$(SYSCONFDIR)/hookd/|g' deploy/systemd/$$u > $(DESTDIR)$(SYSTEMDDIR)/$$u && \
	    chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/$$u || exit 1; done
	install -m 0644 $(INSTALLED_DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 receiver.conf.example $(DESTDIR)$(DOCDIR)/examples/hookd.conf
	install -m 0755 scripts/example-handler.sh $(DESTDIR)$(DOCDIR)/examples/
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/hookd
	[ -e $(DESTDIR)$(SYSCONFDIR)/hookd/hookd.conf ] || \
	    sed -e 's|exec:scripts/example-handler.sh|exec:$(DOCDIR)/examples/example-handler.sh|' \
	        receiver.conf.example > $(DESTDIR)$(SYSCONFDIR)/hookd/hookd.conf
	chmod 0640 $(DESTDIR)$(SYSCONFDIR)/hookd/hookd.conf

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(INSTALLED_BINS))
	for p in $(notdir $(MAN_SRC:.scd=)); do rm -f $(DESTDIR)$(MANDIR)/man$${p##*.}/$$p; done
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDDIR)/,$(UNITS))
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "uninstall: $(DESTDIR)$(SYSCONFDIR)/hookd (your config) is left in place"

deb: $(BINS) $(MAN_PAGES)
	@BUILD=$(BUILD) sh scripts/make-deb.sh
