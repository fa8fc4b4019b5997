#!/bin/bash
# 80-device-lifecycle: mapping a volume whose daemons are away does not
# hang (no partition scan at map time); a flush while no daemon is in the
# map completes; a
# forced unmap of an open device with requests held for a missing daemon
# fails them and removes the device; three daemons share a volume and
# flush fan-out to all of them stays correct (fio with fsync + verify).
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio
_shard_setup

ktap_plan 4

t_flush_no_daemon() {
	local dev
	dev=$(_shard_volume default/nodaemon 16M) || return 1
	# fsync of the block device sends a bare flush.
	timeout -k 5 20 python3 -c "import os; fd = os.open('$dev', os.O_RDWR); os.fsync(fd)"
}
ktap_test flush-without-daemons t_flush_no_daemon

t_force_unmap_held() {
	local dev pid
	dev=/dev/shard0
	# Nobody serves the volume: a write waits (held), the device is open.
	dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct 2>/dev/null &
	pid=$!
	sleep 2
	kill -0 $pid || return 1
	_shardctl unmap "$dev" 2>/dev/null && return 1
	_shardctl unmap --force "$dev" || return 1
	wait $pid && return 1
	[ ! -b "$dev" ] || return 1
	# A pool with volumes keeps PGs where their data is when daemons
	# join (remapped); without it the three daemons below share them.
	_shardctl rm default/nodaemon
}
ktap_test force-unmap-fails-held-io t_force_unmap_held

_shard_daemon d0
_shard_daemon d1
_shard_daemon d2

t_three_daemons() {
	local dev
	dev=$(_shard_volume default/three 256M) || return 1
	_wait_for "[ \$(_shardctl --json status | grep -o '\"connected\": *[1-9]' | wc -l) -ge 3 ]" 20 ||
		ktap_diag "could not see three connected daemons in status"
	fio --name=three --filename="$dev" --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=4k-1m --iodepth=16 --size=256M \
		--io_size="$(_shard_scaled 96M 32M)" --fsync=4 --verify=crc32c --verify_fatal=1 \
		--do_verify=1 >"$SHARD_T/fio-three.log" 2>&1 ||
		{ tail -20 "$SHARD_T/fio-three.log"; return 1; }
	ktap_diag "$(grep -E '^ +(READ|WRITE):' "$SHARD_T/fio-three.log" | tr -s ' ')"
}
ktap_test three-daemons-fsync-verify t_three_daemons

t_spread() {
	local d used=0
	for d in d0 d1 d2; do
		[ "$(du -sk "$SHARD_T/$d" | cut -f1)" -gt 1024 ] && used=$((used + 1))
	done
	[ $used = 3 ]
}
ktap_test data-on-every-daemon t_spread
ktap_finished
