#!/bin/bash
# 20-fio-verify: a 512 MiB volume through the whole stack (shard-mapd,
# shardd, shardctl map): random writes of mixed sizes then verify,
# sequential write and verify, and discard / write-zeroes read back zero.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio blkdiscard
_shard_setup
_shard_daemon d0

ktap_plan 6
dev=$(_shard_volume default/fio 512M)
ktap_diag "volume default/fio is $dev"

t_size() {
	[ "$(blockdev --getsize64 "$dev")" = $((512 << 20)) ]
}
ktap_test size t_size

t_random_mixed() {
	fio --name=rand --filename="$dev" --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=4k-1m --iodepth=16 --size=512M \
		--io_size="$(_shard_scaled 256M 64M)" --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=1 >"$SHARD_T/fio-rand.log" 2>&1 ||
		{ tail -20 "$SHARD_T/fio-rand.log"; return 1; }
}
ktap_test random-mixed-sizes-verify t_random_mixed

t_sequential() {
	fio --name=seq --filename="$dev" --ioengine=libaio --direct=1 \
		--rw=write --bs=1m --iodepth=8 --size="$(_shard_scaled 512M 128M)" \
		--verify=crc32c --verify_fatal=1 --do_verify=1 \
		>"$SHARD_T/fio-seq.log" 2>&1 ||
		{ tail -20 "$SHARD_T/fio-seq.log"; return 1; }
}
ktap_test sequential-verify t_sequential

# Byte ranges read back as zeroes, checked with cmp against /dev/zero.
is_zero() {
	cmp -s -n "$3" <(dd if="$1" bs=1M iflag=direct,skip_bytes,count_bytes \
		skip="$2" count="$3" 2>/dev/null) /dev/zero
}

t_discard() {
	# Unaligned to objects: spans a 4 MiB object boundary.
	blkdiscard -o $((3 << 20)) -l $((2 << 20)) "$dev" || return 1
	is_zero "$dev" $((3 << 20)) $((2 << 20)) || return 1
	# The neighbours are untouched (written by the sequential job).
	! is_zero "$dev" $((5 << 20)) 4096
}
ktap_test discard-reads-zero t_discard

t_write_zeroes() {
	blkdiscard -z -o $((64 << 20)) -l $((9 << 20)) "$dev" || return 1
	is_zero "$dev" $((64 << 20)) $((9 << 20)) || return 1
	! is_zero "$dev" $((73 << 20)) 4096
}
ktap_test write-zeroes-reads-zero t_write_zeroes

t_queue_limits() {
	local q=/sys/block/${dev#/dev/}/queue
	[ "$(cat $q/write_cache)" = "write back" ] &&
	[ "$(cat $q/fua)" = 1 ] &&
	[ "$(cat $q/discard_max_bytes)" -gt 0 ] &&
	[ "$(cat $q/write_zeroes_max_bytes)" -gt 0 ] &&
	[ "$(cat "/sys/block/${dev#/dev/}/shard/volume")" = fio ]
}
ktap_test queue-limits-and-sysfs t_queue_limits
ktap_finished
