#!/bin/bash
# 90-blockdev-store: shardd on a raw block device (a RAM disk), where it
# uses O_DIRECT for data: a volume on it passes fio verify, and the data
# is still there after the daemon restarts on the same device.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio
_shard_setup
if [ ! -b /dev/ram0 ]; then
	modprobe brd rd_nr=1 rd_size=262144 || ktap_skip_all "no brd"
	_on_cleanup rmmod brd
fi
_wait_for '[ -b /dev/ram0 ]' 5 || ktap_skip_all "no /dev/ram0"
# Built-in brd (debug kernel) has 64 MiB disks: size the volume to fit.
ramsz=$(blockdev --getsize64 /dev/ram0)
volsz=$(( ramsz >= (256 << 20) ? 128 : 32 ))M
dd if=/dev/zero of=/dev/ram0 bs=1M count=1 2>/dev/null

ktap_plan 3
mkdir -p "$SHARD_T"
# A daemon's first start (registration) must not look like an outage.
"$SHARDNL" --monitor 6 >"$SHARD_T/events.txt" 2>&1 &
mon=$!
"$SHARD_REPO/userspace/shardd/shardd" --store /dev/ram0 --listen 127.0.0.1 \
	--port 7490 --mapd "$SHARD_SOCK" --foreground >>"$SHARD_T/ram.log" 2>&1 &
_shard_pid[ram]=$!
_wait_for "_shard_port_open 7490" 20 || _die "shardd on /dev/ram0 did not start"
dev=$(_shard_volume default/onram "$volsz")

t_no_unreachable() {
	wait $mon
	! grep -q '^19 u32 1$' "$SHARD_T/events.txt"
}
ktap_test first-start-no-unreachable-event t_no_unreachable

t_fio() {
	fio --name=ram --filename="$dev" --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=512-256k --blockalign=512 --iodepth=8 \
		--size="$volsz" --verify=crc32c --verify_fatal=1 --do_verify=1 \
		>"$SHARD_T/fio-ram.log" 2>&1 ||
		{ tail -20 "$SHARD_T/fio-ram.log"; return 1; }
}
ktap_test fio-verify-on-block-device t_fio

t_restart() {
	head -c 1M /dev/urandom >"$SHARD_T/blob"
	dd if="$SHARD_T/blob" of="$dev" bs=64k oflag=direct conv=fsync 2>/dev/null || return 1
	_shard_kill ram 9
	"$SHARD_REPO/userspace/shardd/shardd" --store /dev/ram0 --listen 127.0.0.1 \
		--port 7490 --mapd "$SHARD_SOCK" --foreground >>"$SHARD_T/ram.log" 2>&1 &
	_shard_pid[ram]=$!
	_wait_for "_shard_port_open 7490" 20 || return 1
	cmp <(dd if="$dev" bs=64k count=16 iflag=direct 2>/dev/null) "$SHARD_T/blob"
}
ktap_test data-survives-restart t_restart
ktap_finished
