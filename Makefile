# SPDX-License-Identifier: GPL-2.0
#
#   make                 everything: the module for this machine's kernel,
#                        shardd, shard-mapd, shardctl and the test tools
#   make module          the kernel module (KDIR=... for another tree)
#   make module-debug    the module for the 6.12 debug kernel
#   make check           all tests (unit under ASan/UBSan, VM on both kernels)
#   make check-unit      only the userspace unit tests
#   make demo            a working demo in a VM (see README.md)
#   make bench           shard against nbd and a RAM disk, in a VM
#   make style           checkpatch on the kernel code
#   make sparse          sparse (C=2) on the kernel code
#   make install         binaries, man pages, udev rule, systemd units
#   make dkms-install    the module's source under /usr/src, built by dkms
#
# V=1 shows full commands.

VERSION := 0.1.0
PREFIX ?= /usr/local
KVER ?= $(shell ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
DEBUG_KERNEL = $(shell tests/vm/get-debug-kernel 2>/dev/null)
CHECKPATCH ?= $(abspath ../shared/tools/checkpatch/checkpatch.pl)

USERSPACE := userspace/placement userspace/etcd userspace/shardd userspace/mapd \
	tools/shardctl tests/tools

all: module userspace

module:
	$(MAKE) -C kmod KDIR=$(KDIR)

# Without ../shared/kernels the debug kernel run is skipped, not failed.
module-debug:
	@if [ -n "$(DEBUG_KERNEL)" ]; then \
		$(MAKE) -C kmod KDIR=$(DEBUG_KERNEL)/build; \
	else echo "  SKIP    module-debug: no debug kernel"; fi

userspace:
	@set -e; for d in $(USERSPACE); do $(MAKE) -C $$d; done

check: all module-debug
	tests/run-all

check-unit: userspace
	tests/run-all --no-vm

demo:
	tools/demo/run

bench: all
	bench/run

style:
	$(CHECKPATCH) --no-tree --terse -f kmod/*.c kmod/*.h kmod/compat/probes/*.c \
		include/uapi/linux/shard.h include/shard/*.h

sparse:
	$(MAKE) -C kmod KDIR=$(KDIR) sparse

install: userspace
	@set -e; for d in userspace/shardd userspace/mapd tools/shardctl; do \
		$(MAKE) -C $$d install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX); done

dkms-install:
	rm -rf $(DESTDIR)/usr/src/shard-$(VERSION)
	mkdir -p $(DESTDIR)/usr/src/shard-$(VERSION)
	cp -r kmod include dkms.conf $(DESTDIR)/usr/src/shard-$(VERSION)/
	sed -i 's/@VERSION@/$(VERSION)/' $(DESTDIR)/usr/src/shard-$(VERSION)/dkms.conf
	dkms add -m shard -v $(VERSION)
	dkms build -m shard -v $(VERSION)
	dkms install -m shard -v $(VERSION)

clean:
	$(MAKE) -C kmod clean
	@for d in $(USERSPACE) tests/unit/include userspace/common userspace/jsonline; do \
		$(MAKE) -C $$d clean; done
	rm -rf build

.PHONY: all module module-debug userspace check check-unit demo bench style \
	sparse install dkms-install clean
