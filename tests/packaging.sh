#!/usr/bin/env bash
# Packaging and kernel-code hygiene, on the host: the module builds the
# way dkms builds it (in place, from the installed source layout),
# `make install` lays out what the man pages and units promise, and the
# kernel code is checkpatch and sparse clean. KTAP on stdout.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$repo/tests/lib/test_common.sh"
cd "$repo" || exit 1
kver=$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
kdir=/lib/modules/$kver/build
tmp=$(mktemp -d)
_on_cleanup rm -rf "$tmp"

ktap_plan 5

t_dkms_layout() {
	local src=$tmp/usr/src/shard-0.1.0 cmd
	mkdir -p "$src"
	cp -r kmod include dkms.conf "$src/" || return 1
	# dkms runs MAKE[0] in the source directory with kernel_source_dir set.
	cmd=$(sed -n 's/^MAKE\[0\]="\(.*\)"$/\1/p' dkms.conf)
	(cd "$src" && kernel_source_dir=$kdir eval "$cmd") >"$tmp/dkms.log" 2>&1 ||
		{ tail -20 "$tmp/dkms.log"; return 1; }
	[ -f "$src/kmod/shard.ko" ] && ! grep -i 'warning:' "$tmp/dkms.log"
}
ktap_test dkms-style-build-no-warnings t_dkms_layout

# The 6.12 tree (what Proxmox 9 is closest to) builds with no warning too.
t_debug_tree() {
	local dir
	dir=$(tests/vm/get-debug-kernel 2>/dev/null) || return 4
	make -C kmod KDIR="$dir/build" SHARD_BUILD_DIR="$tmp/kmod-612" >"$tmp/612.log" 2>&1 ||
		{ tail -20 "$tmp/612.log"; return 1; }
	! grep -i 'warning:' "$tmp/612.log"
}
ktap_test build-6.12-no-warnings t_debug_tree

t_install() {
	local d=$tmp/root f
	make -s install DESTDIR="$d" PREFIX=/usr/local >"$tmp/install.log" 2>&1 ||
		{ tail -20 "$tmp/install.log"; return 1; }
	for f in usr/local/sbin/shardd usr/local/sbin/shard-mapd \
		 usr/local/share/man/man8/shardd.8 \
		 usr/local/share/man/man8/shard-mapd.8 \
		 usr/local/share/man/man8/shardctl.8; do
		[ -e "$d/$f" ] || { echo "# missing $f"; return 1; }
	done
	find "$d" -name shardctl -type f | grep -q . &&
	find "$d" -name 60-shard.rules | grep -q . &&
	find "$d" -name 'shardd@.service' | grep -q . &&
	find "$d" -name shard-mapd.service | grep -q .
}
ktap_test make-install-layout t_install

t_checkpatch() {
	local out
	out=$(make -s style 2>&1)
	[ -z "$out" ] || { echo "$out" | head -20 | sed 's/^/# /'; return 1; }
}
ktap_test checkpatch-clean t_checkpatch

t_sparse() {
	local out
	out=$(make -s sparse 2>&1 | grep -E 'warning|error')
	[ -z "$out" ] || { echo "$out" | head -20 | sed 's/^/# /'; return 1; }
}
ktap_test sparse-clean t_sparse
ktap_finished
