#!/bin/bash
# 00-sanity: proves the VM harness works, on both kernels: results share,
# brd and null_blk (modules on the stock kernel, built into the debug one),
# fio with verification, ext4 and xfs, network namespaces with veth.
#
#   tests/vm/run-vm --kernel stock -- tests/vm/tests/00-sanity.sh
#   tests/vm/run-vm --kernel debug -- tests/vm/tests/00-sanity.sh
# shellcheck source=../../lib/test_common.sh
. "$(dirname "$0")/../../lib/test_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] ||
	ktap_skip_all "runs in the VM: tests/vm/run-vm -- $0"
_require_root
_require_cmd fio mkfs.ext4 mkfs.xfs ip losetup

ktap_plan 8
ktap_diag "kernel $SHARD_KVER ($SHARD_VM_KERNEL), $(nproc) cpus, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MB"

t_harness() {
	[ "$SHARD_KVER" = "$(uname -r)" ] || return 1
	[ "$(stat -f -c %T /)" = overlayfs ] || return 1
	[ -f "$SHARD_REPO/tests/lib/test_common.sh" ] || return 1
	echo "written by $0 in the guest" >"$SHARD_OUT/sanity.txt" || return 1
	[ "$(cat /mnt/shard-out/sanity.txt)" = "written by $0 in the guest" ]
}
ktap_test harness-env t_harness

# brd: 2 x 64 MiB (the debug kernel has 4 x 64 MiB built in).
t_brd() {
	if [ ! -d /sys/module/brd ]; then
		modprobe brd rd_nr=2 rd_size=65536 || return 1
		_on_cleanup rmmod brd
	fi
	_wait_for '[ -b /dev/ram0 ] && [ -b /dev/ram1 ]' 5
}
ktap_test brd t_brd

t_fio_verify() {
	# The debug kernel writes about four times slower: less there.
	if [ "${SHARD_VM_KERNEL:-}" = debug ]; then
		_fio_verify /dev/ram0 16M
	else
		_fio_verify /dev/ram0 64M
	fi
}
ktap_test fio-verify-brd t_fio_verify

t_fio_io_uring() {
	local out
	out=$(fio --name=rr --filename=/dev/ram0 --ioengine=io_uring --direct=1 \
		--iodepth=32 --rw=randwrite --bs=4k --size=64M --time_based \
		--runtime=3 --output-format=terse --terse-version=3 2>&1) || {
		echo "# $out"
		return 1
	}
	ktap_diag "brd io_uring 4k randwrite QD32: $(echo "$out" | cut -d';' -f49) IOPS"
}
ktap_test fio-io_uring-brd t_fio_io_uring

t_null_blk() {
	if [ ! -d /sys/module/null_blk ]; then
		modprobe null_blk nr_devices=1 || return 1
		_on_cleanup rmmod null_blk
	fi
	_wait_for '[ -b /dev/nullb0 ]' 5 || return 1
	fio --name=nb --filename=/dev/nullb0 --ioengine=libaio --direct=1 \
		--iodepth=16 --rw=randread --bs=4k --size=256M --time_based \
		--runtime=2 >/dev/null
}
ktap_test null_blk t_null_blk

t_ext4() {
	_mkfs_mount_test /dev/ram1 ext4
}
ktap_test ext4-brd t_ext4

# xfs wants at least 300 MB: a loop device over a file in /tmp (tmpfs).
t_xfs_loop() {
	local img=/tmp/xfs.img dev
	truncate -s 320M "$img" || return 1
	dev=$(losetup -f --show "$img") || return 1
	_on_cleanup rm -f "$img"
	_on_cleanup losetup -d "$dev"
	_mkfs_mount_test "$dev" xfs
}
ktap_test xfs-loop t_xfs_loop

t_netns() {
	local ns
	for ns in shard-a shard-b; do
		ip netns add $ns || return 1
		_on_cleanup ip netns del $ns
		ip -n $ns link set lo up || return 1
	done
	ip link add va type veth peer name vb || return 1
	ip link set va netns shard-a && ip link set vb netns shard-b &&
	ip -n shard-a addr add 10.99.0.1/24 dev va &&
	ip -n shard-b addr add 10.99.0.2/24 dev vb &&
	ip -n shard-a link set va up && ip -n shard-b link set vb up || return 1
	_wait_for 'ip netns exec shard-a busybox ping -c1 -W1 10.99.0.2 >/dev/null' 10
}
ktap_test netns-veth t_netns

ktap_finished
